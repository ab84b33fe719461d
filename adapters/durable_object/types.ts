/**
 * The public types of the Durable Object adapter: the parts of a Durable Object's state (`ctx`), of its
 * SQLite storage (`ctx.storage.sql`) and of a namespace binding (`env.CHECKPOINTS`) it uses, and its
 * options. A Worker's objects and bindings have them; this module declares them structurally, so the
 * adapter needs no `@cloudflare/workers-types`.
 *
 * The examples run inside workerd, where `ctx` is a SQLite-backed Durable Object's state and
 * `env.CHECKPOINTS` a namespace of {@linkcode CheckpointObject}s (see the README's "Cloudflare Workers").
 *
 * @module
 */
import type { DeltaOptions } from "../../src/storage_kit.ts";

/**
 * A cursor over a statement's rows: the part of workerd's `SqlStorageCursor` the storage uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { SqlCursorLike } from "@superstep/superstep/durable-object";
 *
 * const cursor: SqlCursorLike = ctx.storage.sql.exec("SELECT ?1 AS answer", 42);
 * assert.deepEqual(cursor.toArray(), [{ answer: 42 }]);
 * ```
 */
export interface SqlCursorLike {
  /**
   * Read every (remaining) row.
   *
   * @returns The rows, by column name.
   */
  toArray(): Record<string, unknown>[];
}

/**
 * A Durable Object's SQL storage: the part of workerd's `SqlStorage` (`ctx.storage.sql`) the storage uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { SqlStorageLike } from "@superstep/superstep/durable-object";
 *
 * const sql: SqlStorageLike = ctx.storage.sql;
 * assert.deepEqual(sql.exec("SELECT ?1 + ?2 AS sum", 1, 2).toArray(), [{ sum: 3 }]);
 * ```
 */
export interface SqlStorageLike {
  /**
   * Run one statement, synchronously.
   *
   * @param query The SQL, with positional parameters (`?1`, `?2` …).
   * @param bindings Their values, in order.
   * @returns A cursor over its rows.
   */
  exec(query: string, ...bindings: (string | number | null)[]): SqlCursorLike;
}

/**
 * A SQLite-backed Durable Object's storage (`ctx.storage`): the part of workerd's `DurableObjectStorage`
 * the storage uses. The class must be declared with `new_sqlite_classes` in wrangler.toml.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { DurableObjectStorageLike } from "@superstep/superstep/durable-object";
 *
 * const storage: DurableObjectStorageLike = ctx.storage;
 * assert.equal(storage.transactionSync(() => storage.sql.exec("SELECT 7 AS n").toArray()[0].n), 7);
 * ```
 */
export interface DurableObjectStorageLike {
  /** The object's SQLite database. */
  readonly sql: SqlStorageLike;
  /**
   * Run `closure` in one transaction: if it throws, nothing it wrote stays.
   *
   * @param closure Synchronous work on `sql`.
   * @returns What `closure` returned.
   */
  transactionSync<T>(closure: () => T): T;
}

/**
 * A Durable Object's state, the `ctx` its constructor receives: the part the storage uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { DurableObjectStateLike } from "@superstep/superstep/durable-object";
 *
 * const state: DurableObjectStateLike = ctx;
 * assert.equal(typeof state.storage.sql.exec, "function");
 * ```
 */
export interface DurableObjectStateLike {
  /** The object's storage. */
  readonly storage: DurableObjectStorageLike;
}

/**
 * A stub of a Durable Object, to send it requests: the part of workerd's `DurableObjectStub` the storage
 * uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { DurableObjectStubLike } from "@superstep/superstep/durable-object";
 *
 * const stub: DurableObjectStubLike = env.CHECKPOINTS.get(env.CHECKPOINTS.idFromName("tenant-a"));
 * assert.equal((await stub.fetch("https://object/", { method: "GET" })).status, 405);
 * ```
 */
export interface DurableObjectStubLike {
  /**
   * Send the object a request.
   *
   * @param input The URL (any: the object only reads the body).
   * @param init The method, headers and body.
   * @returns The object's response.
   */
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

/**
 * A Durable Object namespace binding (`env.CHECKPOINTS`): the part of workerd's `DurableObjectNamespace`
 * the storage uses.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import type { DurableObjectNamespaceLike } from "@superstep/superstep/durable-object";
 *
 * const namespace: DurableObjectNamespaceLike = env.CHECKPOINTS;
 * const id = namespace.idFromName("tenant-a");
 * assert.equal(String(id), String(namespace.idFromName("tenant-a"))); // one name, one object
 * ```
 */
export interface DurableObjectNamespaceLike {
  /**
   * The id of the object named `name` (always the same object for the same name).
   *
   * @param name The name.
   * @returns Its id.
   */
  idFromName(name: string): unknown;
  /**
   * A stub of the object with this id.
   *
   * @param id An id from `idFromName` (or `newUniqueId`, `idFromString`).
   * @returns The stub.
   */
  get(id: unknown): DurableObjectStubLike;
}

/**
 * Options of {@linkcode DurableObjectCheckpointStorage}, for code inside a Durable Object.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import {
 *   DurableObjectCheckpointStorage,
 *   type DurableObjectCheckpointStorageOptions,
 * } from "@superstep/superstep/durable-object";
 *
 * const options: DurableObjectCheckpointStorageOptions = { storage: ctx.storage };
 * assert.deepEqual(await new DurableObjectCheckpointStorage(options).list(), []);
 * ```
 */
export interface DurableObjectCheckpointStorageOptions {
  /** The object's storage (`ctx.storage`); its class must be SQLite-backed (`new_sqlite_classes`). */
  storage: DurableObjectStorageLike;
  /**
   * Store each checkpoint as a delta on an earlier one of its session (`true`, or options of the delta
   * codec: how deep a chain may grow, how much it remembers), or whole (`false`). Either way `load` returns
   * whole checkpoints, and a store holds both kinds.
   *
   * @default {true}
   */
  deltas?: boolean | DeltaOptions;
}

/**
 * Options of {@linkcode CheckpointObjectStorage}, for a Worker: the object to store in, as a namespace and
 * a name (one object per name: per tenant, per user …), or as a stub you got yourself.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { CheckpointObjectStorage, type CheckpointObjectStorageOptions } from "@superstep/superstep/durable-object";
 *
 * const byName: CheckpointObjectStorageOptions = { namespace: env.CHECKPOINTS, name: "tenant-a" };
 * const byStub: CheckpointObjectStorageOptions = {
 *   stub: env.CHECKPOINTS.get(env.CHECKPOINTS.idFromName("tenant-a")),
 * };
 * const [one, two] = [new CheckpointObjectStorage(byName), new CheckpointObjectStorage(byStub)];
 * assert.deepEqual(await one.list(), await two.list()); // the same object
 * ```
 */
export type CheckpointObjectStorageOptions =
  | {
    /** The namespace binding of your {@linkcode CheckpointObject} class (`env.CHECKPOINTS`). */
    namespace: DurableObjectNamespaceLike;
    /** Which object: every storage with this name, in any isolate, uses the same one. */
    name: string;
  }
  | {
    /** A stub of a {@linkcode CheckpointObject}. */
    stub: DurableObjectStubLike;
  };
