/**
 * Durable timers woken by Deno KV queues: a plugin enqueues a wake-up, delayed until the timer is due, for
 * every timer a run leaves waiting; a queue listener runs `recover` when one arrives. KV keeps queued
 * messages across restarts and delivers each at least once (on Deno Deploy too); `recover`'s leases make a
 * message delivered twice, or heard by two processes, wake a timer once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, listSessions, MemoryCheckpointStorage, sleep, WorkflowBuilder } from "@superstep/superstep";
 * import { KvWakeups } from "@superstep/superstep/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const storage = new MemoryCheckpointStorage();
 * const remind = defineExecutor({
 *   id: "remind",
 *   handle: async (_: string, ctx) => void await sleep(ctx, 10),
 *   onResponse: async (_fired: unknown, _request, ctx) => await ctx.yieldOutput("reminded"),
 * });
 * // One instance runs, another recovers (an instance runs one call at a time).
 * const build = () => new WorkflowBuilder({ name: "remind", start: remind }).withCheckpointing(storage).build();
 * const woken = Promise.withResolvers<void>();
 * const wakeups = new KvWakeups({
 *   kv,
 *   storage,
 *   workflows: [build()],
 *   owner: "host-1",
 *   onWake: (result) => void (result.resumed.length > 0 && woken.resolve()),
 * });
 * const listening = wakeups.listen();
 * const paused = await build().run("soon", { plugins: [wakeups.plugin] });
 * assert.equal(paused.status, "idle-pending-requests");
 * await woken.promise;
 * assert.equal((await listSessions(storage))[0].status, "completed");
 * kv.close();
 * await listening;
 * ```
 *
 * @module
 */
import type { WorkflowPlugin } from "../../src/plugin.ts";
import { recover, type RecoverOptions, type RecoverResult } from "../../src/recover.ts";
import { timerDue } from "../../src/timers.ts";

/** The part of `Deno.Kv` (or `@deno/kv`'s client) the wake-ups use: its queue. */
export interface KvQueue {
  /** Enqueue a message, delivered after `delay` milliseconds. */
  enqueue(value: unknown, options?: { delay?: number }): Promise<unknown>;
  /** Deliver every message to `handler`; resolves when the database is closed. */
  listenQueue(handler: (value: unknown) => Promise<void> | void): Promise<void>;
}

/** Options of {@linkcode KvWakeups}: `recover`'s (without `signal`), the queue, and what to tell. */
export interface KvWakeupsOptions extends Omit<RecoverOptions, "signal" | "limit"> {
  /** The KV database whose queue carries the wake-ups (it may be another than the checkpoints'). */
  kv: KvQueue;
  /** Called with the result of each wake-up's `recover` pass. */
  onWake?: (result: RecoverResult) => void;
  /** Called with an error of a wake-up's pass (the message is then not retried: the next pass recovers it). */
  onError?: (error: unknown) => void;
}

/** The key that marks a queue message as a Superstep wake-up; its value is the timer's due time. */
const WAKE_KEY = "superstep:wake";

/**
 * Wake durable timers with Deno KV queues. {@linkcode KvWakeups.plugin} schedules, {@linkcode KvWakeups.listen}
 * (or {@linkcode KvWakeups.handle} from your own listener) wakes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStorage } from "@superstep/superstep";
 * import { KvWakeups } from "@superstep/superstep/kv";
 *
 * const sent: unknown[] = [];
 * const kv = { enqueue: (value: unknown) => Promise.resolve(sent.push(value)), listenQueue: () => Promise.resolve() };
 * const wakeups = new KvWakeups({ kv, storage: new MemoryCheckpointStorage(), workflows: [], owner: "host-1" });
 * await wakeups.schedule(new Date(Date.now() + 60_000));
 * assert.equal(sent.length, 1);
 * assert.equal(await wakeups.handle("someone else's message"), undefined);
 * ```
 */
export class KvWakeups {
  readonly #options: KvWakeupsOptions;

  /**
   * Create wake-ups on a KV queue.
   *
   * @param options The queue, and what `recover` needs.
   * @throws {TypeError} If `kv` has no queue.
   */
  constructor(options: KvWakeupsOptions) {
    const kv = options?.kv as Partial<KvQueue> | undefined;
    if (typeof kv?.enqueue !== "function" || typeof kv.listenQueue !== "function") {
      throw new TypeError("kv: cannot create the wake-ups: options.kv must have enqueue and listenQueue");
    }
    if (typeof options.owner !== "string" || options.owner.length === 0) {
      throw new TypeError("kv: cannot create the wake-ups: owner must be a non-empty string");
    }
    this.#options = options;
  }

  /** A plugin that schedules a wake-up for every timer a call of the workflow leaves waiting. */
  readonly plugin: WorkflowPlugin = {
    name: "kv-wakeups",
    onRunEnd: async (result) => {
      for (const request of result.pendingRequests) {
        const due = timerDue(request);
        if (due !== undefined) await this.schedule(due);
      }
    },
  };

  /**
   * Enqueue a wake-up delivered when `dueAt` comes (at once if it is past).
   *
   * @param dueAt When (a `Date` or an ISO-8601 string).
   * @throws {TypeError} If `dueAt` is no valid time.
   */
  async schedule(dueAt: Date | string): Promise<void> {
    const time = dueAt instanceof Date ? dueAt.getTime() : Date.parse(dueAt);
    if (Number.isNaN(time)) throw new TypeError(`kv: cannot schedule a wake-up at ${String(dueAt)}`);
    const now = (this.#options.clock ?? Date.now)();
    await this.#options.kv.enqueue({ [WAKE_KEY]: new Date(time).toISOString() }, {
      delay: Math.max(0, time - now),
    });
  }

  /**
   * Handle one queue message: a wake-up runs a `recover` pass (and is enqueued again if it came before its
   * time by this process's clock); anything else is left to you.
   *
   * @param message A message from the queue.
   * @returns The pass's result for a wake-up, `undefined` for another message.
   */
  async handle(message: unknown): Promise<RecoverResult | undefined> {
    const due = typeof message === "object" && message !== null
      ? (message as Record<string, unknown>)[WAKE_KEY]
      : undefined;
    if (typeof due !== "string") return undefined;
    const { kv: _kv, onWake, onError: _onError, ...recoverOptions } = this.#options;
    const result = await recover(recoverOptions);
    onWake?.(result);
    // Delivered early (clocks of the queue and of this process differ): come back when it is due.
    if (Date.parse(due) > (this.#options.clock ?? Date.now)()) await this.schedule(due);
    return result;
  }

  /**
   * Listen to the queue, handling wake-ups (other messages are ignored: use {@linkcode KvWakeups.handle} in
   * your own listener if the queue carries yours too). Resolves when the database is closed.
   */
  listen(): Promise<void> {
    return this.#options.kv.listenQueue(async (message) => {
      try {
        await this.handle(message);
      } catch (error) {
        this.#options.onError?.(error);
      }
    });
  }
}
