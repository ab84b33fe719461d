// KvCheckpointStorage.lineage reads ahead: the ancestors in the checkpoint's own session come from its
// session index a thousand at a time; only a parent in another session (a fork) is read by id.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KvCheckpointStorage } from "../adapters/kv/mod.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { openKv } from "./fixtures/open_storage.ts";

describe("KvCheckpointStorage.lineage", () => {
  test("a 2,500-deep lineage across a fork takes a few list calls, not a read per ancestor", async () => {
    const kv = await openKv(":memory:");
    const calls = { get: 0, list: 0 };
    const counted = new Proxy(kv, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        if (key === "get" || key === "list") {
          return (...args: unknown[]) => {
            calls[key]++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    try {
      const storage = new KvCheckpointStorage({ kv: counted });
      // 1,500 checkpoints in session A, then a fork into B whose first parent is A's 1,200th, then 1,000 more.
      const a: string[] = [];
      let parentId: string | null = null;
      const sessionA = "session-a";
      for (let i = 0; i < 1500; i++) {
        const checkpoint = makeCheckpoint({ sessionId: sessionA, parentId, superstep: i });
        await storage.save(checkpoint);
        a.push(checkpoint.id);
        parentId = checkpoint.id;
      }
      const b: string[] = [];
      parentId = a[1199];
      for (let i = 0; i < 1000; i++) {
        const checkpoint = makeCheckpoint({ sessionId: "session-b", parentId, superstep: 1200 + i });
        await storage.save(checkpoint);
        b.push(checkpoint.id);
        parentId = checkpoint.id;
      }
      calls.get = 0;
      calls.list = 0;
      const path = await storage.lineage(b[999]);
      assert.deepEqual(path.map((s) => s.id), [...b.slice().reverse(), ...a.slice(0, 1200).reverse()]);
      assert.equal(path.at(-1)!.parentId, null);
      assert.equal(path[1000].sessionId, sessionA);
      // The head read by id, 1 list for B (1,000 entries), the fork's parent by id, 2 lists for A's 1,200.
      assert.ok(calls.get <= 3, `${calls.get} gets`);
      assert.ok(calls.list <= 4, `${calls.list} lists`);
      // A checkpoint whose parent was deleted ends its lineage there, read ahead or not.
      await storage.delete(a[0]);
      assert.equal((await storage.lineage(a[5])).length, 5);
    } finally {
      kv.close();
    }
  });
});
