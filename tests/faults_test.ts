// Storage faults. A save that throws — in a wrapper around the adapter, or in the client under it — fails the
// run with CheckpointSaveError, and the session's head (the last checkpoint that did persist) stays
// resumable: resuming it finishes the run as if nothing had happened. A stored checkpoint damaged on disk
// (bad text, a wrong format version, a truncated payload, a missing or damaged KV chunk …) gives
// CheckpointCorruptError naming its id, on load and on resume, never a TypeError.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createClient } from "@libsql/client";
import { KvCheckpointStorage } from "../adapters/kv/mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import {
  type Checkpoint,
  CheckpointCorruptError,
  CheckpointSaveError,
  type CheckpointStorage,
  encodeCheckpoint,
  encodeValue,
  lineage,
  MemoryCheckpointStorage,
  type WorkflowResult,
} from "../mod.ts";
import {
  assertNoOrphanedChunks,
  rawDelete,
  rawPayload,
  rawSet,
  rawSummary,
  rewritePayload,
} from "./_kv_inspect.ts";
import { faultyClient, faultyKv, FaultyStorage } from "./_fault_injection.ts";
import { figure, scale, SEED, TIME_LIMIT_MS } from "./_stress.ts";
import { CRASH_INPUT, CRASH_STEPS, crashReference, crashWorkflow } from "./fixtures/crash_workflow.ts";
import { type OpenKv, openKv } from "./fixtures/open_storage.ts";
import { prototypeFingerprint } from "./_exact.ts";

const reference = crashReference();

/**
 * Run the crash workflow through `faulty` until it fails, then check what `inner` holds and finish the run
 * from the session head on a fresh instance.
 */
async function failThenResume(
  inner: CheckpointStorage,
  faulty: CheckpointStorage,
  sessionId: string,
  context: string,
): Promise<{ error: CheckpointSaveError; resumedFrom: number }> {
  const { outputs: expected, final } = await reference;
  const workflow = crashWorkflow(faulty);
  const events: string[] = [];
  let error: unknown;
  try {
    for await (const event of workflow.run(CRASH_INPUT, { sessionId })) events.push(event.type);
  } catch (thrown) {
    error = thrown;
  }
  assert.ok(error instanceof CheckpointSaveError, `${context}: CheckpointSaveError, got ${error}`);
  assert.ok(String((error.cause as Error)?.message ?? error.cause).length > 0);
  assert.deepStrictEqual(events.slice(-2), ["failed", "status"], `${context}: the run ends failed`);
  assert.strictEqual(workflow.isRunning, false, `${context}: the guard is released`);

  const headId = await inner.head(sessionId);
  const stored = await inner.list({ sessionId });
  let resumedFrom = -1;
  let result: WorkflowResult;
  const fresh = crashWorkflow(inner);
  if (headId === undefined) {
    assert.strictEqual(stored.length, 0, `${context}: no head, no checkpoint`);
    result = await fresh.run(CRASH_INPUT, { sessionId });
  } else {
    const head = await inner.load(headId);
    assert.ok(head, `${context}: the head loads`);
    resumedFrom = head.superstep;
    assert.strictEqual(stored.length, resumedFrom + 1, `${context}: one checkpoint per superstep so far`);
    // The checkpoint whose save failed is the head only if it persisted anyway.
    if (head.id !== error.checkpointId) {
      assert.strictEqual(await inner.load(error.checkpointId), undefined, `${context}: not half-saved`);
    }
    result = await fresh.resume(headId);
  }
  assert.strictEqual(result.status, "idle", context);
  assert.deepStrictEqual(result.outputs, expected.filter((output) => output.step > resumedFrom), context);
  const chain = await lineage(inner, result.checkpointId!);
  assert.deepStrictEqual(
    chain.map((summary) => summary.superstep),
    Array.from({ length: CRASH_STEPS + 1 }, (_, i) => CRASH_STEPS - i),
    `${context}: one unbroken chain`,
  );
  assert.strictEqual((await inner.list({ sessionId })).length, CRASH_STEPS + 1, context);
  const last = await inner.load(result.checkpointId!);
  const { messages, state, executorState, edgeState, pendingRequests } = last!;
  assert.deepStrictEqual({ messages, state, executorState, edgeState, pendingRequests }, final, context);
  return { error, resumedFrom };
}

// Which save fails: the entry checkpoint, the first superstep's, a large one (superstep 10), one in the
// middle, and the last.
const FAIL_AT = [1, 2, 11, 26, CRASH_STEPS + 1];

describe("storage faults: a save that throws", () => {
  for (const kind of ["memory", "libsql", "kv"] as const) {
    for (const when of ["before", "after"] as const) {
      test(`${kind}: a save throwing ${when} it applies fails the run with CheckpointSaveError; the head resumes`, async () => {
        for (const failAt of FAIL_AT) {
          const kv = kind === "kv" ? await openKv(":memory:") : undefined;
          const inner: CheckpointStorage & { close?(): Promise<void> } = kind === "memory"
            ? new MemoryCheckpointStorage()
            : kind === "libsql"
            ? new LibsqlCheckpointStorage({ url: ":memory:" })
            : new KvCheckpointStorage({ kv: kv! });
          try {
            const context = `${kind}, save ${failAt} throws ${when}`;
            const { resumedFrom } = await failThenResume(
              inner,
              new FaultyStorage(inner, failAt, when),
              `faults-${failAt}`,
              context,
            );
            assert.strictEqual(resumedFrom, when === "before" ? failAt - 2 : failAt - 1, context);
            if (kv) await assertNoOrphanedChunks(kv);
          } finally {
            await inner.close?.();
            kv?.close();
          }
        }
      });
    }
  }

  for (const when of ["before", "after"] as const) {
    test(`libsql: a client write batch throwing ${when} it applies fails the run with CheckpointSaveError; the head resumes`, async () => {
      for (const failAt of FAIL_AT) {
        const raw = createClient({ url: ":memory:" });
        const { client, control } = faultyClient(raw, failAt, when);
        const storage = new LibsqlCheckpointStorage({ client });
        try {
          await storage.list(); // migrate before arming
          control.armed = true;
          const context = `libsql client, batch ${failAt} throws ${when}`;
          const { error } = await failThenResume(storage, storage, `client-faults-${failAt}`, context);
          assert.match(String((error.cause as Error).message), /^libsql: cannot save checkpoint /);
        } finally {
          await storage.close();
          raw.close();
        }
      }
    });

    test(`kv: a commit throwing ${when} it applies fails the run with CheckpointSaveError; the head resumes; no chunk is orphaned`, async () => {
      // Commits are counted across staging writes, final commits and cleanups, so these hit every kind.
      for (const failAt of [1, 2, 3, 11, 12, 13, 14, 26, CRASH_STEPS + 1]) {
        const raw = await openKv(":memory:");
        const { kv, control } = faultyKv(raw, failAt, when);
        const storage = new KvCheckpointStorage({ kv });
        try {
          control.armed = true;
          await failThenResume(storage, storage, `kv-faults-${failAt}`, `kv commit ${failAt} throws ${when}`);
          await assertNoOrphanedChunks(raw);
        } finally {
          raw.close();
        }
      }
    });
  }
});

/** Assert that `promise` rejects with CheckpointCorruptError naming `id`. */
async function assertCorrupt(promise: PromiseLike<unknown>, id: string, context: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (thrown) {
    error = thrown;
  }
  assert.ok(
    error instanceof CheckpointCorruptError,
    `${context}: CheckpointCorruptError, got ${
      error instanceof Error ? `${error.name}: ${error.message}` : error
    }`,
  );
  assert.strictEqual(error.checkpointId, id, context);
  assert.ok(error.message.includes(id), `${context}: the message names the checkpoint`);
}

/** A finished crash-workflow session in `storage`: its checkpoints, oldest first. */
async function storedRun(storage: CheckpointStorage): Promise<Checkpoint[]> {
  const result = await crashWorkflow(storage).run(CRASH_INPUT);
  const chain = await lineage(storage, result.checkpointId!);
  return Promise.all(chain.reverse().map(async (summary) => (await storage.load(summary.id))!));
}

/** Check load and resume of a damaged checkpoint, and that the workflow instance stays usable. */
async function assertDamageReported(storage: CheckpointStorage, checkpoint: Checkpoint, context: string) {
  await assertCorrupt(storage.load(checkpoint.id), checkpoint.id, `${context}: load()`);
  const workflow = crashWorkflow(storage);
  await assertCorrupt(workflow.resume(checkpoint.id, { fork: true }), checkpoint.id, `${context}: resume()`);
  assert.strictEqual(workflow.isRunning, false, `${context}: the guard is released`);
  // Summaries do not read payloads: the damaged checkpoint is still listed, and its lineage walks.
  assert.ok((await storage.list({ sessionId: checkpoint.sessionId })).some((s) => s.id === checkpoint.id));
}

/** Damage done to a stored payload, as text: [name, the damaged text]. */
function textDamage(checkpoint: Checkpoint, other: Checkpoint): [string, string][] {
  const text = encodeCheckpoint(checkpoint);
  return [
    ["bad text", "definitely not encoded"],
    ["empty text", ""],
    ["truncated to one character", text.slice(0, 1)],
    ["truncated by half", text.slice(0, Math.floor(text.length / 2))],
    ["truncated by one character", text.slice(0, -1)],
    ["format version 2", encodeValue({ ...checkpoint, version: 2 })],
    ["format version missing", encodeValue({ ...checkpoint, version: undefined })],
    ["another checkpoint's payload", encodeCheckpoint(other)],
    ["a queued message that is null", encodeValue({ ...checkpoint, messages: [null] })],
    ["a pending request without ids", encodeValue({ ...checkpoint, pendingRequests: [{ data: 1 }] })],
    ["a field of the wrong type", encodeValue({ ...checkpoint, state: [] })],
  ];
}

describe("storage faults: damaged checkpoints give CheckpointCorruptError naming the id, never a TypeError", () => {
  test("libsql: bad text, wrong version, truncated payloads, a blob, another checkpoint's payload", async () => {
    const client = createClient({ url: ":memory:" });
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const checkpoints = await storedRun(storage);
      // A small checkpoint, a large one, and the head.
      for (const index of [5, 10, CRASH_STEPS]) {
        const checkpoint = checkpoints[index];
        const update = (payload: string | Uint8Array) =>
          client.execute({
            sql: "UPDATE superstep_checkpoints SET payload = ? WHERE id = ?",
            args: [payload, checkpoint.id],
          });
        for (const [damage, text] of textDamage(checkpoint, checkpoints[index - 1])) {
          await update(text);
          await assertDamageReported(storage, checkpoint, `libsql, superstep ${index}, ${damage}`);
        }
        await update(new Uint8Array([1, 2, 3]));
        await assertDamageReported(storage, checkpoint, `libsql, superstep ${index}, a blob`);
        await update(encodeCheckpoint(checkpoint));
        assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint, "restored");
      }
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("kv: bad text, wrong version, a missing, short or foreign chunk, invalid UTF-8, a damaged summary", async () => {
    const kv: OpenKv = await openKv(":memory:");
    const storage = new KvCheckpointStorage({ kv });
    try {
      const checkpoints = await storedRun(storage);
      for (const index of [5, 10, CRASH_STEPS]) {
        const checkpoint = checkpoints[index];
        const context = `kv, superstep ${index}`;
        const original = await rawPayload(kv, checkpoint.id);
        const restore = async () => {
          await rewritePayload(kv, checkpoint.id, original);
          assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint, "restored");
        };
        for (const [damage, text] of textDamage(checkpoint, checkpoints[index - 1])) {
          await rewritePayload(kv, checkpoint.id, text);
          await assertDamageReported(storage, checkpoint, `${context}, ${damage}`);
        }
        await rewritePayload(kv, checkpoint.id, new Uint8Array([0xff, 0xfe, 0xfd]));
        await assertDamageReported(storage, checkpoint, `${context}, invalid UTF-8`);
        await restore();

        // Chunks, with the summary left as it was: its chunk count and byte length no longer match.
        const chunkDamage: [string, (token: string, chunks: number) => Promise<void>][] = [
          ["chunk 0 missing", (token) => rawDelete(kv, ["chunk", checkpoint.id, token, 0])],
          ["the last chunk missing", (token, n) => rawDelete(kv, ["chunk", checkpoint.id, token, n - 1])],
          [
            "chunk 0 short",
            (token) => rawSet(kv, ["chunk", checkpoint.id, token, 0], original.subarray(0, 10)),
          ],
          ["chunk 0 empty", (token) => rawSet(kv, ["chunk", checkpoint.id, token, 0], new Uint8Array(0))],
          [
            "an extra chunk",
            (token, n) => rawSet(kv, ["chunk", checkpoint.id, token, n], new Uint8Array([1])),
          ],
        ];
        for (const [damage, apply] of chunkDamage) {
          const { token, chunks } = await rawSummary(kv, checkpoint.id);
          await apply(token, chunks);
          await assertDamageReported(storage, checkpoint, `${context}, ${damage} (of ${chunks})`);
          await restore();
        }

        // The summary itself.
        const summary = await rawSummary(kv, checkpoint.id);
        await rawSet(kv, ["checkpoint", checkpoint.id], new TextEncoder().encode("{not json"));
        await assertCorrupt(
          storage.load(checkpoint.id),
          checkpoint.id,
          `${context}, a damaged summary: load()`,
        );
        await assertCorrupt(
          crashWorkflow(storage).resume(checkpoint.id, { fork: true }),
          checkpoint.id,
          `${context}, a damaged summary: resume()`,
        );
        await rawSet(kv, ["checkpoint", checkpoint.id], new TextEncoder().encode(JSON.stringify(summary)));
        assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint, "restored");
      }
    } finally {
      kv.close();
    }
  });
});

describe("storage faults: random damage to a stored payload", () => {
  const runs = scale(200, 10_000);
  test(`libsql and kv load() of a randomly damaged payload returns the checkpoint or throws CheckpointCorruptError (${runs} damages)`, async () => {
    const client = createClient({ url: ":memory:" });
    const libsql = new LibsqlCheckpointStorage({ client });
    const kv = await openKv(":memory:");
    const kvStorage = new KvCheckpointStorage({ kv });
    const before = prototypeFingerprint();
    const outcomes = { loaded: 0, corrupt: 0 };
    try {
      // A small checkpoint with a bit of everything in its payload.
      const session = new MemoryCheckpointStorage();
      const [entry, sample] = await storedRun(session);
      const text = encodeCheckpoint(sample);
      // Its parent first: a session without a head takes no checkpoint that follows a missing one.
      for (const checkpoint of [entry, sample]) {
        await libsql.save(checkpoint);
        await kvStorage.save(checkpoint);
      }
      const damage = fc.oneof(
        fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
        fc.record({
          kind: fc.constant("flip" as const),
          at: fc.nat(),
          to: fc.string({ minLength: 1, maxLength: 3 }),
        }),
        fc.record({
          kind: fc.constant("insert" as const),
          at: fc.nat(),
          text: fc.constantFrom('"', "[", "]", "{", ",", "-1", "__proto__", '"\\u0000__proto__"', "null"),
        }),
      );
      let runsDone = 0;
      await fc.assert(
        fc.asyncProperty(damage, async (d) => {
          runsDone++;
          const at = d.at % (text.length + 1);
          const damaged = d.kind === "cut"
            ? text.slice(0, at)
            : d.kind === "flip"
            ? text.slice(0, at) + d.to + text.slice(at + d.to.length)
            : text.slice(0, at) + d.text + text.slice(at);
          await client.execute({
            sql: "UPDATE superstep_checkpoints SET payload = ? WHERE id = ?",
            args: [damaged, sample.id],
          });
          await rewritePayload(kv, sample.id, damaged);
          for (const storage of [libsql, kvStorage]) {
            try {
              const loaded = await storage.load(sample.id);
              assert.strictEqual(loaded?.id, sample.id);
              outcomes.loaded++;
            } catch (error) {
              if (!(error instanceof CheckpointCorruptError)) throw error;
              assert.strictEqual(error.checkpointId, sample.id);
              outcomes.corrupt++;
            }
          }
          assert.strictEqual(prototypeFingerprint(), before, "no prototype was touched");
        }),
        { seed: SEED, numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
      );
      figure(
        "faults",
        `random payload damage: ${runsDone} damaged payloads, each loaded through libSQL and KV: ` +
          `${outcomes.corrupt} CheckpointCorruptError, ${outcomes.loaded} still a valid checkpoint (seed ${SEED})`,
      );
    } finally {
      await libsql.close();
      client.close();
      kv.close();
    }
  });
});
