/**
 * A checkpoint storage on PostgreSQL: a server through Postgres.js (the `postgres` package: a pool from a
 * URL, or your own `Sql`), or PGlite (Postgres in WebAssembly, in the process). Many hosts can share one
 * database: a save is one statement, so one transaction, that compare-and-sets its session's head and
 * inserts the checkpoint, or changes nothing.
 *
 * `postgres` is an optional peer dependency, imported on first use only when this adapter creates the pool
 * itself; nothing runs at import time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
 *
 * // A server: new PostgresCheckpointStorage({ url: "postgres://user:password@db.example:5432/app" })
 * const db = new PGlite();
 * const storage = new PostgresCheckpointStorage({ client: db });
 * assert.equal((await storage.list()).length, 0);
 * await storage.close(); // leaves `db` open
 * await db.close();
 * ```
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
import * as kit from "../../src/storage_kit.ts";
import type { PostgresCheckpointStorageOptions } from "./client.ts";
import { ADAPTER, clientKind, Connection, sqlState } from "./_driver.ts";
import { SCHEMA_NAME, Sql } from "./_sql.ts";

export type {
  PgliteClient,
  PgliteQueryable,
  PgliteResults,
  PostgresCheckpointStorageOptions,
  PostgresClientOptions,
  PostgresCommonOptions,
  PostgresJsClient,
  PostgresJsQuery,
  PostgresJsTransaction,
  PostgresUrlOptions,
} from "./client.ts";

/** How often a delete retries when a delta on the checkpoint was saved while it made its dependents whole. */
const DELETE_ATTEMPTS = 5;

/** SQLSTATE unique_violation: the checkpoint's id exists (the one unique key a save can violate). */
const UNIQUE_VIOLATION = "23505";

/**
 * A {@linkcode CheckpointStorage} in a PostgreSQL database.
 *
 * Tables (created in `schema` by versioned migrations on first use, under an advisory lock so that hosts
 * starting at once do not race; re-running them is a no-op): `superstep_checkpoints` (the summary columns,
 * indexed by session and by workflow, plus the encoded payload), `superstep_heads` (one head per session)
 * and `superstep_migrations`. A schema migrated by a newer Superstep is refused with
 * {@linkcode StorageSchemaError}.
 *
 * `save` is one statement (head compare-and-set plus insert), so concurrent writers, in this process or on
 * other hosts, never both extend a session head. `lineage` is one recursive query. Every call holds one
 * pooled connection for one statement (`deleteSession`: one transaction of two).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 *
 * const db = new PGlite();
 * const storage = new PostgresCheckpointStorage({ client: db }); // or { url: "postgres://…" }
 * const echo = defineExecutor({ id: "echo", handle: async (text: string, ctx) => await ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(storage).build();
 * const result = await workflow.run("hello");
 * assert.equal(await storage.head(result.sessionId), result.checkpointId);
 * await db.close();
 * ```
 */
export class PostgresCheckpointStorage implements CheckpointStorage {
  readonly #connection: Connection;
  readonly #sql: Sql;
  readonly #deltas: kit.DeltaCodec | undefined;

  /**
   * Create the storage. Nothing is opened until the first call.
   *
   * @param options `{ client }` (a Postgres.js `Sql` or a PGlite database, yours: never closed by the
   *   storage) or `{ url, max?, connectTimeout?, prepare? }` (the storage creates a Postgres.js pool on first
   *   use and closes it in {@linkcode PostgresCheckpointStorage.close}); either with `schema`.
   * @throws {TypeError} If the options name neither or both of `client` and `url`, the client is neither
   *   client, or `schema` is not a lowercase SQL identifier.
   * @throws {RangeError} If `max` is not a positive integer or `connectTimeout` not a positive number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import postgres from "postgres";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const sql = postgres("postgres://user:password@db.example:5432/app", { max: 20 }); // connects lazily
   * const storage = new PostgresCheckpointStorage({ client: sql, schema: "workflows" });
   * await storage.close(); // leaves `sql` open: end it when your app stops
   * await sql.end();
   * assert.throws(() => new PostgresCheckpointStorage({ client: sql, schema: "Workflows" }), TypeError);
   * ```
   */
  constructor(options: PostgresCheckpointStorageOptions) {
    const { client, url, schema = "public", max, connectTimeout, deltas = true } = (options ?? {}) as {
      client?: unknown;
      url?: unknown;
      schema?: unknown;
      max?: unknown;
      connectTimeout?: unknown;
      deltas?: unknown;
    };
    const refuse = (what: string) => `postgres: cannot create the storage: ${what}`;
    if ((client === undefined) === (url === undefined)) {
      throw new TypeError(refuse("pass exactly one of `client` and `url`"));
    }
    if (url !== undefined && (typeof url !== "string" || url === "")) {
      throw new TypeError(refuse(`url must be a non-empty string, got ${url}`));
    }
    if (client !== undefined && clientKind(client) === undefined) {
      throw new TypeError(refuse("client must be a Postgres.js Sql (postgres(url)) or a PGlite database"));
    }
    if (typeof schema !== "string" || !SCHEMA_NAME.test(schema)) {
      throw new TypeError(
        refuse(`schema must be a lowercase SQL identifier (a-z, 0-9, _), got ${JSON.stringify(schema)}`),
      );
    }
    if (max !== undefined && !(Number.isInteger(max) && (max as number) > 0)) {
      throw new RangeError(refuse(`max must be a positive integer, got ${max}`));
    }
    if (
      connectTimeout !== undefined &&
      !(typeof connectTimeout === "number" && connectTimeout > 0 && connectTimeout < Infinity)
    ) {
      throw new RangeError(
        refuse(`connectTimeout must be a positive number of milliseconds, got ${connectTimeout}`),
      );
    }
    if (typeof deltas !== "boolean" && (typeof deltas !== "object" || deltas === null)) {
      throw new TypeError(refuse(`deltas must be a boolean or delta options, got ${deltas}`));
    }
    this.#deltas = deltas === false ? undefined : new kit.DeltaCodec(deltas === true ? {} : deltas);
    this.#sql = new Sql(schema);
    this.#connection = new Connection(options, this.#sql);
  }

  /**
   * Store a checkpoint and make it its session's head, in one statement.
   *
   * @param checkpoint The checkpoint to store (encoded before the promise settles).
   * @param options `lease`: save only while this lease is the session's (its row is locked and checked by
   *   the same statement).
   * @returns Once committed.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it (another writer extended the session), or the session has none and
   *   the parent is neither `null` nor a checkpoint of another session. Nothing is written.
   * @throws {LeaseLostError} If `options.lease` is no longer the session's lease. Nothing is written.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @throws {TypeError} If the checkpoint is malformed. Nothing is written.
   * @throws {StorageSchemaError} If the schema was migrated by a newer Superstep.
   * @throws {StorageError} If the database cannot be reached or the statement fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * assert.equal(await storage.head(checkpoint.sessionId), checkpoint.id);
   * const stale = makeCheckpoint({ sessionId: checkpoint.sessionId }); // parentId null: not the head
   * await assert.rejects(storage.save(stale), { name: "CheckpointConflictError", reason: "head-moved" });
   * await db.close();
   * ```
   */
  async save(checkpoint: Checkpoint, options: SaveOptions = {}): Promise<void> {
    const action = `save checkpoint ${checkpoint.id}`;
    const encoded = kit.encodeForStorage(ADAPTER, checkpoint, this.#deltas, { copies: true });
    const { lease } = options;
    if (lease !== undefined) {
      kit.checkLease(ADAPTER, "save a checkpoint", lease);
      if (lease.sessionId !== checkpoint.sessionId) throw kit.leaseLost(ADAPTER, lease);
    }
    try {
      if ((await this.#connection.run(action, this.#sql.save(encoded, lease?.token))).length === 1) {
        encoded.stored();
        return;
      }
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw kit.idTaken(ADAPTER, checkpoint);
      throw error;
    }
    // A conflict (rare): read what explains it only now, so that a save is one statement, not two.
    if (lease !== undefined && !await this.#holds(action, lease)) throw kit.leaseLost(ADAPTER, lease);
    const [[head, taken]] = await this.#connection.run(action, this.#sql.conflict(checkpoint));
    if (taken === true) throw kit.idTaken(ADAPTER, checkpoint);
    if ((head ?? null) === null && checkpoint.parentId !== null) throw kit.parentMissing(ADAPTER, checkpoint);
    throw kit.headMoved(ADAPTER, checkpoint, typeof head === "string" ? head : null);
  }

  /**
   * Load a checkpoint.
   *
   * @param id The checkpoint's id.
   * @returns A fresh copy of the checkpoint, or `undefined` if there is none with that id.
   * @throws {CheckpointCorruptError} If the stored text does not decode to checkpoint `id`.
   * @throws {StorageError} If the database cannot be reached or the query fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const checkpoint = makeCheckpoint({ state: { when: new Date(0), seen: new Set(["a"]) } });
   * await storage.save(checkpoint);
   * assert.deepEqual(await storage.load(checkpoint.id), checkpoint);
   * assert.equal(await storage.load("01JABC"), undefined);
   * await db.close();
   * ```
   */
  async load(id: string): Promise<Checkpoint | undefined> {
    kit.checkId(ADAPTER, "load a checkpoint", "checkpoint id", id);
    const rows = await this.#connection.run(`load checkpoint ${id}`, this.#sql.load(id));
    if (rows.length === 0) return undefined;
    const [[payload, sessionId, workflowName, copy]] = rows;
    const summary = { id, sessionId: String(sessionId), workflowName: String(workflowName) };
    return await kit.loadStoredCheckpoint(ADAPTER, summary, payload, this.#deltas, this.#read, copy ?? null);
  }

  /** Stored payloads from `id` back along its delta bases, at most `count`: one query. */
  #read: kit.ReadChain = async (id, count) => {
    const rows = await this.#connection.run(`load checkpoint ${id}`, this.#sql.chain(id, count));
    return rows.map(([id, payload]) => ({ id: String(id), payload: String(payload) }));
  };

  /**
   * Summaries, newest first (by id), read from indexed columns without touching payloads.
   *
   * @param query Filters (`workflowName`, `sessionId`) and paging (`limit`: the newest N; `before`: an
   *   exclusive id cursor).
   * @returns The matching summaries, newest first.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {CheckpointCorruptError} If a checkpoint's stored metadata does not decode.
   * @throws {StorageError} If the database cannot be reached or the query fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const root = makeCheckpoint({ metadata: { by: "ana" } });
   * const child = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1 });
   * await storage.save(root);
   * await storage.save(child);
   * const page = await storage.list({ sessionId: root.sessionId, limit: 1 });
   * assert.deepEqual(page.map((summary) => summary.id), [child.id]);
   * assert.deepEqual((await storage.list({ before: child.id }))[0].metadata, { by: "ana" });
   * await db.close();
   * ```
   */
  async list(query?: CheckpointQuery): Promise<CheckpointSummary[]> {
    const checked = kit.checkListQuery(ADAPTER, query);
    const rows = await this.#connection.run("list checkpoints", this.#sql.list(checked));
    return rows.map(toSummary);
  }

  /**
   * The head of a session: the checkpoint its next checkpoint must follow.
   *
   * @param sessionId The session.
   * @returns The head's id, or `undefined` if the session has no checkpoints.
   * @throws {StorageError} If the database cannot be reached or the query fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * assert.equal(await storage.head("s1"), undefined);
   * await db.close();
   * ```
   */
  async head(sessionId: string): Promise<string | undefined> {
    kit.checkId(ADAPTER, "read the head", "session id", sessionId);
    const rows = await this.#connection.run(
      `read the head of session ${sessionId}`,
      this.#sql.head(sessionId),
    );
    return rows.length === 0 ? undefined : String(rows[0][0]);
  }

  /**
   * Delete one checkpoint, in one statement. If it was its session's head, the head moves to its parent
   * when that parent is in the same session and still exists, else to the newest remaining checkpoint of
   * the session; a session with no checkpoints left has no head.
   *
   * @param id The checkpoint's id.
   * @returns `true` if it existed.
   * @throws {StorageError} If the database cannot be reached or the statement fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const root = makeCheckpoint();
   * const child = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1 });
   * await storage.save(root);
   * await storage.save(child);
   * assert.equal(await storage.delete(child.id), true);
   * assert.equal(await storage.head(root.sessionId), root.id); // the head moved back to the parent
   * assert.equal(await storage.delete(child.id), false);
   * await db.close();
   * ```
   */
  async delete(id: string): Promise<boolean> {
    kit.checkId(ADAPTER, "delete a checkpoint", "checkpoint id", id);
    const action = `delete checkpoint ${id}`;
    // Delta payloads may be stored even when this storage writes none (by another, or an earlier one).
    const deltas = this.#deltas ?? new kit.DeltaCodec();
    for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
      // A delta on `id` is stored whole in the same transaction, which holds the session's head row so
      // that no new delta on `id` is saved meanwhile: nothing may need a deleted payload. The delete itself
      // does nothing if one was saved before the lock; then this retries.
      const rewrites = [this.#sql.lockHeadOf(id)];
      for (const [dependent, payload] of await this.#connection.run(action, this.#sql.dependents(id))) {
        const whole = await deltas.rebase(String(dependent), String(payload), id, this.#read);
        if (whole !== undefined) rewrites.push(this.#sql.rewrite(String(dependent), whole));
      }
      const [[sessionId] = []] = await this.#connection.run(action, this.#sql.sessionOf(id));
      if (sessionId === undefined) return false;
      // The session's index follows its head in the same transaction (the head row is locked).
      const statements = [...rewrites, this.#sql.delete(id), ...this.#sql.reindexSession(String(sessionId))];
      const results = await this.#connection.transact(action, statements);
      if (Number(results[rewrites.length][0][0]) > 0) {
        deltas.forget(id);
        return true;
      }
      const [[exists]] = await this.#connection.run(action, this.#sql.exists(id));
      if (exists !== true) return false;
    }
    throw new TypeError(
      `${ADAPTER}: cannot delete checkpoint ${id}: checkpoints kept being saved on it (a session head ` +
        `under constant extension); retry`,
    );
  }

  /**
   * Delete every checkpoint of a session, and its head, in one transaction. A save still in flight for the
   * session then fails (`CheckpointConflictError`, reason `parent-missing`): the session stays deleted
   * unless a new run starts it anew.
   *
   * @param sessionId The session.
   * @returns How many checkpoints were deleted (0 for an unknown session).
   * @throws {StorageError} If the database cannot be reached or the transaction fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * assert.equal(await storage.deleteSession(checkpoint.sessionId), 1);
   * assert.equal(await storage.head(checkpoint.sessionId), undefined);
   * await db.close();
   * ```
   */
  async deleteSession(sessionId: string): Promise<number> {
    kit.checkId(ADAPTER, "delete a session", "session id", sessionId);
    const [, [[deleted]]] = await this.#connection.transact(
      `delete session ${sessionId}`,
      this.#sql.deleteSession(sessionId),
    );
    return Number(deleted);
  }

  /**
   * The ancestry of a checkpoint, in one recursive query: its summary, its parent's, and so on back to the
   * root, across forks into other sessions. The walk stops at a parent that was deleted.
   *
   * @param id The checkpoint to start from.
   * @returns The summaries, `id` first; empty if `id` does not exist.
   * @throws {CheckpointCorruptError} If a checkpoint's stored metadata does not decode.
   * @throws {StorageError} If the database cannot be reached or the query fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const root = makeCheckpoint();
   * const fork = makeCheckpoint({ parentId: root.id, superstep: 1 }); // another session
   * await storage.save(root);
   * await storage.save(fork);
   * assert.deepEqual((await storage.lineage(fork.id)).map((summary) => summary.id), [fork.id, root.id]);
   * await db.close();
   * ```
   */
  async lineage(id: string): Promise<CheckpointSummary[]> {
    kit.checkId(ADAPTER, "read the lineage", "checkpoint id", id);
    const rows = await this.#connection.run(`read the lineage of checkpoint ${id}`, this.#sql.lineage(id));
    const byId = new Map<string, CheckpointSummary>();
    for (const row of rows) byId.set(String(row[0]), toSummary(row));
    // The query returns the ancestors unordered: follow the parent pointers.
    return await kit.walkLineage(id, (current) => byId.get(current), (summary) => summary.parentId);
  }

  /**
   * Claim a session for `owner`: only when it has no lease or its lease lapsed (`expiresAt <= now`), in one
   * statement (an upsert whose update re-checks the expiry on the locked row: of concurrent claimants, on
   * any connection or host, one wins).
   *
   * @param sessionId The session.
   * @param owner The claimant.
   * @param request The claimant's clock (`now`) and the lease's length (`ttlMs`).
   * @returns The lease, or `undefined` if another claim holds the session.
   * @throws {TypeError} If the session id or owner is invalid, or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @throws {StorageError} If the database cannot be reached or the statement fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * assert.equal((await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))?.owner, "a");
   * assert.equal(await storage.claimLease("s1", "b", { now: 10, ttlMs: 1000 }), undefined);
   * await db.close();
   * ```
   */
  async claimLease(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined> {
    const lease = kit.newLease(kit.checkLeaseClaim(ADAPTER, sessionId, owner, request));
    const statement = this.#sql.claimLease(sessionId, owner, lease.token, lease.expiresAt, request.now);
    const rows = await this.#connection.run(`claim session ${JSON.stringify(sessionId)}`, statement);
    return rows.length === 1 ? lease : undefined;
  }

  /**
   * Extend a lease, if it is still its session's (expired or not).
   *
   * @param lease The lease.
   * @param request The claimant's clock (`now`) and the new length (`ttlMs`).
   * @returns The renewed lease, or `undefined` if another claim replaced it or it was released.
   * @throws {TypeError} If the lease is malformed or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @throws {StorageError} If the database cannot be reached or the statement fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const lease = (await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal((await storage.renewLease(lease, { now: 500, ttlMs: 1000 }))?.expiresAt, 1500);
   * await db.close();
   * ```
   */
  async renewLease(lease: Lease, request: LeaseRequest): Promise<Lease | undefined> {
    kit.checkLease(ADAPTER, "renew a lease", lease);
    const { expiresAt } = kit.checkLeaseRequest(ADAPTER, request);
    const statement = this.#sql.renewLease(lease.sessionId, lease.token, expiresAt);
    const rows = await this.#connection.run(
      `renew the lease of ${JSON.stringify(lease.sessionId)}`,
      statement,
    );
    return rows.length === 1 ? { ...lease, expiresAt } : undefined;
  }

  /**
   * Drop a lease, if it is still its session's.
   *
   * @param lease The lease.
   * @returns `true` if it was the session's lease.
   * @throws {TypeError} If the lease is malformed.
   * @throws {StorageError} If the database cannot be reached or the statement fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PGlite } from "@electric-sql/pglite";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const db = new PGlite();
   * const storage = new PostgresCheckpointStorage({ client: db });
   * const lease = (await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal(await storage.releaseLease(lease), true);
   * await db.close();
   * ```
   */
  async releaseLease(lease: Lease): Promise<boolean> {
    kit.checkLease(ADAPTER, "release a lease", lease);
    const statement = this.#sql.releaseLease(lease.sessionId, lease.token);
    const rows = await this.#connection.run(
      `release the lease of ${JSON.stringify(lease.sessionId)}`,
      statement,
    );
    return rows.length === 1;
  }

  async #holds(action: string, lease: Lease): Promise<boolean> {
    const [[holds]] = await this.#connection.run(action, this.#sql.holdsLease(lease.sessionId, lease.token));
    return holds === true;
  }

  /**
   * The session index: every session with a head, newest head first, with the status its head says, in one
   * query: a backward scan of a heads index per filter, each head's row by primary key (never a scan of
   * the checkpoints). The save statement and the delete transaction keep it with the heads. Heads written
   * before the index (a schema of an older version) are indexed on the first listing, each loaded once.
   *
   * @param query Filters (`workflowName`, `status`) and paging (`limit`; `before`: an exclusive head id).
   * @returns The sessions.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `status` or an id is invalid.
   * @throws {StorageError} If the database cannot be reached or the query fails.
   * @example
   * ```ts ignore
   * // Needs a PostgreSQL server.
   * import assert from "node:assert/strict";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const storage = new PostgresCheckpointStorage({ url: Deno.env.get("DATABASE_URL")! });
   * const waiting = await storage.listSessions({ status: "waiting", limit: 50 });
   * assert.ok(waiting.every((session) => session.pendingRequests > 0));
   * await storage.close();
   * ```
   */
  async listSessions(query?: SessionQuery): Promise<SessionSummary[]> {
    const checked = kit.checkSessionQuery(ADAPTER, query);
    await this.#indexOldHeads();
    const rows = await this.#connection.run("list sessions", this.#sql.listSessions(checked));
    return rows.map(([status, pending, ...head]) =>
      kit.decodeSession(ADAPTER, { status, pendingRequests: pending, head: summaryFields(head) })
    );
  }

  /**
   * The inbox: every request pending in a session head, newest request first, from the requests table the
   * save statement and the delete transaction keep with the heads (an index range per filter).
   *
   * @param query Filters (`workflowName`, `sessionId`, `requestId`) and paging (`limit`; `before`: an
   *   entry's `cursor`).
   * @returns The waiting requests.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If an id or the cursor is invalid.
   * @throws {StorageError} If the database cannot be reached or the query fails.
   * @example
   * ```ts ignore
   * // Needs a PostgreSQL server.
   * import assert from "node:assert/strict";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const storage = new PostgresCheckpointStorage({ url: Deno.env.get("DATABASE_URL")! });
   * const inbox = await storage.listPendingRequests({ workflowName: "approvals" });
   * assert.ok(inbox.every((request) => request.workflowName === "approvals"));
   * await storage.close();
   * ```
   */
  async listPendingRequests(query?: PendingRequestQuery): Promise<WaitingRequest[]> {
    const checked = kit.checkPendingRequestQuery(ADAPTER, query);
    await this.#indexOldHeads();
    const rows = await this.#connection.run("list pending requests", this.#sql.listRequests(checked));
    return rows.map(([requestId, executorId, data, path, sessionId, workflowName, checkpointId, createdAt]) =>
      kit.decodeWaitingRequest(ADAPTER, {
        requestId,
        executorId,
        data,
        path,
        sessionId,
        workflowName,
        checkpointId,
        createdAt,
      })
    );
  }

  /**
   * Index the heads written before the index existed (a schema migrated from an older version): each loaded
   * once, whole, and indexed as `save` would have. One indexed query once they all are.
   */
  async #indexOldHeads(): Promise<void> {
    const seen = new Set<string>();
    while (true) {
      const rows = await this.#connection.run("find heads to index", this.#sql.unindexed(100));
      const heads = rows.map(([sessionId, headId]) => [String(sessionId), String(headId)]).filter((
        [, headId],
      ) => !seen.has(headId));
      if (heads.length === 0) return;
      for (const [sessionId, headId] of heads) {
        seen.add(headId);
        const checkpoint = await this.load(headId);
        if (checkpoint === undefined) continue;
        const action = `index the head of session ${sessionId}`;
        await this.#connection.transact(
          action,
          this.#sql.indexHead(sessionId, headId, kit.indexOf(checkpoint)),
        );
      }
    }
  }

  /**
   * Stop using the storage. Closes the pool if the storage created it (from `url`), once the calls in
   * flight are done; a `client` passed in stays open. Later calls reject.
   *
   * @returns Once closed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PostgresCheckpointStorage } from "@superstep/superstep/postgres";
   *
   * const storage = new PostgresCheckpointStorage({ url: "postgres://db.example/app" }); // never connected
   * await storage.close();
   * await assert.rejects(storage.list(), { name: "StorageError", message: "postgres: cannot use the storage: it is closed" });
   * ```
   */
  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** A summary row, in the order of the statements' summary columns. */
function toSummary(row: unknown[]) {
  return kit.decodeSummary(ADAPTER, summaryFields(row));
}

/** A summary row's fields, not checked yet (the storage kit checks them). */
function summaryFields([id, parentId, sessionId, workflowName, superstep, createdAt, metadata]: unknown[]) {
  return { id, parentId, sessionId, workflowName, superstep, createdAt, metadata };
}
