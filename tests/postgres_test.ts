// The Postgres adapter: the conformance suite on a real PostgreSQL server (through one injected Postgres.js
// pool, and through a pool per storage created from the URL) and on PGlite (a schema per storage, so
// storages are separate stores); then what only this adapter has: migrations under an advisory lock, the
// newer-schema refusal, index plans, a deep lineage in one query, damaged rows, unreachable servers,
// races across pools, and human-in-the-loop runs answered by another process and another runtime.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { PostgresCheckpointStorage } from "../adapters/postgres/mod.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../adapters/postgres/_schema.ts";
import { Sql } from "../adapters/postgres/_sql.ts";
import {
  CheckpointConflictError,
  CheckpointCorruptError,
  encodeValue,
  lineage,
  StorageError,
  StorageSchemaError,
} from "../mod.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../testing/mod.ts";
import { encodeForStorage } from "../src/storage_kit.ts";
import { assertFinishedByAnotherProcess, runChild } from "./_child.ts";
import { assertDeleteWhileRunning } from "./_fixtures.ts";
import { assertResumeCopy } from "./_resume_copy.ts";
import { answerOn, freshDatabase, nextRuntime, usePostgres } from "./_postgres.ts";
import { approvals, runtimeName } from "./fixtures/hitl_workflow.ts";

type Sql$ = ReturnType<typeof postgres>;

/** One database for this file, dropped at the end. */
let database: { url: string; drop(): Promise<void> };
/** A pool of this file, injected into storages (never closed by them). */
let pool: Sql$;
// First: Node runs a top-level hook as soon as it is registered.
usePostgres(async () => {
  await pool?.end();
  await database?.drop();
});
before(async () => {
  database = await freshDatabase("adapter");
  pool = postgres(database.url, { max: 10, onnotice: () => {} });
});

let schemas = 0;
/** A schema name no other storage of this file uses. */
function freshSchema(): string {
  return `s${++schemas}_${Math.random().toString(36).slice(2, 8)}`;
}

checkpointStorageConformance(
  "postgres server, one injected Postgres.js pool for every case",
  () => new PostgresCheckpointStorage({ client: pool }),
  { sharedBackend: true },
);

// What this run adds is the pool's lifecycle and a named schema: the same SQL runs the 1,000-checkpoint
// chain through the injected pool above (and on PGlite).
checkpointStorageConformance(
  "postgres server, a pool per storage from the URL, schema superstep",
  () => new PostgresCheckpointStorage({ url: database.url, schema: "superstep", max: 4 }),
  { sharedBackend: true, chainLength: 100 },
);

let pglite: PGlite;
before(async () => {
  pglite = new PGlite();
  await pglite.waitReady;
});
after(async () => await pglite?.close());

checkpointStorageConformance(
  "postgres on PGlite, a schema per storage",
  () => new PostgresCheckpointStorage({ client: pglite, schema: freshSchema() }),
);

describe("PostgresCheckpointStorage: resume copies", () => {
  test("a waiting head is stored whole beside its delta and loads with the rest of its chain damaged", async () => {
    const schema = freshSchema();
    await assertResumeCopy(
      () => new PostgresCheckpointStorage({ client: pglite, schema }),
      async (sql, ...args) => {
        const text = sql.replaceAll("superstep_checkpoints", `"${schema}".superstep_checkpoints`)
          .replace(/\?(\d+)/g, "$$$1");
        return (await pglite.query(text, args)).rows as Record<string, unknown>[];
      },
    );
  });
});

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function isConflict(reason?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof CheckpointConflictError, String(error));
    assert.match(error.message, /^postgres: /);
    if (reason !== undefined) assert.strictEqual(error.reason, reason);
    return true;
  };
}

describe("PostgresCheckpointStorage: construction", () => {
  test("the constructor refuses options naming neither or both of client and url, and other clients", () => {
    const construct = (options: unknown) => () =>
      new PostgresCheckpointStorage(options as ConstructorParameters<typeof PostgresCheckpointStorage>[0]);
    assert.throws(construct({}), /^TypeError: postgres: cannot create the storage: pass exactly one/);
    assert.throws(construct(undefined), /pass exactly one of `client` and `url`/);
    assert.throws(construct({ client: pool, url: "postgres://x/y" }), /pass exactly one/);
    assert.throws(construct({ url: "" }), /^TypeError: .*url must be a non-empty string/);
    // A node-postgres Pool has query() but no transaction(): not a client the storage drives.
    assert.throws(construct({ client: { query() {} } }), /client must be a Postgres.js Sql .* or a PGlite/);
    for (const schema of ["Public", "a-b", "", "1abc", "x".repeat(64), 'a"b', 7]) {
      assert.throws(construct({ client: pool, schema }), /^TypeError: .*schema must be a lowercase SQL/);
    }
    assert.throws(construct({ url: "postgres://x/y", max: 0 }), /^RangeError: .*max must be a positive/);
    assert.throws(construct({ url: "postgres://x/y", max: 1.5 }), RangeError);
    assert.throws(
      construct({ url: "postgres://x/y", connectTimeout: -1 }),
      /connectTimeout must be a positive/,
    );
    assert.throws(construct({ url: "postgres://x/y", connectTimeout: Infinity }), RangeError);
  });

  test("an unreachable server fails every call with a StorageError naming the URL without its password", async () => {
    const port = await closedPort();
    const storage = new PostgresCheckpointStorage({
      url: `postgres://alice:s3cret@127.0.0.1:${port}/app?sslmode=disable&password=s3cret`,
      connectTimeout: 2000,
    });
    try {
      for (
        const call of [() => storage.head("s"), () => storage.list(), () => storage.save(makeCheckpoint())]
      ) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof StorageError, String(error));
          assert.strictEqual(error.adapter, "postgres");
          assert.match(
            error.message,
            new RegExp(`^postgres: cannot open the database postgres://127\\.0\\.0\\.1:${port}/app: `),
          );
          assert.ok(!error.message.includes("s3cret"), error.message);
          assert.ok(error.cause !== undefined);
          return true;
        });
      }
    } finally {
      await storage.close();
    }
  });

  test("close() ends the pool it created and leaves an injected client open; later calls reject", async () => {
    const owned = new PostgresCheckpointStorage({ url: database.url, schema: freshSchema() });
    const injected = new PostgresCheckpointStorage({ client: pool, schema: freshSchema() });
    await owned.save(makeCheckpoint());
    await injected.save(makeCheckpoint());
    await owned.close();
    await injected.close();
    await owned.close(); // twice is fine
    for (const storage of [owned, injected]) {
      await assert.rejects(
        storage.head("x"),
        /^StorageError: postgres: cannot use the storage: it is closed/,
      );
    }
    const [{ one }] = await pool`SELECT 1 AS one`;
    assert.strictEqual(one, 1);
  });
});

describe("PostgresCheckpointStorage: schema and migrations", () => {
  test("eight storages with their own pools migrate one new schema at once: one row per version, all usable", async () => {
    const schema = freshSchema();
    const storages = Array.from(
      { length: 8 },
      () => new PostgresCheckpointStorage({ url: database.url, schema, max: 2 }),
    );
    try {
      const checkpoints = storages.map(() => makeCheckpoint());
      await Promise.all(storages.map((storage, i) => storage.save(checkpoints[i])));
      for (const checkpoint of checkpoints) {
        assert.deepStrictEqual(await storages[0].load(checkpoint.id), checkpoint);
      }
      const versions = await pool.unsafe(`SELECT version FROM "${schema}".superstep_migrations`);
      const every = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);
      assert.deepStrictEqual(versions.map((row) => row.version).sort((a, b) => a - b), every);
      // Opening it again changes nothing.
      const again = new PostgresCheckpointStorage({ client: pool, schema });
      assert.strictEqual((await again.list()).length, 8);
      assert.strictEqual(
        (await pool.unsafe(`SELECT version FROM "${schema}".superstep_migrations`)).length,
        SCHEMA_VERSION,
      );
    } finally {
      await Promise.all(storages.map((storage) => storage.close()));
    }
  });

  test("a schema migrated by a newer Superstep is refused with StorageSchemaError, and nothing is written", async () => {
    const schema = freshSchema();
    await new PostgresCheckpointStorage({ client: pool, schema }).head("x");
    await pool.unsafe(`INSERT INTO "${schema}".superstep_migrations (version) VALUES ($1)`, [
      SCHEMA_VERSION + 1,
    ]);
    const newer = new PostgresCheckpointStorage({ client: pool, schema });
    for (const call of [() => newer.head("x"), () => newer.save(makeCheckpoint()), () => newer.list()]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof StorageSchemaError, String(error));
        assert.strictEqual(error.storedVersion, SCHEMA_VERSION + 1);
        assert.strictEqual(error.supportedVersion, SCHEMA_VERSION);
        assert.match(error.message, /^postgres: cannot use the storage: its schema version \d+ is newer/);
        return true;
      });
    }
    assert.strictEqual((await pool.unsafe(`SELECT id FROM "${schema}".superstep_checkpoints`)).length, 0);
  });

  test("list, head, load and lineage are index range scans; a list within a large range needs no sort", async () => {
    const schema = freshSchema();
    const storage = new PostgresCheckpointStorage({ client: pool, schema });
    await storage.head("x");
    const sql = new Sql(schema);
    const { summary } = encodeForStorage("postgres", makeCheckpoint());
    // One session of 10,000 checkpoints (workflow "big"), then 100 sessions of 100 in workflows w0…w3,
    // each checkpoint chained to the one before it in its session.
    await pool.unsafe(
      `INSERT INTO ${sql.checkpoints} (id, parent_id, session_id, workflow_name, superstep, created_at, metadata, payload)
        SELECT lpad(n::text, 10, '0'), CASE WHEN n % 100 = 0 THEN NULL ELSE lpad((n - 1)::text, 10, '0') END,
          CASE WHEN n < 10000 THEN 'big' ELSE 's' || (n / 100) END,
          CASE WHEN n < 10000 THEN 'big' ELSE 'w' || (n / 100 % 4) END, n % 100, $1, $2, '{}'
        FROM generate_series(0, 19999) AS n`,
      [summary.createdAt, summary.metadata],
    );
    // The heads of those 100 sessions, and of 10,000 sessions elsewhere (a heads table of some size).
    await pool.unsafe(
      `INSERT INTO ${sql.heads} SELECT 's' || s, lpad((s * 100 + 99)::text, 10, '0') FROM generate_series(100, 199) AS s
        UNION ALL SELECT 'elsewhere' || n, 'x' || n FROM generate_series(1, 10000) AS n`,
    );
    await pool.unsafe(`ANALYZE ${sql.checkpoints}; ANALYZE ${sql.heads}`).simple();
    const plan = async ({ text, params }: { text: string; params: unknown[] }) =>
      (await pool.unsafe(`EXPLAIN ${text}`, params as string[])).map((row) => row["QUERY PLAN"]).join("\n");
    // Within a large range (the big session, the big workflow, everything) the newest N come from walking
    // an index backwards: no sort, whatever the range's size.
    const large = [
      { sessionId: "big", limit: 10 },
      { sessionId: "big", before: "0000005000", limit: 10 },
      { workflowName: "big", limit: 10 },
      { sessionId: "big", workflowName: "big", limit: 10 },
      { limit: 10 },
      { before: "0000015000", limit: 10 },
    ];
    for (const query of large) {
      const text = await plan(sql.list(query));
      assert.match(text, /Index (Only )?Scan Backward/, `${JSON.stringify(query)}:\n${text}`);
      assert.doesNotMatch(text, /Seq Scan|Sort/, `${JSON.stringify(query)}:\n${text}`);
    }
    // A small range may be sorted after its index scan (the planner's choice for a few rows), never scanned.
    for (const query of [{ sessionId: "s150" }, { workflowName: "w3", before: "0000015000" }]) {
      const text = await plan(sql.list(query));
      assert.match(text, /Index/, `${JSON.stringify(query)}:\n${text}`);
      assert.doesNotMatch(text, /Seq Scan/, `${JSON.stringify(query)}:\n${text}`);
    }
    assert.match(await plan(sql.head("s150")), /Index Scan using superstep_heads_pkey/);
    assert.match(await plan(sql.load("0000000750")), /Index Scan using superstep_checkpoints_pkey/);
    const lineagePlan = await plan(sql.lineage("0000015099"));
    assert.match(lineagePlan, /Recursive Union/);
    assert.doesNotMatch(lineagePlan, /Seq Scan/, lineagePlan);
    // And the storage reads what the statements planned.
    assert.deepStrictEqual((await storage.list({ sessionId: "big", limit: 3 })).map((s) => s.id), [
      "0000009999",
      "0000009998",
      "0000009997",
    ]);
    assert.strictEqual(await storage.head("s150"), "0000015099");
    assert.strictEqual((await storage.lineage("0000015099")).length, 100);
  });

  test("the session index and the inbox are index scans: 20,000 sessions by status, never a scan of the checkpoints", async () => {
    const schema = freshSchema();
    const storage = new PostgresCheckpointStorage({ client: pool, schema });
    await storage.head("x");
    const sql = new Sql(schema);
    const { summary } = encodeForStorage("postgres", makeCheckpoint());
    // 20,000 sessions of 5 checkpoints each; every session's head is its last; statuses and workflows
    // cycle; every fourth head waits for one request.
    await pool.unsafe(
      `INSERT INTO ${sql.checkpoints}
          (id, parent_id, session_id, workflow_name, superstep, created_at, metadata, payload, status, requests)
        SELECT lpad(n::text, 10, '0'), NULL, 's' || (n / 5), 'w' || (n / 5 % 4), 0, $1, $2, '{}',
          (ARRAY['waiting', 'interrupted', 'completed'])[n / 5 % 3 + 1], '[]'
        FROM generate_series(0, 99999) AS n`,
      [summary.createdAt, summary.metadata],
    );
    await pool.unsafe(
      `INSERT INTO ${sql.heads} (session_id, head_id, workflow_name, status)
        SELECT 's' || s, lpad((s * 5 + 4)::text, 10, '0'), 'w' || (s % 4),
          (ARRAY['waiting', 'interrupted', 'completed'])[s % 3 + 1]
        FROM generate_series(0, 19999) AS s`,
    );
    await pool.unsafe(
      `INSERT INTO ${sql.requests}
          (session_id, request_id, checkpoint_id, workflow_name, executor_id, data, path, created_at)
        SELECT 's' || s, 'r' || lpad(s::text, 8, '0'), lpad((s * 5 + 4)::text, 10, '0'), 'w' || (s % 4), 'ask',
          $2, NULL, $1
        FROM generate_series(0, 19999, 4) AS s`,
      [summary.createdAt, encodeValue(1)],
    );
    await pool.unsafe(`ANALYZE ${sql.checkpoints}; ANALYZE ${sql.heads}; ANALYZE ${sql.requests}`).simple();
    const plan = async ({ text, params }: { text: string; params: unknown[] }) =>
      (await pool.unsafe(`EXPLAIN ${text}`, params as string[])).map((row) => row["QUERY PLAN"]).join("\n");
    const cursor = { requestId: "r00010000", sessionId: "s10000" };
    const queries = [
      sql.listSessions({ limit: 50 }),
      sql.listSessions({ status: "waiting", limit: 50 }),
      sql.listSessions({ workflowName: "w1", limit: 50, before: "0000050000" }),
      sql.listSessions({ workflowName: "w1", status: "completed", limit: 50 }),
      sql.listRequests({ limit: 50 }),
      sql.listRequests({ workflowName: "w0", limit: 50, before: cursor }),
      sql.listRequests({ requestId: "r00000400" }),
      sql.listRequests({ sessionId: "s400", limit: 50 }),
      sql.unindexed(100),
    ];
    for (const query of queries) {
      const text = await plan(query);
      assert.match(text, /Index (Only )?Scan/, `${query.text}:\n${text}`);
      assert.doesNotMatch(text, /Seq Scan|Sort/, `${query.text}:\n${text}`);
    }
    // Newest first through the heads' own indexes, each head's row by primary key.
    const waiting = await plan(sql.listSessions({ status: "waiting", limit: 50 }));
    assert.match(waiting, /Index Scan Backward using superstep_heads_by_/, waiting);
    assert.match(waiting, /Index Scan (Backward )?using superstep_checkpoints_pkey/, waiting);
    // And the storage reads what the statements planned.
    const listed = await storage.listSessions({ status: "waiting", workflowName: "w0", limit: 3 });
    assert.deepStrictEqual(listed.map((session) => session.sessionId), ["s19992", "s19980", "s19968"]);
    assert.strictEqual((await storage.listPendingRequests({ requestId: "r00000400" }))[0].sessionId, "s400");
  });

  test("a schema of the version before the index migrates, and its heads are indexed on the first listing", async () => {
    const schema = freshSchema();
    const sql = new Sql(schema);
    await pool.unsafe(`CREATE SCHEMA "${schema}"`);
    await pool.unsafe(
      `CREATE TABLE ${sql.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    // The version before the index's migration (later ones, such as the delta bases', come after it).
    const before = MIGRATIONS.findIndex((migration) =>
      migration(sql).some((text) => text.includes("CREATE TABLE") && text.includes("superstep_requests"))
    );
    for (const [i, migration] of MIGRATIONS.slice(0, before).entries()) {
      for (const text of migration(sql)) await pool.unsafe(text);
      await pool.unsafe(`INSERT INTO ${sql.migrations} (version) VALUES ($1)`, [i + 1]);
    }
    const asked = { requestId: "r1", executorId: "ask", data: { question: "Ship it?" } };
    const waiting = makeCheckpoint({ workflowName: "old", pendingRequests: [asked] });
    const done = makeCheckpoint({ workflowName: "old" });
    for (const checkpoint of [waiting, done]) {
      const { summary, payload } = encodeForStorage("postgres", checkpoint);
      await pool.unsafe(
        `INSERT INTO ${sql.checkpoints} (id, parent_id, session_id, workflow_name, superstep, created_at, metadata,
          payload) VALUES ($1, NULL, $2, $3, 0, $4, $5, $6)`,
        [summary.id, summary.sessionId, summary.workflowName, summary.createdAt, summary.metadata, payload],
      );
      await pool.unsafe(`INSERT INTO ${sql.heads} VALUES ($1, $2)`, [summary.sessionId, summary.id]);
    }
    const storage = new PostgresCheckpointStorage({ client: pool, schema });
    const sessions = await storage.listSessions({ workflowName: "old" });
    assert.deepStrictEqual(sessions.map((session) => [session.sessionId, session.status]), [
      [done.sessionId, "completed"],
      [waiting.sessionId, "waiting"],
    ]);
    const [entry] = await storage.listPendingRequests({ workflowName: "old" });
    assert.deepStrictEqual([entry.requestId, entry.data, entry.checkpointId], ["r1", asked.data, waiting.id]);
    const versions = await pool.unsafe(`SELECT max(version) AS v FROM ${sql.migrations}`);
    assert.strictEqual(Number(versions[0].v), SCHEMA_VERSION);
  });

  test("lineage() of a checkpoint 5,000 deep is one query, id first, back to the root", async () => {
    const schema = freshSchema();
    const storage = new PostgresCheckpointStorage({ client: pool, schema });
    await storage.head("x");
    const { summary } = encodeForStorage("postgres", makeCheckpoint());
    const sql = new Sql(schema);
    await pool.unsafe(
      `INSERT INTO ${sql.checkpoints} (id, parent_id, session_id, workflow_name, superstep, created_at, metadata, payload)
        SELECT lpad(n::text, 6, '0'), CASE WHEN n = 0 THEN NULL ELSE lpad((n - 1)::text, 6, '0') END, 'deep',
          'w', n, $1, $2, '{}'
        FROM generate_series(0, 4999) AS n`,
      [summary.createdAt, summary.metadata],
    );
    const chain = await storage.lineage("004999");
    assert.strictEqual(chain.length, 5000);
    assert.deepStrictEqual(chain.map((s) => s.superstep), Array.from({ length: 5000 }, (_, i) => 4999 - i));
    assert.strictEqual(chain.at(-1)!.parentId, null);
  });

  test("damaged rows are CheckpointCorruptErrors naming the checkpoint and its session", async () => {
    const schema = freshSchema();
    const storage = new PostgresCheckpointStorage({ client: pool, schema });
    const a = makeCheckpoint({ metadata: { by: "ana" } });
    const b = makeCheckpoint();
    await storage.save(a);
    await storage.save(b);
    const sql = new Sql(schema);
    await pool.unsafe(`UPDATE ${sql.checkpoints} SET payload = '{"version":1,"id":' WHERE id = $1`, [a.id]);
    await assert.rejects(storage.load(a.id), (error: unknown) => {
      assert.ok(error instanceof CheckpointCorruptError, String(error));
      assert.strictEqual(error.checkpointId, a.id);
      assert.strictEqual(error.sessionId, a.sessionId);
      return true;
    });
    await pool.unsafe(`UPDATE ${sql.checkpoints} SET payload = $2 WHERE id = $1`, [
      b.id,
      encodeForStorage("postgres", a).payload,
    ]);
    await assert.rejects(storage.load(b.id), { name: "CheckpointCorruptError", checkpointId: b.id });
    await pool.unsafe(`UPDATE ${sql.checkpoints} SET metadata = $2 WHERE id = $1`, [a.id, encodeValue([1])]);
    await assert.rejects(storage.list({ sessionId: a.sessionId }), {
      name: "CheckpointCorruptError",
      checkpointId: a.id,
    });
    await pool.unsafe(`UPDATE ${sql.checkpoints} SET metadata = 'not a value' WHERE id = $1`, [a.id]);
    await assert.rejects(storage.lineage(a.id), { name: "CheckpointCorruptError", checkpointId: a.id });
  });
});

describe("PostgresCheckpointStorage: concurrent writers", () => {
  test("eight storages with their own pools save children of one head at once: exactly one wins", async () => {
    const schema = freshSchema();
    const storages = Array.from(
      { length: 8 },
      () => new PostgresCheckpointStorage({ url: database.url, schema, max: 1 }),
    );
    try {
      const root = makeCheckpoint();
      await storages[0].save(root);
      await Promise.all(storages.map((storage) => storage.head(root.sessionId))); // every pool connected
      const contenders = storages.map((_, i) =>
        makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1, state: { i } })
      );
      const results = await Promise.allSettled(contenders.map((cp, i) => storages[i].save(cp)));
      const winners = contenders.filter((_, i) => results[i].status === "fulfilled");
      assert.strictEqual(winners.length, 1, "exactly one save wins");
      for (const result of results) {
        if (result.status === "rejected") isConflict("head-moved")(result.reason);
      }
      for (const storage of storages) assert.strictEqual(await storage.head(root.sessionId), winners[0].id);
      assert.deepStrictEqual((await storages[3].list({ sessionId: root.sessionId })).map((s) => s.id), [
        winners[0].id,
        root.id,
      ]);
    } finally {
      await Promise.all(storages.map((storage) => storage.close()));
    }
  });

  test("the same new id saved into two sessions at once: one is stored, the other is id-taken", async () => {
    const storage = new PostgresCheckpointStorage({ url: database.url, schema: freshSchema() });
    try {
      for (let round = 0; round < 10; round++) {
        const one = makeCheckpoint();
        const two = { ...one, sessionId: `${one.sessionId}-other` };
        const results = await Promise.allSettled([storage.save(one), storage.save(two)]);
        const won = results.filter((r) => r.status === "fulfilled").length;
        assert.strictEqual(won, 1, JSON.stringify(results));
        const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
        isConflict("id-taken")(lost.reason);
        const [winner, loser] = results[0].status === "fulfilled" ? [one, two] : [two, one];
        assert.strictEqual(await storage.head(winner.sessionId), winner.id);
        assert.strictEqual(
          await storage.head(loser.sessionId),
          undefined,
          "the loser's head move rolled back",
        );
      }
    } finally {
      await storage.close();
    }
  });

  test("deleteSession() racing a save of the next checkpoint: the session always ends empty and headless", async () => {
    const two = new PostgresCheckpointStorage({ url: database.url, schema: freshSchema() });
    try {
      const outcomes = { saveFirst: 0, deleteFirst: 0 };
      for (let round = 0; round < 30; round++) {
        const root = makeCheckpoint();
        await two.save(root);
        const next = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1 });
        const [saved, deleted] = await Promise.allSettled([
          two.save(next),
          two.deleteSession(root.sessionId),
        ]);
        assert.strictEqual(deleted.status, "fulfilled", String((deleted as PromiseRejectedResult).reason));
        if (saved.status === "fulfilled") {
          outcomes.saveFirst++;
          assert.strictEqual((deleted as PromiseFulfilledResult<number>).value, 2);
        } else {
          outcomes.deleteFirst++;
          isConflict("parent-missing")(saved.reason);
        }
        assert.deepStrictEqual(await two.list({ sessionId: root.sessionId }), []);
        assert.strictEqual(await two.head(root.sessionId), undefined);
      }
      assert.strictEqual(outcomes.saveFirst + outcomes.deleteFirst, 30);
    } finally {
      await two.close();
    }
  });

  test("deleteSession() mid-run wins: the run's next save is refused (parent-missing), the session stays empty", async () => {
    const storage = new PostgresCheckpointStorage({ url: database.url, schema: freshSchema() });
    try {
      await assertDeleteWhileRunning(storage);
    } finally {
      await storage.close();
    }
  });
});

describe("PostgresCheckpointStorage: delta payloads", () => {
  /** A session of `length` checkpoints whose state grows by a record each, saved through `storage`. */
  async function grow(storage: PostgresCheckpointStorage, length: number) {
    const sessionId = `grow-${crypto.randomUUID()}`;
    const chain = [];
    for (let i = 0, parentId: string | null = null; i < length; i++) {
      const items = Array.from({ length: i + 1 }, (_, n) => ({ n, text: `record ${n}`.padEnd(40, ".") }));
      const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i, state: { items } });
      await storage.save(checkpoint);
      chain.push(checkpoint);
      parentId = checkpoint.id;
    }
    return chain;
  }

  /** How each stored payload of `ids` starts: "delta", "keyframe" (delta format, no base) or "whole". */
  async function kinds(ids: string[]): Promise<string[]> {
    const kinds = [];
    for (const id of ids) {
      const [{ start }] = await pool.unsafe(
        "SELECT left(payload, 8) AS start FROM public.superstep_checkpoints WHERE id = $1",
        [id],
      );
      kinds.push(start === '~2{"b":"' ? "delta" : start.startsWith("~2") ? "keyframe" : "whole");
    }
    return kinds;
  }

  test("a growing session is stored as deltas on a keyframe, and a cold storage loads each exactly", async () => {
    const chain = await grow(new PostgresCheckpointStorage({ client: pool }), 40);
    const stored = await kinds(chain.map((checkpoint) => checkpoint.id));
    // A keyframe, then runs of 16 deltas on parents, each next run on the last one's anchor: a load reads
    // at most 33 payloads.
    assert.deepStrictEqual(stored, chain.map((_, i) => i === 0 ? "keyframe" : "delta"));
    const bases = await pool.unsafe(
      "SELECT id, base_id FROM public.superstep_checkpoints WHERE session_id = $1 ORDER BY id",
      [chain[0].sessionId],
    );
    assert.deepStrictEqual(
      bases.map((row) => row.base_id),
      chain.map((checkpoint, i) => i === 0 ? null : i % 17 === 0 ? chain[i - 17].id : checkpoint.parentId),
    );
    const cold = new PostgresCheckpointStorage({ client: pool });
    for (const checkpoint of chain) assert.deepStrictEqual(await cold.load(checkpoint.id), checkpoint);
    const [{ bytes }] = await pool.unsafe(
      "SELECT sum(octet_length(payload))::bigint AS bytes FROM public.superstep_checkpoints WHERE session_id = $1",
      [chain[0].sessionId],
    );
    const whole = chain.reduce((sum, checkpoint) => sum + JSON.stringify(checkpoint.state).length, 0);
    assert.ok(Number(bytes) * 2 < whole, `${bytes} B stored for ${whole} B of states`);
  });

  test("a storage with deltas off writes whole payloads, loads deltas, and deletes a delta's base safely", async () => {
    const chain = await grow(new PostgresCheckpointStorage({ client: pool }), 6);
    const plain = new PostgresCheckpointStorage({ client: pool, deltas: false });
    const child = makeCheckpoint({
      sessionId: chain[0].sessionId,
      parentId: chain.at(-1)!.id,
      superstep: 6,
      state: chain.at(-1)!.state,
    });
    await plain.save(child);
    assert.deepStrictEqual(await kinds([child.id]), ["whole"]);
    assert.strictEqual(await plain.delete(chain[2].id), true);
    assert.deepStrictEqual(await kinds([chain[3].id]), ["keyframe"]);
    for (const checkpoint of [...chain.filter((_, i) => i !== 2), child]) {
      assert.deepStrictEqual(await plain.load(checkpoint.id), checkpoint);
    }
    assert.throws(
      () => new PostgresCheckpointStorage({ client: pool, deltas: "yes" as never }),
      /^TypeError: postgres: cannot create the storage: deltas must be/,
    );
  });

  test("delete() of a head waits for a save of a delta on it that is in flight, then makes that child whole", async () => {
    const schema = freshSchema();
    const saver = new PostgresCheckpointStorage({ client: pool, schema });
    const chain = await grow(saver, 4);
    const head = chain.at(-1)!;
    // The child's save holds the session's head row for a while after its insert, before its commit: the
    // window in which a delete that did not wait would remove the child's base.
    await pool.unsafe(`CREATE FUNCTION "${schema}".slow() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$`);
    await pool.unsafe(`CREATE TRIGGER slow AFTER INSERT ON "${schema}".superstep_checkpoints
      FOR EACH ROW WHEN (NEW.superstep = 4) EXECUTE FUNCTION "${schema}".slow()`);
    const child = makeCheckpoint({
      sessionId: head.sessionId,
      parentId: head.id,
      superstep: 4,
      state: { items: [...(head.state.items as unknown[]), { n: 99 }] },
    });
    const saving = saver.save(child);
    while ((await pool.unsafe("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'")).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const deleter = new PostgresCheckpointStorage({ client: pool, schema });
    assert.strictEqual(await deleter.delete(head.id), true);
    await saving;
    const [{ start }] = await pool.unsafe(
      `SELECT left(payload, 8) AS start FROM "${schema}".superstep_checkpoints WHERE id = $1`,
      [child.id],
    );
    assert.notStrictEqual(start, '~2{"b":"', "the child is no delta on the deleted head");
    const cold = new PostgresCheckpointStorage({ client: pool, schema });
    assert.deepStrictEqual(await cold.load(child.id), child);
    assert.strictEqual(await cold.head(head.sessionId), child.id);
    for (const checkpoint of chain.slice(0, -1)) {
      assert.deepStrictEqual(await cold.load(checkpoint.id), checkpoint);
    }
  });
});

describe("PostgresCheckpointStorage: other processes and runtimes", () => {
  test("a second process of this runtime resumes a checkpoint written by this one; its checkpoints chain to ours", async () => {
    const storage = new PostgresCheckpointStorage({ url: database.url });
    try {
      await assertFinishedByAnotherProcess(storage, "postgres", database.url);
    } finally {
      await storage.close();
    }
  });

  test("two processes resuming the same head: exactly one extends it, the other gets a conflict", async () => {
    const storage = new PostgresCheckpointStorage({ url: database.url });
    try {
      const paused = await approvals(storage).run(["x"]);
      const reports = await Promise.all([
        runChild("postgres", database.url, paused.checkpointId!, "first"),
        runChild("postgres", database.url, paused.checkpointId!, "second"),
      ]);
      const winners = reports.filter((report) => report.ok);
      assert.strictEqual(winners.length, 1, JSON.stringify(reports));
      const loser = reports.find((report) => !report.ok) as { name: string };
      assert.strictEqual(loser.name, "CheckpointConflictError");
      assert.strictEqual(
        await storage.head(paused.sessionId),
        (winners[0] as { checkpointId: string }).checkpointId,
      );
    } finally {
      await storage.close();
    }
  });

  test(`a run paused on ${runtimeName()} is answered and finished on ${nextRuntime()} through the same database`, async () => {
    const storage = new PostgresCheckpointStorage({ url: database.url, schema: "public" });
    try {
      const paused = await approvals(storage).run(["left", "right"]);
      assert.strictEqual(paused.status, "idle-pending-requests");
      const ours = await lineage(storage, paused.checkpointId!);
      const report = await answerOn(nextRuntime(), database.url, paused.checkpointId!, "ok");
      assert.ok(report.ok, JSON.stringify(report));
      assert.strictEqual(report.runtime, nextRuntime());
      assert.deepStrictEqual(report.outputs, ["left=ok", "right=ok"]);
      assert.strictEqual(report.sessionId, paused.sessionId);
      assert.strictEqual(await storage.head(paused.sessionId), report.checkpointId);
      const theirs = await lineage(storage, report.checkpointId!);
      assert.deepStrictEqual(theirs.slice(-ours.length), ours, "their checkpoints chain to ours");
      assert.deepStrictEqual((await storage.load(report.checkpointId!))?.pendingRequests, []);
      // And back: this runtime resumes the finished head as a fresh run of the same session would see it.
      const done = await approvals(storage).resume(report.checkpointId!);
      assert.strictEqual(done.status, "idle");
    } finally {
      await storage.close();
    }
  });

  test("a workflow runs, pauses and resumes on PGlite through a fresh storage on the same database", async () => {
    const schema = freshSchema();
    const paused = await approvals(new PostgresCheckpointStorage({ client: pglite, schema })).run(["p"]);
    const other = new PostgresCheckpointStorage({ client: pglite, schema });
    const [{ requestId }] = paused.pendingRequests;
    const done = await approvals(other).resume(paused.checkpointId!, { responses: { [requestId]: "yes" } });
    assert.deepStrictEqual(done.outputs, ["p=yes"]);
    assert.strictEqual(await other.head(paused.sessionId), done.checkpointId);
  });
});
