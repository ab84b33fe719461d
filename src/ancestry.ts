/**
 * The ancestry tracker: walks checkpoint parent pointers in any {@linkcode CheckpointStorage}.
 *
 * Sessions are branches: a session's latest checkpoint is its head (what the head compare-and-set last
 * accepted), never the one with the greatest timestamp.
 *
 * @module
 */
import { type CheckpointStorage, type CheckpointSummary, toSummary } from "./checkpoint.ts";
import { CheckpointNotFoundError } from "./errors.ts";
import { walkLineage } from "./storage_kit.ts";

/** How many summaries {@linkcode children} asks `list` for at a time. */
const CHILDREN_PAGE = 500;

/**
 * The ancestry of a checkpoint: its summary, its parent's, and so on back to the root, across forks into
 * other sessions. The walk stops cleanly at a parent that was deleted.
 *
 * Uses the storage's `lineage` fast path when it has one; otherwise loads each ancestor in turn (one `load`
 * of a whole checkpoint per ancestor).
 *
 * @param storage The storage.
 * @param id The checkpoint to start from.
 * @returns The summaries, `id` first, root last.
 * @throws {CheckpointNotFoundError} If there is no checkpoint `id`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineage } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new MemoryCheckpointStorage();
 * const root = makeCheckpoint();
 * const child = makeCheckpoint({ parentId: root.id, sessionId: root.sessionId });
 * await storage.save(root);
 * await storage.save(child);
 * const path = await lineage(storage, child.id);
 * assert.equal(path.map((c) => c.id).join(), [child.id, root.id].join());
 * ```
 */
export async function lineage(storage: CheckpointStorage, id: string): Promise<CheckpointSummary[]> {
  if (storage.lineage) {
    const summaries = await storage.lineage(id);
    if (summaries.length === 0) throw new CheckpointNotFoundError(id);
    return summaries;
  }
  const out = await walkLineage(
    id,
    async (current) => {
      const checkpoint = await storage.load(current);
      return checkpoint && toSummary(checkpoint);
    },
    (summary) => summary.parentId,
  );
  if (out.length === 0) throw new CheckpointNotFoundError(id);
  return out;
}

/**
 * The checkpoints whose parent is `id`, in any session: its successor in its own session and the first
 * checkpoint of every session forked from it. A checkpoint that was deleted can still have children.
 *
 * Cost: storages index checkpoints by id, session and workflow, not by parent, so this pages through every
 * summary in the storage with `list` (O(all checkpoints)). Meant for inspection tools, not for a hot path.
 *
 * @param storage The storage.
 * @param id The parent's id.
 * @returns The children's summaries, newest first; empty if there are none.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { children } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new MemoryCheckpointStorage();
 * const root = makeCheckpoint();
 * await storage.save(root);
 * await storage.save(makeCheckpoint({ parentId: root.id })); // a fork: another session
 * const forks = await children(storage, root.id);
 * assert.equal(forks.length, 1);
 * ```
 */
export async function children(storage: CheckpointStorage, id: string): Promise<CheckpointSummary[]> {
  const out: CheckpointSummary[] = [];
  let before: string | undefined;
  while (true) {
    const page = await storage.list({ limit: CHILDREN_PAGE, before });
    for (const summary of page) {
      if (summary.parentId === id) out.push(summary);
    }
    if (page.length < CHILDREN_PAGE) return out;
    before = page[page.length - 1].id;
  }
}

/**
 * The head of a session: its latest checkpoint, the one its next checkpoint must follow, and the one to
 * resume it from. Not necessarily its newest by time (a head moves back when it is deleted).
 *
 * @param storage The storage.
 * @param sessionId The session.
 * @returns The head's id, or `undefined` if the session has no checkpoints.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { head } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 *
 * const latest = await head(new MemoryCheckpointStorage(), "session-1");
 * assert.equal(latest, undefined);
 * ```
 */
export function head(storage: CheckpointStorage, sessionId: string): Promise<string | undefined> {
  return storage.head(sessionId);
}
