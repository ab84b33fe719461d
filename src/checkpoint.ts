/**
 * The checkpoint format and the storage adapter contract.
 *
 * @module
 */
import type { PendingRequest } from "./events.ts";

/** The current checkpoint format version; stored in every checkpoint. */
export const CHECKPOINT_VERSION = 1;

/** A message sent in one superstep and not yet delivered (it is delivered in the next one). */
export interface QueuedMessage {
  /** The executor that sent it (`"__input__"` for the run's input). */
  source: string;
  /** The message itself. */
  data: unknown;
  /** The target named with `send(msg, { to })`, if any. */
  to?: string;
}

/** An answer delivered to a pending request, recorded until its handler has run (`Checkpoint.answers`). */
export interface Answer {
  /** The request it answers (no longer pending). */
  request: PendingRequest;
  /** The answer. */
  response: unknown;
}

/**
 * The status a checkpoint gives its session when it is the head (see {@linkcode SessionStatus}).
 *
 * @param checkpoint The checkpoint.
 * @returns `"waiting"` with pending requests, else `"interrupted"` with queued messages or unhandled
 *   answers, else `"completed"`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionStatus } from "@superstep/superstep";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * assert.equal(sessionStatus(makeCheckpoint({ messages: [{ source: "a", data: 1 }] })), "interrupted");
 * assert.equal(sessionStatus(makeCheckpoint()), "completed");
 * ```
 * @experimental
 */
export function sessionStatus(
  checkpoint: Pick<Checkpoint, "pendingRequests" | "messages" | "answers">,
): SessionStatus {
  if (checkpoint.pendingRequests.length > 0) return "waiting";
  if (checkpoint.messages.length > 0 || (checkpoint.answers?.length ?? 0) > 0) return "interrupted";
  return "completed";
}

/** Everything needed to continue a run, written after every superstep. */
export interface Checkpoint {
  /** Schema version of the checkpoint format. */
  version: 1;
  /** Time-ordered unique id (ULID-like, sortable). */
  id: string;
  /** The checkpoint this one follows; `null` for the root of a lineage. */
  parentId: string | null;
  /** The session (branch) this checkpoint belongs to. */
  sessionId: string;
  /** The workflow's name. */
  workflowName: string;
  /** SHA-256 (hex) of the canonical graph description. */
  graphSignature: string;
  /** Cumulative superstep index (0 = the entry checkpoint). */
  superstep: number;
  /** ISO-8601 UTC creation time. */
  createdAt: string;
  /** Messages sent in this superstep, delivered in the next. */
  messages: QueuedMessage[];
  /** Committed shared state. */
  state: Record<string, unknown>;
  /** `snapshot()` of every executor that has one, by executor id. */
  executorState: Record<string, unknown>;
  /** Edge runner state (fan-in buffers), by edge group id. */
  edgeState: Record<string, unknown>;
  /** Requests not yet answered. */
  pendingRequests: PendingRequest[];
  /**
   * Answers delivered but not yet handled: written when `respond` or `resume` with responses delivers
   * answers, before their handlers run, so an answer a person gave survives a crash; the next superstep
   * hands them to `onResponse`. Absent (or empty) otherwise.
   */
  answers?: Answer[];
  /**
   * The `version` of every executor whose snapshot `executorState` holds and that declares one: what a
   * resume by another version of the workflow compares (see `Executor.upgrade`). Absent when there is none.
   */
  versions?: Record<string, string>;
  /**
   * The description of the graph that wrote the checkpoint (what its `graphSignature` hashes), written on a
   * session's first checkpoint and whenever the graph changed since the parent; later checkpoints of the
   * same signature find it on their ancestors. Used to say what changed when a resume is refused.
   */
  graph?: string;
  /** Free-form metadata (JSON-like values). */
  metadata: Record<string, unknown>;
}

/** A checkpoint without its payload: what `list` and `lineage` return. */
export interface CheckpointSummary {
  /** The checkpoint's id. */
  id: string;
  /** Its parent, or `null` for a root. */
  parentId: string | null;
  /** Its session. */
  sessionId: string;
  /** Its workflow's name. */
  workflowName: string;
  /** Its cumulative superstep index. */
  superstep: number;
  /** Its ISO-8601 creation time. */
  createdAt: string;
  /** Its metadata. */
  metadata: Record<string, unknown>;
}

/** Filters and paging for `CheckpointStorage.list`. */
export interface CheckpointQuery {
  /** Only checkpoints of this workflow. */
  workflowName?: string;
  /** Only checkpoints of this session. */
  sessionId?: string;
  /** At most this many (the newest). A positive integer; anything else is a `RangeError`. */
  limit?: number;
  /** Only checkpoints older than this id (exclusive): the cursor for the next page. */
  before?: string;
}

/**
 * What a session's head says about it (see {@linkcode sessionStatus}):
 * - `"waiting"`: the head holds pending requests (answer them with `answerRequest` or `resume`);
 * - `"interrupted"`: no request pending, but work left — queued messages, or answers not yet handled: a run
 *   still going, or one that stopped mid-way (a crash, a cancel, a failed superstep, a run that did not
 *   converge), resumable from its head;
 * - `"completed"`: nothing queued, nothing pending.
 *
 * A failed run writes no checkpoint of its own (the superstep that failed is not committed), so a failure
 * shows as `"interrupted"`: its head still holds the messages of the superstep that failed.
 *
 * @experimental
 */
export type SessionStatus = "waiting" | "interrupted" | "completed";

/** One session as the session index holds it: its head's summary and the status its head says. */
export interface SessionSummary {
  /** The session. */
  sessionId: string;
  /** The workflow of its head. */
  workflowName: string;
  /** What its head says (see {@linkcode SessionStatus}). */
  status: SessionStatus;
  /** How many requests its head holds pending. */
  pendingRequests: number;
  /** Its head's summary (`head.id` is the head; `head.createdAt` when the session last moved). */
  head: CheckpointSummary;
}

/** Filters and paging of the session index (`CheckpointStorage.listSessions`, `listSessions`). */
export interface SessionQuery {
  /** Only sessions whose head is of this workflow. */
  workflowName?: string;
  /** Only sessions of this status. */
  status?: SessionStatus;
  /** At most this many. A positive integer; anything else is a `RangeError`. */
  limit?: number;
  /**
   * Only sessions whose head id is less than this (exclusive): the cursor of the next page is the last
   * session's `head.id`. Sessions come newest head first.
   */
  before?: string;
}

/** A request waiting for an answer, as the inbox holds it: the request and where it waits. */
export interface WaitingRequest extends PendingRequest {
  /** The session whose head holds it. */
  sessionId: string;
  /** The workflow of that head. */
  workflowName: string;
  /** The head checkpoint that holds it (what an answer resumes). */
  checkpointId: string;
  /** When that checkpoint was written (ISO-8601). */
  createdAt: string;
  /**
   * The paging cursor of this entry: pass it as `before` for the entries after it. Opaque (it names the
   * request and its session: a fork holds its source's requests under the same ids).
   */
  cursor: string;
}

/** Filters and paging of the inbox (`CheckpointStorage.listPendingRequests`, `listPendingRequests`). */
export interface PendingRequestQuery {
  /** Only requests of sessions whose head is of this workflow. */
  workflowName?: string;
  /** Only requests of this session. */
  sessionId?: string;
  /** Only this request (one entry per session holding it: a fork copies its source's requests). */
  requestId?: string;
  /** At most this many. A positive integer; anything else is a `RangeError`. */
  limit?: number;
  /** Only entries after this one: an entry's `cursor`. Entries come newest request first. */
  before?: string;
}

/**
 * A claim on a session (`CheckpointStorage.claimLease`): its owner runs the session until `expiresAt`,
 * renewing the claim while it runs; no other claimant gets the session meanwhile, and a save carrying a
 * lease that another claim replaced is refused (fencing).
 *
 * @experimental
 */
export interface Lease {
  /** The session claimed. */
  sessionId: string;
  /** Who claimed it (a process, a host: any non-empty string). */
  owner: string;
  /** Unique to this claim (a renewal keeps it): what a save, a renewal and a release check. */
  token: string;
  /** When the claim lapses unless renewed, in milliseconds since the epoch (the claimant's clock). */
  expiresAt: number;
}

/** What `claimLease` and `renewLease` are asked: the claimant's clock now and how long the claim lasts. */
export interface LeaseRequest {
  /** The claimant's time now, in milliseconds since the epoch: a lease whose `expiresAt <= now` is free. */
  now: number;
  /** How long the claim lasts from `now`, in milliseconds. A positive finite number. */
  ttlMs: number;
}

/** Options of `CheckpointStorage.save`. */
export interface SaveOptions {
  /**
   * The lease the saving run holds on the checkpoint's session: the save writes nothing and throws
   * `LeaseLostError` unless the session's lease is still this one (same `token`), checked in the same
   * atomic write as the head compare-and-set. A storage without the lease capability ignores it.
   */
  lease?: Lease;
}

/**
 * Where checkpoints live. Implement it to add a storage; run
 * `checkpointStorageConformance` from `@superstep/superstep/testing` to prove it.
 *
 * Rules every adapter keeps:
 * - `save` is atomic and compare-and-sets the session head: it fails with
 *   `CheckpointConflictError` (writing nothing) unless `checkpoint.parentId` is
 *   the session's current head, or the session has no head and the parent is
 *   `null` (a new lineage) or a checkpoint of another session (a fork). So a
 *   run still writing to a session deleted meanwhile is refused
 *   (`parent-missing`) instead of bringing it back. A duplicate id is a
 *   conflict too.
 * - Ids (checkpoint, session, workflow, request, executor) are well-formed
 *   Unicode: every method refuses one holding a lone surrogate with a
 *   `TypeError` (stored as UTF-8 it would become U+FFFD and meet another id).
 * - Values are encoded with the core codec (`encodeCheckpoint`), never aliased.
 *   The storage kit (`@superstep/superstep/storage-kit`) holds these rules.
 * - `list` returns newest first (by id, which is time-ordered).
 * - `delete` of a session's head moves the head: to the deleted checkpoint's
 *   parent if that parent is in the same session and still exists, else to the
 *   newest (by id) remaining checkpoint of the session; a session with no
 *   checkpoints left has no head.
 * - `lineage` returns `[]` for an unknown id and stops cleanly at a parent that
 *   was deleted.
 * - An adapter with the index capabilities (`listSessions`, `listPendingRequests`) derives each session's
 *   entry from the whole checkpoint given to `save` (the kit's `encodeForStorage` hands it over as `index`),
 *   never by decoding stored payloads, and keeps it in the same atomic write as the head; when `delete`
 *   moves a head, the entry follows the new head.
 * - An adapter with the lease capability (`claimLease`, `renewLease`, `releaseLease`, all three) keeps one
 *   lease per session, claims it with a single atomic compare-and-set, and checks `save`'s `lease` option in
 *   the same atomic write as the head.
 */
export interface CheckpointStorage {
  /**
   * Store a checkpoint and make it its session's head, atomically. With `options.lease` (a storage with
   * the lease capability), only while that lease is still the session's.
   */
  save(checkpoint: Checkpoint, options?: SaveOptions): Promise<void>;
  /** Load a checkpoint, or `undefined` if there is none with that id. */
  load(id: string): Promise<Checkpoint | undefined>;
  /** Summaries, newest first. */
  list(query?: CheckpointQuery): Promise<CheckpointSummary[]>;
  /** The newest checkpoint of a session (its head), or `undefined`. */
  head(sessionId: string): Promise<string | undefined>;
  /** Delete one checkpoint; `true` if it existed. Moves the session head if it was the head (see above). */
  delete(id: string): Promise<boolean>;
  /** Delete every checkpoint of a session; returns how many. */
  deleteSession(sessionId: string): Promise<number>;
  /** Optional fast path: the summaries from `id` back to its root, `id` first; `[]` if `id` does not exist. */
  lineage?(id: string): Promise<CheckpointSummary[]>;
  /**
   * Optional capability, the session index: every session with a head, newest head first, from an index
   * kept atomically with the heads in `save`, `delete` and `deleteSession` (never a scan of all
   * checkpoints). Queries are checked with the storage kit's `checkSessionQuery`.
   */
  listSessions?(query: SessionQuery): Promise<SessionSummary[]>;
  /**
   * Optional capability, the inbox: every request pending in a session head, newest request first, from an
   * index kept atomically with the heads like `listSessions`. Queries are checked with the storage kit's
   * `checkPendingRequestQuery`.
   */
  listPendingRequests?(query: PendingRequestQuery): Promise<WaitingRequest[]>;
  /**
   * Optional capability, leases (with `renewLease` and `releaseLease`): claim `sessionId` for `owner` for
   * `request.ttlMs` from `request.now`, atomically with respect to every other claimant: it succeeds only
   * when the session has no lease or its lease expired (`expiresAt <= now`), whoever holds it (a second
   * claim by the same owner is refused too). A lease is independent of the session's checkpoints (a
   * session with none can be claimed) and survives `deleteSession`. Checked with the storage kit's
   * `checkLeaseClaim`.
   *
   * @returns The new lease, with a fresh `token`; `undefined` if another claim holds the session.
   */
  claimLease?(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined>;
  /**
   * Extend a lease to `request.ttlMs` from `request.now`, if it is still the session's (same `token`),
   * expired or not: a lease no one else claimed meanwhile is renewed.
   *
   * @returns The renewed lease (same token, new `expiresAt`), or `undefined` if another claim replaced it
   *   or it was released.
   */
  renewLease?(lease: Lease, request: LeaseRequest): Promise<Lease | undefined>;
  /** Drop a lease if it is still the session's; `true` if it was. */
  releaseLease?(lease: Lease): Promise<boolean>;
  /** Release resources the adapter opened itself. */
  close?(): Promise<void>;
}

/**
 * The summary of a checkpoint (drops the payload).
 *
 * @param checkpoint The full checkpoint.
 * @returns Its summary.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toSummary } from "@superstep/superstep";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const summary = toSummary(makeCheckpoint());
 * assert.ok(!("state" in summary));
 * ```
 */
export function toSummary(checkpoint: Checkpoint): CheckpointSummary {
  return {
    id: checkpoint.id,
    parentId: checkpoint.parentId,
    sessionId: checkpoint.sessionId,
    workflowName: checkpoint.workflowName,
    superstep: checkpoint.superstep,
    createdAt: checkpoint.createdAt,
    metadata: checkpoint.metadata,
  };
}
