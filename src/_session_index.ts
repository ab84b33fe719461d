/**
 * The storage kit's part for the session index and the inbox (package-private; re-exported by
 * `storage_kit.ts`): what an adapter stores for a session head, how it checks queries, orders and pages the
 * inbox, and decodes what it read back.
 *
 * @module
 */
import {
  type Checkpoint,
  type PendingRequestQuery,
  type SessionQuery,
  type SessionStatus,
  sessionStatus,
  type WaitingRequest,
} from "./checkpoint.ts";
import { decodeValue, encodeValue } from "./codec.ts";
import { idProblem } from "./_ids.ts";
import { CheckpointCorruptError } from "./errors.ts";

/** A pending request as the inbox stores it: its ids, its data encoded with `encodeValue`, its path as JSON. */
export interface StoredRequest {
  /** The request's id. */
  requestId: string;
  /** The executor that receives the answer. */
  executorId: string;
  /** Its data, encoded with `encodeValue`. */
  data: string;
  /** Its `path` (sub-workflows) as JSON text, or `null` when it has none. */
  path: string | null;
}

/**
 * What the session index and the inbox hold for a checkpoint while it is its session's head, derived from
 * the whole checkpoint when it is saved (never decoded back from a payload).
 */
export interface StoredIndex {
  /** The status it gives its session. */
  status: SessionStatus;
  /** Its pending requests. */
  requests: StoredRequest[];
  /** `requests` as JSON text (`"[]"` for none): for a SQL backend to store in one column and expand. */
  requestsJson: string;
}

const NO_REQUESTS: StoredIndex["requests"] = [];

/**
 * The index entry of a checkpoint (what `encodeForStorage` returns as `index`).
 *
 * @param checkpoint The whole checkpoint.
 * @returns Its status and its pending requests, encoded.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { indexOf } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const index = indexOf(makeCheckpoint({ pendingRequests: [{ requestId: "r1", executorId: "ask", data: 1 }] }));
 * assert.equal(index.status, "waiting");
 * assert.equal(index.requests[0].requestId, "r1");
 * ```
 */
export function indexOf(checkpoint: Checkpoint): StoredIndex {
  const status = sessionStatus(checkpoint);
  if (checkpoint.pendingRequests.length === 0) return { status, requests: NO_REQUESTS, requestsJson: "[]" };
  const requests = checkpoint.pendingRequests.map((request): StoredRequest => ({
    requestId: request.requestId,
    executorId: request.executorId,
    data: encodeValue(request.data),
    path: request.path === undefined ? null : JSON.stringify(request.path),
  }));
  return { status, requests, requestsJson: JSON.stringify(requests) };
}

/** Every session status. */
export const STATUSES: readonly SessionStatus[] = ["waiting", "interrupted", "completed"];

function checkLimit(adapter: string, what: string, limit: unknown): void {
  if (limit !== undefined && (!Number.isInteger(limit) || (limit as number) <= 0)) {
    throw new RangeError(`${adapter}: cannot list ${what}: limit must be a positive integer, got ${limit}`);
  }
}

function checkQueryId(adapter: string, what: string, name: string, value: unknown): void {
  if (value === undefined) return;
  const problem = idProblem(value, true);
  if (problem !== undefined) {
    throw new TypeError(
      `${adapter}: cannot list ${what}: invalid ${name} ${JSON.stringify(value)}: ${problem}`,
    );
  }
}

/**
 * Check a session index query before it reaches the backend.
 *
 * @param adapter The adapter's name, which starts the error message.
 * @param query The query (`undefined`: every session).
 * @returns The query (a new object).
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {TypeError} If `status` is not a status, or `workflowName` or `before` is not a valid id.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSessionQuery } from "@superstep/superstep/storage-kit";
 *
 * assert.deepEqual(checkSessionQuery("toy", { status: "waiting" }), { status: "waiting" });
 * assert.throws(() => checkSessionQuery("toy", { status: "done" as "completed" }), TypeError);
 * ```
 */
export function checkSessionQuery(adapter: string, query: SessionQuery | undefined): SessionQuery {
  const { workflowName, status, limit, before } = query ?? {};
  checkLimit(adapter, "sessions", limit);
  if (status !== undefined && !STATUSES.includes(status)) {
    throw new TypeError(
      `${adapter}: cannot list sessions: invalid status ${JSON.stringify(status)} (one of ${
        STATUSES.join(", ")
      })`,
    );
  }
  checkQueryId(adapter, "sessions", "workflow name", workflowName);
  checkQueryId(adapter, "sessions", "before cursor", before);
  return { ...query };
}

/** An inbox query as an adapter runs it: `before` split into the request and the session it names. */
export interface CheckedRequestQuery extends Omit<PendingRequestQuery, "before"> {
  /** The entry the page starts after, if any. */
  before?: { requestId: string; sessionId: string };
}

/**
 * Check an inbox query before it reaches the backend, and split its `before` cursor.
 *
 * @param adapter The adapter's name, which starts the error message.
 * @param query The query (`undefined`: every waiting request).
 * @returns The query, `before` split.
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {TypeError} If an id is invalid, or `before` is not a cursor an entry gave.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPendingRequestQuery, requestCursor } from "@superstep/superstep/storage-kit";
 *
 * const checked = checkPendingRequestQuery("toy", { before: requestCursor("r1", "s1") });
 * assert.deepEqual(checked.before, { requestId: "r1", sessionId: "s1" });
 * assert.throws(() => checkPendingRequestQuery("toy", { before: "r1" }), TypeError);
 * ```
 */
export function checkPendingRequestQuery(
  adapter: string,
  query: PendingRequestQuery | undefined,
): CheckedRequestQuery {
  const { workflowName, sessionId, requestId, limit, before, ...rest } = query ?? {};
  checkLimit(adapter, "pending requests", limit);
  checkQueryId(adapter, "pending requests", "workflow name", workflowName);
  checkQueryId(adapter, "pending requests", "session id", sessionId);
  checkQueryId(adapter, "pending requests", "request id", requestId);
  const checked: CheckedRequestQuery = { ...rest };
  if (workflowName !== undefined) checked.workflowName = workflowName;
  if (sessionId !== undefined) checked.sessionId = sessionId;
  if (requestId !== undefined) checked.requestId = requestId;
  if (limit !== undefined) checked.limit = limit;
  if (before !== undefined) checked.before = parseCursor(adapter, before);
  return checked;
}

function parseCursor(adapter: string, cursor: unknown): { requestId: string; sessionId: string } {
  let parts: unknown;
  try {
    parts = typeof cursor === "string" ? JSON.parse(cursor) : undefined;
  } catch {
    parts = undefined;
  }
  if (
    !Array.isArray(parts) || parts.length !== 2 || parts.some((part) => idProblem(part, true) !== undefined)
  ) {
    throw new TypeError(
      `${adapter}: cannot list pending requests: invalid before cursor ${
        JSON.stringify(cursor)
      } (the cursor of an entry)`,
    );
  }
  return { requestId: parts[0], sessionId: parts[1] };
}

/**
 * The paging cursor of an inbox entry (its `cursor`).
 *
 * @param requestId The request.
 * @param sessionId The session whose head holds it.
 * @returns The cursor.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestCursor } from "@superstep/superstep/storage-kit";
 *
 * assert.notEqual(requestCursor("r1", "s1"), requestCursor("r1", "s2"));
 * ```
 */
export function requestCursor(requestId: string, sessionId: string): string {
  return JSON.stringify([requestId, sessionId]);
}

/**
 * The inbox order: newest request first (request ids are time-ordered), then by session, descending (a fork
 * holds its source's requests under the same ids). Negative when `a` comes first.
 *
 * @param a One entry's request and session.
 * @param b Another's.
 * @returns A comparison for `Array.prototype.sort`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareWaiting } from "@superstep/superstep/storage-kit";
 *
 * assert.ok(compareWaiting({ requestId: "r2", sessionId: "s" }, { requestId: "r1", sessionId: "s" }) < 0);
 * ```
 */
export function compareWaiting(
  a: { requestId: string; sessionId: string },
  b: { requestId: string; sessionId: string },
): number {
  if (a.requestId !== b.requestId) return a.requestId > b.requestId ? -1 : 1;
  return a.sessionId === b.sessionId ? 0 : a.sessionId > b.sessionId ? -1 : 1;
}

/**
 * Whether an inbox entry comes after the cursor `before` (is on the page it starts).
 *
 * @param entry The entry's request and session.
 * @param before The checked query's `before`, or `undefined` (every entry).
 * @returns Whether it comes after.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { afterCursor } from "@superstep/superstep/storage-kit";
 *
 * assert.equal(afterCursor({ requestId: "r1", sessionId: "s" }, { requestId: "r2", sessionId: "s" }), true);
 * ```
 */
export function afterCursor(
  entry: { requestId: string; sessionId: string },
  before: { requestId: string; sessionId: string } | undefined,
): boolean {
  return before === undefined || compareWaiting(entry, before) > 0;
}

/** An inbox row read back from a backend, not trusted yet. */
export type StoredWaitingRequest = Readonly<
  Partial<Record<keyof StoredRequest | "sessionId" | "workflowName" | "checkpointId" | "createdAt", unknown>>
>;

/**
 * Decode an inbox row, checking every field and decoding the request's data.
 *
 * @param adapter The adapter's name, named in errors.
 * @param stored The row: the stored request's fields and where it waits.
 * @returns The waiting request (its data a fresh copy).
 * @throws {CheckpointCorruptError} Naming the checkpoint, if a field is missing, mistyped or undecodable.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWaitingRequest, indexOf } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const head = makeCheckpoint({ pendingRequests: [{ requestId: "r1", executorId: "ask", data: { n: 1 } }] });
 * const [request] = indexOf(head).requests;
 * const waiting = decodeWaitingRequest("toy", { ...request, ...head, checkpointId: head.id });
 * assert.deepEqual(waiting.data, { n: 1 });
 * ```
 */
export function decodeWaitingRequest(adapter: string, stored: StoredWaitingRequest): WaitingRequest {
  const { requestId, executorId, data, path, sessionId, workflowName, checkpointId, createdAt } = stored;
  const id = typeof checkpointId === "string" ? checkpointId : undefined;
  const corrupt = (why: string, cause?: unknown) =>
    new CheckpointCorruptError(id, `${adapter}: its inbox entry ${why}`, {
      cause,
      ...(typeof sessionId === "string" && { sessionId }),
      ...(typeof workflowName === "string" && { workflowName }),
    });
  if (
    id === undefined || typeof requestId !== "string" || typeof executorId !== "string" ||
    typeof sessionId !== "string" || typeof workflowName !== "string" || typeof createdAt !== "string" ||
    typeof data !== "string" || (path !== null && path !== undefined && typeof path !== "string")
  ) {
    throw corrupt("is not valid");
  }
  let value: unknown;
  let steps: unknown;
  try {
    value = decodeValue(data);
    steps = typeof path === "string" ? JSON.parse(path) : undefined;
  } catch (error) {
    throw corrupt("does not decode", error);
  }
  if (steps !== undefined && (!Array.isArray(steps) || steps.some((step) => typeof step !== "string"))) {
    throw corrupt("has an invalid path");
  }
  return {
    requestId,
    executorId,
    data: value,
    ...(steps !== undefined && { path: steps as string[] }),
    sessionId,
    workflowName,
    checkpointId: id,
    createdAt,
    cursor: requestCursor(requestId, sessionId),
  };
}
