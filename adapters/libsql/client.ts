/**
 * The public types of the libSQL adapter: the part of an `@libsql/client` client it uses, and its options.
 *
 * @module
 */
import type { DeltaOptions } from "../../src/storage_kit.ts";

/** A statement with positional arguments (`?1` is `args[0]`). */
export interface LibsqlStatement {
  /** The SQL text. */
  sql: string;
  /** The values of `?1`, `?2` …; `[]` for none. */
  args: (string | number | null)[];
}

/** A value in a result row (the `Value` type of `@libsql/client`). */
export type LibsqlValue = null | string | number | bigint | ArrayBuffer;

/** What the storage reads from a statement's result (a part of `@libsql/client`'s `ResultSet`). */
export interface LibsqlResultSet {
  /** The rows, with their values by column name. */
  rows: Record<string, LibsqlValue>[];
  /** How many rows the statement inserted, updated or deleted. */
  rowsAffected: number;
}

/**
 * The part of an `@libsql/client` `Client` the storage uses. A client from `createClient` (of
 * `@libsql/client`, `@libsql/client/web`, `/http`, `/ws` or `/sqlite3`) has it.
 */
export interface LibsqlClient {
  /** `"file"` for a local database (a file or `:memory:`), `"http"` or `"ws"` for a remote one. */
  readonly protocol: string;
  /**
   * Run one statement.
   *
   * @param statement The SQL and its positional arguments.
   * @returns Its result.
   */
  execute(statement: LibsqlStatement): Promise<LibsqlResultSet>;
  /**
   * Run statements in one transaction; any failure rolls them all back.
   *
   * @param statements The statements.
   * @param mode `"write"`: the transaction takes the write lock when it begins.
   * @returns One result per statement.
   */
  batch(statements: LibsqlStatement[], mode: "write"): Promise<LibsqlResultSet[]>;
  /** Close the client. */
  close(): void;
}

/** Options of {@linkcode LibsqlCheckpointStorage} that use a client you created (and close). */
export interface LibsqlClientOptions {
  /**
   * An `@libsql/client` client. The storage never closes it. For a file shared by several processes, create
   * it with a busy timeout (`createClient({ url, timeout: 5000 })`): without one, a writer that finds the
   * file locked fails at once with `SQLITE_BUSY`.
   */
  client: LibsqlClient;
  /**
   * Whether to switch a `file:` database to WAL mode (`PRAGMA journal_mode = WAL`, a lasting property of the
   * file) on first use, so that readers and the writer do not block each other. Ignored for remote URLs.
   *
   * @default {true}
   */
  wal?: boolean;
  /**
   * Store each checkpoint as a delta on an earlier one of its session (`true`, or options of the delta
   * codec: how deep a chain may grow, how much it remembers), or whole (`false`). Either way `load` returns
   * whole checkpoints, and a store holds both kinds.
   *
   * @default {true}
   */
  deltas?: boolean | DeltaOptions;
}

/** Options of {@linkcode LibsqlCheckpointStorage} that let the storage create (and close) its own client. */
export interface LibsqlUrlOptions {
  /** The database: `file:path.db`, `:memory:`, `libsql://host`, `https://host` … (see `@libsql/client`). */
  url: string;
  /**
   * The token of a remote database (Turso, sqld).
   *
   * @default {undefined}
   */
  authToken?: string;
  /**
   * How long, in milliseconds, a write to a `file:` database waits for another connection's lock before it
   * fails with `SQLITE_BUSY`. Ignored for remote URLs.
   *
   * @default {5000}
   */
  busyTimeout?: number;
  /**
   * Whether to switch a `file:` database to WAL mode on first use (see {@linkcode LibsqlClientOptions.wal}).
   *
   * @default {true}
   */
  wal?: boolean;
  /**
   * Store checkpoints as deltas (see {@linkcode LibsqlClientOptions.deltas}).
   *
   * @default {true}
   */
  deltas?: boolean | DeltaOptions;
}

/** A prepared statement of a {@linkcode LibsqlDatabase} (the part of the `libsql` package's it uses). */
export interface LibsqlPreparedStatement {
  /** Whether the statement returns rows (a `SELECT`, a `PRAGMA` that answers, `… RETURNING`). */
  readonly reader: boolean;
  /**
   * Run it and collect its rows.
   *
   * @param params The storage passes one: the array of the values of `?1`, `?2` …
   * @returns The rows: objects with their values by column name.
   */
  all(...params: unknown[]): unknown[];
  /**
   * Run a statement that returns no rows.
   *
   * @param params The storage passes one: the array of the values of `?1`, `?2` …
   * @returns How many rows it inserted, updated or deleted.
   */
  run(...params: unknown[]): { changes: number | bigint };
}

/**
 * The part of a synchronous SQLite database the storage uses: a `Database` of the `libsql` npm package (the
 * native binding `@libsql/client` runs local files on, with better-sqlite3's API).
 */
export interface LibsqlDatabase {
  /**
   * Compile a statement (the storage keeps what it compiled and runs it again).
   *
   * @param sql The SQL text.
   * @returns The prepared statement.
   */
  prepare(sql: string): LibsqlPreparedStatement;
  /** Whether a transaction is open. */
  readonly inTransaction: boolean;
}

/**
 * Options of {@linkcode LibsqlCheckpointStorage} on a local database you opened (and close) with the
 * `libsql` package: the fastest path on Node, Deno and Bun. Each statement is compiled once and kept (the
 * client compiles it again on every call), and rows come without the client's conversion: a load of a small
 * checkpoint takes about a third of the time. Calls are synchronous, as the `libsql` package's are: a
 * statement holds the event loop while it runs (a commit, until the disk has the data).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Database from "libsql";
 * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const database = new Database(":memory:"); // or new Database("checkpoints.db", { timeout: 5000 })
 * const storage = new LibsqlCheckpointStorage({ database });
 * const checkpoint = makeCheckpoint({ state: { items: [1, 2, 3] } });
 * await storage.save(checkpoint);
 * assert.deepEqual(await storage.load(checkpoint.id), checkpoint);
 * await storage.close(); // leaves `database` open
 * database.close();
 * ```
 */
export interface LibsqlDatabaseOptions {
  /**
   * The database: `new Database("checkpoints.db", { timeout: 5000 })` of the `libsql` package (its
   * `timeout` is how long a write waits for another connection's lock). The storage never closes it.
   */
  database: LibsqlDatabase;
  /**
   * Whether to switch the database to WAL mode on first use (see {@linkcode LibsqlClientOptions.wal}).
   *
   * @default {true}
   */
  wal?: boolean;
  /**
   * Store checkpoints as deltas (see {@linkcode LibsqlClientOptions.deltas}).
   *
   * @default {true}
   */
  deltas?: boolean | DeltaOptions;
}

/** Options of {@linkcode LibsqlCheckpointStorage}: a client, a URL to create one from, or a database. */
export type LibsqlCheckpointStorageOptions = LibsqlClientOptions | LibsqlUrlOptions | LibsqlDatabaseOptions;
