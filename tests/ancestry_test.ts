import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { children, head, lineage } from "../src/ancestry.ts";
import { type Checkpoint, type CheckpointStorage, toSummary } from "../src/checkpoint.ts";
import { CheckpointNotFoundError } from "../src/errors.ts";
import { MemoryCheckpointStorage } from "../adapters/memory.ts";
import { makeCheckpoint } from "../testing/mod.ts";

/** A storage that records its calls and can hide its lineage fast path. */
function spy(fastPath: boolean) {
  const inner = new MemoryCheckpointStorage();
  const calls = { load: 0, list: 0, lineage: 0 };
  const storage: CheckpointStorage = {
    save: (cp) => inner.save(cp),
    load: (id) => (calls.load++, inner.load(id)),
    list: (query) => (calls.list++, inner.list(query)),
    head: (sessionId) => inner.head(sessionId),
    delete: (id) => inner.delete(id),
    deleteSession: (sessionId) => inner.deleteSession(sessionId),
  };
  if (fastPath) storage.lineage = (id) => (calls.lineage++, inner.lineage(id));
  return { storage, calls };
}

async function chain(storage: CheckpointStorage, length: number, parentId: string | null = null) {
  const out: Checkpoint[] = [];
  const sessionId = crypto.randomUUID();
  for (let i = 0; i < length; i++) {
    const cp = makeCheckpoint({ sessionId, parentId, superstep: i });
    await storage.save(cp);
    out.push(cp);
    parentId = cp.id;
  }
  return out;
}

for (const fastPath of [true, false]) {
  const how = fastPath ? "with the storage's lineage fast path" : "walking parents with load";

  describe(`lineage() ${how}`, () => {
    test("lineage() returns id back to the root across a fork", async () => {
      const { storage, calls } = spy(fastPath);
      const [a1, a2] = await chain(storage, 3);
      const [b1, b2] = await chain(storage, 2, a2.id);
      assert.deepStrictEqual(await lineage(storage, b2.id), [b2, b1, a2, a1].map(toSummary));
      if (fastPath) assert.deepStrictEqual([calls.lineage, calls.load], [1, 0]);
      else assert.deepStrictEqual([calls.lineage, calls.load], [0, 4]);
    });

    test("lineage() stops at a deleted parent", async () => {
      const { storage } = spy(fastPath);
      const [, a2, a3] = await chain(storage, 3);
      await storage.delete(a2.id);
      assert.deepStrictEqual(await lineage(storage, a3.id), [toSummary(a3)]);
    });

    test("lineage() throws CheckpointNotFoundError for an unknown id", async () => {
      const { storage } = spy(fastPath);
      await chain(storage, 1);
      await assert.rejects(lineage(storage, "01JUNKNOWN"), (error: unknown) => {
        assert.ok(error instanceof CheckpointNotFoundError);
        assert.strictEqual(error.checkpointId, "01JUNKNOWN");
        return true;
      });
    });

    test("lineage() ends when parent pointers form a cycle", async () => {
      const { storage } = spy(fastPath);
      // Only possible by deleting a checkpoint and saving its id again, as a fork of its own child.
      await storage.save(makeCheckpoint({ id: "a", parentId: null }));
      await storage.save(makeCheckpoint({ id: "b", parentId: "a" }));
      await storage.delete("a");
      await storage.save(makeCheckpoint({ id: "a", parentId: "b" }));
      assert.deepStrictEqual((await lineage(storage, "b")).map((s) => s.id), ["b", "a"]);
    });
  });
}

describe("children()", () => {
  test("children() returns the checkpoints whose parent is id, across sessions, newest first", async () => {
    const storage = new MemoryCheckpointStorage();
    const [a1, a2, a3] = await chain(storage, 3);
    const [b1] = await chain(storage, 2, a2.id);
    const [c1] = await chain(storage, 1, a2.id);
    assert.deepStrictEqual(await children(storage, a2.id), [c1, b1, a3].map(toSummary));
    assert.deepStrictEqual(await children(storage, a1.id), [toSummary(a2)]);
    assert.deepStrictEqual(await children(storage, c1.id), []);
  });

  test("children() still finds the children of a deleted checkpoint", async () => {
    const storage = new MemoryCheckpointStorage();
    const [a1, a2] = await chain(storage, 2);
    await storage.delete(a1.id);
    assert.deepStrictEqual(await children(storage, a1.id), [toSummary(a2)]);
  });

  test("children() pages through list() so it sees every checkpoint", async () => {
    const { storage, calls } = spy(true);
    const [root] = await chain(storage, 1);
    const forks: Checkpoint[] = [];
    for (let i = 0; i < 1100; i++) forks.push(...await chain(storage, 1, root.id));
    const found = await children(storage, root.id);
    assert.strictEqual(found.length, 1100);
    assert.deepStrictEqual(found.map((s) => s.id), forks.map((cp) => cp.id).reverse());
    assert.strictEqual(calls.list, 3, "1101 checkpoints take three pages of 500");
  });
});

describe("head()", () => {
  test("head() is the session's last saved checkpoint, not its newest by time", async () => {
    const storage = new MemoryCheckpointStorage();
    const sessionId = crypto.randomUUID();
    const parent = makeCheckpoint({
      id: "01JZZZZZZZZZZZZZZZZZZZZZZZ",
      sessionId,
      createdAt: "2030-01-01T00:00:00.000Z",
    });
    const child = makeCheckpoint({
      id: "01J00000000000000000000000",
      sessionId,
      parentId: parent.id,
      createdAt: "2020-01-01T00:00:00.000Z",
    });
    await storage.save(parent);
    await storage.save(child);
    assert.strictEqual(await head(storage, sessionId), child.id);
    assert.strictEqual(await head(storage, crypto.randomUUID()), undefined);
  });
});
