// Databases written before delta bases were kept in a column (every delta on its parent) migrate: their
// deltas load through the new column, and deleting one's base still makes it whole first. Also the new
// shared bases through the SQL adapters: a state whose large value stays put loads from two payloads, and
// deleting the base it shares keeps every dependent loading.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client";
import postgres from "postgres";
import type { Checkpoint, CheckpointStorage } from "../mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { PostgresCheckpointStorage } from "../adapters/postgres/mod.ts";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../adapters/_sqlite/_schema.ts";
import { MIGRATIONS as POSTGRES_MIGRATIONS } from "../adapters/postgres/_schema.ts";
import { Sql } from "../adapters/postgres/_sql.ts";
import { deltaBase, DeltaCodec, encodeForStorage, type StoredSummary } from "../src/storage_kit.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { freshDatabase, usePostgres } from "./_postgres.ts";

const record = (i: number) => ({ id: i, text: `record ${i} `.padEnd(60, "lorem ipsum ") });

/** A session of `length` checkpoints, the state of each made by `state`. */
function session(length: number, state: (i: number) => Record<string, unknown>): Checkpoint[] {
  const sessionId = `bases-${crypto.randomUUID()}`;
  const chain: Checkpoint[] = [];
  for (let i = 0; i < length; i++) {
    chain.push(
      makeCheckpoint({ sessionId, parentId: chain.at(-1)?.id ?? null, superstep: i, state: state(i) }),
    );
  }
  return chain;
}

/** A session whose state grows by a record each superstep: each delta is on its parent. */
const growing = (length: number) =>
  session(length, (i) => ({ items: Array.from({ length: i + 1 }, (_, n) => record(n)) }));

const stable = Array.from({ length: 40 }, (_, n) => record(n));
/** A session whose large value stays put while a cursor moves. */
const cursor = (length: number) => session(length, (i) => ({ items: stable, cursor: i }));

/** The columns an earlier Superstep wrote for a checkpoint, in its INSERT's order. */
function columns(summary: StoredSummary, payload: string): (string | number | null)[] {
  const { id, parentId, sessionId, workflowName, superstep, createdAt, metadata } = summary;
  return [id, parentId, sessionId, workflowName, superstep, createdAt, metadata, payload];
}

/** The payloads an earlier Superstep wrote for `chain`: deltas on parents, checked to be so. */
function oldPayloads(chain: Checkpoint[]) {
  const codec = new DeltaCodec();
  return chain.map((checkpoint) => {
    const encoded = encodeForStorage("test", checkpoint, codec);
    encoded.stored();
    assert.equal(encoded.base, checkpoint.superstep === 0 ? null : checkpoint.parentId);
    return encoded;
  });
}

async function assertLoadsAndDeletes(storage: CheckpointStorage, chain: Checkpoint[]): Promise<void> {
  for (const checkpoint of chain) assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
  assert.equal(await storage.delete(chain[3].id), true);
  for (const checkpoint of chain.filter((_, i) => i !== 3)) {
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
  }
}

/** Shared bases: a cursor session, its keyframe deleted, every other checkpoint still loads. */
async function assertSharedBase(storage: CheckpointStorage): Promise<void> {
  const chain = cursor(12);
  for (const checkpoint of chain) await storage.save(checkpoint);
  for (const checkpoint of chain) assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
  assert.equal(await storage.delete(chain[0].id), true);
  for (const checkpoint of chain.slice(1)) {
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
  }
}

describe("delta bases: libSQL", () => {
  test("a database of the schema before the base column migrates: its deltas load and delete", async () => {
    const client = createClient({ url: ":memory:" });
    const before = SQLITE_MIGRATIONS.findIndex((statements) =>
      statements.some((sql) => sql.includes("ADD COLUMN base_id"))
    );
    assert.ok(before > 0);
    await rows(
      client,
      "CREATE TABLE superstep_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)",
    );
    for (let version = 1; version <= before; version++) {
      for (const sql of SQLITE_MIGRATIONS[version - 1]) await rows(client, sql);
      await rows(client, "INSERT INTO superstep_migrations VALUES (?1, ?2)", [
        version,
        new Date().toISOString(),
      ]);
    }
    const chain = growing(8);
    for (const { summary, payload } of oldPayloads(chain)) {
      await rows(
        client,
        `INSERT INTO superstep_checkpoints (id, parent_id, session_id, workflow_name, superstep, created_at,
          metadata, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
        columns(summary, payload),
      );
    }
    await rows(client, "INSERT INTO superstep_heads (session_id, head_id) VALUES (?1, ?2)", [
      chain[0].sessionId,
      chain.at(-1)!.id,
    ]);
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      await assertLoadsAndDeletes(storage, chain);
      const [row] = await rows(client, "SELECT base_id FROM superstep_checkpoints WHERE id = ?1", [
        chain[5].id,
      ]);
      assert.equal(row.base_id, chain[4].id);
      await assertSharedBase(storage);
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("a state whose large value stays put keeps its keyframe as the base of every checkpoint", async () => {
    const client = createClient({ url: ":memory:" });
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const chain = cursor(20);
      for (const checkpoint of chain) await storage.save(checkpoint);
      const stored = await rows(
        client,
        "SELECT id, base_id FROM superstep_checkpoints WHERE session_id = ?1",
        [chain[0].sessionId],
      );
      for (const row of stored) {
        const expected = row.id === chain[0].id ? null : chain[0].id;
        assert.equal(row.base_id, expected);
      }
      const fresh = new LibsqlCheckpointStorage({ client });
      assert.deepStrictEqual(await fresh.load(chain[19].id), chain[19]);
      await fresh.close();
    } finally {
      await storage.close();
      client.close();
    }
  });
});

describe("delta bases: Postgres", () => {
  let database: { url: string; drop(): Promise<void> };
  let pool: ReturnType<typeof postgres>;
  usePostgres(async () => {
    await pool?.end();
    await database?.drop();
  });
  before(async () => {
    database = await freshDatabase("bases");
    pool = postgres(database.url, { max: 4, onnotice: () => {} });
  });

  test("a schema of the version before the base column migrates: its deltas load and delete", async () => {
    const schema = `bases_${Math.random().toString(36).slice(2, 8)}`;
    const sql = new Sql(schema);
    await pool.unsafe(`CREATE SCHEMA "${schema}"`);
    await pool.unsafe(
      `CREATE TABLE ${sql.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const before = POSTGRES_MIGRATIONS.findIndex((migration) =>
      migration(sql).some((text) => text.includes("ADD COLUMN base_id"))
    );
    assert.ok(before > 0);
    for (const [i, migration] of POSTGRES_MIGRATIONS.slice(0, before).entries()) {
      for (const text of migration(sql)) await pool.unsafe(text);
      await pool.unsafe(`INSERT INTO ${sql.migrations} (version) VALUES ($1)`, [i + 1]);
    }
    const chain = growing(8);
    for (const { summary, payload } of oldPayloads(chain)) {
      await pool.unsafe(
        `INSERT INTO ${sql.checkpoints} (id, parent_id, session_id, workflow_name, superstep, created_at, metadata,
          payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        columns(summary, payload),
      );
    }
    await pool.unsafe(`INSERT INTO ${sql.heads} (session_id, head_id) VALUES ($1, $2)`, [
      chain[0].sessionId,
      chain.at(-1)!.id,
    ]);
    const storage = new PostgresCheckpointStorage({ client: pool, schema });
    await assertLoadsAndDeletes(storage, chain);
    const [row] = await pool.unsafe(`SELECT base_id FROM ${sql.checkpoints} WHERE id = $1`, [chain[5].id]);
    assert.equal(row.base_id, chain[4].id);
    await assertSharedBase(storage);
    const stored = await pool.unsafe(`SELECT payload FROM ${sql.checkpoints} WHERE id = $1`, [chain[6].id]);
    assert.equal(deltaBase(String(stored[0].payload)), chain[5].id);
  });
});

async function rows(client: Client, sql: string, args: (string | number | null)[] = []) {
  return (await client.execute({ sql, args })).rows;
}
