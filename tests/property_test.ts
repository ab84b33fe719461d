// Property tests (fast-check), each with a fixed seed in `npm test` and a random one under
// `npm run test:stress` (printed, and replayable with SUPERSTEP_SEED):
// - resuming a random workflow graph (sub-workflows among its segments, some waiting on a person) from every
//   checkpoint of a run, on a fresh instance, yields the outputs and final state of the uninterrupted run;
// - the codec round-trips arbitrary values exactly, and of values holding shapes it must refuse (issue 13)
//   refuses exactly those, alike on its JSON and devalue paths, writing well-formed text;
// - the memory, libSQL and KV adapters agree on every random sequence of operations.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import {
  type Checkpoint,
  CheckpointEncodeError,
  type CheckpointStorage,
  decodeCheckpoint,
  decodeValue,
  encodeCheckpoint,
  encodeValue,
  MemoryCheckpointStorage,
} from "../mod.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { newId } from "../src/_ulid.ts";
import { dangerousKey, markedValue, objectFrom, supportedLeaf } from "./_codec_values.ts";
import { assertExact, prototypeFingerprint } from "./_exact.ts";
import { answerUntilDone, buildWorkflow, graphSpecArb } from "./_random_workflow.ts";
import { figure, scale, SEED, TIME_LIMIT_MS } from "./_stress.ts";
import { openKv, OwningKvStorage } from "./fixtures/open_storage.ts";

type Kind = "memory" | "libsql" | "kv";

async function open(kind: Kind): Promise<CheckpointStorage & { close?(): Promise<void> }> {
  if (kind === "memory") return new MemoryCheckpointStorage();
  if (kind === "libsql") return new LibsqlCheckpointStorage({ url: ":memory:" });
  return new OwningKvStorage(await openKv(":memory:"));
}

/** Run a property with the suite's seed and bounds; report how many runs it made. */
async function check<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  numRuns: number,
  body: (value: T) => Promise<void>,
) {
  let runs = 0;
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      runs++;
      await body(value);
    }),
    { seed: SEED, numRuns, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
  );
  figure(
    "property",
    `${name}: ${runs} runs passed in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${SEED})`,
  );
}

function payloadOf(checkpoint: Checkpoint | undefined): Record<string, unknown> {
  assert.ok(checkpoint, "the checkpoint loads");
  const { messages, state, executorState, edgeState, pendingRequests } = checkpoint;
  return { messages, state, executorState, edgeState, pendingRequests };
}

describe("property: resuming any checkpoint of a random workflow", () => {
  const runs = scale(50, 1000);
  test(`Workflow.resume() of every checkpoint yields the uninterrupted run's outputs and state (${runs} graphs)`, async () => {
    let resumes = 0;
    let answered = 0;
    let nested = 0;
    const arb = fc.record({
      spec: graphSpecArb,
      kind: fc.constantFrom<Kind>("memory", "memory", "libsql", "kv"),
    });
    await check("resume from every checkpoint of a random graph", arb, runs, async ({ spec, kind }) => {
      const storage = await open(kind);
      try {
        const calls = await answerUntilDone(
          spec,
          storage,
          await buildWorkflow(spec, storage).run(spec.inputs),
        );
        const last = calls.at(-1)!;
        assert.strictEqual(last.status, "idle");
        if (calls.length > 1) answered++;
        if (spec.segments.some((segment) => segment.kind === "nested")) nested++;
        const outputs = calls.flatMap((call) => call.outputs);
        // Each checkpoint the calls wrote, and how many outputs came before it.
        const checkpoints: { id: string; superstep: number; before: number }[] = [];
        let count = 0;
        for (const event of calls.flatMap((call) => call.events)) {
          if (event.type === "output") count++;
          if (event.type === "superstep-completed") {
            checkpoints.push({ id: event.checkpointId!, superstep: event.superstep, before: count });
          }
        }
        assert.strictEqual(count, outputs.length);
        const final = payloadOf(await storage.load(last.checkpointId!));
        for (const { id, superstep, before } of checkpoints) {
          const resumed = await answerUntilDone(
            spec,
            storage,
            await buildWorkflow(spec, storage).resume(id, { fork: true }),
          );
          resumes++;
          assert.deepStrictEqual(
            [...outputs.slice(0, before), ...resumed.flatMap((call) => call.outputs)],
            outputs,
            `resumed at ${superstep} (${id})`,
          );
          assert.strictEqual(resumed.at(-1)!.status, "idle");
          assert.deepStrictEqual(payloadOf(await storage.load(resumed.at(-1)!.checkpointId!)), final);
        }
      } finally {
        await storage.close?.();
      }
    });
    figure(
      "property",
      `resume from every checkpoint: ${resumes} resumes compared; ${nested} graphs had a sub-workflow, ` +
        `${answered} runs waited on requests from inside one`,
    );
  });
});

/** Values of every type the codec supports, nested, with prototype keys, shared and cyclic references. */
const codecValue: fc.Arbitrary<unknown> = (() => {
  const leaf = supportedLeaf;
  const key = fc.oneof(fc.string({ maxLength: 6 }), dangerousKey);
  const { value } = fc.letrec<{ value: unknown; array: unknown[] }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      tie("array"),
      fc.array(fc.tuple(key, tie("value")), { maxLength: 5 }).map((e) => objectFrom(e, Object.prototype)),
      fc.array(fc.tuple(key, tie("value")), { maxLength: 3 }).map((e) => objectFrom(e, null)),
      fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 4 }).map((e) => new Map(e)),
      fc.array(tie("value"), { maxLength: 4 }).map((values) => new Set(values)),
    ),
    array: fc.oneof(
      fc.array(tie("value"), { maxLength: 5 }),
      fc.sparseArray(tie("value"), { maxLength: 5, noTrailingHole: false }),
    ),
  }));
  // Sharing and cycles: the same object twice, and an object that holds itself.
  return fc.tuple(value, value, fc.boolean()).map(([a, b, cyclic]) => {
    const holder: Record<string, unknown> = { a, b, again: a };
    if (cyclic) holder.self = holder;
    return holder;
  });
})();

describe("property: the codec", () => {
  const runs = scale(1000, 50_000);
  test(`decodeValue(encodeValue(v)) is an exact copy of v, and pollutes no prototype (${runs} values)`, async () => {
    const before = prototypeFingerprint();
    await check("codec round-trip", codecValue, runs, (value) => {
      assertExact(decodeValue(encodeValue(value)), value);
      assert.strictEqual(prototypeFingerprint(), before);
      return Promise.resolve();
    });
  });

  const tricky = scale(1000, 50_000);
  test(`encodeValue() and encodeCheckpoint() refuse exactly the values they cannot keep, and keep the rest exactly (${tricky} values)`, async () => {
    const before = prototypeFingerprint();
    const utf8 = (text: string) =>
      new TextDecoder("utf-8", { fatal: true }).decode(new TextEncoder().encode(text));
    const counts = { kept: 0, json: 0, refused: 0 };
    await check("codec refuses or keeps exactly", markedValue, tricky, ([value, refused]) => {
      const checkpoint = makeCheckpoint({ state: { value } });
      let valueText: string | undefined;
      let checkpointText: string | undefined;
      const errors: CheckpointEncodeError[] = [];
      for (
        const encode of [
          () => valueText = encodeValue(value),
          () => checkpointText = encodeCheckpoint(checkpoint),
        ]
      ) {
        try {
          encode();
        } catch (error) {
          if (!(error instanceof CheckpointEncodeError)) throw error;
          errors.push(error);
        }
      }
      if (refused) {
        // Both paths refuse, at the same place (the checkpoint's paths start at its root).
        assert.strictEqual(errors.length, 2, "a value holding a refused shape must be refused on both paths");
        assert.strictEqual(errors[1].path, `.state.value${errors[0].path}`);
        const detail = (error: CheckpointEncodeError) =>
          error.message.slice(`Cannot encode checkpoint value at ${error.path || "(root)"}: `.length);
        assert.strictEqual(detail(errors[1]), detail(errors[0]));
        counts.refused++;
      } else {
        assert.deepStrictEqual(errors, [], "a value holding only kept shapes must be kept on both paths");
        // A store that keeps UTF-8 gives the text back unchanged.
        assert.strictEqual(utf8(valueText!), valueText);
        assert.strictEqual(utf8(checkpointText!), checkpointText);
        assertExact(decodeValue(valueText!), value);
        assertExact(decodeCheckpoint(checkpointText!, checkpoint.id).state.value, value);
        counts.kept++;
        if (checkpointText![0] === "{") counts.json++;
      }
      assert.strictEqual(prototypeFingerprint(), before);
      return Promise.resolve();
    });
    figure(
      "property",
      `codec refuses or keeps exactly: ${counts.kept} values kept (${counts.json} by the JSON path), ` +
        `${counts.refused} refused on both paths`,
    );
  });
});

// Operations on a storage, as data. Ids are picked from a pool fixed per run (some never saved, so loads
// miss, saves reuse ids and parents dangle); sessions and workflow names include prototype keys.
const SESSIONS = ["s0", "s1", "__proto__", "constructor"];
const WORKFLOWS = ["wf-a", "wf-b", "__proto__"];
const POOL = 12;

type Op =
  | { op: "save"; session: number; workflow: number; parent: "head" | "null" | number; id: "next" | number }
  | { op: "load" | "delete" | "lineage"; id: number }
  | { op: "deleteSession" | "head"; session: number }
  | { op: "list"; session?: number; workflow?: number; limit?: number; before?: number };

const pick = (n: number) => fc.integer({ min: 0, max: n - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("save" as const),
      session: pick(SESSIONS.length),
      workflow: pick(WORKFLOWS.length),
      parent: fc.oneof(
        { weight: 4, arbitrary: fc.constant("head" as const) },
        fc.constant("null" as const),
        pick(POOL),
      ),
      id: fc.oneof({ weight: 4, arbitrary: fc.constant("next" as const) }, pick(POOL)),
    }),
  },
  fc.record({ op: fc.constantFrom("load" as const, "delete" as const, "lineage" as const), id: pick(POOL) }),
  fc.record({
    op: fc.constantFrom("deleteSession" as const, "head" as const),
    session: pick(SESSIONS.length),
  }),
  {
    weight: 2,
    arbitrary: fc.record(
      {
        op: fc.constant("list" as const),
        session: pick(SESSIONS.length),
        workflow: pick(WORKFLOWS.length),
        limit: fc.constantFrom(1, 2, 3, 10, 0, -1, 1.5),
        before: pick(POOL),
      },
      { requiredKeys: ["op"] },
    ),
  },
);

/** Apply `ops` to `storage`; every call's result, or the name of the error it threw. */
async function apply(storage: CheckpointStorage, ops: Op[], pool: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  let next = 0;
  let step = 0;
  for (const op of ops) {
    switch (op.op) {
      case "save": {
        const sessionId = SESSIONS[op.session];
        const parentId = op.parent === "head"
          ? (await storage.head(sessionId)) ?? null
          : op.parent === "null"
          ? null
          : pool[op.parent];
        // "next": the next pool id in order (a time-ordered writer), else any pool id (a duplicate, or one
        // older than the head).
        const id = op.id === "next" ? pool[next++ % POOL] : pool[op.id];
        const checkpoint = makeCheckpoint({
          id,
          parentId,
          sessionId,
          workflowName: WORKFLOWS[op.workflow],
          superstep: step++,
          createdAt: new Date(Date.UTC(2024, 0, 1, 0, 0, step)).toISOString(),
          state: { step, at: sessionId },
          metadata: objectFrom([["step", step], ["__proto__", { own: true }]], Object.prototype),
        });
        await attempt(() => storage.save(checkpoint));
        break;
      }
      case "load":
        await attempt(() => storage.load(pool[op.id]));
        break;
      case "delete":
        await attempt(() => storage.delete(pool[op.id]));
        break;
      case "lineage":
        await attempt(() => storage.lineage!(pool[op.id]));
        break;
      case "deleteSession":
        await attempt(() => storage.deleteSession(SESSIONS[op.session]));
        break;
      case "head":
        await attempt(() => storage.head(SESSIONS[op.session]));
        break;
      case "list":
        await attempt(() =>
          storage.list({
            sessionId: op.session === undefined ? undefined : SESSIONS[op.session],
            workflowName: op.workflow === undefined ? undefined : WORKFLOWS[op.workflow],
            limit: op.limit,
            before: op.before === undefined ? undefined : pool[op.before],
          })
        );
        break;
    }
  }
  // Then the whole visible state.
  await attempt(() => storage.list());
  for (const sessionId of SESSIONS) await attempt(() => storage.head(sessionId));
  for (const id of pool) await attempt(() => storage.load(id));
  return out;

  async function attempt(call: () => Promise<unknown>) {
    try {
      out.push({ ok: await call() });
    } catch (error) {
      out.push({ error: error instanceof Error ? error.name : String(error) });
    }
  }
}

describe("property: the adapters agree", () => {
  const runs = scale(100, 3000);
  test(`memory, libSQL and KV return the same results and errors for random operation sequences (${runs} sequences)`, async () => {
    let operations = 0;
    const errors = new Map<string, number>();
    await check("adapters agree", fc.array(opArb, { minLength: 1, maxLength: 40 }), runs, async (ops) => {
      // Time-ordered ids, fresh per sequence: only their order matters, and it is the same for every adapter.
      const pool = Array.from({ length: POOL }, () => newId());
      const results: Record<Kind, unknown[]> = { memory: [], libsql: [], kv: [] };
      for (const kind of ["memory", "libsql", "kv"] as const) {
        const storage = await open(kind);
        try {
          results[kind] = await apply(storage, ops, pool);
        } finally {
          await storage.close?.();
        }
      }
      operations += ops.length;
      for (const result of results.memory as { error?: string }[]) {
        if (result.error) errors.set(result.error, (errors.get(result.error) ?? 0) + 1);
      }
      assert.deepStrictEqual(results.libsql, results.memory, "libsql differs from memory");
      assert.deepStrictEqual(results.kv, results.memory, "kv differs from memory");
    });
    const thrown = [...errors].map(([name, count]) => `${count} ${name}`).join(", ");
    figure(
      "property",
      `adapters agree: ${operations} random operations, each on memory, libSQL and KV (${thrown})`,
    );
  });
});
