/**
 * Operating sessions: the session index (`listSessions`) and the inbox of waiting requests
 * (`listPendingRequests`), answered from the index a storage keeps with its heads.
 *
 * @module
 */
import type {
  CheckpointStorage,
  PendingRequestQuery,
  SessionQuery,
  SessionSummary,
  WaitingRequest,
} from "./checkpoint.ts";
import { StorageCapabilityError } from "./errors.ts";

/**
 * Every session with a head, newest head first, with the status its head says (`"waiting"`,
 * `"interrupted"`, `"completed"`: see `SessionStatus`), from the storage's session index. Page with
 * `before`: the last session's `head.id`.
 *
 * The storage must keep an index (the `listSessions` capability: every adapter of this package does);
 * without one this refuses rather than scan every checkpoint.
 *
 * @param storage The storage.
 * @param query Filters (`workflowName`, `status`) and paging (`limit`, `before`).
 * @returns The sessions, newest head first.
 * @throws {StorageCapabilityError} If the storage keeps no session index.
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {TypeError} If `status` or an id is invalid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listSessions } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new MemoryCheckpointStorage();
 * await storage.save(makeCheckpoint({ sessionId: "done" }));
 * await storage.save(makeCheckpoint({ sessionId: "asks", pendingRequests: [{ requestId: "r1", executorId: "ask", data: "ok?" }] }));
 * const waiting = await listSessions(storage, { status: "waiting" });
 * assert.deepEqual(waiting.map((session) => session.sessionId), ["asks"]);
 * ```
 * @experimental
 */
export function listSessions(
  storage: CheckpointStorage,
  query: SessionQuery = {},
): Promise<SessionSummary[]> {
  if (typeof storage?.listSessions !== "function") {
    return Promise.reject(new StorageCapabilityError("listSessions"));
  }
  return storage.listSessions(query);
}

/**
 * Every request waiting for an answer in a session head, newest request first, with its session, the
 * checkpoint holding it and its data, from the storage's inbox index. Page with `before`: the last entry's
 * `cursor`. Answer one with `answerRequest`.
 *
 * The storage must keep an inbox (the `listPendingRequests` capability: every adapter of this package
 * does); without one this refuses rather than scan every checkpoint.
 *
 * @param storage The storage.
 * @param query Filters (`workflowName`, `sessionId`, `requestId`) and paging (`limit`, `before`).
 * @returns The waiting requests.
 * @throws {StorageCapabilityError} If the storage keeps no inbox.
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {TypeError} If an id or the cursor is invalid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listPendingRequests } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new MemoryCheckpointStorage();
 * const head = makeCheckpoint({ pendingRequests: [{ requestId: "r1", executorId: "ask", data: "ok?" }] });
 * await storage.save(head);
 * const [waiting] = await listPendingRequests(storage);
 * assert.equal(waiting.checkpointId, head.id);
 * assert.equal(waiting.data, "ok?");
 * ```
 * @experimental
 */
export function listPendingRequests(
  storage: CheckpointStorage,
  query: PendingRequestQuery = {},
): Promise<WaitingRequest[]> {
  if (typeof storage?.listPendingRequests !== "function") {
    return Promise.reject(new StorageCapabilityError("listPendingRequests"));
  }
  return storage.listPendingRequests(query);
}
