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
import type {
  Checkpoint,
  CheckpointQuery,
  CheckpointStorage,
  CheckpointSummary,
} from "../../src/checkpoint.ts";
import * as kit from "../../src/storage_kit.ts";
import type { LibsqlCheckpointStorageOptions, LibsqlResultSet, LibsqlValue } from "./client.ts";
import { ADAPTER, Connection } from "./_connection.ts";
import {
  conflictStatement,
  deleteSessionStatements,
  deleteStatements,
  headStatement,
  lineageStatement,
  listStatement,
  loadStatement,
  saveStatements,
} from "./_sql.ts";

export type {
  LibsqlCheckpointStorageOptions,
  LibsqlClient,
  LibsqlClientOptions,
  LibsqlResultSet,
  LibsqlStatement,
  LibsqlUrlOptions,
  LibsqlValue,
} from "./client.ts";

/**
 * A {@linkcode CheckpointStorage} in a libSQL / SQLite database.
 *
 * Tables (created by versioned migrations on first use; re-running them is a no-op):
 * `superstep_checkpoints` (the summary columns, indexed by session and by workflow, plus the encoded
 * payload), `superstep_heads` (one head per session) and `superstep_migrations`. A database migrated by a
 * newer Superstep is refused with {@linkcode StorageSchemaError}.
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
export class LibsqlCheckpointStorage implements CheckpointStorage {
  readonly #connection: Connection;

  /**
   * Create the storage. Nothing is opened until the first call.
   *
   * @param options `{ client }` (yours: never closed by the storage) or `{ url, authToken? }` (the storage
   *   creates the client on first use and closes it in {@linkcode LibsqlCheckpointStorage.close}).
   * @throws {TypeError} If the options name neither or both of `client` and `url`.
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
    const { client, url } = (options ?? {}) as { client?: unknown; url?: unknown };
    if ((client === undefined) === (url === undefined)) {
      throw new TypeError("libsql: cannot create the storage: pass exactly one of `client` and `url`");
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
    this.#connection = new Connection(options);
  }

  /**
   * Store a checkpoint and make it its session's head, in one write transaction.
   *
   * @param checkpoint The checkpoint to store (encoded before the promise settles).
   * @returns Once committed.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it (another writer extended the session). Nothing is written.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @throws {TypeError} If the checkpoint is malformed. Nothing is written.
   * @throws {StorageSchemaError} If the database was migrated by a newer Superstep.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * assert.equal((await storage.head(checkpoint.sessionId)), checkpoint.id);
   * await storage.close();
   * ```
   */
  async save(checkpoint: Checkpoint): Promise<void> {
    const action = `save checkpoint ${checkpoint.id}`;
    const [head, insert] = await this.#connection.batch(
      action,
      saveStatements(kit.encodeForStorage(ADAPTER, checkpoint)),
    );
    if (head.rowsAffected === 1 && insert.rowsAffected === 1) return;
    // A conflict (rare): read what explains it only now, so that a save is two statements, not three.
    const { rows } = await this.#connection.execute(action, conflictStatement(checkpoint));
    const row = rows[0];
    if (Number(row?.taken ?? 0) !== 0) throw kit.idTaken(ADAPTER, checkpoint);
    if ((row?.head ?? null) === null && checkpoint.parentId !== null) {
      throw kit.parentMissing(ADAPTER, checkpoint);
    }
    throw kit.headMoved(
      ADAPTER,
      checkpoint,
      row?.head === null || row?.head === undefined ? null : String(row.head),
    );
  }

  /**
   * Load a checkpoint.
   *
   * @param id The checkpoint's id.
   * @returns A fresh copy of the checkpoint, or `undefined` if there is none with that id.
   * @throws {CheckpointCorruptError} If the stored text does not decode to checkpoint `id`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * assert.equal((await storage.load("01JABC")), undefined);
   * ```
   */
  async load(id: string): Promise<Checkpoint | undefined> {
    kit.checkId(ADAPTER, "load a checkpoint", "checkpoint id", id);
    const { rows } = await this.#connection.execute(`load checkpoint ${id}`, loadStatement(id));
    if (rows.length === 0) return undefined;
    const [row] = rows;
    const summary = { id, sessionId: String(row.session_id), workflowName: String(row.workflow_name) };
    return kit.decodeStoredCheckpoint(ADAPTER, summary, row.payload);
  }

  /**
   * Summaries, newest first (by id), read from indexed columns without touching payloads.
   *
   * @param query Filters (`workflowName`, `sessionId`) and paging (`limit`: the newest N; `before`: an
   *   exclusive id cursor).
   * @returns The matching summaries, newest first.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {CheckpointCorruptError} If a checkpoint's stored metadata does not decode.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * const page = await storage.list({ sessionId: checkpoint.sessionId, limit: 10 });
   * assert.deepEqual(page.map((summary) => summary.id), [checkpoint.id]);
   * await storage.close();
   * ```
   */
  async list(query?: CheckpointQuery): Promise<CheckpointSummary[]> {
    const checked = kit.checkListQuery(ADAPTER, query);
    const { rows } = await this.#connection.execute("list checkpoints", listStatement(checked));
    return rows.map(toSummary);
  }

  /**
   * The head of a session: the checkpoint its next checkpoint must follow.
   *
   * @param sessionId The session.
   * @returns The head's id, or `undefined` if the session has no checkpoints.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * assert.equal((await storage.head("s1")), undefined);
   * ```
   */
  async head(sessionId: string): Promise<string | undefined> {
    kit.checkId(ADAPTER, "read the head", "session id", sessionId);
    const { rows } = await this.#connection.execute(
      `read the head of session ${sessionId}`,
      headStatement(sessionId),
    );
    return rows.length === 0 ? undefined : String(rows[0].head_id);
  }

  /**
   * Delete one checkpoint, in one write transaction. If it was its session's head, the head moves to its
   * parent when that parent is in the same session and still exists, else to the newest remaining
   * checkpoint of the session; a session with no checkpoints left has no head.
   *
   * @param id The checkpoint's id.
   * @returns `true` if it existed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * assert.equal((await storage.delete("01JABC")), false);
   * ```
   */
  async delete(id: string): Promise<boolean> {
    kit.checkId(ADAPTER, "delete a checkpoint", "checkpoint id", id);
    const results = await this.#connection.batch(`delete checkpoint ${id}`, deleteStatements(id));
    return results[2].rowsAffected > 0;
  }

  /**
   * Delete every checkpoint of a session, and its head, in one write transaction.
   *
   * @param sessionId The session.
   * @returns How many checkpoints were deleted (0 for an unknown session).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * assert.equal((await storage.deleteSession("s1")), 0);
   * ```
   */
  async deleteSession(sessionId: string): Promise<number> {
    kit.checkId(ADAPTER, "delete a session", "session id", sessionId);
    const results = await this.#connection.batch(
      `delete session ${sessionId}`,
      deleteSessionStatements(sessionId),
    );
    return results[1].rowsAffected;
  }

  /**
   * The ancestry of a checkpoint, in one recursive query: its summary, its parent's, and so on back to the
   * root, across forks into other sessions. The walk stops at a parent that was deleted.
   *
   * @param id The checkpoint to start from.
   * @returns The summaries, `id` first; empty if `id` does not exist.
   * @throws {CheckpointCorruptError} If a checkpoint's stored metadata does not decode.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * assert.equal((await storage.lineage("01JABC")).length, 0);
   * ```
   */
  async lineage(id: string): Promise<CheckpointSummary[]> {
    kit.checkId(ADAPTER, "read the lineage", "checkpoint id", id);
    const action = `read the lineage of checkpoint ${id}`;
    const { rows } = await this.#connection.execute(action, lineageStatement(id));
    const byId = new Map<string, CheckpointSummary>();
    for (const row of rows) byId.set(String(row.id), toSummary(row));
    // The query returns the ancestors unordered: follow the parent pointers.
    return await kit.walkLineage(id, (current) => byId.get(current), (summary) => summary.parentId);
  }

  /**
   * Stop using the storage. Closes the client if the storage created it (from `url`); a client passed as
   * `client` stays open. Later calls reject.
   *
   * @returns Once closed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * await storage.close();
   * await assert.rejects(storage.list(), { name: "StorageError", message: "libsql: cannot use the storage: it is closed" });
   * ```
   */
  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** A summary row (a client created with `intMode: "bigint"` or `"string"` returns integers as such). */
function toSummary(row: LibsqlResultSet["rows"][number]): CheckpointSummary {
  return kit.decodeSummary(ADAPTER, {
    id: textOf(row.id),
    parentId: row.parent_id === null ? null : textOf(row.parent_id),
    sessionId: textOf(row.session_id),
    workflowName: textOf(row.workflow_name),
    superstep: row.superstep,
    createdAt: textOf(row.created_at),
    metadata: row.metadata,
  });
}

function textOf(value: LibsqlValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}
