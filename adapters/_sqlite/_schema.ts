/**
 * The schema of the SQLite checkpoint storages (libSQL, D1, Durable Objects) and its migrations
 * (package-private): one schema for every SQLite backend, versioned, each version applied once, safe when
 * several processes or isolates open one database at once. A database written by one of these adapters is
 * readable by the others (a D1 export opened with libSQL, say).
 *
 * @module
 */
import { DELTA_WITH_BASE } from "../../src/_delta.ts";
import { StorageSchemaError } from "../../src/errors.ts";
import type { SqlStatement } from "./_sql.ts";

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
  [
    // Payloads in parts, for backends that cap a row (D1 and Durable Object SQLite: a string or row of at
    // most 1-2 MB): a checkpoint whose row would outgrow the cap keeps `payload` empty and its payload in
    // `payload_chunks` rows. A rowid table: each part is up to a megabyte.
    "ALTER TABLE superstep_checkpoints ADD COLUMN payload_chunks INTEGER NOT NULL DEFAULT 0",
    `CREATE TABLE superstep_payload_chunks (
      checkpoint_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      data TEXT NOT NULL,
      PRIMARY KEY (checkpoint_id, seq)
    )`,
  ],
  [
    // Children by parent: a delete finds the delta children it must make whole (and prune deletes many
    // checkpoints) by index, not by a scan of every checkpoint.
    "CREATE INDEX superstep_checkpoints_by_parent ON superstep_checkpoints (parent_id)",
  ],
  [
    // The session index and the inbox (issue 19). Each checkpoint keeps what it says of its session when it
    // is the head (`status`, `requests`: the storage kit's index, derived from the whole checkpoint when it
    // is saved), so that a delete moving a head moves the index without decoding a payload. Rows written
    // before this version have `status` NULL until the first listing indexes their heads.
    "ALTER TABLE superstep_checkpoints ADD COLUMN status TEXT",
    "ALTER TABLE superstep_checkpoints ADD COLUMN requests TEXT NOT NULL DEFAULT '[]'",
    // The heads carry their session's workflow and status, kept by the save's head compare-and-set itself.
    "ALTER TABLE superstep_heads ADD COLUMN workflow_name TEXT",
    "ALTER TABLE superstep_heads ADD COLUMN status TEXT",
    // listSessions, newest head first, by each combination of filters: one index range scan each.
    "CREATE INDEX superstep_heads_by_head ON superstep_heads (head_id)",
    "CREATE INDEX superstep_heads_by_status ON superstep_heads (status, head_id)",
    "CREATE INDEX superstep_heads_by_workflow ON superstep_heads (workflow_name, head_id)",
    "CREATE INDEX superstep_heads_by_workflow_status ON superstep_heads (workflow_name, status, head_id)",
    // The inbox: the pending requests of every head, one row each, newest request first.
    `CREATE TABLE superstep_requests (
      session_id TEXT NOT NULL,
      request_id TEXT NOT NULL,
      checkpoint_id TEXT NOT NULL,
      workflow_name TEXT NOT NULL,
      executor_id TEXT NOT NULL,
      data TEXT NOT NULL,
      path TEXT,
      created_at TEXT NOT NULL,
      PRIMARY KEY (session_id, request_id)
    ) WITHOUT ROWID`,
    "CREATE INDEX superstep_requests_by_request ON superstep_requests (request_id, session_id)",
    "CREATE INDEX superstep_requests_by_workflow ON superstep_requests (workflow_name, request_id, session_id)",
    "CREATE INDEX superstep_requests_by_checkpoint ON superstep_requests (checkpoint_id)",
  ],
  [
    // Leases (issue 20): one row per claimed session, independent of its checkpoints. `expires_at` is the
    // claimant's clock in milliseconds since the epoch; a leased save checks `token` in its batch.
    `CREATE TABLE superstep_leases (
      session_id TEXT PRIMARY KEY NOT NULL,
      owner TEXT NOT NULL,
      token TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID`,
  ],
  [
    // A delta's base (issue 18): its parent, or since this version the parent's own base, so it is kept in
    // a column. A delete finds the payloads it must make whole by this index, and a load follows it to the
    // keyframe; the parent index only served the first. Rows of before hold deltas on their parents.
    "ALTER TABLE superstep_checkpoints ADD COLUMN base_id TEXT",
    `UPDATE superstep_checkpoints SET base_id = parent_id WHERE substr(payload, 1, ${DELTA_WITH_BASE.length}) =
      '${DELTA_WITH_BASE}' OR (payload_chunks > 0 AND (SELECT substr(data, 1, ${DELTA_WITH_BASE.length})
        FROM superstep_payload_chunks WHERE checkpoint_id = id AND seq = 0) = '${DELTA_WITH_BASE}')`,
    "DROP INDEX superstep_checkpoints_by_parent",
    "CREATE INDEX superstep_checkpoints_by_base ON superstep_checkpoints (base_id) WHERE base_id IS NOT NULL",
  ],
  [
    // A resume copy (issue 18): the whole checkpoint beside the delta payload of a head its session waits at,
    // so resuming reads one row; the save that follows it clears it. Last in the row, after the payload, so
    // nothing else reads its overflow pages.
    "ALTER TABLE superstep_checkpoints ADD COLUMN copy TEXT",
  ],
];

/** The schema version this library writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** What migrations need of a backend: one statement, or several in one write transaction. */
export interface MigrationDriver {
  /** Run one statement; its rows. */
  execute(statement: SqlStatement): Promise<{ rows: Record<string, unknown>[] }>;
  /** Run statements in one write transaction: any failure rolls them all back (and rejects). */
  batch(statements: SqlStatement[]): Promise<unknown>;
}

/** Creates the migrations table; a no-op (no write) when it exists. */
const CREATE_MIGRATIONS_TABLE: SqlStatement = {
  sql: `CREATE TABLE IF NOT EXISTS superstep_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    applied_at TEXT NOT NULL
  )`,
  args: [],
};

/** The stored schema version: 0 for a new database. */
const SELECT_SCHEMA_VERSION: SqlStatement = {
  sql: "SELECT coalesce(max(version), 0) AS version FROM superstep_migrations",
  args: [],
};

/**
 * The statements that migrate to `version`, to run as one write batch. The first claims the version: when
 * another process migrated first, it violates the primary key and the whole batch rolls back.
 */
function migrationStatements(version: number): SqlStatement[] {
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
 *
 * @param adapter The adapter's name, which starts a {@linkcode StorageSchemaError}.
 * @param driver The backend.
 * @throws {StorageSchemaError} If the database was migrated by a newer Superstep.
 */
export async function migrate(adapter: string, driver: MigrationDriver): Promise<void> {
  await driver.execute(CREATE_MIGRATIONS_TABLE);
  while (true) {
    const version = await schemaVersion(driver);
    if (version > SCHEMA_VERSION) throw new StorageSchemaError(adapter, version, SCHEMA_VERSION);
    if (version === SCHEMA_VERSION) return;
    try {
      await driver.batch(migrationStatements(version + 1));
    } catch (error) {
      if ((await schemaVersion(driver)) > version) continue;
      throw error;
    }
  }
}

async function schemaVersion(driver: MigrationDriver): Promise<number> {
  const { rows } = await driver.execute(SELECT_SCHEMA_VERSION);
  return Number(rows[0].version);
}
