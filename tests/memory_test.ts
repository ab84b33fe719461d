import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MemoryCheckpointStorage } from "../adapters/memory.ts";
import { CheckpointConflictError, CheckpointEncodeError } from "../src/errors.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../testing/mod.ts";

checkpointStorageConformance("memory", () => new MemoryCheckpointStorage());

// One instance for every case: proves the suite's cases do not interfere in a shared backend.
const shared = new MemoryCheckpointStorage();
checkpointStorageConformance("memory, one shared instance", () => shared, { sharedBackend: true });

describe("MemoryCheckpointStorage", () => {
  test("save() copies the checkpoint before its promise settles", async () => {
    const storage = new MemoryCheckpointStorage();
    const cp = makeCheckpoint({ state: { n: 1 } });
    const saving = storage.save(cp);
    cp.state.n = 2;
    await saving;
    assert.deepStrictEqual((await storage.load(cp.id))?.state, { n: 1 });
  });

  test("save() conflicts name the adapter, the checkpoint and the session head", async () => {
    const storage = new MemoryCheckpointStorage();
    const root = makeCheckpoint();
    await storage.save(root);
    const stale = makeCheckpoint({ sessionId: root.sessionId, parentId: null });
    await assert.rejects(storage.save(stale), (error: unknown) => {
      assert.ok(error instanceof CheckpointConflictError);
      assert.match(error.message, /^memory: cannot save checkpoint /);
      assert.ok(error.message.includes(stale.id) && error.message.includes(root.id));
      return true;
    });
    await assert.rejects(storage.save(root), /^CheckpointConflictError: memory: .*exists already/);
  });

  test("save() rejects an unencodable value with CheckpointEncodeError and writes nothing", async () => {
    const storage = new MemoryCheckpointStorage();
    const cp = makeCheckpoint({ state: { user: { fn: () => 1 } } });
    await assert.rejects(storage.save(cp), (error: unknown) => {
      assert.ok(error instanceof CheckpointEncodeError);
      assert.strictEqual(error.path, ".state.user.fn");
      return true;
    });
    assert.strictEqual(await storage.load(cp.id), undefined);
    assert.strictEqual(await storage.head(cp.sessionId), undefined);
    assert.deepStrictEqual(await storage.list(), []);
  });

  test("save() rejects a malformed checkpoint with TypeError and writes nothing", async () => {
    const storage = new MemoryCheckpointStorage();
    const cp = { ...makeCheckpoint(), superstep: "1" } as unknown as ReturnType<typeof makeCheckpoint>;
    const result = storage.save(cp);
    assert.ok(result instanceof Promise, "save() must reject, not throw");
    await assert.rejects(result, TypeError);
    assert.strictEqual(await storage.head(cp.sessionId), undefined);
  });

  test("list() rejects a bad limit with a promise rejection, not a synchronous throw", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = storage.list({ limit: 0 });
    assert.ok(result instanceof Promise);
    await assert.rejects(
      result,
      /^RangeError: memory: cannot list checkpoints: limit must be a positive integer/,
    );
  });

  test("lineage() stops when parent pointers form a cycle", async () => {
    const storage = new MemoryCheckpointStorage();
    // Only possible by deleting a checkpoint and saving its id again, as a fork of its own child.
    await storage.save(makeCheckpoint({ id: "a", parentId: null }));
    await storage.save(makeCheckpoint({ id: "b", parentId: "a" }));
    await storage.delete("a");
    await storage.save(makeCheckpoint({ id: "a", parentId: "b" }));
    assert.deepStrictEqual((await storage.lineage("a")).map((s) => s.id), ["a", "b"]);
  });

  test("delete() keeps the ids of other sessions in list() order", async () => {
    const storage = new MemoryCheckpointStorage();
    const cps = Array.from({ length: 6 }, () => makeCheckpoint());
    for (const cp of cps) await storage.save(cp);
    await storage.delete(cps[2].id);
    await storage.deleteSession(cps[4].sessionId);
    const expected = [cps[5], cps[3], cps[1], cps[0]].map((cp) => cp.id);
    assert.deepStrictEqual((await storage.list()).map((s) => s.id), expected);
    assert.deepStrictEqual((await storage.list({ before: cps[3].id })).map((s) => s.id), expected.slice(2));
  });
});
