/**
 * Checkpoint storages on Cloudflare Durable Objects (SQLite-backed), two ways:
 *
 * - **From a Worker**: export {@linkcode CheckpointObject} from the Worker, bind it, and store through
 *   `new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name })`. The object named `name` holds
 *   those checkpoints in its SQLite database; every Worker isolate of the deployment that uses the name
 *   reaches the same object, whose head compare-and-set is one transaction.
 * - **Inside your own Durable Object**: `new DurableObjectCheckpointStorage({ storage: ctx.storage })`, for
 *   workflows that run in the object.
 *
 * Both use the schema, migrations and statements of the libSQL and D1 adapters. The examples run inside
 * workerd (`npm run test:workerd`): `ctx` is a SQLite-backed object's state, `env.CHECKPOINTS` a namespace
 * of `CheckpointObject`s.
 *
 * @example A Worker whose checkpoints live in one object per tenant
 * ```ts ignore
 * // worker.ts also has: export { CheckpointObject } from "@superstep/superstep/durable-object";
 * import assert from "node:assert/strict";
 * import { CheckpointObjectStorage } from "@superstep/superstep/durable-object";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const tenantA = new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "tenant-a" });
 * const tenantB = new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "tenant-b" });
 * const checkpoint = makeCheckpoint();
 * await tenantA.save(checkpoint);
 * assert.equal(await tenantA.head(checkpoint.sessionId), checkpoint.id);
 * assert.equal(await tenantB.head(checkpoint.sessionId), undefined); // another object, another database
 * ```
 *
 * @module
 */
export { CheckpointObject } from "./checkpoint_object.ts";
export { CheckpointObjectStorage } from "./object_storage.ts";
export { DurableObjectCheckpointStorage } from "./storage.ts";
export { SqliteCheckpointStorage } from "../_sqlite/storage.ts";
export type {
  CheckpointObjectStorageOptions,
  DurableObjectCheckpointStorageOptions,
  DurableObjectNamespaceLike,
  DurableObjectStateLike,
  DurableObjectStorageLike,
  DurableObjectStubLike,
  SqlCursorLike,
  SqlStorageLike,
} from "./types.ts";
