// The Deno KV adapter: the conformance suite on `:memory:`, on a file shared by many handles and on prefixes
// of one handle, then its own cases: chunking, staging, injected failures between staging and commit, the
// cleanup of abandoned saves, two handles racing on one file, and a workflow resumed through it.
//
// On Deno the store is `Deno.openKv`; on Node and Bun it is `openKv` of `@deno/kv`, opened with V8
// serializers that throw: the adapter stores bytes only, so they must never run (Bun has no V8 serializer).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type KvAtomicOperation,
  KvCheckpointStorage,
  type KvCheckpointStorageOptions,
  type KvHandle,
  type KvKey,
} from "../adapters/kv/mod.ts";
import {
  type Checkpoint,
  CheckpointConflictError,
  CheckpointCorruptError,
  defineExecutor,
  lineage,
  WorkflowBuilder,
} from "../mod.ts";
import { assertDeleteWhileRunning, Tally } from "./_fixtures.ts";
import { faultyKv } from "./_fault_injection.ts";
import { assertNoOrphanedChunks, assertSessionConsistent, rawPayload, rawSummary } from "./_kv_inspect.ts";
import { assertFinishedByAnotherProcess } from "./_child.ts";
import { type OpenKv, openKv, OwningKvStorage } from "./fixtures/open_storage.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../testing/mod.ts";

const dir = mkdtempSync(join(tmpdir(), "superstep-kv-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = () => join(dir, `kv-${++files}.db`);

/** Storages on one shared handle, each under its own prefix; the handle closes with the last storage. */
function prefixedStorages(path: string): () => Promise<KvCheckpointStorage> {
  let kv: Promise<OpenKv> | undefined;
  let users = 0;
  return async () => {
    users++;
    kv ??= openKv(path);
    const handle = await kv;
    const storage = new KvCheckpointStorage({ kv: handle, prefix: ["tenants", crypto.randomUUID()] });
    return Object.assign(storage, {
      close(): Promise<void> {
        if (--users === 0) {
          handle.close();
          kv = undefined;
        }
        return Promise.resolve();
      },
    });
  };
}

// The 1,000-checkpoint chain runs once per runtime, on the file (where a second, cold handle loads it
// too): the two :memory: runs store through the same adapter code into the same kind of store, and what
// they add (a store of one's own; a prefix before every key) the other cases check; a chain of 100 spans
// several delta bases all the same.
const SHORT_CHAIN = { chainLength: 100 };
checkpointStorageConformance(
  "kv :memory:",
  async () => new OwningKvStorage(await openKv(":memory:")),
  SHORT_CHAIN,
);

const sharedFile = tempFile();
checkpointStorageConformance("kv file, a new handle per storage", async () => {
  return new OwningKvStorage(await openKv(sharedFile));
}, { sharedBackend: true });

checkpointStorageConformance(
  "kv :memory:, one handle, a prefix per storage",
  prefixedStorages(":memory:"),
  SHORT_CHAIN,
);

/** The keys under `prefix`, in order. */
async function keysUnder(kv: KvHandle, prefix: KvKey): Promise<KvKey[]> {
  const out: KvKey[] = [];
  for await (const entry of kv.list({ prefix })) out.push(entry.key as KvKey);
  return out;
}

/** A checkpoint whose payload (random bytes, base64 in the codec's text) takes about `mib` MiB. */
function large(mib: number, overrides: Partial<Checkpoint> = {}): Checkpoint {
  const bytes = new Uint8Array(Math.round(mib * 1024 * 1024 * 3 / 4));
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return makeCheckpoint({ ...overrides, state: { bytes } });
}

/** What one atomic of an intercepted handle does. */
interface AtomicPlan {
  sets: KvKey[];
  deletes: KvKey[];
}

/** A commit's fate: forward it, make it throw, or make it fail its checks without applying anything. */
type Verdict = "commit" | "throw" | "fail";

class InterceptedAtomic implements KvAtomicOperation {
  readonly #op: KvAtomicOperation;
  readonly #plan: AtomicPlan = { sets: [], deletes: [] };
  readonly #decide: (plan: AtomicPlan) => Verdict | Promise<Verdict>;
  constructor(op: KvAtomicOperation, decide: (plan: AtomicPlan) => Verdict | Promise<Verdict>) {
    this.#op = op;
    this.#decide = decide;
  }
  check(...checks: { key: KvKey; versionstamp: string | null }[]): this {
    this.#op.check(...checks);
    return this;
  }
  set(key: KvKey, value: Uint8Array): this {
    this.#plan.sets.push(key);
    this.#op.set(key, value);
    return this;
  }
  delete(key: KvKey): this {
    this.#plan.deletes.push(key);
    this.#op.delete(key);
    return this;
  }
  async commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }> {
    const verdict = await this.#decide(this.#plan);
    if (verdict === "throw") throw new Error("injected: the store went away");
    if (verdict === "fail") return { ok: false };
    return await this.#op.commit();
  }
}

/** `kv`, with every atomic commit first shown to `decide`. */
function intercept(kv: KvHandle, decide: (plan: AtomicPlan) => Verdict | Promise<Verdict>): KvHandle {
  return {
    get: (key) => kv.get(key),
    getMany: (keys) => kv.getMany(keys),
    list: (selector, options) => kv.list(selector, options),
    atomic: () => new InterceptedAtomic(kv.atomic(), decide),
  };
}

/** The final commit of a save: the one that sets a session head (keys under the default prefix). */
const setsHead = (plan: AtomicPlan) => plan.sets.some((key) => key[1] === "head");
const stagesChunks = (plan: AtomicPlan) => plan.sets.some((key) => key[1] === "chunk") && !setsHead(plan);

describe("KvCheckpointStorage", () => {
  test("new KvCheckpointStorage() rejects a missing kv, a bad prefix and a bad staleAfterMs", async () => {
    const kv = await openKv(":memory:");
    try {
      assert.throws(
        () => new KvCheckpointStorage({} as KvCheckpointStorageOptions),
        /^TypeError: kv: cannot create the storage: options.kv must be a Deno.Kv, got undefined/,
      );
      assert.throws(() => new KvCheckpointStorage({ kv, prefix: "x" as unknown as KvKey }), TypeError);
      assert.throws(() => new KvCheckpointStorage({ kv, staleAfterMs: -1 }), RangeError);
      await assert.rejects(new KvCheckpointStorage({ kv }).vacuum({ olderThanMs: NaN }), RangeError);
    } finally {
      kv.close();
    }
  });

  test("save() conflicts are CheckpointConflictErrors that name the adapter, checkpoint and head", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const root = makeCheckpoint();
      await storage.save(root);
      const stale = makeCheckpoint({ sessionId: root.sessionId, parentId: null });
      await assert.rejects(storage.save(stale), (error: unknown) => {
        assert.ok(error instanceof CheckpointConflictError);
        assert.match(error.message, /^kv: cannot save checkpoint .*: session head moved/);
        assert.ok(error.message.includes(stale.id) && error.message.includes(root.id));
        return true;
      });
      await assert.rejects(storage.save(root), /^CheckpointConflictError: kv: .*the id exists already/);
      await assert.rejects(storage.list({ limit: 0 }), /^RangeError: kv: cannot list checkpoints/);
    } finally {
      kv.close();
    }
  });

  test("save() then load() round-trips a 5 MiB checkpoint in 60 KiB chunks, staged", async () => {
    const kv = await openKv(":memory:");
    try {
      const atomics: AtomicPlan[] = [];
      const storage = new KvCheckpointStorage({
        kv: intercept(kv, (plan) => (atomics.push(plan), "commit")),
      });
      const cp = large(5);
      await storage.save(cp);
      assert.deepStrictEqual(await storage.load(cp.id), cp);
      const chunks = await keysUnder(kv, ["superstep", "chunk", cp.id]);
      assert.ok(chunks.length >= 86, `${chunks.length} chunks`);
      assert.ok(atomics.filter(stagesChunks).length >= 8, "the chunks were staged in several atomics");
      assert.strictEqual(atomics.filter(setsHead).length, 1);
      for (const plan of atomics) assert.ok(plan.sets.length + plan.deletes.length <= 1000);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "staging"]), []);
      assert.deepStrictEqual((await storage.list()).map((s) => s.id), [cp.id]);
    } finally {
      kv.close();
    }
  });

  test("save() of a small checkpoint is one atomic commit", async () => {
    const kv = await openKv(":memory:");
    try {
      const atomics: AtomicPlan[] = [];
      const storage = new KvCheckpointStorage({
        kv: intercept(kv, (plan) => (atomics.push(plan), "commit")),
      });
      await storage.save(makeCheckpoint({ state: { text: "x".repeat(200_000) } }));
      assert.strictEqual(atomics.length, 1);
      assert.ok(setsHead(atomics[0]));
    } finally {
      kv.close();
    }
  });

  test("while a large save stages its chunks, readers see nothing of it", async () => {
    const kv = await openKv(":memory:");
    try {
      const reader = new KvCheckpointStorage({ kv });
      const root = makeCheckpoint();
      await reader.save(root);
      const cp = large(2, { sessionId: root.sessionId, parentId: root.id });
      let looks = 0;
      const writer = new KvCheckpointStorage({
        kv: intercept(kv, async (plan): Promise<Verdict> => {
          if (stagesChunks(plan)) {
            looks++;
            assert.strictEqual(await reader.load(cp.id), undefined);
            assert.strictEqual(await reader.head(root.sessionId), root.id);
            assert.deepStrictEqual((await reader.list()).map((s) => s.id), [root.id]);
            assert.deepStrictEqual(await reader.lineage(cp.id), []);
          }
          return "commit";
        }),
      });
      await writer.save(cp);
      assert.ok(looks >= 2);
      assert.strictEqual(await reader.head(root.sessionId), cp.id);
    } finally {
      kv.close();
    }
  });

  for (const verdict of ["throw", "fail"] as const) {
    test(`save() whose final commit ${verdict === "throw" ? "throws" : "fails its checks"} leaves no trace`, async () => {
      const kv = await openKv(":memory:");
      try {
        const plain = new KvCheckpointStorage({ kv });
        const root = makeCheckpoint();
        await plain.save(root);
        const storage = new KvCheckpointStorage({
          kv: intercept(kv, (plan) => setsHead(plan) ? verdict : "commit"),
        });
        const cp = large(2, { sessionId: root.sessionId, parentId: root.id });
        await assert.rejects(
          storage.save(cp),
          verdict === "throw" ? /injected/ : (error: unknown) => error instanceof CheckpointConflictError,
        );
        assert.strictEqual(await plain.load(cp.id), undefined);
        assert.strictEqual(await plain.head(root.sessionId), root.id);
        assert.deepStrictEqual((await plain.list()).map((s) => s.id), [root.id]);
        // Its own staged chunks went at once.
        assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk", cp.id]), []);
        assert.deepStrictEqual(await keysUnder(kv, ["superstep", "staging"]), []);
        assert.deepStrictEqual(await plain.vacuum({ olderThanMs: 0 }), {
          abandonedSaves: 0,
          deletedPayloads: 0,
        });
      } finally {
        kv.close();
      }
    });
  }

  /** A save that "crashes" at its final commit: that commit and everything after it throw. */
  async function crashedSave(kv: KvHandle, cp: Checkpoint): Promise<void> {
    let crashed = false;
    const storage = new KvCheckpointStorage({
      kv: intercept(kv, (plan) => {
        crashed ||= setsHead(plan);
        return crashed ? "throw" : "commit";
      }),
    });
    await assert.rejects(storage.save(cp), /injected/);
    assert.ok(
      (await keysUnder(kv, ["superstep", "chunk", cp.id])).length > 0,
      "the crash left chunks behind",
    );
    assert.strictEqual((await keysUnder(kv, ["superstep", "staging"])).length, 1);
  }

  test("vacuum() removes a crashed save's chunks once it is stale, never a save that may still commit", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const root = makeCheckpoint();
      await storage.save(root);
      const cp = large(1.5, { sessionId: root.sessionId, parentId: root.id });
      await crashedSave(kv, cp);
      assert.strictEqual(await storage.load(cp.id), undefined);
      assert.strictEqual(await storage.head(root.sessionId), root.id);
      assert.deepStrictEqual((await storage.list()).map((s) => s.id), [root.id]);
      // The head has not moved and the save is young: it could still commit, so it stays.
      assert.deepStrictEqual(await storage.vacuum(), { abandonedSaves: 0, deletedPayloads: 0 });
      assert.ok((await keysUnder(kv, ["superstep", "chunk", cp.id])).length > 0);
      assert.deepStrictEqual(await storage.vacuum({ olderThanMs: 0 }), {
        abandonedSaves: 1,
        deletedPayloads: 0,
      });
      // The root's small payload is inline in its record: no chunk of anything is left.
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk"]).then((keys) => keys.length), 0);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "staging"]), []);
      assert.deepStrictEqual(await storage.load(root.id), root);
    } finally {
      kv.close();
    }
  });

  test("vacuum() removes a crashed save at once when its session head has moved since", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const a = makeCheckpoint();
      const b = makeCheckpoint({ sessionId: a.sessionId, parentId: a.id });
      await storage.save(a);
      await storage.save(b);
      await crashedSave(kv, large(1.5, { sessionId: a.sessionId, parentId: b.id }));
      // Deleting the head moves it back to `a`: the crashed save, which checks `b`'s head, can never commit.
      assert.strictEqual(await storage.delete(b.id), true);
      assert.deepStrictEqual(await storage.vacuum(), { abandonedSaves: 1, deletedPayloads: 0 });
      // `a`'s small payload is inline in its record.
      assert.deepStrictEqual((await keysUnder(kv, ["superstep", "chunk"])).length, 0);
    } finally {
      kv.close();
    }
  });

  test("the next save of the session removes the chunks of a crashed save", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const root = makeCheckpoint();
      await storage.save(root);
      const cp = large(1.5, { sessionId: root.sessionId, parentId: root.id });
      await crashedSave(kv, cp);
      const next = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id });
      await storage.save(next);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk", cp.id]), []);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "staging"]), []);
      assert.strictEqual(await storage.head(root.sessionId), next.id);
    } finally {
      kv.close();
    }
  });

  test("load() of a checkpoint with a missing chunk is a CheckpointCorruptError naming it", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const cp = large(0.5);
      await storage.save(cp);
      const [, second] = await keysUnder(kv, ["superstep", "chunk", cp.id]);
      await kv.atomic().delete(second).commit();
      await assert.rejects(storage.load(cp.id), (error: unknown) => {
        assert.ok(error instanceof CheckpointCorruptError);
        assert.strictEqual(error.checkpointId, cp.id);
        assert.match(error.message, /kv: chunk 1 of \d+ is missing/);
        return true;
      });
    } finally {
      kv.close();
    }
  });

  test("delete() and deleteSession() of large checkpoints remove every chunk", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const a = large(5);
      const b = large(5, { sessionId: a.sessionId, parentId: a.id });
      const c = large(0.3, { sessionId: a.sessionId, parentId: b.id });
      const other = large(5);
      for (const cp of [a, b, c, other]) await storage.save(cp);
      assert.strictEqual(await storage.delete(other.id), true);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep", "chunk", other.id]), []);
      assert.strictEqual(await storage.deleteSession(a.sessionId), 3);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep"]), []);
    } finally {
      kv.close();
    }
  });

  test("two handles on one file: of 8 concurrent saves with the same parent, exactly one wins", async () => {
    const path = tempFile();
    const [one, two] = [await openKv(path), await openKv(path)];
    try {
      const storages = [new KvCheckpointStorage({ kv: one }), new KvCheckpointStorage({ kv: two })];
      const root = makeCheckpoint();
      await storages[0].save(root);
      for (const size of ["small", "large"] as const) {
        const parent = (await storages[1].head(root.sessionId))!;
        const contenders = Array.from({ length: size === "small" ? 8 : 4 }, (_, i) => {
          const overrides = { sessionId: root.sessionId, parentId: parent, metadata: { i } };
          return size === "small" ? makeCheckpoint(overrides) : large(1, overrides);
        });
        const results = await Promise.allSettled(contenders.map((cp, i) => storages[i % 2].save(cp)));
        const winners = contenders.filter((_, i) => results[i].status === "fulfilled");
        assert.strictEqual(winners.length, 1, `${size}: exactly one save must win`);
        for (const result of results) {
          if (result.status === "rejected") {
            assert.ok(
              result.reason instanceof CheckpointConflictError,
              String(result.reason?.stack ?? result.reason),
            );
          }
        }
        for (const storage of storages) assert.strictEqual(await storage.head(root.sessionId), winners[0].id);
        assert.deepStrictEqual(await storages[1].load(winners[0].id), winners[0]);
        for (const cp of contenders) {
          if (cp === winners[0]) continue;
          assert.strictEqual(await storages[0].load(cp.id), undefined);
          assert.deepStrictEqual(await keysUnder(one, ["superstep", "chunk", cp.id]), [], "a loser's chunks");
        }
      }
      assert.deepStrictEqual(await keysUnder(two, ["superstep", "staging"]), []);
    } finally {
      one.close();
      two.close();
    }
  });

  test("the storage never closes the kv it was given", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      await storage.save(makeCheckpoint());
      assert.strictEqual("close" in storage, false);
      assert.strictEqual((await kv.get(["anything"])).versionstamp, null);
    } finally {
      kv.close();
    }
  });
});

/** tally → double → emit, checkpointed to `storage`; every call builds new executors (a fresh process). */
function linear(storage: KvCheckpointStorage) {
  const tally = new Tally();
  const double = defineExecutor({ id: "double", handle: async (n: number, ctx) => await ctx.send(n * 2) });
  const emit = defineExecutor({ id: "emit", handle: async (n: number, ctx) => await ctx.yieldOutput(n) });
  return new WorkflowBuilder({ name: "linear", start: tally }).addChain([tally, double, emit])
    .withCheckpointing(storage).build();
}

describe("KvCheckpointStorage: delta payloads", () => {
  /** A session of `length` checkpoints whose state (`base` records, then one more each) grows. */
  async function grow(storage: KvCheckpointStorage, length: number, record = 40): Promise<Checkpoint[]> {
    const sessionId = `grow-${crypto.randomUUID()}`;
    const chain: Checkpoint[] = [];
    for (let i = 0, parentId: string | null = null; i < length; i++) {
      const items = Array.from({ length: i + 1 }, (_, n) => `record ${n} `.padEnd(record, "."));
      const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i, state: { items } });
      await storage.save(checkpoint);
      chain.push(checkpoint);
      parentId = checkpoint.id;
    }
    return chain;
  }

  /** "delta" (on its parent), "keyframe" or "whole", from the first bytes of each stored payload. */
  async function kinds(kv: KvHandle, checkpoints: Checkpoint[]): Promise<string[]> {
    const out = [];
    for (const checkpoint of checkpoints) {
      const start = new TextDecoder().decode((await rawPayload(kv, checkpoint.id)).slice(0, 8));
      out.push(start === '~2{"b":"' ? "delta" : start.startsWith("~2") ? "keyframe" : "whole");
    }
    return out;
  }

  test("a growing session is stored as deltas; deleting a delta's base makes it whole and leaves no entry", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const chain = await grow(storage, 10);
      assert.deepStrictEqual(await kinds(kv, chain), ["keyframe", ...Array(9).fill("delta")]);
      assert.strictEqual((await keysUnder(kv, ["superstep", "delta_child"])).length, 9);
      assert.strictEqual(await storage.delete(chain[3].id), true);
      assert.strictEqual(await storage.delete(chain[6].id), true);
      assert.deepStrictEqual(await kinds(kv, [chain[4], chain[7]]), ["keyframe", "keyframe"]);
      const cold = new KvCheckpointStorage({ kv, deltas: false });
      for (const checkpoint of chain.filter((_, i) => i !== 3 && i !== 6)) {
        assert.deepStrictEqual(await cold.load(checkpoint.id), checkpoint);
      }
      await assertNoOrphanedChunks(kv);
      assert.strictEqual(await cold.deleteSession(chain[0].sessionId), 8);
      assert.deepStrictEqual(await keysUnder(kv, ["superstep"]), []);
      assert.throws(() => new KvCheckpointStorage({ kv, deltas: 1 as never }), /deltas must be a boolean/);
    } finally {
      kv.close();
    }
  });

  test("a chain of deltas loads through a fresh storage in one read of its record and one round of getMany", async () => {
    const kv = await openKv(":memory:");
    try {
      const chain = await grow(new KvCheckpointStorage({ kv }), 60);
      const reads = { get: 0, getMany: 0, rounds: 0 };
      let inFlight = 0;
      const counting: KvHandle = new Proxy(kv, {
        get(target, key) {
          const value = Reflect.get(target, key, target);
          if (key !== "get" && key !== "getMany") {
            return typeof value === "function" ? value.bind(target) : value;
          }
          return async (...args: unknown[]) => {
            reads[key]++;
            // Reads started while none is pending begin a new round trip.
            if (inFlight++ === 0) reads.rounds++;
            try {
              return await value.apply(target, args);
            } finally {
              inFlight--;
            }
          };
        },
      });
      let deepest = 0;
      for (const checkpoint of chain) {
        const cold = new KvCheckpointStorage({ kv: counting });
        Object.assign(reads, { get: 0, getMany: 0, rounds: 0 });
        assert.deepStrictEqual(await cold.load(checkpoint.id), checkpoint);
        const depth =
          JSON.parse(new TextDecoder().decode(await rawPayload(kv, checkpoint.id)).slice(2).split("\n")[0]).d;
        deepest = Math.max(deepest, depth);
        assert.ok(reads.rounds <= 2, `depth ${depth}: ${JSON.stringify(reads)}`);
      }
      assert.ok(deepest >= 16, `the chain reaches depth ${deepest}`);
      // The chain is named in the checkpoint's own record only: the index copies stay summaries.
      for (const key of await keysUnder(kv, ["superstep", "by_session"])) {
        const { value } = await kv.get(key);
        assert.ok(
          !new TextDecoder().decode(value as Uint8Array).includes('"chain"'),
          "no chain in an index copy",
        );
      }
      // A chain named before a delete made one of its bases whole still loads, exactly.
      const storage = new KvCheckpointStorage({ kv });
      assert.strictEqual(await storage.delete(chain[40].id), true);
      for (const checkpoint of chain.filter((_, i) => i !== 40)) {
        assert.deepStrictEqual(await new KvCheckpointStorage({ kv }).load(checkpoint.id), checkpoint);
      }
    } finally {
      kv.close();
    }
  });

  test("a chain its record still names after a delete made a base whole is read no further than that base", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const chain = await grow(storage, 12);
      const target = chain[11];
      const [base, next, stale] = [
        String((await rawSummary(kv, target.id)).base),
        ...(await rawSummary(kv, target.id)).chain as string[],
      ];
      assert.ok(stale !== undefined, "the chain is at least three deep");
      // Deleting the base's base makes the base whole; the target's record still names the rest.
      assert.strictEqual(await storage.delete(next), true);
      assert.ok(!new TextDecoder().decode(await rawPayload(kv, base)).startsWith('~2{"b":"'));
      // A record past the base, damaged: a load of the target never needs it, so never reads it.
      await kv.atomic().set(["superstep", "checkpoint", stale], new Uint8Array([0x7b])).commit();
      assert.deepStrictEqual(await new KvCheckpointStorage({ kv }).load(target.id), target);
    } finally {
      kv.close();
    }
  });

  test("a delta child whose whole payload outgrows one atomic is staged when its base is deleted", async () => {
    const kv = await openKv(":memory:");
    try {
      const storage = new KvCheckpointStorage({ kv });
      const chain = await grow(storage, 3, 400_000);
      assert.deepStrictEqual(await kinds(kv, chain), ["keyframe", "delta", "delta"]);
      assert.strictEqual(await storage.delete(chain[1].id), true);
      assert.deepStrictEqual(await kinds(kv, [chain[2]]), ["keyframe"]);
      assert.ok((await rawSummary(kv, chain[2].id)).chunks > 10, "the keyframe takes many chunks");
      await assertNoOrphanedChunks(kv);
      const cold = new KvCheckpointStorage({ kv });
      assert.deepStrictEqual(await cold.load(chain[2].id), chain[2]);
      assert.deepStrictEqual(await cold.load(chain[0].id), chain[0]);
    } finally {
      kv.close();
    }
  });

  test("deleting the head while another handle saves a delta on it: whatever is stored loads, 20 rounds", async () => {
    const path = tempFile();
    const [one, two] = [await openKv(path), await openKv(path)];
    try {
      const deleter = new KvCheckpointStorage({ kv: one });
      const saver = new KvCheckpointStorage({ kv: two });
      for (let round = 0; round < 20; round++) {
        const chain = await grow(saver, 3);
        const head = chain.at(-1)!;
        const child = makeCheckpoint({
          sessionId: head.sessionId,
          parentId: head.id,
          superstep: 3,
          state: { items: [...(head.state.items as string[]), "one more"] },
        });
        const [deleted, saved] = await Promise.allSettled([deleter.delete(head.id), saver.save(child)]);
        assert.ok(deleted.status === "fulfilled", String((deleted as PromiseRejectedResult).reason));
        if (saved.status === "rejected") assert.ok(saved.reason instanceof CheckpointConflictError);
        const cold = new KvCheckpointStorage({ kv: one });
        const expected = new Map([...chain, child].map((checkpoint) => [checkpoint.id, checkpoint]));
        for (const summary of await cold.list({ sessionId: head.sessionId })) {
          assert.deepStrictEqual(await cold.load(summary.id), expected.get(summary.id), `round ${round}`);
        }
      }
      await assertNoOrphanedChunks(one);
    } finally {
      one.close();
      two.close();
    }
  });
});

describe("KvCheckpointStorage with a Workflow", () => {
  test("a run checkpoints to a KV file and a fresh instance on another handle resumes it with fork", async () => {
    const path = tempFile();
    const first = await openKv(path);
    const second = await openKv(path);
    try {
      const result = await linear(new KvCheckpointStorage({ kv: first })).run(5);
      assert.deepStrictEqual(result.outputs, [10]);
      const storage = new KvCheckpointStorage({ kv: second });
      const path1 = await lineage(storage, result.checkpointId!);
      assert.deepStrictEqual(path1.map((s) => s.superstep), [3, 2, 1, 0]);
      const entry = path1[3];
      const resumed = await linear(storage).resume(path1[2].id, { fork: true });
      assert.deepStrictEqual(resumed.outputs, [10]);
      assert.notStrictEqual(resumed.sessionId, result.sessionId);
      assert.strictEqual(await storage.head(resumed.sessionId), resumed.checkpointId);
      const forked = await lineage(storage, resumed.checkpointId!);
      assert.deepStrictEqual(forked.slice(-2).map((s) => s.id), [path1[2].id, entry.id]);
      // The original session is untouched; resuming its old checkpoint without fork is refused.
      assert.strictEqual(await storage.head(result.sessionId), result.checkpointId);
      await assert.rejects(linear(storage).resume(path1[2].id), /fork/);
    } finally {
      first.close();
      second.close();
    }
  });

  test("a human-in-the-loop run paused here is answered and finished by a second process", async () => {
    const path = tempFile();
    const storage = new OwningKvStorage(await openKv(path));
    try {
      await assertFinishedByAnotherProcess(storage, "kv", path);
    } finally {
      await storage.close();
    }
  });
});

describe("deleting a session while a run writes to it (kv :memory:)", () => {
  test("deleteSession() mid-run wins: the run's next save is refused (parent-missing), the run fails, the session stays empty", async () => {
    const storage = new OwningKvStorage(await openKv(":memory:"));
    try {
      await assertDeleteWhileRunning(storage);
    } finally {
      await storage.close();
    }
  });
});

describe("KvCheckpointStorage.deleteSession() interrupted", () => {
  test("deleteSession() failing at any of its commits, before or after it applies, never leaves a head naming a deleted checkpoint (120 checkpoints)", async () => {
    for (const when of ["before", "after"] as const) {
      for (let failAt = 1;; failAt++) {
        const inner = await openKv(":memory:");
        try {
          const storage = new KvCheckpointStorage({ kv: inner });
          const sessionId = `interrupted-${when}-${failAt}`;
          let parentId: string | null = null;
          for (let superstep = 0; superstep < 120; superstep++) {
            const checkpoint = makeCheckpoint({ sessionId, parentId, superstep });
            await storage.save(checkpoint);
            parentId = checkpoint.id;
          }
          const { kv, control } = faultyKv(inner, failAt, when);
          control.armed = true;
          const interrupted = await new KvCheckpointStorage({ kv }).deleteSession(sessionId)
            .then(() => false, () => true);
          const context = `failing commit ${failAt} ${when} it applies`;
          await assertSessionConsistent(storage, sessionId, context);
          const left = (await storage.list({ sessionId })).length;
          assert.strictEqual(await storage.deleteSession(sessionId), left, context);
          assert.strictEqual(await storage.head(sessionId), undefined, context);
          // Past the last commit, the delete ran through: every commit point has been tried.
          if (!interrupted) break;
        } finally {
          inner.close();
        }
      }
    }
  });
});
