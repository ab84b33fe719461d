/**
 * The public types of the Deno KV adapter: the KV handle it needs (the part of `Deno.Kv` it uses) and its
 * options. The adapter's own modules use these same types.
 *
 * @module
 */
import type { DeltaOptions } from "../../src/storage_kit.ts";

/**
 * One part of a KV key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KvKeyPart } from "@superstep/superstep/kv";
 * const parts: KvKeyPart[] = ["superstep", 1, 2n, true, new Uint8Array([1])];
 * assert.equal(parts.length, 5);
 * ```
 */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean;

/**
 * A KV key: a sequence of parts, ordered part by part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStorage, type KvKey } from "@superstep/superstep/kv";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const prefix: KvKey = ["apps", "orders"];
 * const kv = await Deno.openKv(":memory:");
 * await new KvCheckpointStorage({ kv, prefix }).save(makeCheckpoint());
 * const keys = await Array.fromAsync(kv.list({ prefix }), (entry) => entry.key);
 * assert.ok(keys.every((key) => key[0] === "apps" && key[1] === "orders"));
 * kv.close();
 * ```
 */
export type KvKey = readonly KvKeyPart[];

/**
 * The atomic operation of a {@linkcode KvHandle}: the part of `Deno.AtomicOperation` the storage uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KvAtomicOperation } from "@superstep/superstep/kv";
 *
 * function claim(op: KvAtomicOperation) {
 *   return op.check({ key: ["k"], versionstamp: null }).set(["k"], new Uint8Array([1])).commit();
 * }
 * const kv = await Deno.openKv(":memory:");
 * assert.equal((await claim(kv.atomic())).ok, true);
 * assert.equal((await claim(kv.atomic())).ok, false);
 * kv.close();
 * ```
 */
export interface KvAtomicOperation {
  /** Make the commit fail (`ok: false`) unless each key has this versionstamp (`null`: absent). */
  check(...checks: { key: KvKey; versionstamp: string | null }[]): this;
  /** Set a key (the storage only ever stores bytes). */
  set(key: KvKey, value: Uint8Array): this;
  /** Delete a key. */
  delete(key: KvKey): this;
  /** Apply everything, or nothing if a check fails. */
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}

/**
 * The KV handle the storage needs: the part of `Deno.Kv` it uses, so a `Deno.Kv` from `Deno.openKv()` and
 * the `@deno/kv` client of Node and Bun both fit, and tests can wrap one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KvHandle } from "@superstep/superstep/kv";
 * const kv = await Deno.openKv(":memory:");
 * const handle: KvHandle = kv;
 * assert.equal((await handle.get(["missing"])).versionstamp, null);
 * kv.close();
 * ```
 */
export interface KvHandle {
  /** Read one key. */
  get(key: KvKey): Promise<{ value: unknown; versionstamp: string | null }>;
  /** Read up to 10 keys at one consistent snapshot. */
  getMany(keys: KvKey[]): Promise<{ value: unknown; versionstamp: string | null }[]>;
  /** Iterate a range of keys. */
  list(
    selector: { prefix: KvKey } | { prefix: KvKey; end: KvKey },
    options?: { limit?: number; reverse?: boolean; batchSize?: number },
  ): AsyncIterable<{ key: readonly unknown[]; value: unknown; versionstamp: string }>;
  /** Start an atomic operation. */
  atomic(): KvAtomicOperation;
}

/**
 * Options of {@linkcode KvCheckpointStorage}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStorage, type KvCheckpointStorageOptions } from "@superstep/superstep/kv";
 * const kv = await Deno.openKv(":memory:");
 * const options: KvCheckpointStorageOptions = { kv, prefix: ["orders"], staleAfterMs: 60_000 };
 * assert.deepEqual(await new KvCheckpointStorage(options).list(), []);
 * kv.close();
 * ```
 */
export interface KvCheckpointStorageOptions {
  /**
   * The KV store: a `Deno.Kv` from `Deno.openKv()`, or the client of `openKv()` from `@deno/kv` on Node and
   * Bun. The storage never closes it: its lifetime is yours.
   */
  kv: KvHandle;
  /**
   * Where the storage keeps its keys. Storages with different prefixes in one KV store do not see each
   * other's checkpoints.
   *
   * @default {["superstep"]}
   */
  prefix?: KvKey;
  /**
   * After how long a save whose chunks are staged but not committed counts as abandoned (its process
   * crashed), so that a later save of its session or {@linkcode KvCheckpointStorage.vacuum} removes its
   * chunks. Must exceed the longest save; the clocks of the processes sharing the store must roughly agree.
   *
   * @default {900000} (15 minutes)
   */
  staleAfterMs?: number;
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
 * Options of {@linkcode KvCheckpointStorage.vacuum}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStorage, type KvVacuumOptions } from "@superstep/superstep/kv";
 * const kv = await Deno.openKv(":memory:");
 * const options: KvVacuumOptions = { olderThanMs: 60 * 60_000 };
 * assert.equal((await new KvCheckpointStorage({ kv }).vacuum(options)).abandonedSaves, 0);
 * kv.close();
 * ```
 */
export interface KvVacuumOptions {
  /**
   * Remove staged saves at least this old even if they could still commit. `0` removes every staged save,
   * including ones in flight in other processes (which then fail): only for a store nobody writes to.
   *
   * @default {the storage's `staleAfterMs`}
   */
  olderThanMs?: number;
}

/**
 * What {@linkcode KvCheckpointStorage.vacuum} removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStorage, type KvVacuumResult } from "@superstep/superstep/kv";
 * const kv = await Deno.openKv(":memory:");
 * const result: KvVacuumResult = await new KvCheckpointStorage({ kv }).vacuum();
 * assert.deepEqual(result, { abandonedSaves: 0, deletedPayloads: 0 });
 * kv.close();
 * ```
 */
export interface KvVacuumResult {
  /** Saves that staged chunks and never committed: their chunks are gone. */
  abandonedSaves: number;
  /** Payloads of deleted checkpoints whose chunk removal had not finished. */
  deletedPayloads: number;
}
