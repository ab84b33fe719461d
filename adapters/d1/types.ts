/**
 * The public types of the D1 adapter: the part of a Cloudflare D1 binding (`D1Database`) it uses, and its
 * options. A Worker's binding (`env.DB`) has them; this module declares them structurally, so the adapter
 * needs no `@cloudflare/workers-types`.
 *
 * The examples run inside workerd, where `env.DB` is a D1 binding (see the README's "Cloudflare Workers").
 *
 * @module
 */
import type { DeltaOptions } from "../../src/storage_kit.ts";

/**
 * One result of a D1 statement: the part of D1's `D1Result` the storage reads.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { D1ResultLike } from "@superstep/superstep/d1";
 *
 * const result: D1ResultLike = await env.DB.prepare("SELECT ?1 AS answer").bind(42).all();
 * assert.deepEqual(result.results, [{ answer: 42 }]);
 * ```
 */
export interface D1ResultLike {
  /** The rows, by column name (absent for a statement that returns none). */
  results?: Record<string, unknown>[];
  /** What the statement did: `changes` is how many rows it inserted, updated or deleted. */
  meta: { changes?: number };
}

/**
 * A prepared D1 statement: the part of D1's `D1PreparedStatement` the storage uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { D1PreparedStatementLike } from "@superstep/superstep/d1";
 *
 * const statement: D1PreparedStatementLike = env.DB.prepare("SELECT ?1 + ?2 AS sum").bind(1, 2);
 * assert.deepEqual((await statement.all()).results, [{ sum: 3 }]);
 * ```
 */
export interface D1PreparedStatementLike {
  /**
   * Bind the values of `?1`, `?2` …
   *
   * @param values The values, in order.
   * @returns The statement, bound.
   */
  bind(...values: unknown[]): D1PreparedStatementLike;
  /**
   * Run the statement.
   *
   * @returns Its rows and what it changed.
   */
  all(): Promise<D1ResultLike>;
}

/**
 * A D1 database binding: the part of D1's `D1Database` the storage uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { D1DatabaseLike } from "@superstep/superstep/d1";
 *
 * const db: D1DatabaseLike = env.DB; // a Worker's binding, from wrangler.toml's [[d1_databases]]
 * const [one, two] = await db.batch([db.prepare("SELECT 1 AS n"), db.prepare("SELECT 2 AS n")]);
 * assert.deepEqual([one.results, two.results], [[{ n: 1 }], [{ n: 2 }]]);
 * ```
 */
export interface D1DatabaseLike {
  /**
   * Prepare a statement.
   *
   * @param query The SQL, with positional parameters (`?1`, `?2` …).
   * @returns The statement, to bind and run.
   */
  prepare(query: string): D1PreparedStatementLike;
  /**
   * Run statements as one transaction: if one fails, none applies.
   *
   * @param statements The bound statements, in order.
   * @returns One result per statement.
   */
  batch(statements: D1PreparedStatementLike[]): Promise<D1ResultLike[]>;
}

/**
 * Options of {@linkcode D1CheckpointStorage}.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { D1CheckpointStorage, type D1CheckpointStorageOptions } from "@superstep/superstep/d1";
 *
 * const options: D1CheckpointStorageOptions = { db: env.DB };
 * assert.deepEqual(await new D1CheckpointStorage(options).list({ sessionId: "none" }), []);
 * ```
 */
export interface D1CheckpointStorageOptions {
  /** The D1 binding (`env.DB`). The storage never closes it. */
  db: D1DatabaseLike;
  /**
   * Store each checkpoint as a delta on an earlier one of its session (`true`, or options of the delta
   * codec: how deep a chain may grow, how much it remembers), or whole (`false`). Either way `load` returns
   * whole checkpoints, and a store holds both kinds.
   *
   * @default {true}
   */
  deltas?: boolean | DeltaOptions;
}
