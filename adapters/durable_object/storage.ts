/**
 * The checkpoint storage of code running inside a Durable Object: {@linkcode DurableObjectCheckpointStorage}
 * over the object's SQLite storage (`ctx.storage.sql`).
 *
 * @module
 */
import { SqlCheckpoints } from "../_sqlite/_checkpoints.ts";
import { attachSql, SqliteCheckpointStorage } from "../_sqlite/storage.ts";
import { CLOUDFLARE_MAX_ROW_BYTES } from "../_sqlite/_payload.ts";
import { ADAPTER, objectStore } from "./_connection.ts";
import type { DurableObjectCheckpointStorageOptions } from "./types.ts";

/**
 * A `CheckpointStorage` in a Durable Object's own SQLite database, for workflows that run inside
 * the object (an agent, a per-user coordinator …). For a Worker, use {@linkcode CheckpointObjectStorage},
 * which stores in a {@linkcode CheckpointObject} through this class.
 *
 * The schema, migrations and statements are the libSQL and D1 adapters' (created on first use). Statements
 * run synchronously and a save is one `transactionSync` (the head compare-and-set and the insert, or
 * nothing), so nothing else the object does can come between; a row that would pass the object's 2 MB cap is
 * stored in parts of at most 960,000 bytes in the same transaction.
 *
 * @example
 * ```ts ignore
 * // Inside a Durable Object whose class is in wrangler.toml's `new_sqlite_classes`; `ctx` is its state.
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { DurableObjectCheckpointStorage } from "@superstep/superstep/durable-object";
 *
 * const storage = new DurableObjectCheckpointStorage({ storage: ctx.storage });
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(storage).build();
 * const result = await workflow.run("hello");
 * assert.equal(await storage.head(result.sessionId), result.checkpointId);
 * ```
 */
export class DurableObjectCheckpointStorage extends SqliteCheckpointStorage {
  /**
   * Create the storage. Nothing is queried until the first call.
   *
   * @param options `{ storage }`: the object's `ctx.storage`.
   * @throws {TypeError} If `storage` has no `sql` (the class is not SQLite-backed) or no `transactionSync`.
   * @example
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { DurableObjectCheckpointStorage } from "@superstep/superstep/durable-object";
   *
   * const storage = new DurableObjectCheckpointStorage({ storage: ctx.storage });
   * assert.equal(await storage.head("no-such-session"), undefined);
   * assert.throws(() => new DurableObjectCheckpointStorage({ storage: {} as never }), TypeError);
   * ```
   */
  constructor(options: DurableObjectCheckpointStorageOptions) {
    super();
    attachSql(
      this,
      new SqlCheckpoints(ADAPTER, objectStore(options), CLOUDFLARE_MAX_ROW_BYTES, options.deltas),
    );
  }
}
