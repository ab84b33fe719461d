/**
 * A checkpoint storage on libSQL / SQLite through `@libsql/client`: local files (`file:`), in-memory
 * databases (`:memory:`) and remote servers (`libsql:`, `https:`: Turso, sqld), with the same SQL over the
 * same client. Many processes can share one database: a save is one write transaction that inserts the
 * checkpoint and compare-and-sets its session's head.
 *
 * `@libsql/client` is an optional peer dependency, imported on first use only when this adapter creates the
 * client itself; nothing runs at import time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
 *
 * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
 * assert.equal((await storage.list()).length, 0);
 * await storage.close();
 * ```
 *
 * @module
 */
import { SqlCheckpoints } from "../_sqlite/_checkpoints.ts";
import { attachSql, SqliteCheckpointStorage } from "../_sqlite/storage.ts";
import { SqlStore } from "../_sqlite/_store.ts";
import type { LibsqlCheckpointStorageOptions } from "./client.ts";
import { ADAPTER, libsqlConnection } from "./_connection.ts";

export { SqliteCheckpointStorage };
export type {
  LibsqlCheckpointStorageOptions,
  LibsqlClient,
  LibsqlClientOptions,
  LibsqlDatabase,
  LibsqlDatabaseOptions,
  LibsqlPreparedStatement,
  LibsqlResultSet,
  LibsqlStatement,
  LibsqlUrlOptions,
  LibsqlValue,
} from "./client.ts";

/**
 * A `CheckpointStorage` in a libSQL / SQLite database.
 *
 * Tables (created by versioned migrations on first use; re-running them is a no-op; the schema the D1 and
 * Durable Object adapters use too): `superstep_checkpoints` (the summary columns, indexed by session and by
 * workflow, plus the encoded payload), `superstep_heads` (one head per session), `superstep_payload_chunks`
 * (payloads in parts, for backends that cap a row; libSQL keeps each payload in its row) and
 * `superstep_migrations`. A database migrated by a newer Superstep is refused with
 * {@linkcode StorageSchemaError}.
 *
 * `save` is one write transaction (insert plus head compare-and-set), so concurrent writers, in this
 * process or others, never both extend a session head. `lineage` is one recursive query.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
 * import { WorkflowBuilder, defineExecutor } from "@superstep/superstep";
 *
 * const storage = new LibsqlCheckpointStorage({ url: ":memory:" }); // or "file:checkpoints.db", "libsql://…"
 * const echo = defineExecutor({ id: "echo", handle: async (text: string, ctx) => await ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(storage).build();
 * const result = await workflow.run("hello");
 * assert.equal(await storage.head(result.sessionId), result.checkpointId);
 * await storage.close();
 * ```
 */
export class LibsqlCheckpointStorage extends SqliteCheckpointStorage {
  /**
   * Create the storage. Nothing is opened until the first call.
   *
   * @param options `{ client }` (yours: never closed by the storage), `{ url, authToken? }` (the storage
   *   creates the client on first use and closes it in {@linkcode LibsqlCheckpointStorage.close}) or
   *   `{ database }` (a local database of the `libsql` package, yours: the fastest path).
   * @throws {TypeError} If the options name none, or more than one, of `client`, `url` and `database`.
   * @throws {RangeError} If `busyTimeout` is not a non-negative number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { createClient } from "@libsql/client";
   *
   * // For a file shared by processes: createClient({ url: "file:checkpoints.db", timeout: 5000 })
   * const client = createClient({ url: ":memory:" });
   * const storage = new LibsqlCheckpointStorage({ client });
   * assert.deepEqual(await storage.list(), []);
   * await storage.close(); // leaves `client` open
   * assert.equal(client.closed, false);
   * client.close();
   * ```
   */
  constructor(options: LibsqlCheckpointStorageOptions) {
    const { client, url, database } = (options ?? {}) as {
      client?: unknown;
      url?: unknown;
      database?: unknown;
    };
    if ([client, url, database].filter((given) => given !== undefined).length !== 1) {
      throw new TypeError(
        "libsql: cannot create the storage: pass exactly one of `client`, `url` and `database`",
      );
    }
    if (
      database !== undefined &&
      typeof (database as { prepare?: unknown } | null)?.prepare !== "function"
    ) {
      throw new TypeError(
        "libsql: cannot create the storage: database must be a Database of the `libsql` package",
      );
    }
    if (url !== undefined && (typeof url !== "string" || url === "")) {
      throw new TypeError(`libsql: cannot create the storage: url must be a non-empty string, got ${url}`);
    }
    const { busyTimeout } = options as { busyTimeout?: unknown };
    if (
      busyTimeout !== undefined &&
      !(typeof busyTimeout === "number" && busyTimeout >= 0 && busyTimeout < Infinity)
    ) {
      throw new RangeError(
        `libsql: cannot create the storage: busyTimeout must be a non-negative number of milliseconds, got ${busyTimeout}`,
      );
    }
    if (client !== undefined && (typeof client !== "object" || client === null)) {
      throw new TypeError("libsql: cannot create the storage: client must be an @libsql/client Client");
    }
    super();
    const store = new SqlStore(libsqlConnection(options), { groupCommit: true });
    attachSql(this, new SqlCheckpoints(ADAPTER, store, Infinity, options.deltas));
  }
}
