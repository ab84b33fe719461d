/**
 * A checkpoint storage on Cloudflare D1, for Workers: `new D1CheckpointStorage({ db: env.DB })` over a D1
 * binding. A save is one `db.batch` — D1 runs a batch as one transaction — that compare-and-sets the
 * session's head and inserts the checkpoint, or does nothing; so every Worker isolate, anywhere, can write
 * to one database and no two extend a session's head. The schema, its migrations and every statement are
 * the libSQL adapter's (one SQLite layer for libSQL, D1 and Durable Objects).
 *
 * The examples run inside workerd (`npm run test:workerd`), where `env.DB` is a D1 binding.
 *
 * @example A Worker serving workflows over HTTP, its checkpoints in D1
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { D1CheckpointStorage } from "@superstep/superstep/d1";
 *
 * const storage = new D1CheckpointStorage({ db: env.DB }); // per request: cheap, migrated once per isolate
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(storage).build();
 * const result = await workflow.run("hello");
 * assert.equal(await storage.head(result.sessionId), result.checkpointId);
 * ```
 *
 * @module
 */
import { SqlCheckpoints } from "../_sqlite/_checkpoints.ts";
import { attachSql, SqliteCheckpointStorage } from "../_sqlite/storage.ts";
import { CLOUDFLARE_MAX_ROW_BYTES } from "../_sqlite/_payload.ts";
import { SqlStore } from "../_sqlite/_store.ts";
import { ADAPTER, d1Connection } from "./_connection.ts";
import type { D1CheckpointStorageOptions } from "./types.ts";

export { SqliteCheckpointStorage };
export type {
  D1CheckpointStorageOptions,
  D1DatabaseLike,
  D1PreparedStatementLike,
  D1ResultLike,
} from "./types.ts";

/**
 * A `CheckpointStorage` in a Cloudflare D1 database.
 *
 * Tables (created by versioned migrations on first use, checked once per isolate and binding; the libSQL
 * adapter's schema): `superstep_checkpoints` (the summary columns, indexed by session and by workflow, plus
 * the encoded payload), `superstep_heads` (one head per session), `superstep_payload_chunks` and
 * `superstep_migrations`. D1 caps a row (1-2 MB), so a checkpoint whose row would pass 960,000 bytes is
 * stored in parts of at most that, written in the save's one batch and read back by one query. A database
 * migrated by a newer Superstep is refused with {@linkcode StorageSchemaError}.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { D1CheckpointStorage } from "@superstep/superstep/d1";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new D1CheckpointStorage({ db: env.DB });
 * const checkpoint = makeCheckpoint({ state: { big: "x".repeat(3_000_000) } }); // stored in 4 parts
 * await storage.save(checkpoint);
 * assert.deepEqual(await storage.load(checkpoint.id), checkpoint);
 * ```
 */
export class D1CheckpointStorage extends SqliteCheckpointStorage {
  /**
   * Create the storage. Nothing is queried until the first call.
   *
   * @param options `{ db }`: the D1 binding, whose lifetime is the Worker's.
   * @throws {TypeError} If `db` is not a D1 binding (no `prepare` and `batch`).
   * @example
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { D1CheckpointStorage } from "@superstep/superstep/d1";
   *
   * const storage = new D1CheckpointStorage({ db: env.DB });
   * assert.equal(await storage.head("no-such-session"), undefined);
   * assert.throws(() => new D1CheckpointStorage({ db: env.NO_SUCH_BINDING }), TypeError);
   * ```
   */
  constructor(options: D1CheckpointStorageOptions) {
    const { db } = (options ?? {}) as { db?: Partial<Record<"prepare" | "batch", unknown>> };
    if (typeof db?.prepare !== "function" || typeof db?.batch !== "function") {
      throw new TypeError(
        `d1: cannot create the storage: db must be a D1 binding (env.DB), got ${
          db === null ? null : typeof db
        }`,
      );
    }
    super();
    const store = new SqlStore(d1Connection(options.db));
    attachSql(this, new SqlCheckpoints(ADAPTER, store, CLOUDFLARE_MAX_ROW_BYTES, options.deltas));
  }
}
