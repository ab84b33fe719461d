// The libSQL checkpoint storage: the conformance suite on :memory:, on a file and on an injected client,
// then what only a database shared by processes has: the head compare-and-set across storages and across
// real processes, migrations, WAL, indexes, corruption, deep lineage and the remote code path.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Client, createClient } from "@libsql/client";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import type { LibsqlStatement } from "../adapters/libsql/client.ts";
import {
  basesStatement,
  deleteSessionStatements,
  deleteStatements,
  headStatement,
  lineageStatement,
  listRequestsStatement,
  listSessionsStatement,
  listStatement,
  loadStatement,
  reindexStatements,
  rowStatement,
  saveStatements,
  unindexedStatement,
} from "../adapters/_sqlite/_sql.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../adapters/_sqlite/_schema.ts";
import { SqlConnection } from "../adapters/_sqlite/_connection.ts";
import { SqlStore } from "../adapters/_sqlite/_store.ts";
import { encodeForStorage, indexOf } from "../src/storage_kit.ts";
import {
  CheckpointConflictError,
  CheckpointCorruptError,
  type CheckpointStorage,
  defineExecutor,
  encodeCheckpoint,
  lineage,
  StorageSchemaError,
  WorkflowBuilder,
} from "../mod.ts";
import { assertDeleteWhileRunning, Tally } from "./_fixtures.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../testing/mod.ts";
import { approvals, type ChildReport } from "./fixtures/hitl_workflow.ts";
import { assertFinishedByAnotherProcess, runChild } from "./_child.ts";
import { type HranaServer, startHranaServer } from "./fixtures/hrana_server.ts";

// Every database file of this run lives in one fresh directory, removed at the end.
const dir = mkdtempSync(join(tmpdir(), "superstep-libsql-"));
let files = 0;
const sharedClient = createClient({ url: ":memory:" });
const HRANA_TOKEN = "hrana-test-token";
let hrana: Promise<HranaServer> | undefined;

/** The emulated Hrana HTTP server of this run (see tests/fixtures/hrana_server.ts), started on first use. */
function hranaServer(): Promise<HranaServer> {
  return hrana ??= startHranaServer(join(dir, "hrana.sqlite"), HRANA_TOKEN);
}

after(async () => {
  sharedClient.close();
  await (await hrana)?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every schema version, each applied once, in order. */
const ALL_VERSIONS = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);

/** The `file:` URL of a new database in this run's directory. */
function newFileUrl(): string {
  return pathToFileURL(join(dir, `db-${++files}.sqlite`)).href;
}

checkpointStorageConformance("libsql :memory:", () => new LibsqlCheckpointStorage({ url: ":memory:" }));
checkpointStorageConformance(
  "libsql :memory:, checkpoints stored whole (deltas: false)",
  () => new LibsqlCheckpointStorage({ url: ":memory:", deltas: false }),
);

const sharedFile = newFileUrl();
checkpointStorageConformance(
  "libsql file, a new storage (and client) per case on one file",
  () => new LibsqlCheckpointStorage({ url: sharedFile }),
  { sharedBackend: true },
);

// What this run adds is the client's ownership (one client, never closed by a storage): the same SQL
// runs the 1,000-checkpoint chain on :memory: and on the file above.
checkpointStorageConformance(
  "libsql :memory:, one injected client for every case",
  () => new LibsqlCheckpointStorage({ client: sharedClient }),
  { sharedBackend: true, chainLength: 100 },
);

// The remote code path: `@libsql/client`'s Hrana HTTP client against an emulated server, not sqld.
checkpointStorageConformance(
  "libsql over Hrana HTTP (libsql://…?tls=0, an emulated server)",
  async () => {
    const { url } = await hranaServer();
    return new LibsqlCheckpointStorage({
      url: `${url.replace(/^http:/, "libsql:")}?tls=0`,
      authToken: HRANA_TOKEN,
    });
  },
  // What this run checks is the transport: the 1,000-checkpoint chain runs on the file and :memory: above.
  { sharedBackend: true, chainLength: 100 },
);

/** A client that records the calls that reach the database, and may run `beforeBatch` first. */
function spy(client: Client, beforeBatch?: () => Promise<void>): { client: Client; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(client, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (key === "execute" || key === "batch") calls.push(String(key));
        if (key === "batch" && beforeBatch) await beforeBatch();
        return await value.apply(target, args);
      };
    },
  });
  return { client: proxy, calls };
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rows(client: Client, sql: string, args: (string | number)[] = []) {
  return (await client.execute({ sql, args })).rows.map((row) => ({ ...row }));
}

function isConflict(error: unknown): boolean {
  return error instanceof CheckpointConflictError && error.message.startsWith("libsql: ");
}

describe("LibsqlCheckpointStorage", () => {
  test("save() conflicts name the adapter, the checkpoint and the session head", async () => {
    const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
    try {
      const root = makeCheckpoint();
      await storage.save(root);
      const stale = makeCheckpoint({ sessionId: root.sessionId, parentId: null });
      await assert.rejects(storage.save(stale), (error: unknown) => {
        assert.ok(isConflict(error), String(error));
        assert.match((error as Error).message, /^libsql: cannot save checkpoint .*: session head moved/);
        assert.ok((error as Error).message.includes(stale.id) && (error as Error).message.includes(root.id));
        return true;
      });
      await assert.rejects(storage.save(root), /^CheckpointConflictError: libsql: .*exists already/);
    } finally {
      await storage.close();
    }
  });

  test("two storages on one file: concurrent saves with the same parent across both, exactly one wins", async () => {
    const url = newFileUrl();
    const one = new LibsqlCheckpointStorage({ url });
    const two = new LibsqlCheckpointStorage({ url });
    try {
      const root = makeCheckpoint();
      await one.save(root);
      assert.strictEqual(await two.head(root.sessionId), root.id);
      const contenders = Array.from(
        { length: 8 },
        (_, i) =>
          makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1, state: { i } }),
      );
      const results = await Promise.allSettled(contenders.map((cp, i) => (i % 2 ? two : one).save(cp)));
      const winners = contenders.filter((_, i) => results[i].status === "fulfilled");
      assert.strictEqual(winners.length, 1, "exactly one save must win");
      for (const result of results) {
        if (result.status === "rejected") assert.ok(isConflict(result.reason), String(result.reason));
      }
      assert.strictEqual(await one.head(root.sessionId), winners[0].id);
      assert.strictEqual(await two.head(root.sessionId), winners[0].id);
      // The loser of a later round, on the other storage, sees the winner's head.
      const late = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1 });
      await assert.rejects((winners[0] === contenders[0] ? two : one).save(late), isConflict);
      const next = makeCheckpoint({ sessionId: root.sessionId, parentId: winners[0].id, superstep: 2 });
      await two.save(next);
      assert.deepStrictEqual(await one.load(next.id), next);
      assert.deepStrictEqual((await one.list({ sessionId: root.sessionId })).map((s) => s.id), [
        next.id,
        winners[0].id,
        root.id,
      ]);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test("a second process resumes a checkpoint written by this one; its checkpoints chain to ours", async () => {
    const url = newFileUrl();
    const storage = new LibsqlCheckpointStorage({ url });
    try {
      await assertFinishedByAnotherProcess(storage, "libsql", url);
    } finally {
      await storage.close();
    }
  });

  test("two processes resuming the same head: exactly one extends it, the other gets a conflict", async () => {
    const url = newFileUrl();
    const storage = new LibsqlCheckpointStorage({ url });
    try {
      const paused = await approvals(storage).run(["x"]);
      const reports = await Promise.all([
        runChild("libsql", url, paused.checkpointId!, "first"),
        runChild("libsql", url, paused.checkpointId!, "second"),
      ]);
      const winners = reports.filter((report) => report.ok);
      assert.strictEqual(winners.length, 1, JSON.stringify(reports));
      const loser = reports.find((report) => !report.ok)!;
      assert.ok(!loser.ok && loser.name === "CheckpointConflictError", JSON.stringify(loser));
      const winner = winners[0] as Extract<ChildReport, { ok: true }>;
      assert.strictEqual(await storage.head(paused.sessionId), winner.checkpointId);
      const chain = (await lineage(storage, winner.checkpointId!)).map((s) => s.id);
      const session = (await storage.list({ sessionId: paused.sessionId })).map((s) => s.id);
      assert.deepStrictEqual(session, chain, "the session holds the winner's chain and nothing else");
    } finally {
      await storage.close();
    }
  });

  test("lineage() returns a 5,000-deep ancestry from one query", async () => {
    const { client, calls } = spy(createClient({ url: ":memory:" }));
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const sessionId = "deep";
      const ids: string[] = [];
      let parentId: string | null = null;
      for (let i = 0; i < 5000; i++) {
        const cp = makeCheckpoint({ sessionId, parentId, superstep: i, metadata: { i } });
        await storage.save(cp);
        ids.push(cp.id);
        parentId = cp.id;
      }
      calls.length = 0;
      const summaries = await storage.lineage(ids[4999]);
      assert.deepStrictEqual(calls, ["execute"], "one query");
      assert.strictEqual(summaries.length, 5000);
      assert.deepStrictEqual(summaries.map((s) => s.id), ids.toReversed());
      assert.deepStrictEqual(summaries.map((s) => s.superstep), ids.map((_, i) => 4999 - i));
      assert.deepStrictEqual(summaries[0].metadata, { i: 4999 });
      assert.strictEqual(summaries[4999].parentId, null);
      assert.deepStrictEqual((await storage.lineage(ids[2])).map((s) => s.id), [ids[2], ids[1], ids[0]]);
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("lineage() stops when parent pointers form a cycle", async () => {
    const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
    try {
      // Only possible by deleting a checkpoint and saving its id again, as a fork of its own child (a
      // parent that does not exist, or a checkpoint its own parent, is refused: parent-missing).
      await storage.save(makeCheckpoint({ id: "a", parentId: null }));
      await storage.save(makeCheckpoint({ id: "b", parentId: "a" }));
      assert.strictEqual(await storage.delete("a"), true);
      const a = makeCheckpoint({ id: "a", parentId: "b" });
      await storage.save(a);
      await assert.rejects(storage.save(makeCheckpoint({ id: "c", parentId: "c" })), {
        reason: "parent-missing",
      });
      assert.deepStrictEqual((await storage.lineage("a")).map((s) => s.id), ["a", "b"]);
      assert.deepStrictEqual((await storage.lineage("b")).map((s) => s.id), ["b", "a"]);
      assert.strictEqual(await storage.delete("a"), true);
      assert.strictEqual(await storage.head(a.sessionId), undefined, "the head never moves into the cycle");
    } finally {
      await storage.close();
    }
  });

  test("list(), head(), load(), lineage(), save() and delete() are served by indexes", async () => {
    const client = createClient({ url: ":memory:" });
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      await storage.head("migrate");
      const cp = makeCheckpoint({ parentId: "p" });
      const byId = /USING (COVERING )?INDEX sqlite_autoindex_superstep_checkpoints_1\b/;
      const statements: [LibsqlStatement, RegExp?][] = [
        [listStatement({}), byId],
        [listStatement({ limit: 10 }), byId],
        [listStatement({ before: "x", limit: 10 }), /USING INDEX sqlite_autoindex_\w+ \(id<\?\)/],
        [listStatement({ sessionId: "s", limit: 10 }), /USING INDEX \w+_by_session \(session_id=\?\)/],
        [
          listStatement({ sessionId: "s", before: "x", limit: 10 }),
          /USING INDEX \w+_by_session \(session_id=\? AND id<\?\)/,
        ],
        [listStatement({ workflowName: "w", limit: 10 }), /USING INDEX \w+_by_workflow \(workflow_name=\?\)/],
        [
          listStatement({ workflowName: "w", before: "x", limit: 10 }),
          /USING INDEX \w+_by_workflow \(workflow_name=\? AND id<\?\)/,
        ],
        [
          listStatement({ workflowName: "w", sessionId: "s", before: "x", limit: 10 }),
          /USING INDEX \w+_by_session_workflow \(session_id=\? AND workflow_name=\? AND id<\?\)/,
        ],
        [headStatement("s"), /SEARCH superstep_heads USING PRIMARY KEY \(session_id=\?\)/],
        [loadStatement("x"), byId],
        [rowStatement("x"), byId],
        [rowStatement("x", false), byId],
        [lineageStatement("x"), /RECURSIVE STEP/],
        [basesStatement("x", 32), /RECURSIVE STEP/],
        ...saveStatements(encodeForStorage("libsql", cp)).map((st): [LibsqlStatement] => [st]),
        ...deleteStatements("x").map((st): [LibsqlStatement] => [st]),
        ...deleteSessionStatements("s").map((st): [LibsqlStatement] => [st]),
        ...indexStatements(),
      ];
      for (const [{ sql, args }, expected] of statements) {
        const plan = (await rows(client, `EXPLAIN QUERY PLAN ${sql}`, args as string[]))
          .map((row) => String(row.detail));
        const where = `\n  in: ${sql}\n  plan: ${plan.join(" | ")}`;
        if (expected) assert.match(plan.join(" | "), expected, where);
        for (const step of plan) {
          // A SCAN is only allowed of the recursive query's own queue, or in index order (with LIMIT).
          const fullScan = /^SCAN (?!ancestry\b|bases\b|a\b)\S+$/.test(step);
          assert.ok(!fullScan && !/TEMP B-TREE/.test(step), `${step}${where}`);
        }
      }
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("1,000 sessions are listed by status from the heads' index, never a scan of the checkpoints", async () => {
    const client = createClient({ url: ":memory:" });
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const waiting: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const asks = i % 4 === 0;
        const checkpoint = makeCheckpoint({
          workflowName: i % 2 === 0 ? "even" : "odd",
          pendingRequests: asks ? [{ requestId: `r${i}`, executorId: "ask", data: i }] : [],
          messages: asks ? [] : [{ source: "a", data: i }],
        });
        await storage.save(checkpoint);
        // A longer history under each head: what a scan of the checkpoints would have to read.
        await storage.save(
          makeCheckpoint({ ...checkpoint, id: `${checkpoint.id}x`, parentId: checkpoint.id }),
        );
        if (asks) waiting.push(checkpoint.sessionId);
      }
      const listed = await storage.listSessions({ status: "waiting", workflowName: "even" });
      assert.deepEqual(listed.map((session) => session.sessionId), waiting.reverse());
      for (
        const query of [
          { status: "waiting" as const, workflowName: "even" },
          { status: "waiting" as const },
          {},
        ]
      ) {
        const { sql, args } = listSessionsStatement({ ...query, limit: 100 });
        const plan = (await rows(client, `EXPLAIN QUERY PLAN ${sql}`, args as string[])).map((r) =>
          String(r.detail)
        );
        assert.match(
          plan[0],
          /^SEARCH h USING (COVERING )?INDEX superstep_heads_by_\w+|^SCAN h USING (COVERING )?INDEX superstep_heads_by_head/,
          plan.join(" | "),
        );
        assert.match(
          plan[1],
          /^SEARCH c USING INDEX sqlite_autoindex_superstep_checkpoints_1 \(id=\?\)/,
          plan.join(" | "),
        );
        assert.ok(!plan.some((step) => /TEMP B-TREE/.test(step)), plan.join(" | "));
      }
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("a database of the schema before the index migrates, and its heads are indexed on the first listing", async () => {
    const client = createClient({ url: ":memory:" });
    // The version before the index's migration (later ones, such as the leases', come after it).
    const before = MIGRATIONS.findIndex((statements) =>
      statements.some((sql) => sql.includes("CREATE TABLE superstep_requests"))
    );
    await rows(
      client,
      "CREATE TABLE superstep_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)",
    );
    for (let version = 1; version <= before; version++) {
      for (const sql of MIGRATIONS[version - 1]) await rows(client, sql);
      await rows(client, "INSERT INTO superstep_migrations VALUES (?1, ?2)", [
        version,
        new Date().toISOString(),
      ]);
    }
    // Written as a Superstep of that schema wrote them: the row and the head, nothing of the index.
    const asked = { requestId: "r1", executorId: "ask", data: { question: "Ship it?" } };
    const waiting = makeCheckpoint({ workflowName: "old", pendingRequests: [asked] });
    const done = makeCheckpoint({ workflowName: "old" });
    for (const checkpoint of [waiting, done]) {
      const { summary, payload } = encodeForStorage("libsql", checkpoint);
      await rows(
        client,
        `INSERT INTO superstep_checkpoints (id, parent_id, session_id, workflow_name, superstep, created_at,
          metadata, payload) VALUES (?1, NULL, ?2, ?3, 0, ?4, ?5, ?6)`,
        [summary.id, summary.sessionId, summary.workflowName, summary.createdAt, summary.metadata, payload],
      );
      await rows(client, "INSERT INTO superstep_heads VALUES (?1, ?2)", [summary.sessionId, summary.id]);
    }
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const sessions = await storage.listSessions({ workflowName: "old" });
      assert.deepEqual(sessions.map((session) => [session.sessionId, session.status]), [
        [done.sessionId, "completed"],
        [waiting.sessionId, "waiting"],
      ]);
      const [entry] = await storage.listPendingRequests({ workflowName: "old" });
      assert.deepEqual([entry.requestId, entry.data, entry.checkpointId], ["r1", asked.data, waiting.id]);
      const versions = await rows(client, "SELECT max(version) AS v FROM superstep_migrations");
      assert.equal(Number(versions[0].v), SCHEMA_VERSION);
      assert.deepEqual(await rows(client, "SELECT session_id FROM superstep_heads WHERE status IS NULL"), []);
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("migrations: re-running them is a no-op", async () => {
    const url = newFileUrl();
    const first = new LibsqlCheckpointStorage({ url });
    const client = createClient({ url });
    try {
      await first.save(makeCheckpoint());
      const migrations = await rows(client, "SELECT * FROM superstep_migrations");
      assert.deepStrictEqual(migrations.map((row) => row.version), ALL_VERSIONS);
      const schema = await rows(client, "SELECT type, name, sql FROM sqlite_master ORDER BY name");
      const { client: spied, calls } = spy(createClient({ url }));
      const again = new LibsqlCheckpointStorage({ client: spied });
      await again.head("x");
      assert.ok(!calls.includes("batch"), `no migration batch ran: ${calls.join(", ")}`);
      await again.close();
      spied.close();
      assert.deepStrictEqual(await rows(client, "SELECT * FROM superstep_migrations"), migrations);
      assert.deepStrictEqual(
        await rows(client, "SELECT type, name, sql FROM sqlite_master ORDER BY name"),
        schema,
      );
    } finally {
      await first.close();
      client.close();
    }
  });

  test("migrations: storages migrating one new file at once all succeed, each version applied once", async () => {
    const url = newFileUrl();
    const first = new LibsqlCheckpointStorage({ url });
    // The second storage reads version 0, then the first migrates the file just before the second's own
    // migration batch: that batch must fail on the claimed version, roll back, and be taken as done.
    let raced = false;
    const { client, calls } = spy(createClient({ url, timeout: 5000 }), async () => {
      if (raced) return;
      raced = true;
      await first.head("x");
    });
    const second = new LibsqlCheckpointStorage({ client });
    const others = Array.from({ length: 3 }, () => new LibsqlCheckpointStorage({ url }));
    try {
      await second.head("x");
      assert.ok(raced);
      assert.deepStrictEqual(calls.filter((call) => call === "batch"), ["batch"]);
      await Promise.all(others.map((storage) => storage.head("x")));
      const cp = makeCheckpoint();
      await others[0].save(cp);
      assert.deepStrictEqual(await second.load(cp.id), cp);
      const migrations = await rows(client, "SELECT version FROM superstep_migrations");
      assert.deepStrictEqual(migrations, ALL_VERSIONS.map((version) => ({ version })));
    } finally {
      for (const storage of [first, second, ...others]) await storage.close();
      client.close();
    }
  });

  test("a database migrated by a newer Superstep is refused with StorageSchemaError", async () => {
    const client = createClient({ url: ":memory:" });
    try {
      await new LibsqlCheckpointStorage({ client }).head("x");
      await client.execute({
        sql: "INSERT INTO superstep_migrations (version, applied_at) VALUES (?, ?)",
        args: [SCHEMA_VERSION + 1, new Date().toISOString()],
      });
      const newer = new LibsqlCheckpointStorage({ client });
      const cp = makeCheckpoint();
      for (const call of [() => newer.head("x"), () => newer.save(cp), () => newer.list()]) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof StorageSchemaError, String(error));
          assert.strictEqual(error.storedVersion, SCHEMA_VERSION + 1);
          assert.strictEqual(error.supportedVersion, SCHEMA_VERSION);
          assert.match(error.message, /^libsql: cannot use the storage: its schema version \d+ is newer/);
          return true;
        });
      }
      assert.deepStrictEqual(await rows(client, "SELECT id FROM superstep_checkpoints"), []);
    } finally {
      client.close();
    }
  });

  test("file databases are switched to WAL mode unless wal: false", async () => {
    const walUrl = newFileUrl();
    const plainUrl = newFileUrl();
    const client = createClient({ url: walUrl });
    const plainClient = createClient({ url: plainUrl });
    const wal = new LibsqlCheckpointStorage({ url: walUrl });
    const plain = new LibsqlCheckpointStorage({ url: plainUrl, wal: false });
    try {
      await wal.head("x");
      await plain.head("x");
      assert.deepStrictEqual(await rows(client, "PRAGMA journal_mode"), [{ journal_mode: "wal" }]);
      assert.deepStrictEqual(await rows(plainClient, "PRAGMA journal_mode"), [{ journal_mode: "delete" }]);
    } finally {
      await wal.close();
      await plain.close();
      client.close();
      plainClient.close();
    }
  });

  test("load(), list() and lineage() report a corrupt row with CheckpointCorruptError naming it", async () => {
    const client = createClient({ url: ":memory:" });
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const [a, b] = [makeCheckpoint(), makeCheckpoint()];
      await storage.save(a);
      await storage.save(b);
      const corrupt = (id: string) => (error: unknown) => {
        assert.ok(error instanceof CheckpointCorruptError, String(error));
        assert.strictEqual(error.checkpointId, id);
        return true;
      };
      const set = (column: string, value: string | ArrayBuffer, id: string) =>
        client.execute({
          sql: `UPDATE superstep_checkpoints SET ${column} = ? WHERE id = ?`,
          args: [value, id],
        });
      await set("payload", "not encoded text", a.id);
      await assert.rejects(storage.load(a.id), corrupt(a.id));
      await set("payload", encodeCheckpoint(b), a.id);
      await assert.rejects(storage.load(a.id), /holds checkpoint/);
      await set("payload", new Uint8Array([1, 2]).buffer, a.id);
      await assert.rejects(storage.load(a.id), corrupt(a.id));
      assert.deepStrictEqual(await storage.load(b.id), b);
      await set("metadata", "[[", b.id);
      await assert.rejects(storage.list({ sessionId: b.sessionId }), corrupt(b.id));
      await assert.rejects(storage.lineage(b.id), corrupt(b.id));
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("a client with intMode bigint or string still gives numbers", async () => {
    for (const intMode of ["bigint", "string"] as const) {
      const client = createClient({ url: ":memory:", intMode });
      const storage = new LibsqlCheckpointStorage({ client });
      try {
        const root = makeCheckpoint({ superstep: 7 });
        await storage.save(root);
        await storage.save(makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 8 }));
        assert.deepStrictEqual((await storage.list()).map((s) => s.superstep), [8, 7]);
        assert.deepStrictEqual((await storage.lineage(root.id))[0].superstep, 7);
        assert.strictEqual(await storage.deleteSession(root.sessionId), 2);
        assert.strictEqual(await storage.delete(root.id), false);
      } finally {
        await storage.close();
        client.close();
      }
    }
  });

  test("remote URLs with no server fail at the first call with an error naming the URL, not a hang", async () => {
    const port = await closedPort();
    for (
      const url of [
        `libsql://127.0.0.1:${port}?authToken=secret-in-url`,
        `libsql://127.0.0.1:${port}?tls=0`,
        `https://127.0.0.1:${port}`,
        `http://127.0.0.1:${port}`,
        `ws://127.0.0.1:${port}`,
      ]
    ) {
      const storage = new LibsqlCheckpointStorage({ url, authToken: "secret-token" });
      try {
        await assert.rejects(storage.head("s"), (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.match(error.message, /^libsql: cannot open the database \w+:\/\/127\.0\.0\.1:\d+: /);
          assert.ok(!error.message.includes("secret"), error.message);
          assert.ok(error.cause !== undefined, "the client's error is the cause");
          return true;
        }, url);
        // Not cached: the next call tries again (the server may be back).
        await assert.rejects(storage.list(), /^StorageError: libsql: cannot open the database/);
      } finally {
        await storage.close();
      }
    }
    const bad = new LibsqlCheckpointStorage({ url: "ftp://example.com/db" });
    await assert.rejects(
      bad.head("s"),
      /^StorageError: libsql: cannot open the database ftp:\/\/example\.com\/db: .*not supported|supports only/,
    );
    await bad.close();
  });

  test("new LibsqlCheckpointStorage() checks its options and opens nothing", async () => {
    for (
      const options of [{}, { url: "" }, { url: ":memory:", client: sharedClient }, { client: null }, null]
    ) {
      assert.throws(
        () => new LibsqlCheckpointStorage(options as never),
        /^TypeError: libsql: cannot create the storage: /,
        JSON.stringify(options),
      );
    }
    for (const busyTimeout of [-1, NaN, Infinity, "5000"]) {
      assert.throws(
        () => new LibsqlCheckpointStorage({ url: ":memory:", busyTimeout: busyTimeout as number }),
        /^RangeError: libsql: cannot create the storage: busyTimeout must be/,
      );
    }
    // A path in a directory that does not exist: only the first call notices.
    const storage = new LibsqlCheckpointStorage({
      url: pathToFileURL(join(dir, "missing", "db.sqlite")).href,
    });
    await assert.rejects(storage.head("s"), /^StorageError: libsql: cannot open the database file:/);
    await storage.close();
  });

  test("close() closes the storage's own client, never an injected one; later calls reject", async () => {
    const client = createClient({ url: ":memory:" });
    const injected = new LibsqlCheckpointStorage({ client });
    await injected.head("x");
    await injected.close();
    await injected.close();
    assert.strictEqual(client.closed, false);
    await assert.rejects(injected.head("x"), /^StorageError: libsql: cannot use the storage: it is closed/);
    assert.deepStrictEqual(await rows(client, "SELECT count(*) AS n FROM superstep_heads"), [{ n: 0 }]);
    client.close();

    const own = new LibsqlCheckpointStorage({ url: newFileUrl() });
    await own.head("x");
    await own.close();
    await assert.rejects(own.save(makeCheckpoint()), /it is closed/);
    // Closing a storage that never opened anything is fine too.
    await new LibsqlCheckpointStorage({ url: ":memory:" }).close();
  });
});

describe("LibsqlCheckpointStorage: delta payloads", () => {
  test("deltas: false stores whole payloads, still loads deltas, and deletes a delta's base safely", async () => {
    const url = newFileUrl();
    const writer = new LibsqlCheckpointStorage({ url });
    const plain = new LibsqlCheckpointStorage({ url, deltas: false });
    const client = createClient({ url });
    try {
      const sessionId = "delta-mix";
      const chain = [];
      for (let i = 0, parentId: string | null = null; i < 5; i++) {
        const items = Array.from({ length: i + 1 }, (_, n) => `record ${n}`.padEnd(40, "."));
        const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i, state: { items } });
        await (i < 4 ? writer : plain).save(checkpoint);
        chain.push(checkpoint);
        parentId = checkpoint.id;
      }
      const start = async (id: string) =>
        String(
          (await client.execute({
            sql: "SELECT substr(payload, 1, 8) AS s FROM superstep_checkpoints WHERE id = ?",
            args: [id],
          })).rows[0].s,
        );
      assert.deepStrictEqual(
        await Promise.all(chain.map((checkpoint) => start(checkpoint.id))),
        ['~2{"b":n', '~2{"b":"', '~2{"b":"', '~2{"b":"', '{"versio'],
      );
      assert.strictEqual(await plain.delete(chain[1].id), true);
      assert.notStrictEqual(await start(chain[2].id), '~2{"b":"');
      for (const checkpoint of chain.filter((_, i) => i !== 1)) {
        assert.deepStrictEqual(await plain.load(checkpoint.id), checkpoint);
      }
      assert.throws(
        () => new LibsqlCheckpointStorage({ url, deltas: "no" as never }),
        /deltas must be a boolean/,
      );
    } finally {
      client.close();
      await writer.close();
      await plain.close();
    }
  });
  test("a chain of deltas loads through a fresh storage in two statements, exactly, at every depth", async () => {
    const client = createClient({ url: ":memory:" });
    const writer = new LibsqlCheckpointStorage({ client });
    try {
      const sessionId = "delta-chain";
      const chain = [];
      for (let i = 0, parentId: string | null = null; i < 60; i++) {
        const items = Array.from({ length: i + 1 }, (_, n) => `record ${n}`.padEnd(40, "."));
        const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i, state: { items } });
        await writer.save(checkpoint);
        chain.push(checkpoint);
        parentId = checkpoint.id;
      }
      let statements = 0;
      const counting = {
        protocol: client.protocol,
        execute: (statement: LibsqlStatement) => (statements++, client.execute(statement)),
        batch: client.batch.bind(client),
        close() {},
      };
      let deepest = 0;
      for (const checkpoint of chain) {
        const reader = new LibsqlCheckpointStorage({ client: counting });
        await reader.head("migrate");
        statements = 0;
        assert.deepStrictEqual(await reader.load(checkpoint.id), checkpoint);
        const depth = JSON.parse(
          String(
            (await rows(client, "SELECT payload FROM superstep_checkpoints WHERE id = ?", [checkpoint.id]))[0]
              .payload,
          ).slice(2).split("\n")[0],
        ).d;
        deepest = Math.max(deepest, depth);
        assert.ok(statements <= 2, `depth ${depth}: ${statements} statements`);
      }
      assert.ok(deepest >= 16, `the chain reaches depth ${deepest}`);
    } finally {
      await writer.close();
      client.close();
    }
  });

  test("a chain's payloads come back in one row, ordered by depth whatever order the aggregate took", async () => {
    const answer = (row: Record<string, unknown>) =>
      new SqlStore(
        new SqlConnection({
          adapter: "fake",
          where: "nowhere",
          open: () =>
            Promise.resolve({
              execute: () => Promise.resolve({ rows: [row], changes: 0 }),
              batch: () => Promise.resolve([]),
            }),
          migrate: () => Promise.resolve(),
        }),
      );
    const joined = (...parts: string[]) => parts.join("\u001e");
    const shuffled = answer({
      payloads: joined("p3", "p1", "p2"),
      ids: joined("c", "a", "b"),
      depths: "3\u001e1\u001e2",
      count: 3,
    });
    assert.deepStrictEqual(await shuffled.bases("a", 32), [
      { id: "a", payload: "p1" },
      { id: "b", payload: "p2" },
      { id: "c", payload: "p3" },
    ]);
    // A payload that held the separator splits into too many: none, so the caller reads one by one.
    const damaged = answer({
      payloads: joined("p1", "p\u001e2"),
      ids: joined("a", "b"),
      depths: "1\u001e2",
      count: 2,
    });
    assert.deepStrictEqual(await damaged.bases("a", 32), []);
    assert.deepStrictEqual(
      await answer({ payloads: null, ids: null, depths: null, count: 0 }).bases("a", 32),
      [],
    );
  });
});

describe("LibsqlCheckpointStorage over Hrana HTTP (an emulated server, not sqld)", () => {
  test("a save is one HTTP request, and no PRAGMA is sent to a remote database", async () => {
    const server = await hranaServer();
    const client = createClient({ url: server.url, authToken: HRANA_TOKEN });
    const sql: string[] = [];
    const recording = new Proxy(client, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key !== "execute" && key !== "batch") return value;
        return (statement: { sql: string } | { sql: string }[], ...rest: unknown[]) => {
          for (const { sql: text } of [statement].flat()) sql.push(text);
          return (value as (...args: unknown[]) => unknown).call(target, statement, ...rest);
        };
      },
    });
    const storage = new LibsqlCheckpointStorage({ client: recording });
    try {
      await storage.head("x");
      assert.ok(!sql.some((text) => /PRAGMA/i.test(text)), sql.join("\n"));
      const before = server.requests;
      const root = makeCheckpoint();
      await storage.save(root);
      assert.strictEqual(server.requests - before, 1, "one pipelined request: begin, statements, commit");
      const other = new LibsqlCheckpointStorage({ url: server.url, authToken: HRANA_TOKEN });
      const contenders = Array.from(
        { length: 6 },
        () => makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1 }),
      );
      const results = await Promise.allSettled(contenders.map((cp, i) => (i % 2 ? other : storage).save(cp)));
      assert.strictEqual(results.filter((result) => result.status === "fulfilled").length, 1);
      assert.ok(results.every((result) => result.status === "fulfilled" || isConflict(result.reason)));
      await other.close();
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("a wrong auth token fails at the first call with a clear error", async () => {
    const { url } = await hranaServer();
    const storage = new LibsqlCheckpointStorage({ url, authToken: "wrong" });
    try {
      await assert.rejects(
        storage.head("x"),
        /^StorageError: libsql: cannot open the database http:\/\/127\.0\.0\.1:\d+: .*Unauthorized/,
      );
    } finally {
      await storage.close();
    }
  });
});

/** tally → double → emit: the entry checkpoint, then supersteps 1, 2 and 3. */
function linear(storage: CheckpointStorage) {
  const tally = new Tally();
  const double = defineExecutor({ id: "double", handle: async (n: number, ctx) => await ctx.send(n * 2) });
  const emit = defineExecutor({ id: "emit", handle: async (n: number, ctx) => await ctx.yieldOutput(n) });
  return new WorkflowBuilder({ name: "libsql-linear", start: tally })
    .addChain([tally, double, emit])
    .withCheckpointing(storage)
    .build();
}

describe("Workflow with LibsqlCheckpointStorage", () => {
  test("runs, and a fresh instance on a fresh storage resumes a middle checkpoint with fork", async () => {
    const url = newFileUrl();
    const storage = new LibsqlCheckpointStorage({ url });
    const other = new LibsqlCheckpointStorage({ url });
    try {
      const result = await linear(storage).run(5);
      assert.strictEqual(result.status, "idle");
      assert.deepStrictEqual(result.outputs, [10]);
      const session = await storage.list({ sessionId: result.sessionId });
      assert.deepStrictEqual(session.map((s) => s.superstep), [3, 2, 1, 0]);
      assert.strictEqual(session[0].id, result.checkpointId);
      const middle = session[2];

      await assert.rejects(linear(other).resume(middle.id), CheckpointConflictError);
      const forked = await linear(other).resume(middle.id, { fork: true });
      assert.strictEqual(forked.status, "idle");
      assert.deepStrictEqual(forked.outputs, [10]);
      assert.notStrictEqual(forked.sessionId, result.sessionId);
      const branch = await lineage(storage, forked.checkpointId!);
      assert.deepStrictEqual(
        branch.slice(-2),
        [session[2], session[3]],
        "the fork's ancestry runs through it",
      );
      assert.strictEqual(branch[branch.length - 3].parentId, middle.id);
      assert.strictEqual(branch[branch.length - 3].sessionId, forked.sessionId);
      assert.strictEqual(
        await storage.head(result.sessionId),
        result.checkpointId,
        "the original is unchanged",
      );
      assert.strictEqual(await storage.head(forked.sessionId), forked.checkpointId);
    } finally {
      await storage.close();
      await other.close();
    }
  });
});

describe("deleting a session while a run writes to it (libsql :memory:)", () => {
  test("deleteSession() mid-run wins: the run's next save is refused (parent-missing), the run fails, the session stays empty", async () => {
    const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
    try {
      await assertDeleteWhileRunning(storage);
    } finally {
      await storage.close();
    }
  });
});

/** The index's statements, in every shape the adapter runs (for the query plan test). */
function indexStatements(): [LibsqlStatement, RegExp?][] {
  const asks = makeCheckpoint({ pendingRequests: [{ requestId: "r", executorId: "a", data: 1 }] });
  const headsBy = (index: string, terms: string) =>
    new RegExp(`SEARCH h USING (COVERING )?INDEX superstep_heads_by_${index} \\(${terms}\\)`);
  const requestsBy = (index: string, terms: string) =>
    new RegExp(`USING (COVERING )?INDEX ${index} \\(${terms}\\)`);
  const cursor = { requestId: "r", sessionId: "s" };
  return [
    [listSessionsStatement({ limit: 10 }), /SCAN h USING (COVERING )?INDEX superstep_heads_by_head/],
    [listSessionsStatement({ limit: 10, before: "x" }), headsBy("head", "head_id<\\?")],
    [listSessionsStatement({ status: "waiting", limit: 10 }), headsBy("status", "status=\\?")],
    [listSessionsStatement({ workflowName: "w", limit: 10 }), headsBy("workflow", "workflow_name=\\?")],
    [
      listSessionsStatement({ workflowName: "w", status: "waiting", before: "x", limit: 10 }),
      headsBy("workflow_status", "workflow_name=\\? AND status=\\? AND head_id<\\?"),
    ],
    [
      listRequestsStatement({ limit: 10 }),
      /SCAN superstep_requests USING (COVERING )?INDEX superstep_requests_by_request/,
    ],
    [
      listRequestsStatement({ limit: 10, before: cursor }),
      requestsBy("superstep_requests_by_request", "\\(request_id,session_id\\)<\\(\\?,\\?\\)"),
    ],
    [
      listRequestsStatement({ requestId: "r" }),
      requestsBy("superstep_requests_by_request", "request_id=\\?"),
    ],
    [listRequestsStatement({ sessionId: "s", limit: 10 }), /USING PRIMARY KEY \(session_id=\?\)/],
    [
      listRequestsStatement({ workflowName: "w", limit: 10, before: cursor }),
      requestsBy(
        "superstep_requests_by_workflow",
        "workflow_name=\\? AND \\(request_id,session_id\\)<\\(\\?,\\?\\)",
      ),
    ],
    [
      unindexedStatement(100),
      /SEARCH superstep_heads USING (COVERING )?INDEX superstep_heads_by_status \(status=\?\)/,
    ],
    ...saveStatements(encodeForStorage("libsql", asks)).map((st): [LibsqlStatement] => [st]),
    ...reindexStatements("s", "x", indexOf(asks)).map((st): [LibsqlStatement] => [st]),
  ];
}
