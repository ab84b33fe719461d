/**
 * The public types of the Postgres adapter: the parts of the two clients it drives — a `postgres`
 * (Postgres.js) `Sql` and an `@electric-sql/pglite` `PGlite` — and its options. They are structural, so the
 * adapter never imports either package for its types.
 *
 * @module
 */
import type { DeltaOptions } from "../../src/storage_kit.ts";

/**
 * A query of a {@linkcode PostgresJsClient}: the part of Postgres.js's `PendingQuery` the storage uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PostgresJsQuery } from "@superstep/superstep/postgres";
 *
 * const rows = Object.assign([[1]], { count: 1 });
 * const query: PostgresJsQuery = { values: () => Promise.resolve(rows) };
 * assert.equal((await query.values()).count, 1);
 * ```
 */
export interface PostgresJsQuery {
  /**
   * Run it, answering rows as arrays of column values (so no column-name transform of the client applies).
   *
   * @returns The rows, with `count`: the rows returned, inserted, updated or deleted.
   */
  values(): PromiseLike<unknown[][] & { count: number }>;
}

/**
 * A Postgres.js client in a transaction (the `sql` of `sql.begin(async (sql) => …)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PostgresJsTransaction } from "@superstep/superstep/postgres";
 *
 * const tx: PostgresJsTransaction = {
 *   unsafe: () => ({ values: () => Promise.resolve(Object.assign([], { count: 0 })) }),
 * };
 * assert.equal((await tx.unsafe("SELECT 1").values()).count, 0);
 * ```
 */
export interface PostgresJsTransaction {
  /**
   * Prepare a statement with positional parameters (`$1` is `parameters[0]`).
   *
   * @param query The SQL text.
   * @param parameters The values of `$1`, `$2` ….
   * @param options `prepare: true` makes it a named prepared statement, reused per connection.
   * @returns The query, run when awaited.
   */
  unsafe(query: string, parameters?: unknown[], options?: { prepare?: boolean }): PostgresJsQuery;
}

/**
 * The part of a Postgres.js client (`postgres(url)` of the `postgres` package) the storage uses: any `Sql`
 * has it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import postgres from "postgres";
 * import type { PostgresJsClient } from "@superstep/superstep/postgres";
 *
 * const sql: PostgresJsClient = postgres("postgres://127.0.0.1:5432/app"); // connects on first query
 * assert.equal(typeof sql.begin, "function");
 * await sql.end();
 * ```
 */
export interface PostgresJsClient extends PostgresJsTransaction {
  /**
   * Run `callback` in one transaction on one reserved connection: committed when it resolves, rolled back
   * when it rejects.
   *
   * @param callback What to run, given the transaction's client.
   * @returns What `callback` resolved to.
   */
  begin(callback: (sql: PostgresJsTransaction) => Promise<unknown>): Promise<unknown>;
  /**
   * Close every connection once the queries in flight are done.
   *
   * @param options `timeout`: seconds to wait for them before closing anyway.
   * @returns Once closed.
   */
  end(options?: { timeout?: number }): Promise<void>;
}

/**
 * The results of a {@linkcode PgliteQueryable} query: the part of PGlite's `Results` the storage uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PgliteResults } from "@superstep/superstep/postgres";
 *
 * const results: PgliteResults = { rows: [["01JA"]], affectedRows: 0 };
 * assert.equal(results.rows.length, 1);
 * ```
 */
export interface PgliteResults {
  /** The rows (arrays of column values: the storage asks for `rowMode: "array"`). */
  rows: unknown[];
  /** The rows inserted, updated or deleted. */
  affectedRows?: number;
}

/**
 * What can run a query in PGlite: a `PGlite` instance, or the `tx` of its `transaction()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PgliteQueryable } from "@superstep/superstep/postgres";
 *
 * // `new PGlite()` (of `@electric-sql/pglite`) is one; so is anything that answers the same way.
 * const queryable: PgliteQueryable = {
 *   query: (_sql, params, options) => Promise.resolve({ rows: options?.rowMode === "array" ? [params] : [] }),
 * };
 * assert.deepEqual((await queryable.query("SELECT $1::int", [1], { rowMode: "array" })).rows, [[1]]);
 * ```
 */
export interface PgliteQueryable {
  /**
   * Run one statement with positional parameters (`$1` is `params[0]`).
   *
   * @param query The SQL text.
   * @param params The values of `$1`, `$2` ….
   * @param options `rowMode: "array"` answers rows as arrays of column values.
   * @returns Its results.
   */
  query(
    query: string,
    params?: unknown[],
    options?: { rowMode?: "array" | "object" },
  ): Promise<PgliteResults>;
}

/**
 * The part of a PGlite database (`new PGlite()` of `@electric-sql/pglite`: Postgres compiled to
 * WebAssembly, in the process) the storage uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PgliteClient, PgliteQueryable } from "@superstep/superstep/postgres";
 *
 * // `new PGlite()` (in memory) or `new PGlite("./checkpoints")` (a directory) is one.
 * const tx: PgliteQueryable = { query: () => Promise.resolve({ rows: [] }) };
 * const client: PgliteClient = { ...tx, transaction: (callback) => callback(tx) };
 * assert.equal(await client.transaction(() => Promise.resolve(7)), 7);
 * ```
 */
export interface PgliteClient extends PgliteQueryable {
  /**
   * Run `callback` in one transaction: committed when it resolves, rolled back when it rejects.
   *
   * @param callback What to run, given the transaction.
   * @returns What `callback` resolved to.
   */
  transaction<T>(callback: (tx: PgliteQueryable) => Promise<T>): Promise<T>;
}

/** Options of both constructions of {@linkcode PostgresCheckpointStorage}. */
export interface PostgresCommonOptions {
  /**
   * The schema that holds the storage's tables (created, with them, on first use). Storages on different
   * schemas of one database are separate stores. A lowercase SQL identifier: letters, digits and `_`.
   *
   * @default {"public"}
   */
  schema?: string;
  /**
   * Store each checkpoint as a delta on an earlier one of its session (`true`, or options of the delta
   * codec: how deep a chain may grow, how much it remembers), or whole (`false`). Either way `load` returns
   * whole checkpoints, and a store holds both kinds.
   *
   * @default {true}
   */
  deltas?: boolean | DeltaOptions;
}

/** Options of {@linkcode PostgresCheckpointStorage} that use a client you created (and close). */
export interface PostgresClientOptions extends PostgresCommonOptions {
  /**
   * A Postgres.js `Sql` (`postgres(url, options)`), whose pool the storage shares with you, or a PGlite
   * database. The storage never closes it. Whatever transforms or types the client is configured with, the
   * storage reads rows as arrays of text and numbers.
   */
  client: PostgresJsClient | PgliteClient;
}

/** Options of {@linkcode PostgresCheckpointStorage} that let the storage create (and close) its own pool. */
export interface PostgresUrlOptions extends PostgresCommonOptions {
  /**
   * The server: `postgres://user:password@host:port/database` (also `postgresql:`; `?sslmode=require` and
   * Postgres.js's other URL parameters apply). The storage imports `postgres` (an optional peer
   * dependency) on first use.
   */
  url: string;
  /**
   * The most connections the pool opens (they open as concurrent calls need them; each call holds one for
   * one statement, the first call's migration for one transaction).
   *
   * @default {10}
   */
  max?: number;
  /**
   * How long, in milliseconds, opening a connection may take (TCP, TLS and authentication) before the call
   * fails with a `StorageError`.
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * Whether statements are named prepared statements, parsed once per connection. Turn it off behind a
   * PgBouncer in transaction mode older than 1.21 (or without `max_prepared_statements`).
   *
   * @default {true}
   */
  prepare?: boolean;
}

/** Options of {@linkcode PostgresCheckpointStorage}: a client, or a URL to create a pool from. */
export type PostgresCheckpointStorageOptions = PostgresClientOptions | PostgresUrlOptions;
