// The D1 checkpoint storage, inside workerd (Miniflare's local D1, the SQLite that D1 runs): the
// conformance suite, then what is D1's own: payloads split under the row cap, a save as one batch,
// migrations once per isolate and binding, the newer-schema refusal, damaged parts, D1's failures.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  D1CheckpointStorage,
  type D1DatabaseLike,
  type D1PreparedStatementLike,
} from "../../../adapters/d1/mod.ts";
import { SCHEMA_VERSION } from "../../../adapters/_sqlite/_schema.ts";
import { CLOUDFLARE_MAX_ROW_BYTES } from "../../../adapters/_sqlite/_payload.ts";
import { CheckpointCorruptError, StorageError, StorageSchemaError } from "../../../mod.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../../../testing/mod.ts";
import { testEnv } from "../../workerd/env.ts";
import { assertStoredInParts, bigState } from "./_parts.ts";
import { assertResumeCopy } from "../../_resume_copy.ts";

checkpointStorageConformance("d1", () => new D1CheckpointStorage({ db: testEnv().DB }), {
  sharedBackend: true,
});

/** A binding that records what the storage sends: `batch:<statements>` and `query`. */
function spy(db: D1DatabaseLike): { db: D1DatabaseLike; calls: string[] } {
  const calls: string[] = [];
  const real = new WeakMap<object, D1PreparedStatementLike>();
  const wrap = (statement: D1PreparedStatementLike): D1PreparedStatementLike => {
    const wrapper = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      all: () => (calls.push("query"), statement.all()),
    };
    real.set(wrapper, statement);
    return wrapper;
  };
  return {
    calls,
    db: {
      prepare: (query) => wrap(db.prepare(query)),
      batch: (statements) => {
        calls.push(`batch:${statements.length}`);
        return db.batch(statements.map((statement) => real.get(statement)!));
      },
    },
  };
}

async function rows(db: D1DatabaseLike, sql: string, ...args: unknown[]) {
  return (await db.prepare(sql).bind(...args).all()).results ?? [];
}

describe("D1CheckpointStorage", () => {
  test("a waiting head is stored whole beside its delta and loads with the rest of its chain damaged", async () => {
    const { DB } = testEnv();
    await assertResumeCopy(
      () => new D1CheckpointStorage({ db: DB }),
      (sql, ...args) => rows(DB, sql, ...args),
    );
  });

  test("a checkpoint whose row would pass the row cap is stored in parts under it and loads whole", async () => {
    const { DB } = testEnv();
    const storage = new D1CheckpointStorage({ db: DB });
    const checkpoint = makeCheckpoint({ state: bigState(5 * 1024 * 1024) });
    await storage.save(checkpoint);
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
    await assertStoredInParts(
      (sql, ...args) => rows(DB, sql, ...args),
      checkpoint.id,
      CLOUDFLARE_MAX_ROW_BYTES,
    );
    assert.strictEqual(await storage.deleteSession(checkpoint.sessionId), 1);
    const left = await rows(
      DB,
      "SELECT count(*) AS n FROM superstep_payload_chunks WHERE checkpoint_id = ?1",
      checkpoint.id,
    );
    assert.deepStrictEqual(left, [{ n: 0 }], "deleting the session deleted the parts");
  });

  test("a save is one batch; a conflict adds one query and writes nothing", async () => {
    const { db, calls } = spy(testEnv().DB);
    const storage = new D1CheckpointStorage({ db });
    const root = makeCheckpoint();
    await storage.head(root.sessionId); // migrations, if this isolate has not checked this binding yet
    calls.length = 0;
    await storage.save(root);
    assert.deepStrictEqual(calls, ["batch:3"], "the head, the inbox's rows of the session, the row");
    const big = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, state: bigState(2_500_000) });
    calls.length = 0;
    await storage.save(big);
    assert.deepStrictEqual(calls, ["batch:6"], "the head, three parts, the inbox and the row, in one batch");
    calls.length = 0;
    const stale = makeCheckpoint({
      sessionId: root.sessionId,
      parentId: root.id,
      state: bigState(2_500_000),
    });
    await assert.rejects(storage.save(stale), { name: "CheckpointConflictError", reason: "head-moved" });
    assert.deepStrictEqual(calls, ["batch:6", "query"]);
    assert.strictEqual(await storage.load(stale.id), undefined);
    const parts = await rows(
      testEnv().DB,
      "SELECT seq FROM superstep_payload_chunks WHERE checkpoint_id = ?1",
      stale.id,
    );
    assert.deepStrictEqual(parts, [], "the refused save left no part behind");
  });

  test("migrations record every version and run once per isolate and binding", async () => {
    const { SCRATCH_DB } = testEnv();
    const { db, calls } = spy(SCRATCH_DB);
    await new D1CheckpointStorage({ db }).head("x");
    const versions = await rows(SCRATCH_DB, "SELECT version FROM superstep_migrations ORDER BY version");
    assert.deepStrictEqual(versions, Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    calls.length = 0;
    await new D1CheckpointStorage({ db }).head("x");
    assert.deepStrictEqual(calls, ["query"], "a second storage on the binding reads the head, nothing else");
  });

  test("lineage() is one query", async () => {
    const { db, calls } = spy(testEnv().DB);
    const storage = new D1CheckpointStorage({ db });
    let parentId: string | null = null;
    const ids: string[] = [];
    const sessionId = crypto.randomUUID();
    for (let i = 0; i < 20; i++) {
      const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i });
      await storage.save(checkpoint);
      ids.unshift(checkpoint.id);
      parentId = checkpoint.id;
    }
    calls.length = 0;
    assert.deepStrictEqual((await storage.lineage(ids[0])).map((summary) => summary.id), ids);
    assert.deepStrictEqual(calls, ["query"]);
  });

  test("a database migrated by a newer Superstep is refused with StorageSchemaError", async () => {
    const { SCRATCH_DB } = testEnv();
    await new D1CheckpointStorage({ db: SCRATCH_DB }).head("x");
    await rows(
      SCRATCH_DB,
      "INSERT INTO superstep_migrations (version, applied_at) VALUES (?1, ?2)",
      99,
      "now",
    );
    try {
      // A new binding object: this isolate has not checked it yet (as after a deployment).
      const newer = new D1CheckpointStorage({ db: spy(SCRATCH_DB).db });
      await assert.rejects(newer.save(makeCheckpoint()), (error: unknown) => {
        assert.ok(error instanceof StorageSchemaError, String(error));
        assert.strictEqual(error.storedVersion, 99);
        assert.strictEqual(error.supportedVersion, SCHEMA_VERSION);
        assert.match(error.message, /^d1: cannot use the storage: its schema version 99 is newer/);
        return true;
      });
    } finally {
      await rows(SCRATCH_DB, "DELETE FROM superstep_migrations WHERE version = 99");
    }
  });

  test("load() of a checkpoint missing a part is a CheckpointCorruptError naming it and its session", async () => {
    const { SCRATCH_DB } = testEnv();
    const storage = new D1CheckpointStorage({ db: SCRATCH_DB });
    const checkpoint = makeCheckpoint({ workflowName: "damaged", state: bigState(2_000_000) });
    await storage.save(checkpoint);
    await rows(
      SCRATCH_DB,
      "DELETE FROM superstep_payload_chunks WHERE checkpoint_id = ?1 AND seq = 1",
      checkpoint.id,
    );
    await assert.rejects(storage.load(checkpoint.id), (error: unknown) => {
      assert.ok(error instanceof CheckpointCorruptError, String(error));
      assert.strictEqual(error.checkpointId, checkpoint.id);
      assert.strictEqual(error.sessionId, checkpoint.sessionId);
      assert.match(error.message, /d1: its payload has 2 of 3 parts/);
      return true;
    });
  });

  test("D1's failures are StorageErrors naming d1 and the operation, with D1's error as the cause", async () => {
    const failing: D1DatabaseLike = {
      prepare: (query) => testEnv().DB.prepare(query),
      batch: () => Promise.reject(new Error("D1_ERROR: simulated outage")),
    };
    const storage = new D1CheckpointStorage({ db: failing });
    await storage.head("x"); // migrated already: the memo is per binding, and this is a new one
    const checkpoint = makeCheckpoint();
    await assert.rejects(storage.save(checkpoint), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.strictEqual(error.adapter, "d1");
      assert.strictEqual(error.operation, `save checkpoint ${checkpoint.id}`);
      assert.match(String((error.cause as Error).message), /simulated outage/);
      return true;
    });
  });

  test("the constructor refuses what is not a D1 binding", () => {
    for (const db of [undefined, null, {}, { prepare() {} }, "DB"]) {
      assert.throws(() => new D1CheckpointStorage({ db } as never), {
        name: "TypeError",
        message: /^d1: cannot create the storage: db must be a D1 binding/,
      });
    }
  });
});
