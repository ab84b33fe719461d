/**
 * The schema of the libSQL checkpoint storage and its migrations (package-private): versioned, applied once
 * per version, safe when several processes open one database at once.
 *
 * @module
 */
import { StorageSchemaError } from "../../src/errors.ts";
import type { LibsqlClient, LibsqlStatement } from "./client.ts";

/** The schema migrations, in order: entry `i` takes the schema from version `i` to `i + 1`. Append, never edit. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    // A rowid table, not WITHOUT ROWID: rows hold whole payloads (megabytes), and the summary columns come
    // first so that `list` and `lineage` never read a payload's overflow pages.
    `CREATE TABLE superstep_checkpoints (
      id TEXT PRIMARY KEY NOT NULL,
      parent_id TEXT,
      session_id TEXT NOT NULL,
      workflow_name TEXT NOT NULL,
      superstep INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      metadata TEXT NOT NULL,
      payload TEXT NOT NULL
    )`,
    // list by session / by workflow, newest first, with a `before` cursor: one index range scan each. The
    // primary key's index serves the unfiltered list, `load` and every step of `lineage`.
    "CREATE INDEX superstep_checkpoints_by_session ON superstep_checkpoints (session_id, id)",
    "CREATE INDEX superstep_checkpoints_by_workflow ON superstep_checkpoints (workflow_name, id)",
    // Both filters at once (a session may hold checkpoints of several workflows).
    `CREATE INDEX superstep_checkpoints_by_session_workflow
      ON superstep_checkpoints (session_id, workflow_name, id)`,
    `CREATE TABLE superstep_heads (
      session_id TEXT PRIMARY KEY NOT NULL,
      head_id TEXT NOT NULL
    ) WITHOUT ROWID`,
  ],
];

/** The schema version this library writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** Creates the migrations table; a no-op (no write) when it exists. */
const CREATE_MIGRATIONS_TABLE: LibsqlStatement = {
  sql: `CREATE TABLE IF NOT EXISTS superstep_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    applied_at TEXT NOT NULL
  )`,
  args: [],
};

/** The stored schema version: 0 for a new database. */
const SELECT_SCHEMA_VERSION: LibsqlStatement = {
  sql: "SELECT coalesce(max(version), 0) AS version FROM superstep_migrations",
  args: [],
};

/** Switches a file database to WAL mode; a no-op when it is already, and answers "memory" for `:memory:`. */
export const ENABLE_WAL: LibsqlStatement = { sql: "PRAGMA journal_mode = WAL", args: [] };

/**
 * The statements that migrate to `version`, to run as one write batch. The first claims the version: when
 * another process migrated first, it violates the primary key and the whole batch rolls back.
 */
function migrationStatements(version: number): LibsqlStatement[] {
  return [
    {
      sql: "INSERT INTO superstep_migrations (version, applied_at) VALUES (?1, ?2)",
      args: [version, new Date().toISOString()],
    },
    ...MIGRATIONS[version - 1].map((sql) => ({ sql, args: [] })),
  ];
}

/**
 * Bring the schema to {@linkcode SCHEMA_VERSION}, one migration per write transaction. Safe when several
 * processes migrate at once: each migration first claims its version number, so a second claimant's batch
 * fails and rolls back, and it re-reads the version another process installed.
 */
export async function migrate(client: LibsqlClient): Promise<void> {
  await client.execute(CREATE_MIGRATIONS_TABLE);
  while (true) {
    const version = await schemaVersion(client);
    if (version > SCHEMA_VERSION) throw new StorageSchemaError("libsql", version, SCHEMA_VERSION);
    if (version === SCHEMA_VERSION) return;
    try {
      await client.batch(migrationStatements(version + 1), "write");
    } catch (error) {
      if ((await schemaVersion(client)) > version) continue;
      throw error;
    }
  }
}

async function schemaVersion(client: LibsqlClient): Promise<number> {
  const { rows } = await client.execute(SELECT_SCHEMA_VERSION);
  return Number(rows[0].version);
}
