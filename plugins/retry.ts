/**
 * Retries for chosen executors: a handler call that throws runs again after
 * an exponential backoff with jitter, up to a number of attempts.
 *
 * Each attempt starts clean: the runner discards the sends, outputs, requests,
 * state writes and `snapshot()` state of the failed attempt, so a retried
 * handler never duplicates a message in the next superstep, in
 * `result.outputs` or in a checkpoint. Every retry is an `executor-retried`
 * event (the `output` and `request` events of the failed attempt were already
 * streamed: a live consumer drops what that executor emitted since its
 * `executor-invoked`). Waiting stops at once when the run is cancelled or a
 * sibling executor fails (`ctx.signal`). When the attempts are spent, or
 * `retryOn` says no, the last error fails the run as usual
 * (`ExecutorFailedError`).
 *
 * Retry only handlers that are safe to run twice: effects outside the workflow
 * (an HTTP call, an email) are not undone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { retry } from "@superstep/superstep/retry";
 *
 * let calls = 0;
 * const flaky = defineExecutor({
 *   id: "flaky",
 *   handle: async (text: string, ctx) => {
 *     if (++calls < 3) throw new Error("try again");
 *     await ctx.yieldOutput(text);
 *   },
 * });
 * const workflow = new WorkflowBuilder({ name: "flaky", start: flaky })
 *   .use(retry({ executors: ["flaky"], attempts: 3, baseDelayMs: 10 }))
 *   .build();
 * const result = await workflow.run("done");
 * assert.equal(result.outputs[0], "done");
 * assert.equal(result.events.filter((e) => e.type === "executor-retried").length, 2);
 * ```
 *
 * @experimental
 * @module
 */
import type { WorkflowPlugin } from "../src/plugin.ts";
import { abortableSleep } from "../src/_promise.ts";

/** How random the backoff is (see {@linkcode RetryOptions.jitter}). */
export type RetryJitter = "full" | "equal" | "none";

/** Options of {@linkcode retry}. */
export interface RetryOptions {
  /** The executors to retry: a list of ids, or a predicate on the id. */
  executors: readonly string[] | ((executorId: string) => boolean);
  /**
   * How many times a handler call may run in all (the first call included).
   *
   * @default {3}
   */
  attempts?: number;
  /**
   * The backoff before the first retry, before jitter; it doubles (see
   * `factor`) for every further retry.
   *
   * @default {100}
   */
  baseDelayMs?: number;
  /**
   * The longest backoff, before jitter.
   *
   * @default {10000}
   */
  maxDelayMs?: number;
  /**
   * What the backoff is multiplied by after each retry.
   *
   * @default {2}
   */
  factor?: number;
  /**
   * `"full"`: a random delay between 0 and the backoff (spreads retries of
   * many runs the most); `"equal"`: half the backoff plus a random half;
   * `"none"`: exactly the backoff.
   *
   * @default {"full"}
   */
  jitter?: RetryJitter;
  /**
   * Whether an error is worth retrying; `attempt` is the attempt that threw
   * (1 for the first call).
   *
   * @default {every error}
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /**
   * Waits `ms` milliseconds, or rejects when `signal` aborts. Tests inject one
   * that does not use real time.
   *
   * @default {a setTimeout that the signal clears}
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Random numbers in [0, 1) for the jitter.
   *
   * @default {Math.random}
   */
  random?: () => number;
  /**
   * The plugin's name (in `PluginError`).
   *
   * @default {"retry"}
   */
  name?: string;
}

/**
 * A plugin that retries the handler calls of chosen executors with
 * exponential backoff and jitter.
 *
 * The delay before retry `n` (1 for the first) is
 * `min(maxDelayMs, baseDelayMs * factor ** (n - 1))`, then jittered.
 *
 * @experimental
 * @param options Which executors, how often, how long to wait.
 * @returns The plugin, for `builder.use()` or a call's `plugins` option.
 * @throws {TypeError} If `executors` is neither an array of ids nor a function, or a hook option is not a function.
 * @throws {RangeError} If `attempts` is not a positive integer, or a delay or the factor is negative or not finite.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { retry } from "@superstep/superstep/retry";
 *
 * const plugin = retry({
 *   executors: (id) => id.startsWith("fetch-"),
 *   attempts: 5,
 *   baseDelayMs: 200,
 *   maxDelayMs: 5_000,
 *   retryOn: (error) => !(error instanceof TypeError),
 * });
 * assert.equal(typeof plugin.wrapExecutor, "function");
 * ```
 */
export function retry(options: RetryOptions): WorkflowPlugin {
  const selects = selector(options?.executors);
  const attempts = options.attempts ?? 3;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new RangeError(`Invalid retry attempts: ${attempts} (a positive integer)`);
  }
  const baseDelayMs = nonNegative(options.baseDelayMs ?? 100, "baseDelayMs");
  const maxDelayMs = nonNegative(options.maxDelayMs ?? 10_000, "maxDelayMs");
  const factor = nonNegative(options.factor ?? 2, "factor");
  const jitter = options.jitter ?? "full";
  if (jitter !== "full" && jitter !== "equal" && jitter !== "none") {
    throw new TypeError(`Invalid retry jitter: ${JSON.stringify(jitter)} ("full", "equal" or "none")`);
  }
  const retryOn = optionalFunction(options.retryOn, "retryOn") ?? (() => true);
  const sleep = optionalFunction(options.sleep, "sleep") ?? abortableSleep;
  const random = optionalFunction(options.random, "random") ?? Math.random;

  const delay = (retry: number): number => {
    const backoff = Math.min(maxDelayMs, baseDelayMs * factor ** (retry - 1));
    if (jitter === "none") return backoff;
    const r = random();
    return jitter === "full" ? r * backoff : backoff / 2 + r * backoff / 2;
  };

  return {
    name: options.name ?? "retry",
    wrapExecutor: (next, executorId) => {
      if (attempts === 1 || !selects(executorId)) return next;
      return async (message, ctx) => {
        for (let attempt = 1;; attempt++) {
          try {
            return await next(message, ctx);
          } catch (error) {
            if (attempt >= attempts || ctx.signal.aborted || !retryOn(error, attempt)) throw error;
            try {
              await sleep(delay(attempt), ctx.signal);
            } catch (sleepError) {
              // Cancelled while waiting: the handler's error is what happened to this call.
              if (ctx.signal.aborted) throw error;
              throw sleepError;
            }
            if (ctx.signal.aborted) throw error;
          }
        }
      };
    },
  };
}

function selector(executors: unknown): (executorId: string) => boolean {
  if (typeof executors === "function") return (id) => Boolean(executors(id));
  if (Array.isArray(executors) && executors.every((id) => typeof id === "string")) {
    const ids = new Set(executors);
    return (id) => ids.has(id);
  }
  throw new TypeError(
    `Invalid retry executors: expected an array of executor ids or a function, got ${typeof executors}`,
  );
}

function nonNegative(value: number, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid retry ${what}: ${value} (a finite number of at least 0)`);
  }
  return value;
}

function optionalFunction<T>(value: T | undefined, what: string): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Invalid retry ${what}: expected a function, got ${typeof value}`);
  }
  return value;
}
