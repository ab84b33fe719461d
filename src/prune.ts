/**
 * Retention: `prune` removes old checkpoints of a session or a workflow, never one that is still needed.
 *
 * @module
 */
import type { CheckpointStorage, CheckpointSummary } from "./checkpoint.ts";
import { describeType } from "./_describe.ts";
import { idProblem } from "./_ids.ts";

/** What {@linkcode prune} removes: the checkpoints of one session or of one workflow, by age or count. */
export interface PruneOptions {
  /** Prune this session (give this or `workflowName`). */
  sessionId?: string;
  /** Prune every session of this workflow (give this or `sessionId`). */
  workflowName?: string;
  /**
   * Keep the newest `keepLast` checkpoints of each session (at least one of `keepLast` and `olderThan`).
   * With both, a checkpoint goes only if it is past the newest `keepLast` and older than `olderThan`.
   */
  keepLast?: number;
  /** Remove only checkpoints created before this time (a `Date` or an ISO-8601 string). */
  olderThan?: Date | string;
}

/** What {@linkcode prune} did. */
export interface PruneResult {
  /** The summaries of the checkpoints it removed, newest first. */
  removed: CheckpointSummary[];
  /** Checkpoints it kept although the options would remove them: session heads, and those waiting for answers. */
  protected: number;
}

/**
 * Remove the checkpoints of a session (or of every session of a workflow) that `keepLast` and `olderThan`
 * let go — never a session's head, never a checkpoint with pending requests (an answer may still resume
 * it), and never what a kept checkpoint needs to load: adapters storing deltas make a kept child whole
 * before its parent goes, so every checkpoint that remains loads exactly. A checkpoint whose parent was
 * removed keeps its `parentId`; `lineage` then ends at it. Deletes one checkpoint at a time, newest first,
 * so a crash in the middle leaves every remaining checkpoint loadable and pruning again finishes the job.
 * An adapter with a `vacuum()` (the KV adapter) is vacuumed after.
 *
 * @param storage The storage.
 * @param options Which checkpoints.
 * @returns What it removed.
 * @throws {TypeError} If not exactly one of `sessionId` and `workflowName`, or neither `keepLast` nor
 *   `olderThan`, is given, or one is invalid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prune } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new MemoryCheckpointStorage();
 * let parentId: string | null = null;
 * for (let superstep = 0; superstep < 5; superstep++) {
 *   const checkpoint = makeCheckpoint({ sessionId: "s1", parentId, superstep });
 *   await storage.save(checkpoint);
 *   parentId = checkpoint.id;
 * }
 * const { removed } = await prune(storage, { sessionId: "s1", keepLast: 2 });
 * assert.equal(removed.length, 3);
 * assert.equal((await storage.list({ sessionId: "s1" })).length, 2);
 * ```
 */
export async function prune(storage: CheckpointStorage, options: PruneOptions): Promise<PruneResult> {
  const { sessionId, workflowName, keepLast, olderThan } = checkPruneOptions(options);
  const summaries = await listAll(storage, sessionId !== undefined ? { sessionId } : { workflowName });
  const bySession = new Map<string, CheckpointSummary[]>();
  for (const summary of summaries) {
    const list = bySession.get(summary.sessionId);
    if (list) list.push(summary);
    else bySession.set(summary.sessionId, [summary]);
  }
  const removed: CheckpointSummary[] = [];
  let kept = 0;
  for (const [session, newestFirst] of bySession) {
    const head = await storage.head(session);
    const candidates = newestFirst.filter((summary, index) =>
      (keepLast === undefined || index >= keepLast) &&
      (olderThan === undefined || Date.parse(summary.createdAt) < olderThan)
    );
    for (const summary of candidates) {
      if (summary.id === head || await waiting(storage, summary.id)) {
        kept++;
        continue;
      }
      if (await storage.delete(summary.id)) removed.push(summary);
    }
  }
  await (storage as { vacuum?: () => Promise<unknown> }).vacuum?.();
  return { removed, protected: kept };
}

/** Whether checkpoint `id` waits for answers (an answer may still resume it). */
async function waiting(storage: CheckpointStorage, id: string): Promise<boolean> {
  const checkpoint = await storage.load(id);
  return checkpoint !== undefined && checkpoint.pendingRequests.length > 0;
}

/** Every summary of `query`, newest first, page by page. */
async function listAll(
  storage: CheckpointStorage,
  query: { sessionId?: string; workflowName?: string },
): Promise<CheckpointSummary[]> {
  const out: CheckpointSummary[] = [];
  const limit = 500;
  let before: string | undefined;
  while (true) {
    const page = await storage.list({ ...query, limit, ...before !== undefined && { before } });
    out.push(...page);
    if (page.length < limit) return out;
    before = page[page.length - 1].id;
  }
}

/**
 * `options` checked as {@linkcode prune} takes them (package-private: the HTTP route checks a body with it
 * before it asks `authorize`), `olderThan` as milliseconds.
 *
 * @throws {TypeError} Naming what is wrong.
 */
export function checkPruneOptions(options: PruneOptions): {
  sessionId?: string;
  workflowName?: string;
  keepLast?: number;
  olderThan?: number;
} {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Invalid prune options: expected an object, got ${describeType(options)}`);
  }
  const { sessionId, workflowName, keepLast, olderThan } = options;
  if ((sessionId === undefined) === (workflowName === undefined)) {
    throw new TypeError("prune needs exactly one of sessionId and workflowName");
  }
  for (const [what, id] of [["sessionId", sessionId], ["workflowName", workflowName]] as const) {
    if (id !== undefined && (typeof id !== "string" || idProblem(id) !== undefined)) {
      throw new TypeError(`Invalid prune ${what}: ${JSON.stringify(id)}`);
    }
  }
  if (keepLast === undefined && olderThan === undefined) {
    throw new TypeError("prune needs keepLast or olderThan (or both): it never removes everything");
  }
  if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 0)) {
    throw new TypeError(
      `Invalid prune keepLast: ${describeType(keepLast)} ${String(keepLast)} (a non-negative integer)`,
    );
  }
  let time: number | undefined;
  if (olderThan !== undefined) {
    time = olderThan instanceof Date
      ? olderThan.getTime()
      : typeof olderThan === "string"
      ? Date.parse(olderThan)
      : NaN;
    if (Number.isNaN(time)) {
      throw new TypeError(`Invalid prune olderThan: ${String(olderThan)} (a Date or ISO-8601 string)`);
    }
  }
  return { sessionId, workflowName, keepLast, olderThan: time };
}
