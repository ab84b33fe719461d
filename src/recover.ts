/**
 * Crash recovery: find the sessions a crash (or a failure, or a cancel) left interrupted, claim each with a
 * lease, resume it from its head, release it. Safe from many processes at once and run again and again:
 * a session is resumed by the one process holding its lease, and that process's saves are fenced.
 *
 * @module
 */
import { type Checkpoint, type CheckpointStorage, sessionStatus } from "./checkpoint.ts";
import { claimSession, DEFAULT_LEASE_MS } from "./leases.ts";
import { listDueTimers, timerDue, type TimerFired } from "./timers.ts";
import type { Workflow } from "./workflow.ts";

/** Options of {@linkcode recover}. */
export interface RecoverOptions {
  /** The storage holding the sessions; it must have leases (every adapter of this package does). */
  storage: CheckpointStorage;
  /**
   * The workflows to resume sessions of, matched by name. Sessions of other workflows are left alone.
   * A workflow instance runs one run at a time, so one pass resumes its sessions one after another; run
   * `recover` in several processes (or with several instances) to resume in parallel.
   */
  workflows: readonly Workflow<never, unknown>[];
  /** Who recovers (this process, this host): a non-empty string, unique among the recovering processes. */
  owner: string;
  /**
   * How long a claim lasts without renewal (it is renewed while the run goes on): a process that dies
   * holding a session frees it this long after its last renewal.
   *
   * @default {30000}
   */
  leaseMs?: number;
  /**
   * The clock leases are read from (ms since the epoch). Tests pass a fake one.
   *
   * @default {Date.now}
   */
  clock?: () => number;
  /** Stops the pass: no new session is claimed, and the running resume is cancelled (and stays resumable). */
  signal?: AbortSignal;
  /**
   * At most this many sessions resumed in this pass.
   *
   * @default {Infinity}
   */
  limit?: number;
}

/** What one {@linkcode recover} pass did. */
export interface RecoverResult {
  /**
   * The sessions this pass claimed and resumed, in order (each run ended: converged, waiting, or
   * cancelled): interrupted ones, and waiting ones whose timers were due (they were answered).
   */
  resumed: string[];
  /** The sessions found interrupted but held by another claimant (a live run, or another recovering process). */
  busy: string[];
  /** The sessions whose resume failed (an executor failed, the lease was lost): they stay interrupted. */
  failed: { sessionId: string; error: unknown }[];
}

/**
 * One recovery pass: every interrupted session of the given workflows, and every session whose head
 * holds a due timer (`sleep`, `sleepUntil`: due at `clock()`), from the session index and the inbox
 * (or a scan of the storage's checkpoints where it has none), is claimed for `owner`, resumed from its head
 * (answering its due timers with a `TimerFired`) while the lease is renewed, and released. A timer is woken
 * once: after the claim the head is read again, and a timer already answered is no longer in it. A session another claimant holds is skipped (`busy`); one that finished
 * between the listing and the claim is released untouched.
 *
 * What it guarantees: a session is resumed by one process at a time; a superstep's checkpoint is written
 * once (a run whose lease was taken over cannot save); an executor call that completed and was
 * checkpointed is never run again. An executor interrupted mid-call (its process died before the
 * superstep's checkpoint) is run again by the next owner: at-least-once for the superstep that was
 * running.
 *
 * @param options The storage, the workflows, the owner and the lease.
 * @returns What the pass did.
 * @throws {StorageCapabilityError} If the storage has no leases.
 * @throws {TypeError} If `owner` is not a non-empty string or two workflows share a name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, MemoryCheckpointStorage, recover, WorkflowBuilder } from "@superstep/superstep";
 *
 * let crash = true;
 * const step = defineExecutor({
 *   id: "step",
 *   handle: async (n: number, ctx) => {
 *     if (crash) throw new Error("the host died");
 *     await ctx.yieldOutput(n * 2);
 *   },
 * });
 * const storage = new MemoryCheckpointStorage();
 * const workflow = new WorkflowBuilder({ name: "double", start: step }).withCheckpointing(storage).build();
 * await assert.rejects(workflow.run(21)); // the session is left interrupted
 * crash = false;
 * const { resumed } = await recover({ storage, workflows: [workflow], owner: "host-1" });
 * assert.equal(resumed.length, 1);
 * assert.deepEqual((await recover({ storage, workflows: [workflow], owner: "host-1" })).resumed, []);
 * ```
 * @experimental
 */
export async function recover(options: RecoverOptions): Promise<RecoverResult> {
  const { storage, owner, leaseMs = DEFAULT_LEASE_MS, clock = Date.now, signal, limit = Infinity } = options;
  if (typeof owner !== "string" || owner.length === 0) {
    throw new TypeError(`Cannot recover: owner must be a non-empty string, got ${JSON.stringify(owner)}`);
  }
  const byName = new Map<string, Workflow<never, unknown>>();
  for (const workflow of options.workflows) {
    if (byName.has(workflow.name)) {
      throw new TypeError(`Cannot recover: two workflows are named ${JSON.stringify(workflow.name)}`);
    }
    byName.set(workflow.name, workflow);
  }
  const result: RecoverResult = { resumed: [], busy: [], failed: [] };
  for await (const { sessionId, workflowName } of candidates(storage, clock())) {
    if (signal?.aborted || result.resumed.length >= limit) break;
    const workflow = byName.get(workflowName);
    if (workflow === undefined) continue;
    const claim = await claimSession(storage, sessionId, { owner, leaseMs, clock });
    if (claim === undefined) {
      result.busy.push(sessionId);
      continue;
    }
    try {
      // The listing may be stale: another owner may have finished the session before this claim.
      const headId = await storage.head(sessionId);
      const head = headId === undefined ? undefined : await storage.load(headId);
      if (head === undefined || head.workflowName !== workflowName) continue;
      const now = clock();
      const responses = dueResponses(head, now);
      if (sessionStatus(head) !== "interrupted" && responses === undefined) continue;
      await workflow.resume(head.id, { storage: claim.storage, signal, responses });
      result.resumed.push(sessionId);
    } catch (error) {
      result.failed.push({ sessionId, error });
    } finally {
      await claim.release();
    }
  }
  return result;
}

/** Options of {@linkcode recoverEvery}. */
export interface RecoverEveryOptions extends RecoverOptions {
  /**
   * The pause between two passes, in milliseconds.
   *
   * @default {10000}
   */
  intervalMs?: number;
  /** Called with each pass's result (a pass that threw is given as `{ error }`). */
  onPass?: (result: RecoverResult | { error: unknown }) => void;
}

/**
 * Run {@linkcode recover} now and then every `intervalMs` until `signal` aborts (a pass that throws is
 * reported to `onPass` and the loop goes on). Every process that can run the workflows may run it.
 *
 * @param options `recover`'s options, the interval and the callback; `signal` ends the loop.
 * @returns Once `signal` aborted and the running pass ended.
 * @throws {TypeError} If there is no `signal` (the loop would never end).
 * @throws {RangeError} If `intervalMs` is not a non-negative finite number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStorage, recoverEvery } from "@superstep/superstep";
 *
 * const controller = new AbortController();
 * const passes: unknown[] = [];
 * await recoverEvery({
 *   storage: new MemoryCheckpointStorage(),
 *   workflows: [],
 *   owner: "host-1",
 *   intervalMs: 0,
 *   signal: controller.signal,
 *   onPass: (result) => {
 *     passes.push(result);
 *     if (passes.length === 3) controller.abort();
 *   },
 * });
 * assert.equal(passes.length, 3);
 * ```
 * @experimental
 */
export async function recoverEvery(options: RecoverEveryOptions): Promise<void> {
  const { intervalMs = 10_000, onPass, signal } = options;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError("Cannot recover every interval: a signal is needed");
  }
  if (typeof intervalMs !== "number" || !Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new RangeError(
      `Cannot recover every interval: intervalMs must be a non-negative number, got ${intervalMs}`,
    );
  }
  while (!signal.aborted) {
    try {
      onPass?.(await recover(options));
    } catch (error) {
      onPass?.({ error });
    }
    if (signal.aborted) return;
    await pause(intervalMs, signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** The answers to the timers of `head` due at `now`, or `undefined` if none is due. */
function dueResponses(head: Checkpoint, now: number): Record<string, TimerFired> | undefined {
  let responses: Record<string, TimerFired> | undefined;
  const firedAt = new Date(now).toISOString();
  for (const request of head.pendingRequests) {
    const dueAt = timerDue(request);
    if (dueAt === undefined || Date.parse(dueAt) > now) continue;
    (responses ??= {})[request.requestId] = { dueAt, firedAt };
  }
  return responses;
}

/**
 * The sessions to look at: the interrupted ones and those with a due timer, from the session index and the
 * inbox, or a scan of every checkpoint's session.
 */
async function* candidates(
  storage: CheckpointStorage,
  now: number,
): AsyncGenerator<{ sessionId: string; workflowName: string }> {
  if (typeof storage.listSessions === "function" && typeof storage.listPendingRequests === "function") {
    // Pages are read ahead of resuming them: a resumed session's new head would move it in the index.
    const found: { sessionId: string; workflowName: string }[] = [];
    let before: string | undefined;
    while (true) {
      const page = await storage.listSessions({ status: "interrupted", limit: 100, before });
      found.push(...page);
      if (page.length < 100) break;
      before = page[page.length - 1].head.id;
    }
    const seen = new Set(found.map((session) => session.sessionId));
    for (const timer of await listDueTimers(storage, now)) {
      if (seen.has(timer.sessionId)) continue;
      seen.add(timer.sessionId);
      found.push(timer);
    }
    yield* found;
    return;
  }
  const sessions = new Set<string>();
  let before: string | undefined;
  while (true) {
    const page = await storage.list({ limit: 500, before });
    for (const summary of page) sessions.add(summary.sessionId);
    if (page.length < 500) break;
    before = page[page.length - 1].id;
  }
  for (const sessionId of sessions) {
    const headId = await storage.head(sessionId);
    const head = headId === undefined ? undefined : await storage.load(headId);
    if (head !== undefined && (sessionStatus(head) === "interrupted" || dueResponses(head, now))) {
      yield { sessionId, workflowName: head.workflowName };
    }
  }
}
