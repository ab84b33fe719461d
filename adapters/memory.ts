/**
 * An in-memory checkpoint storage: for tests, examples and single-process runs that need no durability.
 * Checkpoints are kept as encoded text, so a loaded checkpoint never aliases the saved object, and every key
 * lives in a `Map`, so ids such as `"__proto__"` are ordinary keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 *
 * const storage = new MemoryCheckpointStorage();
 * assert.equal((await storage.list()).length, 0);
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
} from "../src/checkpoint.ts";
import * as kit from "../src/storage_kit.ts";

const ADAPTER = "memory";

/**
 * A {@linkcode CheckpointStorage} that keeps checkpoints in memory, in this process only.
 *
 * `save` and `load` cost one encode or decode of the checkpoint; `list` walks ids newest first from the
 * `before` cursor and stops at `limit`. The session index is the heads, kept sorted by head id;
 * `listPendingRequests` reads the heads that wait.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const checkpoint = makeCheckpoint();
 * const storage = new MemoryCheckpointStorage();
 * await storage.save(checkpoint);
 * assert.equal((await storage.head(checkpoint.sessionId)), checkpoint.id);
 * ```
 */
export class MemoryCheckpointStorage implements CheckpointStorage {
  #records = new Map<string, kit.EncodedCheckpoint>();
  #deltas: kit.DeltaCodec | undefined;
  /** Every id, ascending. */
  #order: string[] = [];
  /** Every id of a session, ascending. */
  #sessions = new Map<string, string[]>();
  #heads = new Map<string, string>();
  /** Every head id, ascending: the session index. */
  #headOrder: string[] = [];
  /** The sessions whose head waits for answers: the inbox. */
  #waiting = new Set<string>();
  /** The lease of each claimed session. */
  #leases = new Map<string, Lease>();

  /**
   * Create an empty storage.
   *
   * @param options `deltas`: store each checkpoint as a delta on an earlier one (`true`, or the
   *   {@linkcode kit.DeltaOptions}), or whole (`false`).
   * @throws {RangeError} If a delta option is invalid.
   */
  constructor(options: MemoryCheckpointStorageOptions = {}) {
    const { deltas = true } = options;
    this.#deltas = deltas === false ? undefined : new kit.DeltaCodec(deltas === true ? {} : deltas);
  }

  /**
   * Store a checkpoint and make it its session's head: a compare-and-set on the head.
   *
   * @param checkpoint The checkpoint to store (copied: later changes to it are not seen).
   * @param options `lease`: save only while this lease is the session's.
   * @returns Once stored.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it. Nothing is written.
   * @throws {LeaseLostError} If `options.lease` is no longer the session's lease. Nothing is written.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new MemoryCheckpointStorage();
   * const root = makeCheckpoint();
   * await storage.save(root);
   * const stale = makeCheckpoint({ sessionId: root.sessionId, parentId: null });
   * await assert.rejects(storage.save(stale), { name: "CheckpointConflictError", reason: "head-moved" });
   * ```
   */
  save(checkpoint: Checkpoint, options: SaveOptions = {}): Promise<void> {
    return settle(() => this.#save(checkpoint, options.lease));
  }

  #save(checkpoint: Checkpoint, lease: Lease | undefined): void {
    const encoded = kit.encodeForStorage(ADAPTER, checkpoint, this.#deltas, { copies: true });
    const { id, sessionId, parentId } = checkpoint;
    if (lease !== undefined && !this.#holds(kit.checkLease(ADAPTER, "save a checkpoint", lease), sessionId)) {
      throw kit.leaseLost(ADAPTER, lease);
    }
    if (this.#records.has(id)) throw kit.idTaken(ADAPTER, checkpoint);
    const head = this.#heads.get(sessionId);
    if (head !== undefined && parentId !== head) throw kit.headMoved(ADAPTER, checkpoint, head);
    if (head === undefined && parentId !== null) {
      const parent = this.#records.get(parentId);
      if (parent === undefined || parent.summary.sessionId === sessionId) {
        throw kit.parentMissing(ADAPTER, checkpoint);
      }
    }
    this.#records.set(id, encoded);
    const waitedAt = encoded.dropCopy === null ? undefined : this.#records.get(encoded.dropCopy);
    if (waitedAt?.summary.sessionId === sessionId) waitedAt.copy = null;
    insertSorted(this.#order, id);
    const ids = this.#sessions.get(sessionId);
    if (ids) insertSorted(ids, id);
    else this.#sessions.set(sessionId, [id]);
    this.#setHead(sessionId, id);
    encoded.stored();
  }

  /** Move a session's head (`undefined`: it has none left), and its index entries with it. */
  #setHead(sessionId: string, id: string | undefined): void {
    const old = this.#heads.get(sessionId);
    if (old !== undefined) removeSorted(this.#headOrder, old);
    this.#waiting.delete(sessionId);
    if (id === undefined) {
      this.#heads.delete(sessionId);
      return;
    }
    this.#heads.set(sessionId, id);
    insertSorted(this.#headOrder, id);
    if (this.#records.get(id)!.index.status === "waiting") this.#waiting.add(sessionId);
  }

  /**
   * Load a checkpoint.
   *
   * @param id The checkpoint's id.
   * @returns A fresh copy of the checkpoint, or `undefined` if there is none with that id.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * assert.equal((await new MemoryCheckpointStorage().load("01JABC")), undefined);
   * ```
   */
  load(id: string): Promise<Checkpoint | undefined> {
    return settle(() => {
      const record = this.#records.get(kit.checkId(ADAPTER, "load a checkpoint", "checkpoint id", id));
      return record &&
        kit.loadStoredCheckpoint(
          ADAPTER,
          record.summary,
          record.payload,
          this.#deltas,
          this.#read,
          record.copy,
        );
    });
  }

  /** The stored payloads from `id` back along their delta bases, at most `count`. */
  #read: kit.ReadChain = (id, count) => {
    const chain: { id: string; payload: string }[] = [];
    for (let at: string | null = id; at !== null && chain.length < count;) {
      const record = this.#records.get(at);
      if (record === undefined) break;
      chain.push({ id: at, payload: record.payload });
      at = record.base;
    }
    return Promise.resolve(chain);
  };

  /**
   * Summaries, newest first (by id).
   *
   * @param query Filters (`workflowName`, `sessionId`) and paging (`limit`: the newest N; `before`: an
   *   exclusive id cursor).
   * @returns The matching summaries, newest first.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new MemoryCheckpointStorage();
   * const first = makeCheckpoint();
   * const second = makeCheckpoint({ sessionId: first.sessionId, parentId: first.id });
   * await storage.save(first);
   * await storage.save(second);
   * const page = await storage.list({ sessionId: first.sessionId, limit: 1 });
   * assert.deepEqual(page.map((summary) => summary.id), [second.id]);
   * ```
   */
  list(query: CheckpointQuery = {}): Promise<CheckpointSummary[]> {
    return settle(() => this.#list(query));
  }

  #list(query: CheckpointQuery): CheckpointSummary[] {
    const { workflowName, sessionId, limit, before } = kit.checkListQuery(ADAPTER, query);
    const ids = sessionId === undefined ? this.#order : this.#sessions.get(sessionId) ?? [];
    const max = limit ?? Infinity;
    const out: CheckpointSummary[] = [];
    const start = before === undefined ? ids.length : lowerBound(ids, before);
    for (let i = start - 1; i >= 0 && out.length < max; i--) {
      const { summary } = this.#records.get(ids[i])!;
      if (workflowName === undefined || summary.workflowName === workflowName) {
        out.push(kit.decodeSummary(ADAPTER, summary));
      }
    }
    return out;
  }

  /**
   * The head of a session: the checkpoint its next checkpoint must follow.
   *
   * @param sessionId The session.
   * @returns The head's id, or `undefined` if the session has no checkpoints.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * assert.equal((await new MemoryCheckpointStorage().head("s1")), undefined);
   * ```
   */
  head(sessionId: string): Promise<string | undefined> {
    return settle(() => this.#heads.get(kit.checkId(ADAPTER, "read the head", "session id", sessionId)));
  }

  /**
   * Delete one checkpoint. If it was its session's head, the head moves to its parent when that parent is in
   * the same session and still exists, else to the newest remaining checkpoint of the session; a session
   * with no checkpoints left has no head.
   *
   * @param id The checkpoint's id.
   * @returns `true` if it existed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * assert.equal((await new MemoryCheckpointStorage().delete("01JABC")), false);
   * ```
   */
  delete(id: string): Promise<boolean> {
    return settle(() => this.#delete(kit.checkId(ADAPTER, "delete a checkpoint", "checkpoint id", id)));
  }

  async #delete(id: string): Promise<boolean> {
    const record = this.#records.get(id);
    if (!record) return false;
    const deleted = record.summary;
    const { sessionId } = deleted;
    // A delta on this checkpoint (all in its session) is stored whole first: nothing may need a deleted
    // payload.
    for (const dependentId of this.#sessions.get(sessionId)!) {
      const dependent = this.#records.get(dependentId)!;
      if (dependent.base !== id || this.#deltas === undefined) continue;
      const whole = await this.#deltas.rebase(dependentId, dependent.payload, id, this.#read);
      if (whole !== undefined) {
        this.#records.set(dependentId, { ...dependent, payload: whole, base: null, copy: null });
      }
    }
    this.#deltas?.forget(id);
    if (!this.#records.has(id)) return false;
    this.#records.delete(id);
    removeSorted(this.#order, id);
    const ids = this.#sessions.get(sessionId)!;
    removeSorted(ids, id);
    if (ids.length === 0) {
      this.#sessions.delete(sessionId);
      this.#setHead(sessionId, undefined);
    } else if (this.#heads.get(sessionId) === id) {
      const parent = deleted.parentId === null ? undefined : this.#records.get(deleted.parentId);
      this.#setHead(sessionId, kit.headAfterDelete(deleted, parent?.summary.sessionId, ids[ids.length - 1])!);
    }
    return true;
  }

  /**
   * Delete every checkpoint of a session.
   *
   * @param sessionId The session.
   * @returns How many checkpoints were deleted (0 for an unknown session).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * assert.equal((await new MemoryCheckpointStorage().deleteSession("s1")), 0);
   * ```
   */
  deleteSession(sessionId: string): Promise<number> {
    return settle(() => {
      const ids = this.#sessions.get(kit.checkId(ADAPTER, "delete a session", "session id", sessionId));
      if (!ids) return 0;
      this.#setHead(sessionId, undefined);
      for (const id of ids) {
        this.#records.delete(id);
        this.#deltas?.forget(id);
      }
      this.#order = this.#order.filter((id) => this.#records.has(id));
      this.#sessions.delete(sessionId);
      return ids.length;
    });
  }

  /**
   * Claim a session for `owner`: only when it has no lease or its lease lapsed (`expiresAt <= now`).
   *
   * @param sessionId The session.
   * @param owner The claimant.
   * @param request The claimant's clock (`now`) and the lease's length (`ttlMs`).
   * @returns The lease, or `undefined` if another claim holds the session.
   * @throws {TypeError} If the session id or owner is invalid, or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   *
   * const storage = new MemoryCheckpointStorage();
   * const lease = await storage.claimLease("s1", "worker-a", { now: 0, ttlMs: 1000 });
   * assert.equal(lease?.owner, "worker-a");
   * assert.equal(await storage.claimLease("s1", "worker-b", { now: 999, ttlMs: 1000 }), undefined);
   * assert.equal((await storage.claimLease("s1", "worker-b", { now: 1000, ttlMs: 1000 }))?.owner, "worker-b");
   * ```
   */
  claimLease(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined> {
    return settle(() => {
      const claim = kit.checkLeaseClaim(ADAPTER, sessionId, owner, request);
      if (!kit.leaseFree(this.#leases.get(sessionId)?.expiresAt, claim.now)) return undefined;
      const lease = kit.newLease(claim);
      this.#leases.set(sessionId, lease);
      return { ...lease };
    });
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
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   *
   * const storage = new MemoryCheckpointStorage();
   * const lease = (await storage.claimLease("s1", "worker-a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal((await storage.renewLease(lease, { now: 900, ttlMs: 1000 }))?.expiresAt, 1900);
   * ```
   */
  renewLease(lease: Lease, request: LeaseRequest): Promise<Lease | undefined> {
    return settle(() => {
      kit.checkLease(ADAPTER, "renew a lease", lease);
      const { expiresAt } = kit.checkLeaseRequest(ADAPTER, request);
      if (!this.#holds(lease, lease.sessionId)) return undefined;
      const renewed = { ...this.#leases.get(lease.sessionId)!, expiresAt };
      this.#leases.set(lease.sessionId, renewed);
      return { ...renewed };
    });
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
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   *
   * const storage = new MemoryCheckpointStorage();
   * const lease = (await storage.claimLease("s1", "worker-a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal(await storage.releaseLease(lease), true);
   * assert.equal((await storage.claimLease("s1", "worker-b", { now: 1, ttlMs: 1000 }))?.owner, "worker-b");
   * ```
   */
  releaseLease(lease: Lease): Promise<boolean> {
    return settle(() => {
      kit.checkLease(ADAPTER, "release a lease", lease);
      if (!this.#holds(lease, lease.sessionId)) return false;
      this.#leases.delete(lease.sessionId);
      return true;
    });
  }

  /** Whether `lease` is the lease of `sessionId` now. */
  #holds(lease: Lease, sessionId: string): boolean {
    return lease.sessionId === sessionId && this.#leases.get(sessionId)?.token === lease.token;
  }

  /**
   * The session index: every session with a head, newest head first, with the status its head says.
   *
   * @param query Filters (`workflowName`, `status`) and paging (`limit`; `before`: an exclusive head id).
   * @returns The sessions.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `status` or an id is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new MemoryCheckpointStorage();
   * await storage.save(makeCheckpoint({ messages: [{ source: "a", data: 1 }] }));
   * const [session] = await storage.listSessions({ status: "interrupted" });
   * assert.equal(session.pendingRequests, 0);
   * ```
   */
  listSessions(query: SessionQuery = {}): Promise<SessionSummary[]> {
    return settle(() => {
      const { workflowName, status, limit, before } = kit.checkSessionQuery(ADAPTER, query);
      const order = this.#headOrder;
      const out: SessionSummary[] = [];
      const start = before === undefined ? order.length : lowerBound(order, before);
      for (let i = start - 1; i >= 0 && out.length < (limit ?? Infinity); i--) {
        const { summary, index } = this.#records.get(order[i])!;
        if (workflowName !== undefined && summary.workflowName !== workflowName) continue;
        if (status !== undefined && index.status !== status) continue;
        out.push(
          kit.decodeSession(ADAPTER, {
            status: index.status,
            pendingRequests: index.requests.length,
            head: summary,
          }),
        );
      }
      return out;
    });
  }

  /**
   * The inbox: every request pending in a session head, newest request first.
   *
   * @param query Filters (`workflowName`, `sessionId`, `requestId`) and paging (`limit`; `before`: an
   *   entry's `cursor`).
   * @returns The waiting requests.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If an id or the cursor is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new MemoryCheckpointStorage();
   * await storage.save(makeCheckpoint({ pendingRequests: [{ requestId: "r1", executorId: "ask", data: 1 }] }));
   * assert.equal((await storage.listPendingRequests({ requestId: "r1" })).length, 1);
   * ```
   */
  listPendingRequests(query: PendingRequestQuery = {}): Promise<WaitingRequest[]> {
    return settle(() => {
      const { workflowName, sessionId, requestId, limit, before } = kit.checkPendingRequestQuery(
        ADAPTER,
        query,
      );
      const sessions = sessionId === undefined
        ? this.#waiting
        : this.#waiting.has(sessionId)
        ? [sessionId]
        : [];
      const found: (kit.StoredRequest & { sessionId: string; head: kit.EncodedCheckpoint })[] = [];
      for (const session of sessions) {
        const head = this.#records.get(this.#heads.get(session)!)!;
        if (workflowName !== undefined && head.summary.workflowName !== workflowName) continue;
        for (const request of head.index.requests) {
          if (requestId !== undefined && request.requestId !== requestId) continue;
          const entry = { ...request, sessionId: session, head };
          if (kit.afterCursor(entry, before)) found.push(entry);
        }
      }
      found.sort(kit.compareWaiting);
      return found.slice(0, limit ?? Infinity).map(({ head, ...request }) =>
        kit.decodeWaitingRequest(ADAPTER, {
          ...request,
          workflowName: head.summary.workflowName,
          checkpointId: head.summary.id,
          createdAt: head.summary.createdAt,
        })
      );
    });
  }

  /**
   * The ancestry of a checkpoint: its summary, its parent's, and so on back to the root. The walk stops at a
   * parent that was deleted.
   *
   * @param id The checkpoint to start from.
   * @returns The summaries, `id` first; empty if `id` does not exist.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
   * assert.equal((await new MemoryCheckpointStorage().lineage("01JABC")).length, 0);
   * ```
   */
  async lineage(id: string): Promise<CheckpointSummary[]> {
    kit.checkId(ADAPTER, "read the lineage", "checkpoint id", id);
    const path = await kit.walkLineage(
      id,
      (current) => this.#records.get(current)?.summary,
      (s) => s.parentId,
    );
    return path.map((summary) => kit.decodeSummary(ADAPTER, summary));
  }
}

/** Options of {@linkcode MemoryCheckpointStorage}. */
export interface MemoryCheckpointStorageOptions {
  /**
   * Store each checkpoint as a delta on an earlier one of its session (`true`, or options of the delta
   * codec: how deep a chain may grow, how much it remembers), or whole (`false`). Either way `load` returns
   * whole checkpoints.
   *
   * @default {true}
   */
  deltas?: boolean | kit.DeltaOptions;
}

/** `run()`'s value as a promise, or its error as a rejection: the contract's methods never throw synchronously. */
function settle<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The index of the first element of the ascending `ids` that is not less than `id`. */
function lowerBound(ids: string[], id: string): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ids[mid] < id) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insertSorted(ids: string[], id: string): void {
  // Ids are time-ordered, so a new one almost always goes last.
  if (ids.length === 0 || ids[ids.length - 1] < id) ids.push(id);
  else ids.splice(lowerBound(ids, id), 0, id);
}

function removeSorted(ids: string[], id: string): void {
  const index = lowerBound(ids, id);
  if (ids[index] === id) ids.splice(index, 1);
}
