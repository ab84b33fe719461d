/**
 * The checkpoint storages on SQLite — libSQL, D1, Durable Objects — share one class (package-private
 * module; the class is public through each adapter's module): their methods, documented once, over the
 * shared SQLite layer. Each adapter's subclass opens its backend and attaches it in its constructor.
 *
 * @module
 */
import type {
  Checkpoint,
  CheckpointQuery,
  CheckpointStorage,
  CheckpointSummary,
  Lease,
  LeaseRequest,
  PendingRequestQuery,
  SaveOptions,
  SessionQuery,
  SessionSummary,
  WaitingRequest,
} from "../../src/checkpoint.ts";
import type { SqlCheckpoints } from "./_checkpoints.ts";

const attached = new WeakMap<SqliteCheckpointStorage, SqlCheckpoints>();

/** Called by each subclass's constructor: the storage's backend. */
export function attachSql(storage: SqliteCheckpointStorage, sql: SqlCheckpoints): void {
  attached.set(storage, sql);
}

function sqlOf(storage: SqliteCheckpointStorage): SqlCheckpoints {
  const sql = attached.get(storage);
  if (sql === undefined) {
    throw new TypeError("Cannot use a SqliteCheckpointStorage itself: use one of its subclasses");
  }
  return sql;
}

/**
 * A {@linkcode CheckpointStorage} in a SQLite database: what {@linkcode LibsqlCheckpointStorage},
 * `D1CheckpointStorage`, `DurableObjectCheckpointStorage` and `CheckpointObjectStorage` share. One schema
 * and one set of statements serve them all, created by versioned migrations on first use:
 * `superstep_checkpoints` (the summary columns, indexed by session and by workflow, plus the encoded
 * payload), `superstep_heads` (one head per session), `superstep_leases` (one lease per claimed session), `superstep_payload_chunks` (the parts of payloads too
 * large for one row, on backends that cap rows) and `superstep_migrations`. A save is the head
 * compare-and-set and the insert in one transaction, so no two writers ever both extend a session head;
 * `lineage` is one recursive query.
 *
 * Build one of its subclasses; the examples use the libSQL one, and the others behave the same.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LibsqlCheckpointStorage, SqliteCheckpointStorage } from "@superstep/superstep/libsql";
 *
 * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
 * assert.ok(storage instanceof SqliteCheckpointStorage);
 * assert.throws(() => new SqliteCheckpointStorage(), TypeError);
 * await storage.close();
 * ```
 */
export class SqliteCheckpointStorage implements CheckpointStorage {
  /**
   * Called by the subclasses' constructors only.
   *
   * @throws {TypeError} If called for a SqliteCheckpointStorage itself.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SqliteCheckpointStorage } from "@superstep/superstep/libsql";
   *
   * assert.throws(() => new SqliteCheckpointStorage(), { name: "TypeError" });
   * ```
   */
  constructor() {
    if (new.target === SqliteCheckpointStorage) {
      throw new TypeError("Cannot create a SqliteCheckpointStorage itself: use one of its subclasses");
    }
  }

  /**
   * Store a checkpoint and make it its session's head, in one transaction of the database (libSQL: one
   * write transaction; D1: one `db.batch`; a Durable Object: one `transactionSync`).
   *
   * @param checkpoint The checkpoint to store (encoded before the promise settles).
   * @param options `lease`: save only while this lease is the session's (checked in the same transaction).
   * @returns Once committed.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it (another writer extended the session). Nothing is written.
   * @throws {LeaseLostError} If `options.lease` is no longer the session's lease. Nothing is written.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @throws {TypeError} If the checkpoint is malformed. Nothing is written.
   * @throws {RangeError} If the backend caps a row (D1, Durable Objects) and the summary (ids and metadata)
   *   takes more than 960,000 bytes. Nothing is written.
   * @throws {StorageSchemaError} If the database was migrated by a newer Superstep.
   * @throws {StorageError} If the backend fails (`cause`: its error).
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
  async save(checkpoint: Checkpoint, options?: SaveOptions): Promise<void> {
    return await sqlOf(this).save(checkpoint, options);
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
    return await sqlOf(this).load(id);
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
    return await sqlOf(this).list(query);
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
    return await sqlOf(this).head(sessionId);
  }

  /**
   * Delete one checkpoint, in one transaction. If it was its session's head, the head moves to its
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
    return await sqlOf(this).delete(id);
  }

  /**
   * Delete every checkpoint of a session, and its head, in one transaction.
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
    return await sqlOf(this).deleteSession(sessionId);
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
    return await sqlOf(this).lineage(id);
  }

  /**
   * The session index: every session with a head, newest head first, with the status its head says, in one
   * query on the heads table (an index range per filter, then the head's row by primary key; never a scan
   * of the checkpoints). The save and delete batches keep it with the heads. Heads written before the index
   * (a database of an older schema) are indexed on the first listing, each loaded once.
   *
   * @param query Filters (`workflowName`, `status`) and paging (`limit`; `before`: an exclusive head id).
   * @returns The sessions.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `status` or an id is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * await storage.save(makeCheckpoint({ messages: [{ source: "a", data: 1 }] }));
   * assert.equal((await storage.listSessions({ status: "interrupted" })).length, 1);
   * await storage.close();
   * ```
   */
  async listSessions(query?: SessionQuery): Promise<SessionSummary[]> {
    return await sqlOf(this).listSessions(query);
  }

  /**
   * The inbox: every request pending in a session head, newest request first, from the requests table the
   * save and delete batches keep with the heads (an index range per filter).
   *
   * @param query Filters (`workflowName`, `sessionId`, `requestId`) and paging (`limit`; `before`: an
   *   entry's `cursor`).
   * @returns The waiting requests.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If an id or the cursor is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * await storage.save(makeCheckpoint({ pendingRequests: [{ requestId: "r1", executorId: "ask", data: 1 }] }));
   * assert.equal((await storage.listPendingRequests({ requestId: "r1" }))[0].data, 1);
   * await storage.close();
   * ```
   */
  async listPendingRequests(query?: PendingRequestQuery): Promise<WaitingRequest[]> {
    return await sqlOf(this).listPendingRequests(query);
  }

  /**
   * Claim a session for `owner`: only when it has no lease or its lease lapsed (`expiresAt <= now`), in
   * one statement of a write transaction (`superstep_leases`), so of concurrent claimants — any process on
   * the database — one wins.
   *
   * @param sessionId The session.
   * @param owner The claimant.
   * @param request The claimant's clock (`now`) and the lease's length (`ttlMs`).
   * @returns The lease, or `undefined` if another claim holds the session.
   * @throws {TypeError} If the session id or owner is invalid, or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @throws {StorageError} If the backend fails (`cause`: its error).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * assert.equal((await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))?.owner, "a");
   * assert.equal(await storage.claimLease("s1", "b", { now: 10, ttlMs: 1000 }), undefined);
   * await storage.close();
   * ```
   */
  async claimLease(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined> {
    return await sqlOf(this).claimLease(sessionId, owner, request);
  }

  /**
   * Extend a lease, if it is still its session's (expired or not).
   *
   * @param lease The lease.
   * @param request The claimant's clock (`now`) and the new length (`ttlMs`).
   * @returns The renewed lease, or `undefined` if another claim replaced it or it was released.
   * @throws {TypeError} If the lease is malformed or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * const lease = (await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal((await storage.renewLease(lease, { now: 500, ttlMs: 1000 }))?.expiresAt, 1500);
   * await storage.close();
   * ```
   */
  async renewLease(lease: Lease, request: LeaseRequest): Promise<Lease | undefined> {
    return await sqlOf(this).renewLease(lease, request);
  }

  /**
   * Drop a lease, if it is still its session's.
   *
   * @param lease The lease.
   * @returns `true` if it was the session's lease.
   * @throws {TypeError} If the lease is malformed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * const lease = (await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal(await storage.releaseLease(lease), true);
   * await storage.close();
   * ```
   */
  async releaseLease(lease: Lease): Promise<boolean> {
    return await sqlOf(this).releaseLease(lease);
  }

  /**
   * Stop using the storage. Releases what the storage opened itself (a libSQL client it created from a
   * `url`); a client, binding or object it was given stays usable. Later calls reject.
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
    return sqlOf(this).close();
  }
}
