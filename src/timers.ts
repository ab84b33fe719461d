/**
 * Durable timers: `sleep(ctx, ms)` and `sleepUntil(ctx, date)` make a pending request that carries a due
 * time. The run ends waiting for it (`idle-pending-requests`; its session `"waiting"`), its checkpoint holds
 * it, so it survives restarts and moves between processes; once due, `recover` answers it and the
 * executor's `onResponse` is the continuation. `listDueTimers` finds the due ones.
 *
 * @module
 */
import type { CheckpointStorage, PendingRequestQuery, WaitingRequest } from "./checkpoint.ts";
import type { PendingRequest } from "./events.ts";
import type { WorkflowContext } from "./context.ts";
import { listPendingRequests } from "./sessions.ts";

/** The key of a timer's request data that holds its due time. */
const TIMER_KEY = "superstep:timer";

/**
 * The data of a timer's pending request (`PendingRequest.data`): its due time (ISO-8601) under the key
 * `"superstep:timer"`, and what the executor passed along.
 */
export interface TimerData {
  /** When the timer is due (ISO-8601 UTC). */
  "superstep:timer": string;
  /** What the executor passed to `sleep` / `sleepUntil`, handed back in `onResponse`'s request. */
  data?: unknown;
}

/** The answer a fired timer gets (what `onResponse` receives as its response). */
export interface TimerFired {
  /** When it was due (ISO-8601). */
  dueAt: string;
  /** When it was woken (ISO-8601, the waker's clock). */
  firedAt: string;
}

/** A timer waiting in a session head: the inbox entry and its due time. */
export interface WaitingTimer extends WaitingRequest {
  /** When it is due (ISO-8601). */
  dueAt: string;
}

/**
 * A durable timer: the executor continues in its `onResponse` once `due` has come. The timer is a pending
 * request whose data holds the due time ({@linkcode TimerData}): the run ends `idle-pending-requests` when
 * nothing else is left, its checkpoint keeps the timer across restarts and processes, and `recover` (or
 * {@linkcode listDueTimers} and a `resume` with `responses`) wakes it once due: `onResponse` gets a
 * {@linkcode TimerFired} response and the request (whose `data.data` is `data`).
 *
 * @param ctx The executor's context (the executor must have an `onResponse`).
 * @param due When to continue.
 * @param data Handed back in the request `onResponse` receives.
 * @returns The timer's request id.
 * @throws {TypeError} If `due` is not a valid `Date`, or the executor has no `onResponse`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, MemoryCheckpointStorage, sleepUntil, timerDue, WorkflowBuilder } from "@superstep/superstep";
 *
 * const remind = defineExecutor({
 *   id: "remind",
 *   handle: async (who: string, ctx) => void await sleepUntil(ctx, new Date("2030-01-04T09:00:00Z"), { who }),
 *   onResponse: async (_fired, request, ctx) => await ctx.yieldOutput(request.data),
 * });
 * const workflow = new WorkflowBuilder({ name: "remind", start: remind })
 *   .withCheckpointing(new MemoryCheckpointStorage())
 *   .build();
 * const result = await workflow.run("ana");
 * assert.equal(result.status, "idle-pending-requests");
 * assert.equal(timerDue(result.pendingRequests[0]), "2030-01-04T09:00:00.000Z");
 * ```
 * @experimental
 */
export function sleepUntil(ctx: WorkflowContext<never, never>, due: Date, data?: unknown): Promise<string> {
  if (!(due instanceof Date) || Number.isNaN(due.getTime())) {
    return Promise.reject(
      new TypeError(`Cannot sleep: the due time must be a valid Date, got ${String(due)}`),
    );
  }
  const timer: TimerData = data === undefined
    ? { [TIMER_KEY]: due.toISOString() }
    : { [TIMER_KEY]: due.toISOString(), data };
  return ctx.requestInfo(timer);
}

/**
 * A durable timer `ms` milliseconds from now (this host's clock): {@linkcode sleepUntil} that time.
 *
 * @param ctx The executor's context (the executor must have an `onResponse`).
 * @param ms How long to sleep: a non-negative finite number of milliseconds.
 * @param data Handed back in the request `onResponse` receives.
 * @returns The timer's request id.
 * @throws {RangeError} If `ms` is negative or not finite.
 * @throws {TypeError} If the executor has no `onResponse`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, sleep, timerDue, WorkflowBuilder } from "@superstep/superstep";
 *
 * const nap = defineExecutor({
 *   id: "nap",
 *   handle: async (_: string, ctx) => void await sleep(ctx, 3 * 24 * 3_600_000), // three days
 *   onResponse: () => {},
 * });
 * const result = await new WorkflowBuilder({ name: "nap", start: nap }).build().run("x");
 * assert.ok(Date.parse(timerDue(result.pendingRequests[0])!) > Date.now());
 * ```
 * @experimental
 */
export function sleep(ctx: WorkflowContext<never, never>, ms: number, data?: unknown): Promise<string> {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    return Promise.reject(new RangeError(`Cannot sleep: ms must be a non-negative finite number, got ${ms}`));
  }
  return sleepUntil(ctx, new Date(Date.now() + ms), data);
}

/**
 * The due time of a pending request that is a timer, or `undefined` for any other request.
 *
 * @param request A pending request.
 * @returns Its due time (ISO-8601), or `undefined`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timerDue } from "@superstep/superstep";
 *
 * assert.equal(timerDue({ requestId: "r", executorId: "e", data: { "superstep:timer": "2030-01-01T00:00:00.000Z" } }), "2030-01-01T00:00:00.000Z");
 * assert.equal(timerDue({ requestId: "r", executorId: "e", data: "ok?" }), undefined);
 * ```
 * @experimental
 */
export function timerDue(
  request: Pick<PendingRequest, "data"> & Partial<PendingRequest>,
): string | undefined {
  const data = request.data as Record<string, unknown> | null;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const due = (data as Record<string, unknown>)[TIMER_KEY];
  return typeof due === "string" ? due : undefined;
}

/**
 * Every timer due at `now` (due time `<= now`) in a session head, from the storage's inbox, earliest due
 * first. What `recover` wakes; use it to schedule wake-ups yourself.
 *
 * @param storage A storage with the inbox (`listPendingRequests`: every adapter of this package).
 * @param now The time to compare due times with (a fake clock in tests).
 * @param query Filters of the inbox (`workflowName`, `sessionId`).
 * @returns The due timers.
 * @throws {StorageCapabilityError} If the storage keeps no inbox.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, listDueTimers, MemoryCheckpointStorage, sleepUntil, WorkflowBuilder } from "@superstep/superstep";
 *
 * const remind = defineExecutor({
 *   id: "remind",
 *   handle: async (_: string, ctx) => void await sleepUntil(ctx, new Date("2030-01-04T00:00:00Z")),
 *   onResponse: () => {},
 * });
 * const storage = new MemoryCheckpointStorage();
 * await new WorkflowBuilder({ name: "remind", start: remind }).withCheckpointing(storage).build().run("x");
 * assert.equal((await listDueTimers(storage, new Date("2030-01-03T23:59:59Z"))).length, 0);
 * assert.equal((await listDueTimers(storage, new Date("2030-01-04T00:00:00Z"))).length, 1);
 * ```
 * @experimental
 */
export async function listDueTimers(
  storage: CheckpointStorage,
  now: Date | number,
  query: Pick<PendingRequestQuery, "workflowName" | "sessionId"> = {},
): Promise<WaitingTimer[]> {
  const at = typeof now === "number" ? now : now.getTime();
  const due: WaitingTimer[] = [];
  let before: string | undefined;
  while (true) {
    const page = await listPendingRequests(storage, { ...query, limit: 500, before });
    for (const entry of page) {
      const dueAt = timerDue(entry);
      if (dueAt !== undefined && Date.parse(dueAt) <= at) due.push({ ...entry, dueAt });
    }
    if (page.length < 500) break;
    before = page[page.length - 1].cursor;
  }
  return due.sort((a, b) => a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : 0);
}
