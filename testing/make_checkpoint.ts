/**
 * A valid checkpoint for storage tests.
 *
 * @module
 */
import type { Checkpoint } from "../src/checkpoint.ts";
import { newId, newSessionId } from "../src/_ulid.ts";

/**
 * A valid checkpoint with empty payloads, for an adapter author's own tests. Every field can be overridden.
 *
 * Defaults: a fresh time-ordered `id` (sorting after `overrides.parentId` when that is given), `parentId`
 * `null`, a fresh random `sessionId`, `workflowName` `"test"`, a zero `graphSignature`, `superstep` 0,
 * `createdAt` now, and empty `messages`, `state`, `executorState`, `edgeState`, `pendingRequests` and
 * `metadata`.
 *
 * @param overrides The fields to set.
 * @returns A new checkpoint (new objects for every default payload).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 *
 * const storage = new MemoryCheckpointStorage();
 * const root = makeCheckpoint({ state: { count: 1 } });
 * await storage.save(root);
 * const child = makeCheckpoint({ parentId: root.id, sessionId: root.sessionId, superstep: 1 });
 * await storage.save(child);
 * assert.equal(await storage.head(root.sessionId), child.id);
 * ```
 */
export function makeCheckpoint(overrides: Partial<Checkpoint> = {}): Checkpoint {
  const parentId = overrides.parentId ?? null;
  return {
    version: 1,
    id: newId(parentId ?? undefined),
    parentId,
    sessionId: newSessionId(),
    workflowName: "test",
    graphSignature: "0".repeat(64),
    superstep: 0,
    createdAt: new Date().toISOString(),
    messages: [],
    state: {},
    executorState: {},
    edgeState: {},
    pendingRequests: [],
    metadata: {},
    ...overrides,
  };
}
