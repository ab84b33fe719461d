// Delta payloads (src/_delta.ts through the storage kit): a checkpoint stored as the change since its
// parent rebuilds exactly — from a cold codec reading its base chain, after its parent was deleted, across
// random edits of random JSON values with surrogate pairs — and is small when the state grew a little.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Checkpoint, CheckpointCorruptError, encodeCheckpoint } from "../mod.ts";
import { MemoryCheckpointStorage } from "../adapters/memory.ts";
import {
  deltaBase,
  DeltaCodec,
  encodeForStorage,
  isDeltaPayload,
  loadStoredCheckpoint,
  type ReadChain,
} from "../src/storage_kit.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { scale, SEED, TIME_LIMIT_MS } from "./_stress.ts";

/** Payloads saved through `codec`, by id, with a ReadChain over them. */
function store(codec: DeltaCodec, checkpoints: Checkpoint[]) {
  const payloads = new Map<string, string>();
  for (const checkpoint of checkpoints) {
    const encoded = encodeForStorage("test", checkpoint, codec);
    assert.equal(encoded.base, deltaBase(encoded.payload));
    payloads.set(checkpoint.id, encoded.payload);
    encoded.stored();
  }
  const read: ReadChain = (id, count) => {
    const out: { id: string; payload: string }[] = [];
    for (
      let at: string | null = id;
      at !== null && payloads.has(at) && out.length < count;
      at = deltaBase(payloads.get(at)!)
    ) {
      out.push({ id: at, payload: payloads.get(at)! });
    }
    return Promise.resolve(out);
  };
  return { payloads, read };
}

/** Each of `chain` loads exactly from its payload through a codec that knows nothing yet. */
async function assertRebuildsCold(chain: Checkpoint[], payloads: Map<string, string>, read: ReadChain) {
  for (const checkpoint of chain) {
    const loaded = await loadStoredCheckpoint(
      "test",
      checkpoint,
      payloads.get(checkpoint.id)!,
      new DeltaCodec(),
      read,
    );
    assert.deepStrictEqual(loaded, checkpoint);
  }
}

function chainOf(states: Record<string, unknown>[]): Checkpoint[] {
  const out: Checkpoint[] = [];
  const sessionId = `s-${crypto.randomUUID()}`;
  for (const [i, state] of states.entries()) {
    out.push(makeCheckpoint({ sessionId, parentId: out.at(-1)?.id ?? null, superstep: i, state }));
  }
  return out;
}

const record = (i: number) => ({ id: i, text: `record ${i} `.padEnd(50, "lorem ipsum ") });

describe("delta payloads", () => {
  test("a state growing by a record per checkpoint stores about a record per checkpoint, and rebuilds cold", async () => {
    const states = Array.from(
      { length: 300 },
      (_, n) => ({ items: Array.from({ length: n + 1 }, (_, i) => record(i)) }),
    );
    const chain = chainOf(states);
    const { payloads, read } = store(new DeltaCodec({ maxDepth: 32 }), chain);
    const whole = chain.reduce((sum, checkpoint) => sum + encodeCheckpoint(checkpoint).length, 0);
    const stored = [...payloads.values()].reduce((sum, payload) => sum + payload.length, 0);
    assert.ok(stored * 10 < whole, `stored ${stored} code units for ${whole} whole`);
    assert.ok([...payloads.values()].every(isDeltaPayload));
    const cold = new DeltaCodec({ cacheSize: 0 });
    for (const checkpoint of chain) {
      assert.deepStrictEqual(
        await loadStoredCheckpoint("test", checkpoint, payloads.get(checkpoint.id)!, cold, read),
        checkpoint,
      );
    }
  });

  test("runs of deltas start at anchors: a load reads at most maxDepth deltas, a keyframe comes every (maxDepth/2+1)²", async () => {
    const states = Array.from(
      { length: 200 },
      (_, n) => ({ items: Array.from({ length: n + 1 }, (_, i) => record(i)) }),
    );
    const chain = chainOf(states);
    const { payloads, read } = store(new DeltaCodec({ maxDepth: 8 }), chain);
    const index = (id: string) => JSON.parse(payloads.get(id)!.slice(2, payloads.get(id)!.indexOf("\n")));
    const keyframes = chain.filter(({ id }) => index(id).b === null).length;
    // Runs of 4 deltas on parents, each next run on the last one's anchor, up to 4 anchors: 25 a keyframe.
    assert.equal(keyframes, 8);
    for (const [i, checkpoint] of chain.entries()) {
      const { b, d } = index(checkpoint.id);
      assert.ok(d <= 8, `depth ${d} at ${i}`);
      const found = await read(checkpoint.id, d + 1);
      assert.equal(found.length, d + 1, `chain of ${i}`);
      assert.equal(deltaBase(found.at(-1)!.payload), null);
      if (b !== null && b !== checkpoint.parentId) {
        // An anchor: on the first checkpoint of the run before it.
        assert.equal(chain.findIndex(({ id }) => id === b), i - 5, `anchor at ${i}`);
      }
    }
    const cold = new DeltaCodec({ cacheSize: 0 });
    for (const checkpoint of chain) {
      assert.deepStrictEqual(
        await loadStoredCheckpoint("test", checkpoint, payloads.get(checkpoint.id)!, cold, read),
        checkpoint,
      );
    }
  });

  test("a keyframe comes at least every maxDepth checkpoints, and a fork's first checkpoint is one", () => {
    const chain = chainOf(Array.from({ length: 40 }, (_, n) => ({ n })));
    const { payloads } = store(new DeltaCodec({ maxDepth: 8 }), chain);
    const depths = chain.map((c) =>
      JSON.parse(payloads.get(c.id)!.slice(2, payloads.get(c.id)!.indexOf("\n"))).d
    );
    assert.ok(Math.max(...depths) <= 8);
    assert.equal(depths[0], 0);
    const codec = new DeltaCodec();
    store(codec, chain);
    const fork = makeCheckpoint({ sessionId: "fork", parentId: chain[20].id, state: { n: 20 } });
    const payload = encodeForStorage("test", fork, codec).payload;
    assert.equal(JSON.parse(payload.slice(2, payload.indexOf("\n"))).b, null);
  });

  test("a delta's header keeps only what its base does not imply, and a changed field rebuilds cold", async () => {
    const sessionId = "headers";
    const root = makeCheckpoint({ sessionId, superstep: 0, state: { n: 0 } });
    const next = makeCheckpoint({ sessionId, parentId: root.id, superstep: 1, state: { n: 1 } });
    // After a deploy (another graph signature, another workflow name) and a jump of superstep numbers.
    const changed = makeCheckpoint({
      sessionId,
      parentId: next.id,
      superstep: 7,
      workflowName: "renamed",
      graphSignature: "f".repeat(64),
      state: { n: 2 },
    });
    const chain = [root, next, changed];
    const { payloads, read } = store(new DeltaCodec(), chain);
    const header = (id: string) => JSON.parse(payloads.get(id)!.slice(2, payloads.get(id)!.indexOf("\n"))).h;
    assert.deepEqual(Object.keys(header(next.id)).sort(), ["createdAt", "id"]);
    // Its change since the root is as small as since its parent: a delta on the root, whose header names
    // the parent too.
    assert.equal(deltaBase(payloads.get(changed.id)!), root.id);
    assert.deepEqual(Object.keys(header(changed.id)).sort(), [
      "createdAt",
      "graphSignature",
      "id",
      "parentId",
      "superstep",
      "workflowName",
    ]);
    await assertRebuildsCold(chain, payloads, read);
  });

  test("values JSON does not keep exactly, or objects shared between values, are stored whole", () => {
    const codec = new DeltaCodec();
    const shared = { same: true };
    for (const state of [{ when: new Date(0) }, { a: shared, b: shared }, { big: 1n }]) {
      const payload = encodeForStorage("test", makeCheckpoint({ state }), codec).payload;
      assert.equal(isDeltaPayload(payload), false, JSON.stringify(Object.keys(state)));
    }
  });

  test("rebase() makes a delta whole before its base goes, and a damaged payload is corrupt, not thrown away", async () => {
    // A large value that grows by a record each time: every delta is on its parent.
    const chain = chainOf([0, 1, 2].map((n) => ({ a: Array.from({ length: n + 1 }, (_, i) => record(i)) })));
    const codec = new DeltaCodec();
    const { payloads, read } = store(codec, chain);
    assert.deepEqual(chain.map(({ id }) => deltaBase(payloads.get(id)!)), [null, chain[0].id, chain[1].id]);
    const whole = await codec.rebase(chain[1].id, payloads.get(chain[1].id)!, chain[0].id, read);
    assert.ok(whole !== undefined);
    payloads.set(chain[1].id, whole);
    payloads.delete(chain[0].id);
    const cold = new DeltaCodec({ cacheSize: 0 });
    for (const checkpoint of chain.slice(1)) {
      assert.deepStrictEqual(
        await loadStoredCheckpoint("test", checkpoint, payloads.get(checkpoint.id)!, cold, read),
        checkpoint,
      );
    }
    assert.equal(await codec.rebase(chain[2].id, payloads.get(chain[2].id)!, chain[0].id, read), undefined);
    const damaged = payloads.get(chain[2].id)!.slice(0, -1);
    await assert.rejects(
      loadStoredCheckpoint("test", chain[2], damaged, new DeltaCodec(), read),
      (error) => error instanceof CheckpointCorruptError && error.sessionId === chain[2].sessionId,
    );
  });

  test("a state whose large value stays put shares its base: two payloads a load, a new keyframe every 32 supersteps", async () => {
    const items = Array.from({ length: 50 }, (_, i) => record(i));
    const chain = chainOf(Array.from({ length: 100 }, (_, cursor) => ({ items, cursor })));
    const codec = new DeltaCodec();
    const { payloads, read } = store(codec, chain);
    const bases = chain.map(({ id }) => deltaBase(payloads.get(id)!));
    // Keyframes at 0, 33, 66, 99; each checkpoint between is a delta on the keyframe before it.
    assert.deepEqual(
      bases.map((base, i) =>
        base === null ? "keyframe" : chain.findIndex(({ id }) => id === base) === i - (i % 33)
      ),
      chain.map((_, i) => i % 33 === 0 ? "keyframe" : true),
    );
    let reads = 0;
    const counted: ReadChain = (id, count) => {
      reads++;
      return read(id, count).then((found) => {
        assert.equal(found.length, 1, "the base alone is read");
        return found;
      });
    };
    await assertRebuildsCold(chain, payloads, counted);
    assert.equal(reads, 96);
    // A delta on the parent's base costs what one on the parent does here; where the parent changed a
    // large value, its child stays on the parent.
    const grown = makeCheckpoint({
      sessionId: chain[0].sessionId,
      parentId: chain[99].id,
      superstep: 100,
      state: { items: [...items, record(50), record(51)], cursor: 100 },
    });
    const after = makeCheckpoint({
      sessionId: chain[0].sessionId,
      parentId: grown.id,
      superstep: 101,
      state: { items: [...items, record(50), record(51)], cursor: 101 },
    });
    const more = store(codec, [grown, after]).payloads;
    assert.equal(deltaBase(more.get(grown.id)!), chain[99].id);
    assert.equal(deltaBase(more.get(after.id)!), grown.id);
  });

  test("deleting a shared base makes each of its dependents whole, in the memory adapter", async () => {
    const storage = new MemoryCheckpointStorage();
    const items = Array.from({ length: 50 }, (_, i) => record(i));
    const chain = chainOf(Array.from({ length: 20 }, (_, cursor) => ({ items, cursor })));
    for (const checkpoint of chain) await storage.save(checkpoint);
    assert.equal(await storage.delete(chain[0].id), true);
    for (const checkpoint of chain.slice(1)) {
      assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
    }
    // Saved on after the delete: the head, whole now, is a base again.
    const next = makeCheckpoint({
      sessionId: chain[0].sessionId,
      parentId: chain[19].id,
      superstep: 20,
      state: { items, cursor: 20 },
    });
    await storage.save(next);
    assert.equal(await storage.delete(chain[19].id), true);
    assert.deepStrictEqual(await storage.load(next.id), next);
  });

  test("the memory adapter with a small cache reads base chains, and deletes in the middle keep the rest loading", async () => {
    const storage = new MemoryCheckpointStorage({ deltas: { cacheSize: 4096 } });
    const chain = chainOf(
      Array.from({ length: 80 }, (_, n) => ({ items: Array.from({ length: n }, (_, i) => record(i)) })),
    );
    for (const checkpoint of chain) await storage.save(checkpoint);
    for (const index of [10, 11, 50]) assert.equal(await storage.delete(chain[index].id), true);
    for (const [i, checkpoint] of chain.entries()) {
      if ([10, 11, 50].includes(i)) assert.equal(await storage.load(checkpoint.id), undefined);
      else assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
    }
  });
});

/** Random JSON values, with strings of surrogate pairs and lone-free unicode. */
const text = fc.string({ unit: fc.constantFrom("a", "b", "é", "😀", "𝄞", '"', "\\", "\n"), maxLength: 12 });
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    // Plain objects only: workerd's deepStrictEqual cannot compare null-prototype ones (whole payloads keep them).
    fc.dictionary(text, tie("value"), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;

/** An edit of a state: a key set, deleted, or a string key's text spliced. */
const edit = fc.record({
  key: fc.constantFrom("a", "b", "c", "__proto__"),
  kind: fc.constantFrom("set", "delete", "append", "splice"),
  value: json,
  at: fc.nat(),
  insert: text,
});

/** The states a chain of edits goes through, one per edit. */
function statesOf(edits: { key: string; kind: string; value: unknown; at: number; insert: string }[]) {
  let state: Record<string, unknown> = {};
  const states: Record<string, unknown>[] = [];
  for (const { key, kind, value, at, insert } of edits) {
    state = { ...state };
    const old = Object.hasOwn(state, key) ? state[key] : undefined;
    if (kind === "delete") delete state[key];
    else if (kind === "append") {
      Object.defineProperty(state, key, {
        value: [...(Array.isArray(old) ? old : []), value],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (kind === "splice" && typeof old === "string") {
      const cut = at % (old.length + 1);
      state[key] = old.slice(0, cut) + insert + old.slice(cut);
    } else {
      Object.defineProperty(state, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    states.push(state);
  }
  return states;
}

describe("property: delta payloads rebuild exactly", () => {
  const runs = scale(100, 3000);
  test(`random chains of edits of random JSON states rebuild exactly from a cold codec (${runs} chains)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 25 }), fc.nat(6), async (edits, depth) => {
        const states = statesOf(edits);
        const chain = chainOf(states);
        const { payloads, read } = store(new DeltaCodec({ maxDepth: depth }), chain);
        const cold = new DeltaCodec({ cacheSize: 0 });
        for (const checkpoint of chain) {
          const payload = payloads.get(checkpoint.id)!;
          assert.equal(payload, payload.toWellFormed(), "a stored payload is well-formed");
          assert.deepStrictEqual(
            await loadStoredCheckpoint("test", checkpoint, payload, cold, read),
            checkpoint,
          );
        }
      }),
      { seed: SEED, numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
  });

  test(`random chains that wait and resume from their copies in a cold codec rebuild exactly (${runs} chains)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ edit, waits: fc.boolean(), resumes: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.nat(8),
        async (steps, depth) => {
          const states = statesOf(steps.map(({ edit }) => edit));
          const chain = chainOf(states).map((checkpoint, i) =>
            steps[i].waits
              ? { ...checkpoint, pendingRequests: [{ requestId: `r${i}`, executorId: "x", data: i }] }
              : checkpoint
          );
          const stored = new Map<string, { payload: string; copy: string | null }>();
          const read: ReadChain = (id, count) => {
            const out: { id: string; payload: string }[] = [];
            for (let at: string | null = id; at !== null && stored.has(at) && out.length < count;) {
              out.push({ id: at, payload: stored.get(at)!.payload });
              at = deltaBase(stored.get(at)!.payload);
            }
            return Promise.resolve(out);
          };
          let codec = new DeltaCodec({ maxDepth: depth });
          for (const [i, checkpoint] of chain.entries()) {
            const encoded = encodeForStorage("test", checkpoint, codec, { copies: true });
            assert.ok(encoded.bases.length <= depth, "a load reads at most maxDepth deltas");
            if (encoded.dropCopy !== null) stored.get(encoded.dropCopy)!.copy = null;
            stored.set(checkpoint.id, { payload: encoded.payload, copy: encoded.copy });
            encoded.stored();
            // Answered in another process: a cold codec loads the head (from its copy, if it has one).
            if (steps[i].waits && steps[i].resumes) {
              codec = new DeltaCodec({ maxDepth: depth });
              const { payload, copy } = stored.get(checkpoint.id)!;
              assert.deepStrictEqual(
                await loadStoredCheckpoint("test", checkpoint, payload, codec, read, copy),
                checkpoint,
              );
            }
          }
          for (const checkpoint of chain) {
            const { payload, copy } = stored.get(checkpoint.id)!;
            for (const given of [undefined, copy]) {
              const cold = new DeltaCodec({ cacheSize: 0 });
              assert.deepStrictEqual(
                await loadStoredCheckpoint("test", checkpoint, payload, cold, read, given),
                checkpoint,
              );
            }
          }
        },
      ),
      { seed: SEED, numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
  });
});
