/**
 * The schema of the Postgres checkpoint storage and its migrations (package-private): versioned, applied
 * once per version in one transaction each, serialized by an advisory lock so that hosts starting at once
 * never race (DDL and the version row commit together, or not at all).
 *
 * @module
 */
import { DELTA_WITH_BASE } from "../../src/_delta.ts";
import { StorageSchemaError } from "../../src/errors.ts";
import type { Sql } from "./_sql.ts";

/** Rows as arrays of column values. */
export type Rows = unknown[][];
/** Run one statement. */
export type Run = (text: string, params: unknown[]) => Promise<Rows>;
/** Run `body` in one transaction: committed when it resolves, rolled back when it rejects. */
export type Transact = <T>(body: (run: Run) => Promise<T>) => Promise<T>;

/**
 * The schema migrations, in order: entry `i` takes the schema from version `i` to `i + 1`. Append, never
 * edit: later versions (a session index, an inbox, leases) add tables and columns in new entries.
 */
export const MIGRATIONS: readonly ((sql: Sql) => readonly string[])[] = [
  ({ checkpoints, heads }) => [
    // Ids, sessions and workflow names compare byte-wise (COLLATE "C"), as in every other adapter: id
    // order is the ULIDs' time order whatever the database's locale, and the indexes compare bytes.
    // Summary columns are small and fixed; the payload (the codec's text, TOASTed and compressed by
    // Postgres when large) is read only by `load`.
    `CREATE TABLE ${checkpoints} (
      id text COLLATE "C" PRIMARY KEY,
      parent_id text COLLATE "C",
      session_id text COLLATE "C" NOT NULL,
      workflow_name text COLLATE "C" NOT NULL,
      superstep bigint NOT NULL,
      created_at text NOT NULL,
      metadata text NOT NULL,
      payload text NOT NULL
    )`,
    // `list` by session or by workflow, newest first, with a `before` cursor and a limit: one backward
    // index range scan each. Both filters at once use the session's index and filter on the workflow (a
    // session rarely holds checkpoints of several workflows). The primary key serves the unfiltered list,
    // `load` and each step of `lineage`.
    `CREATE INDEX superstep_checkpoints_by_session ON ${checkpoints} (session_id, id)`,
    `CREATE INDEX superstep_checkpoints_by_workflow ON ${checkpoints} (workflow_name, id)`,
    // One row per session; `head_id` NULL is a tombstone: the session was emptied or deleted, and a late
    // save that follows one of its old checkpoints must not bring it back.
    `CREATE TABLE ${heads} (
      session_id text COLLATE "C" PRIMARY KEY,
      head_id text COLLATE "C"
    )`,
  ],
  ({ checkpoints }) => [
    // Children by parent: a delete finds the delta children it must make whole (and prune deletes many
    // checkpoints) by index, not by a scan of every checkpoint.
    `CREATE INDEX superstep_checkpoints_by_parent ON ${checkpoints} (parent_id)`,
  ],
  ({ leases }) => [
    // Leases (issue 20): one row per claimed session, independent of its checkpoints. `expires_at` is the
    // claimant's clock in milliseconds since the epoch; a leased save checks `token` in its statement.
    `CREATE TABLE ${leases} (
      session_id text COLLATE "C" PRIMARY KEY,
      owner text NOT NULL,
      token text COLLATE "C" NOT NULL,
      expires_at bigint NOT NULL
    )`,
  ],
  ({ checkpoints, heads, requests }) => [
    // The session index and the inbox (issue 19). Each checkpoint keeps what it says of its session as a
    // head (the storage kit's index, derived from the whole checkpoint when it is saved), so that a delete
    // moving a head moves the index without decoding a payload; rows of older versions have `status` NULL
    // until the first listing indexes their heads.
    `ALTER TABLE ${checkpoints} ADD COLUMN status text`,
    `ALTER TABLE ${checkpoints} ADD COLUMN requests text NOT NULL DEFAULT '[]'`,
    // The heads carry their session's workflow and status, set by the save's head compare-and-set itself.
    `ALTER TABLE ${heads} ADD COLUMN workflow_name text COLLATE "C"`,
    `ALTER TABLE ${heads} ADD COLUMN status text COLLATE "C"`,
    // listSessions, newest head first, per combination of filters: one backward index range scan each.
    `CREATE INDEX superstep_heads_by_head ON ${heads} (head_id)`,
    `CREATE INDEX superstep_heads_by_status ON ${heads} (status, head_id)`,
    `CREATE INDEX superstep_heads_by_workflow ON ${heads} (workflow_name, head_id)`,
    `CREATE INDEX superstep_heads_by_workflow_status ON ${heads} (workflow_name, status, head_id)`,
    // The inbox: the pending requests of every head, one row each, newest request first.
    `CREATE TABLE ${requests} (
      session_id text COLLATE "C" NOT NULL,
      request_id text COLLATE "C" NOT NULL,
      checkpoint_id text COLLATE "C" NOT NULL,
      workflow_name text COLLATE "C" NOT NULL,
      executor_id text NOT NULL,
      data text NOT NULL,
      path text,
      created_at text NOT NULL,
      PRIMARY KEY (session_id, request_id)
    )`,
    `CREATE INDEX superstep_requests_by_request ON ${requests} (request_id, session_id)`,
    `CREATE INDEX superstep_requests_by_workflow ON ${requests} (workflow_name, request_id, session_id)`,
    `CREATE INDEX superstep_requests_by_checkpoint ON ${requests} (checkpoint_id)`,
  ],
  ({ checkpoints, schema }) => [
    // A delta's base (issue 18): its parent, or since this version the parent's own base, so it is kept in
    // a column. A delete finds the payloads it must make whole by this index, and a load follows it to the
    // keyframe; the parent index only served the first. Rows of before hold deltas on their parents.
    `ALTER TABLE ${checkpoints} ADD COLUMN base_id text COLLATE "C"`,
    `UPDATE ${checkpoints} SET base_id = parent_id
      WHERE left(payload, ${DELTA_WITH_BASE.length}) = '${DELTA_WITH_BASE}'`,
    `DROP INDEX "${schema}".superstep_checkpoints_by_parent`,
    `CREATE INDEX superstep_checkpoints_by_base ON ${checkpoints} (base_id) WHERE base_id IS NOT NULL`,
  ],
  ({ checkpoints }) => [
    // A resume copy (issue 18): the whole checkpoint beside the delta payload of a head its session waits at,
    // so resuming reads one row, not the chain's recursive query; the save that follows it clears it.
    `ALTER TABLE ${checkpoints} ADD COLUMN copy text`,
  ],
];

/** The schema version this library writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/**
 * The first key of the advisory lock that serializes migrations (the second is the schema name's hash):
 * "SSTP" in ASCII, so that it does not collide with an application's own small lock numbers.
 */
const LOCK_KEY = 0x53535450;

/**
 * Bring the schema to {@linkcode SCHEMA_VERSION}. A migrated database costs two catalog reads and no lock;
 * otherwise one transaction takes the advisory lock, re-reads the version (another host may have migrated
 * while it waited), creates what is missing and records each version it applied.
 *
 * @throws {StorageSchemaError} If a newer Superstep migrated the schema.
 */
export async function migrate(run: Run, transact: Transact, sql: Sql): Promise<void> {
  if (await checkedVersion(run, sql) === SCHEMA_VERSION) return;
  await transact(async (tx) => {
    await tx(`SELECT pg_advisory_xact_lock(${LOCK_KEY}, hashtext($1::text))`, [sql.schema]);
    const [[schemaExists]] = await tx(
      "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text)",
      [sql.schema],
    );
    // Checked first rather than `IF NOT EXISTS`, which makes the server send a NOTICE that Postgres.js
    // prints by default.
    if (schemaExists !== true) await tx(`CREATE SCHEMA "${sql.schema}"`, []);
    if (!(await tableExists(tx, sql.migrations))) {
      await tx(
        `CREATE TABLE ${sql.migrations} (
          version integer PRIMARY KEY,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
        [],
      );
    }
    for (let version = await checkedVersion(tx, sql); version < SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version](sql)) await tx(statement, []);
      await tx(`INSERT INTO ${sql.migrations} (version) VALUES ($1::integer)`, [version + 1]);
    }
  });
}

/** The stored schema version (0 for none), refused if newer than this library's. */
async function checkedVersion(run: Run, sql: Sql): Promise<number> {
  if (!(await tableExists(run, sql.migrations))) return 0;
  const [[version]] = await run(`SELECT coalesce(max(version), 0) FROM ${sql.migrations}`, []);
  const stored = Number(version);
  if (stored > SCHEMA_VERSION) throw new StorageSchemaError("postgres", stored, SCHEMA_VERSION);
  return stored;
}

async function tableExists(run: Run, table: string): Promise<boolean> {
  const [[exists]] = await run("SELECT to_regclass($1::text) IS NOT NULL", [table]);
  return exists === true;
}
