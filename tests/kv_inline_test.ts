// The Deno KV adapter's inline payloads: a payload that fits with its summary into one KV value lives in the
// checkpoint's record (`checkpoint/<id>`: the summary's JSON, a newline, the payload), so a load is one read;
// the index copies stay summaries; a larger payload goes into chunks; records of before inlining (payload in
// chunks) load beside inline ones, and every rewrite and deletion agrees with both.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KvCheckpointStorage, type KvHandle, type KvKey } from "../adapters/kv/mod.ts";
import { type Checkpoint, CheckpointCorruptError, lineage } from "../mod.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import {
  assertNoOrphanedChunks,
  rawCopy,
  rawPayload,
  rawSet,
  rawSummary,
  rewritePayload,
} from "./_kv_inspect.ts";
import { type OpenKv, openKv } from "./fixtures/open_storage.ts";

/** KV's value limit (adapters/kv/_limits.ts). */
const VALUE_LIMIT = 64 * 1024;

/** The keys under `prefix`, in order. */
async function keysUnder(kv: KvHandle, prefix: KvKey): Promise<KvKey[]> {
  const out: KvKey[] = [];
  for await (const entry of kv.list({ prefix })) out.push(entry.key as KvKey);
  return out;
}

/** The raw value under one of the adapter's keys. */
async function rawValue(kv: KvHandle, ...key: string[]): Promise<Uint8Array> {
  const { value } = await kv.get(["superstep", ...key]);
  assert.ok(value instanceof Uint8Array, `${key.join("/")} holds bytes`);
  return value;
}

/** `kv`, counting the reads made through it. */
function counting(kv: KvHandle): { kv: KvHandle; reads: Record<"get" | "getMany" | "list", number> } {
  const reads = { get: 0, getMany: 0, list: 0 };
  return {
    reads,
    kv: {
      get: (key) => (reads.get++, kv.get(key)),
      getMany: (keys) => (reads.getMany++, kv.getMany(keys)),
      list: (selector, options) => (reads.list++, kv.list(selector, options)),
      atomic: () => kv.atomic(),
    },
  };
}

/** A checkpoint whose state holds `chars` characters of text. */
function sized(chars: number, overrides: Partial<Checkpoint> = {}): Checkpoint {
  return makeCheckpoint({ ...overrides, state: { blob: "x".repeat(chars) } });
}

/** A session of `length` checkpoints whose state grows by one record each (stored as deltas). */
async function grow(storage: KvCheckpointStorage, length: number): Promise<Checkpoint[]> {
  const sessionId = `grow-${crypto.randomUUID()}`;
  const chain: Checkpoint[] = [];
  for (let i = 0, parentId: string | null = null; i < length; i++) {
    const items = Array.from({ length: i + 1 }, (_, n) => `record ${n} `.padEnd(40, "."));
    const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i, state: { items } });
    await storage.save(checkpoint);
    chain.push(checkpoint);
    parentId = checkpoint.id;
  }
  return chain;
}

/** A session of one checkpoint, then a head that waits on it (a delta, with its resume copy). */
async function waitingOnOne(kv: KvHandle): Promise<{ first: Checkpoint; waiting: Checkpoint }> {
  const storage = new KvCheckpointStorage({ kv });
  const [first] = await grow(storage, 1);
  const waiting = makeCheckpoint({
    sessionId: first.sessionId,
    parentId: first.id,
    superstep: 1,
    state: { ...first.state, more: "a record" },
    pendingRequests: [{ requestId: "r1", executorId: "review", data: "ok?" }],
  });
  await storage.save(waiting);
  return { first, waiting };
}

/** The answer to `waiting`, saved through `storage` after it loaded the head (as a resume does). */
async function answer(storage: KvCheckpointStorage, waiting: Checkpoint): Promise<Checkpoint> {
  assert.deepStrictEqual(await storage.load(waiting.id), waiting);
  const answered = makeCheckpoint({
    sessionId: waiting.sessionId,
    parentId: waiting.id,
    superstep: waiting.superstep + 1,
    state: { ...waiting.state, answer: "yes" },
  });
  await storage.save(answered);
  return answered;
}

/** `kv`, calling `hook` with each commit's number (from 1) before the commit; it may throw or act first. */
function hookedCommits(
  kv: KvHandle,
  hook: (n: number) => void | Promise<void>,
): { kv: KvHandle; commits: () => number } {
  let commits = 0;
  return {
    commits: () => commits,
    kv: {
      get: (key) => kv.get(key),
      getMany: (keys) => kv.getMany(keys),
      list: (selector, options) => kv.list(selector, options),
      atomic: () => {
        const op = kv.atomic();
        const commit = op.commit.bind(op);
        op.commit = async () => {
          await hook(++commits);
          return await commit();
        };
        return op;
      },
    },
  };
}

async function withKv(body: (kv: OpenKv) => Promise<void>): Promise<void> {
  const kv = await openKv(":memory:");
  try {
    await body(kv);
  } finally {
    kv.close();
  }
}

describe("KvCheckpointStorage: inline payloads", () => {
  test("save() stores a small payload in the checkpoint's record, summaries alone in the indexes", async () => {
    await withKv(async (kv) => {
      const storage = new KvCheckpointStorage({ kv });
      const checkpoint = sized(1000);
      await storage.save(checkpoint);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk"]), []);
      assert.strictEqual((await rawSummary(kv, checkpoint.id)).chunks, 0);
      const record = await rawValue(kv, "checkpoint", checkpoint.id);
      const payload = await rawPayload(kv, checkpoint.id);
      assert.ok(payload.length > 1000);
      const { sessionId, workflowName, id } = checkpoint;
      for (const index of [["by_session", sessionId, id], ["by_workflow", workflowName, id]]) {
        const copy = await rawValue(kv, ...index);
        assert.strictEqual(copy.indexOf(0x0a), -1, `${index[0]} holds no payload`);
        // @deno/kv returns Buffers, Deno plain Uint8Arrays: compare the bytes.
        assert.deepStrictEqual([...record.subarray(0, copy.length + 1)], [...copy, 0x0a]);
        assert.strictEqual(record.length, copy.length + 1 + payload.length);
      }
      assert.deepStrictEqual((await storage.list()).map((summary) => summary.id), [id]);
      assert.deepStrictEqual((await storage.list({ sessionId })).map((summary) => summary.id), [id]);
    });
  });

  test("load() of an inline payload is one get", async () => {
    await withKv(async (raw) => {
      const checkpoint = sized(1000);
      await new KvCheckpointStorage({ kv: raw }).save(checkpoint);
      const { kv, reads } = counting(raw);
      assert.deepStrictEqual(
        await new KvCheckpointStorage({ kv, deltas: false }).load(checkpoint.id),
        checkpoint,
      );
      assert.deepStrictEqual(reads, { get: 1, getMany: 0, list: 0 });
    });
  });

  test("load() of a delta reads its record, then its whole base chain, which the record names, in one getMany", async () => {
    await withKv(async (raw) => {
      const chain = await grow(new KvCheckpointStorage({ kv: raw }), 4);
      assert.deepStrictEqual(await keysUnder(raw, ["superstep", "chunk"]), []);
      assert.deepStrictEqual((await rawSummary(raw, chain[3].id)).chain, [chain[1].id, chain[0].id]);
      const { kv, reads } = counting(raw);
      const cold = new KvCheckpointStorage({ kv });
      assert.deepStrictEqual(await cold.load(chain[3].id), chain[3]);
      assert.deepStrictEqual(reads, { get: 1, getMany: 1, list: 0 });
    });
  });

  test("a head its session waits at carries its resume copy in its record: a cold load is one get; the answer's save cuts it off", async () => {
    await withKv(async (raw) => {
      const storage = new KvCheckpointStorage({ kv: raw });
      const chain = await grow(storage, 6);
      const last = chain[5];
      const waiting = makeCheckpoint({
        sessionId: last.sessionId,
        parentId: last.id,
        superstep: 6,
        state: { items: [...last.state.items as string[], "one more record"] },
        pendingRequests: [{ requestId: "r1", executorId: "review", data: "ok?" }],
      });
      await storage.save(waiting);
      const summary = await rawSummary(raw, waiting.id);
      assert.notStrictEqual(summary.base, undefined, "its payload is a delta");
      const copy = await rawCopy(raw, waiting.id);
      assert.ok(copy?.startsWith("~c"), "its record carries its resume copy");
      assert.strictEqual(summary.copy, new TextEncoder().encode(copy).length);
      assert.strictEqual(await rawCopy(raw, last.id), undefined, "a head that does not wait has none");
      // The index copies stay summaries: no `copy` there, nor `chain`.
      const indexedBytes = await rawValue(raw, "by_session", waiting.sessionId, waiting.id);
      const indexed = JSON.parse(new TextDecoder().decode(indexedBytes));
      assert.strictEqual(indexed.copy, undefined);
      assert.deepStrictEqual(await keysUnder(raw, ["superstep", "copy"]), [], "no key of its own");
      const { kv, reads } = counting(raw);
      assert.deepStrictEqual(await new KvCheckpointStorage({ kv }).load(waiting.id), waiting);
      assert.deepStrictEqual(reads, { get: 1, getMany: 0, list: 0 });

      const answered = makeCheckpoint({
        sessionId: waiting.sessionId,
        parentId: waiting.id,
        superstep: 7,
        state: { ...waiting.state, doc: "a document that makes the change small beside it ".repeat(40) },
      });
      // A cold storage answers: its codec learns the head from the copy, then cuts the copy off.
      const answering = new KvCheckpointStorage({ kv: raw });
      const payload = await rawPayload(raw, waiting.id);
      assert.deepStrictEqual(await answering.load(waiting.id), waiting);
      await answering.save(answered);
      assert.strictEqual(await rawCopy(raw, waiting.id), undefined, "the answer cut the copy off");
      assert.deepStrictEqual([...await rawPayload(raw, waiting.id)], [...payload], "its payload stays");
      assert.deepStrictEqual(await rawSummary(raw, waiting.id), summary, "its summary stays");
      // Its index copies are written again with it, unchanged: they keep the record's versionstamp.
      const [record, bySession, byWorkflow] = await raw.getMany([
        ["superstep", "checkpoint", waiting.id],
        ["superstep", "by_session", waiting.sessionId, waiting.id],
        ["superstep", "by_workflow", waiting.workflowName, waiting.id],
      ]);
      assert.deepStrictEqual([...bySession.value as Uint8Array], [...indexedBytes]);
      assert.deepStrictEqual([...byWorkflow.value as Uint8Array], [...indexedBytes]);
      assert.strictEqual(bySession.versionstamp, record.versionstamp);
      assert.strictEqual(byWorkflow.versionstamp, record.versionstamp);
      assert.deepStrictEqual(await new KvCheckpointStorage({ kv: raw }).load(waiting.id), waiting);
      assert.deepStrictEqual(await new KvCheckpointStorage({ kv: raw }).load(answered.id), answered);
      // A fork from a waiting head keeps its source's copy: the source's session still waits there.
      const paused = makeCheckpoint({
        sessionId: waiting.sessionId,
        parentId: answered.id,
        superstep: 8,
        state: { ...answered.state, answer: "yes" },
        pendingRequests: waiting.pendingRequests,
      });
      await answering.save(paused);
      assert.ok((await rawCopy(raw, paused.id))?.startsWith("~c"));
      const fork = makeCheckpoint({ parentId: paused.id, superstep: 9, state: { ...paused.state, fork: 1 } });
      await answering.save(fork);
      assert.ok((await rawCopy(raw, paused.id))?.startsWith("~c"), "a fork keeps its source's copy");
      // Deleting a checkpoint takes its copy with its record.
      assert.strictEqual(await answering.delete(fork.id), true);
      assert.strictEqual(await answering.delete(paused.id), true);
      assert.strictEqual((await raw.get(["superstep", "checkpoint", paused.id])).versionstamp, null);
      assert.deepStrictEqual(await new KvCheckpointStorage({ kv: raw }).load(answered.id), answered);
      // The session deletes whole (each record is checked on its index entry's versionstamp).
      assert.strictEqual(await answering.deleteSession(waiting.sessionId), 8);
      assert.deepStrictEqual(await keysUnder(raw, ["superstep", "checkpoint"]), []);
    });
  });

  test("an answering save whose cut of the copy fails still lands: the copy stays, every checkpoint loads", async () => {
    await withKv(async (raw) => {
      const { first: _, waiting } = await waitingOnOne(raw);
      assert.ok(await rawCopy(raw, waiting.id));
      // The store fails every commit after the save's own: the cut is best effort.
      const { kv, commits } = hookedCommits(raw, (n) => {
        if (n > 1) throw new Error("store down");
      });
      const answered = await answer(new KvCheckpointStorage({ kv }), waiting);
      assert.ok(commits() > 1, "the cut was tried");
      assert.ok(await rawCopy(raw, waiting.id), "the copy stays");
      const cold = new KvCheckpointStorage({ kv: raw });
      assert.strictEqual(await cold.head(waiting.sessionId), answered.id);
      assert.deepStrictEqual(await cold.load(waiting.id), waiting);
      assert.deepStrictEqual(await cold.load(answered.id), answered);
      assert.strictEqual(await cold.deleteSession(waiting.sessionId), 3);
    });
  });

  test("a record rewritten between the answer's read and its cut (its base deleted) keeps the rewrite", async () => {
    await withKv(async (raw) => {
      const { first, waiting } = await waitingOnOne(raw);
      assert.strictEqual((await rawSummary(raw, waiting.id)).base, first.id);
      // Right before the cut commits, another handle deletes the waiting head's base: the head is made
      // whole (its copy dropped), so the cut, checked on the record it read, must not land.
      const { kv, commits } = hookedCommits(raw, async (n) => {
        if (n === 2) assert.strictEqual(await new KvCheckpointStorage({ kv: raw }).delete(first.id), true);
      });
      const answered = await answer(new KvCheckpointStorage({ kv }), waiting);
      assert.strictEqual(commits(), 2, "the cut was tried once");
      assert.strictEqual(
        (await rawSummary(raw, waiting.id)).base,
        undefined,
        "the rewrite stays: it is whole",
      );
      assert.strictEqual(await rawCopy(raw, waiting.id), undefined);
      const cold = new KvCheckpointStorage({ kv: raw });
      assert.deepStrictEqual(await cold.load(waiting.id), waiting);
      assert.deepStrictEqual(await cold.load(answered.id), answered);
      assert.strictEqual(await cold.deleteSession(waiting.sessionId), 2);
    });
  });

  test("a resume copy that would pass the record's 64 KiB is not kept: the head resumes through its chain", async () => {
    await withKv(async (raw) => {
      const storage = new KvCheckpointStorage({ kv: raw });
      const base = sized(40_000);
      await storage.save(base);
      const waiting = makeCheckpoint({
        sessionId: base.sessionId,
        parentId: base.id,
        superstep: 1,
        state: { ...base.state, more: "y".repeat(30_000) },
        pendingRequests: [{ requestId: "r1", executorId: "review", data: "ok?" }],
      });
      await storage.save(waiting);
      assert.notStrictEqual((await rawSummary(raw, waiting.id)).base, undefined, "its payload is a delta");
      assert.strictEqual(await rawCopy(raw, waiting.id), undefined);
      assert.strictEqual((await rawSummary(raw, waiting.id)).copy, undefined);
      assert.deepStrictEqual(await new KvCheckpointStorage({ kv: raw }).load(waiting.id), waiting);
    });
  });

  test("save() puts a payload into chunks when the record would pass KV's 64 KiB value limit", async () => {
    await withKv(async (kv) => {
      const storage = new KvCheckpointStorage({ kv });
      const fits = sized(VALUE_LIMIT - 2000);
      const over = sized(VALUE_LIMIT);
      await storage.save(fits);
      await storage.save(over);
      assert.strictEqual((await rawSummary(kv, fits.id)).chunks, 0);
      assert.ok((await rawValue(kv, "checkpoint", fits.id)).length <= VALUE_LIMIT);
      assert.strictEqual((await rawSummary(kv, over.id)).chunks, 2);
      assert.strictEqual((await rawValue(kv, "checkpoint", over.id)).indexOf(0x0a), -1);
      assert.strictEqual((await keysUnder(kv, ["superstep", "chunk", over.id])).length, 2);
      assert.deepStrictEqual(await storage.load(fits.id), fits);
      assert.deepStrictEqual(await storage.load(over.id), over);
      await assertNoOrphanedChunks(kv);
      assert.strictEqual(await storage.delete(over.id), true);
      assert.strictEqual(await storage.delete(fits.id), true);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep"]), []);
    });
  });

  test("records of before inlining (payload in chunks) load, list and delete beside inline ones", async () => {
    await withKv(async (kv) => {
      const storage = new KvCheckpointStorage({ kv, deltas: false });
      const a = sized(100);
      const b = sized(100, { sessionId: a.sessionId, parentId: a.id });
      const c = sized(100, { sessionId: a.sessionId, parentId: b.id });
      for (const checkpoint of [a, b, c]) await storage.save(checkpoint);
      // `b` as the storage stored it before: its summary alone in the record, its payload in one chunk.
      await rewritePayload(kv, b.id, await rawPayload(kv, b.id));
      assert.strictEqual((await rawSummary(kv, b.id)).chunks, 1);
      assert.strictEqual((await rawValue(kv, "checkpoint", b.id)).indexOf(0x0a), -1);
      const cold = new KvCheckpointStorage({ kv });
      for (const checkpoint of [a, b, c]) assert.deepStrictEqual(await cold.load(checkpoint.id), checkpoint);
      assert.deepStrictEqual((await cold.list()).map((summary) => summary.id), [c.id, b.id, a.id]);
      assert.deepStrictEqual((await lineage(cold, c.id)).map((summary) => summary.id), [c.id, b.id, a.id]);
      await assertNoOrphanedChunks(kv);
      assert.strictEqual(await cold.delete(b.id), true);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk"]), []);
      assert.strictEqual(await cold.deleteSession(a.sessionId), 2);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep"]), []);
    });
  });

  test("deleting a delta's base stores the delta whole, inline, and removes the chunks of an old record", async () => {
    await withKv(async (kv) => {
      const storage = new KvCheckpointStorage({ kv });
      const chain = await grow(storage, 4);
      // chain[2] as stored before inlining: its delta payload in a chunk.
      await rewritePayload(kv, chain[2].id, await rawPayload(kv, chain[2].id));
      assert.strictEqual(await storage.delete(chain[1].id), true);
      assert.strictEqual(await storage.delete(chain[2].id), true);
      const whole = await rawSummary(kv, chain[3].id);
      assert.strictEqual(whole.chunks, 0);
      assert.strictEqual(whole.base, undefined);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk"]), []);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "delta_child"]), []);
      const cold = new KvCheckpointStorage({ kv, deltas: false });
      assert.deepStrictEqual(await cold.load(chain[3].id), chain[3]);
      assert.deepStrictEqual(await cold.load(chain[0].id), chain[0]);
      await assertNoOrphanedChunks(kv);
    });
  });

  test("load() of an inline record cut short is a CheckpointCorruptError naming it", async () => {
    await withKv(async (kv) => {
      const storage = new KvCheckpointStorage({ kv });
      const checkpoint = sized(1000);
      await storage.save(checkpoint);
      const record = await rawValue(kv, "checkpoint", checkpoint.id);
      await rawSet(kv, ["checkpoint", checkpoint.id], record.slice(0, record.length - 10));
      await assert.rejects(storage.load(checkpoint.id), (error: unknown) => {
        assert.ok(error instanceof CheckpointCorruptError);
        assert.strictEqual(error.checkpointId, checkpoint.id);
        assert.match(error.message, /inline payload takes \d+ bytes, not the \d+ its summary says/);
        return true;
      });
      // A summary that names no chunks and no payload after it.
      const summary = record.subarray(0, record.indexOf(0x0a));
      await rawSet(kv, ["checkpoint", checkpoint.id], summary);
      await assert.rejects(storage.load(checkpoint.id), /names no chunks and holds no payload/);
    });
  });
});
