// The Durable Object checkpoint storage, inside a SQLite-backed Durable Object in workerd (scripts/workerd.mjs
// runs this file in a TestObject): the conformance suite on the object's own database, then what is its
// own: payloads split under the row cap, a save as one transactionSync, what the constructor refuses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DurableObjectCheckpointStorage,
  type DurableObjectStorageLike,
} from "../../../adapters/durable_object/mod.ts";
import { CLOUDFLARE_MAX_ROW_BYTES } from "../../../adapters/_sqlite/_payload.ts";
import { SCHEMA_VERSION } from "../../../adapters/_sqlite/_schema.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../../../testing/mod.ts";
import { objectState } from "../../workerd/env.ts";
import { assertStoredInParts, bigState } from "./_parts.ts";

checkpointStorageConformance(
  "durable-object, inside the object",
  () => new DurableObjectCheckpointStorage({ storage: objectState().storage }),
  { sharedBackend: true },
);

const query = (sql: string, ...args: (string | number)[]) =>
  Promise.resolve(objectState().storage.sql.exec(sql, ...args).toArray());

/** The object's storage, counting transactions and statements (`tx` and `sql`). */
function spy(storage: DurableObjectStorageLike): { storage: DurableObjectStorageLike; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    storage: {
      sql: {
        exec: (
          sql,
          ...args
        ) => (calls.push(/changes\(\)/.test(sql) ? "changes" : "sql"), storage.sql.exec(sql, ...args)),
      },
      transactionSync: (closure) => {
        calls.push("tx");
        return storage.transactionSync(closure);
      },
    },
  };
}

describe("DurableObjectCheckpointStorage", () => {
  test("a checkpoint whose row would pass the row cap is stored in parts under it and loads whole", async () => {
    const storage = new DurableObjectCheckpointStorage({ storage: objectState().storage });
    const checkpoint = makeCheckpoint({ state: bigState(4 * 1024 * 1024) });
    await storage.save(checkpoint);
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
    await assertStoredInParts(query, checkpoint.id, CLOUDFLARE_MAX_ROW_BYTES);
    assert.strictEqual(await storage.delete(checkpoint.id), true);
    const left = await query(
      "SELECT count(*) AS n FROM superstep_payload_chunks WHERE checkpoint_id = ?1",
      checkpoint.id,
    );
    assert.deepStrictEqual(left, [{ n: 0 }], "deleting the checkpoint deleted its parts");
  });

  test("a save is one transactionSync; a refused one writes nothing", async () => {
    const { storage, calls } = spy(objectState().storage);
    const durable = new DurableObjectCheckpointStorage({ storage });
    const first = makeCheckpoint({ state: bigState(2_500_000) });
    await durable.head(first.sessionId);
    calls.length = 0;
    await durable.save(first);
    const statements = calls.filter((call) => call !== "changes");
    assert.deepStrictEqual(
      statements,
      ["tx", "sql", "sql", "sql", "sql", "sql", "sql"],
      "the head, 3 parts, the inbox, the row",
    );
    const other = makeCheckpoint();
    const stale = makeCheckpoint({
      sessionId: first.sessionId,
      parentId: other.id,
      state: bigState(2_500_000),
    });
    await assert.rejects(durable.save(stale), { name: "CheckpointConflictError", reason: "head-moved" });
    assert.strictEqual(await durable.load(stale.id), undefined);
    const parts = await query("SELECT seq FROM superstep_payload_chunks WHERE checkpoint_id = ?1", stale.id);
    assert.deepStrictEqual(parts, []);
  });

  test("migrations record every version", async () => {
    await new DurableObjectCheckpointStorage({ storage: objectState().storage }).head("x");
    const versions = await query("SELECT version FROM superstep_migrations ORDER BY version");
    assert.deepStrictEqual(versions, Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
  });

  test("the constructor refuses what is not a SQLite-backed object's storage", () => {
    const notSqlite = {
      get sql(): never {
        throw new Error("SQL is not enabled for this Durable Object class");
      },
      transactionSync: () => undefined,
    };
    for (const storage of [undefined, null, {}, { sql: {} }, notSqlite]) {
      assert.throws(() => new DurableObjectCheckpointStorage({ storage } as never), {
        name: "TypeError",
        message: /^durable-object: cannot create the storage: storage must be a SQLite-backed/,
      });
    }
  });
});
