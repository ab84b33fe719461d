// The libSQL storage on a database of the `libsql` package (`{ database }`): the conformance suite on
// :memory: and on a file, then what this driver does itself: statements compiled once, a failed batch rolled
// back whole, a locked file reported, WAL, and one file read and written through both drivers.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import type { LibsqlDatabase } from "../adapters/libsql/client.ts";
import { databaseDriver } from "../adapters/libsql/_database.ts";
import { StorageError } from "../mod.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../testing/mod.ts";

const dir = mkdtempSync(join(tmpdir(), "superstep-libsql-database-"));
let files = 0;
const opened: Database.Database[] = [];

/** A database of this run, closed at its end. */
function open(path = ":memory:", options?: Database.Options): Database.Database {
  const database = new Database(path, options);
  opened.push(database);
  return database;
}

function newPath(): string {
  return join(dir, `db-${++files}.sqlite`);
}

after(() => {
  for (const database of opened) if (database.open) database.close();
  rmSync(dir, { recursive: true, force: true });
});

// The 1,000-checkpoint chain runs the same SQL through the client in tests/libsql_test.ts: what differs here
// is the driver, which the 100-checkpoint chain exercises as well.
checkpointStorageConformance(
  "libsql database :memory:",
  () => new LibsqlCheckpointStorage({ database: open() }),
  { chainLength: 100 },
);

const sharedPath = newPath();
// What this run adds is a file shared by a new database (connection) per case.
checkpointStorageConformance(
  "libsql database file, a new connection per case on one file",
  () => new LibsqlCheckpointStorage({ database: open(sharedPath, { timeout: 5000 }) }),
  { sharedBackend: true, chainLength: 100 },
);

/** `database` with each `prepare` counted, and `fail` thrown by a statement whose SQL matches it. */
function watched(database: Database.Database, fail?: RegExp) {
  const counts = { prepared: 0 };
  const proxy: LibsqlDatabase = {
    get inTransaction() {
      return database.inTransaction;
    },
    prepare(sql) {
      counts.prepared++;
      const statement = database.prepare(sql);
      if (fail === undefined || !fail.test(sql)) return statement;
      return {
        reader: statement.reader,
        all: () => {
          throw new Error("injected failure");
        },
        run: () => {
          throw new Error("injected failure");
        },
      };
    },
  };
  return { proxy, counts };
}

describe("LibsqlCheckpointStorage on a libsql Database", () => {
  test("each statement is compiled once: a second round of saves and loads compiles nothing", async () => {
    const { proxy, counts } = watched(open());
    const storage = new LibsqlCheckpointStorage({ database: proxy });
    const round = async (sessionId: string) => {
      let parentId: string | null = null;
      for (let i = 0; i < 20; i++) {
        const checkpoint = makeCheckpoint({ sessionId, parentId, superstep: i, state: { n: i } });
        await storage.save(checkpoint);
        assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
        parentId = checkpoint.id;
      }
      await storage.list({ sessionId });
    };
    await round("first");
    const afterFirst = counts.prepared;
    await round("second");
    assert.equal(counts.prepared, afterFirst, "the second round compiled no statement");
    assert.ok(afterFirst < 40, `${afterFirst} statements compiled in the first round`);
    await storage.close();
  });

  test("compiled statements are shared by every storage on a database, and at most 256 are kept", async () => {
    const { proxy, counts } = watched(open());
    const first = databaseDriver(proxy);
    const select = (n: number) => ({ sql: `SELECT ${n} AS n`, args: [] });
    for (let n = 0; n <= 256; n++) assert.deepStrictEqual((await first.execute(select(n))).rows, [{ n }]);
    assert.equal(counts.prepared, 257);
    // Another driver on the same database (another storage) compiles nothing it already has.
    await databaseDriver(proxy).execute(select(256));
    assert.equal(counts.prepared, 257);
    // The oldest went when the 257th came: it is compiled again.
    await first.execute(select(0));
    assert.equal(counts.prepared, 258);
  });

  test("a batch that fails midway is rolled back whole: a StorageError, nothing written, no open transaction", async () => {
    const database = open();
    const good = new LibsqlCheckpointStorage({ database });
    const root = makeCheckpoint({ sessionId: "s" });
    await good.save(root);
    const { proxy } = watched(database, /INSERT INTO superstep_checkpoints/);
    const failing = new LibsqlCheckpointStorage({ database: proxy });
    const child = makeCheckpoint({ sessionId: "s", parentId: root.id, superstep: 1 });
    await assert.rejects(failing.save(child), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /^libsql: /);
      return true;
    });
    assert.equal(database.inTransaction, false);
    assert.equal(await good.head("s"), root.id, "the head did not move");
    assert.equal(await good.load(child.id), undefined);
    await good.save(child);
    assert.equal(await good.head("s"), child.id);
    await good.close();
    await failing.close();
  });

  test("a file locked by another connection fails a save with a StorageError, and the save works once it is free", async () => {
    const path = newPath();
    const storage = new LibsqlCheckpointStorage({ database: open(path, { timeout: 0 }) });
    await storage.head("migrate");
    const other = open(path);
    other.prepare("BEGIN IMMEDIATE").run();
    const checkpoint = makeCheckpoint();
    await assert.rejects(storage.save(checkpoint), StorageError);
    other.prepare("ROLLBACK").run();
    await storage.save(checkpoint);
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
    await storage.close();
  });

  test("a file is switched to WAL mode unless wal: false", async () => {
    const journal = (database: Database.Database) =>
      (database.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    const walPath = newPath();
    const wal = open(walPath);
    await new LibsqlCheckpointStorage({ database: wal }).head("s");
    assert.equal(journal(wal), "wal");
    const plain = open(newPath());
    await new LibsqlCheckpointStorage({ database: plain, wal: false }).head("s");
    assert.equal(journal(plain), "delete");
  });

  test("one file, written and read through the client and through a database, in turns", async () => {
    const path = newPath();
    const viaClient = new LibsqlCheckpointStorage({ url: `file:${path}` });
    const viaDatabase = new LibsqlCheckpointStorage({ database: open(path, { timeout: 5000 }) });
    const chain = [];
    let parentId: string | null = null;
    for (let i = 0; i < 40; i++) {
      const items = Array.from({ length: i + 1 }, (_, n) => `record ${n}`.padEnd(40, "."));
      const checkpoint = makeCheckpoint({ sessionId: "both", parentId, superstep: i, state: { items } });
      await (i % 2 === 0 ? viaClient : viaDatabase).save(checkpoint);
      chain.push(checkpoint);
      parentId = checkpoint.id;
    }
    const freshClient = new LibsqlCheckpointStorage({ url: `file:${path}` });
    const freshDatabase = new LibsqlCheckpointStorage({ database: open(path) });
    for (const checkpoint of chain) {
      assert.deepStrictEqual(await freshClient.load(checkpoint.id), checkpoint);
      assert.deepStrictEqual(await freshDatabase.load(checkpoint.id), checkpoint);
    }
    await Promise.all([viaClient, viaDatabase, freshClient, freshDatabase].map((storage) => storage.close()));
  });

  test("new LibsqlCheckpointStorage() takes exactly one of client, url and database, and a database that is one", () => {
    const database = open();
    assert.throws(() => new LibsqlCheckpointStorage({ database: {} as never }), /must be a Database/);
    assert.throws(
      () => new LibsqlCheckpointStorage({ database, url: ":memory:" } as never),
      /exactly one of `client`, `url` and `database`/,
    );
    assert.throws(() => new LibsqlCheckpointStorage({} as never), TypeError);
  });
});
