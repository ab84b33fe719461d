/**
 * `answerRequest`: answer a waiting request by its id alone — find the session head that holds it, resume
 * it with the answer, and retry when another writer moved the head first.
 *
 * @module
 */
import type { CheckpointStorage, WaitingRequest } from "./checkpoint.ts";
import { AmbiguousRequestError, RequestNotPendingError, StorageCapabilityError } from "./errors.ts";
import type { WorkflowEvent, WorkflowResult } from "./events.ts";
import { idProblem } from "./_ids.ts";
import { abortableSleep } from "./_promise.ts";
import type { WorkflowPlugin } from "./plugin.ts";
import type { ClaimSessionOptions } from "./leases.ts";
import type { Workflow } from "./workflow.ts";
import type { WorkflowRun } from "./workflow_run.ts";

/** Options of {@linkcode answerRequest}: the storage, the workflow (or a factory of it), the request and the answer. */
export interface AnswerRequestOptions<TOutput = unknown> {
  /** The storage holding the session; it must keep an inbox (`listPendingRequests`). */
  storage: CheckpointStorage;
  /**
   * The workflow to resume with (give this or `factory`). Each attempt runs on it in turn, so it must not be
   * running.
   */
  workflow?: Workflow<unknown, TOutput>;
  /** Makes a workflow instance per attempt (give this or `workflow`): what a server holds per request. */
  factory?: () => Workflow<unknown, TOutput>;
  /** The request to answer. */
  requestId: string;
  /** The answer. */
  response: unknown;
  /**
   * The session whose head holds the request: needed only when several do (a fork copies its source's
   * pending requests under the same ids), else `AmbiguousRequestError`.
   *
   * @default {the one session that holds it}
   */
  sessionId?: string;
  /** Metadata stored on every checkpoint the resumed run writes. @default {{}} */
  metadata?: Record<string, unknown>;
  /** Cancels the run (between attempts too). */
  signal?: AbortSignal;
  /** Plugins for the resumed run. @default {[]} */
  plugins?: readonly WorkflowPlugin[];
  /**
   * Resume under a lease (as `Workflow.resume`'s `lease`), so that no recovering host takes the run over;
   * a session another lease holds is retried like a conflict (`onRetry` reason `"busy"`).
   *
   * @default {no lease}
   */
  lease?: ClaimSessionOptions;
  /**
   * How many times to try before a head conflict is final: another writer moving the head before the answer
   * is recorded makes it reload the head and try again, while the request is still pending.
   *
   * @default {10}
   */
  maxAttempts?: number;
  /**
   * Told of every attempt that lost the head to another writer (the conflict) or found the head busy with
   * another run's work, before the next attempt: for logs and metrics.
   */
  onRetry?: (retry: { attempt: number; reason: "conflict" | "busy"; error?: unknown }) => void;
}

const DEFAULT_ATTEMPTS = 10;

/**
 * Answer a waiting request by id: find the session head that holds it (from the storage's inbox), resume that
 * head with `{ [requestId]: response }`, and stream the run. When another writer moved the head before the
 * answer was recorded (a `CheckpointConflictError`: someone answered another request of the session, say),
 * it reloads the head and tries again while the request is still pending — after a short backoff, and
 * letting a head that still has work queued (another run going on) settle first. Only the attempt that
 * records the answer is streamed: the events of an attempt that lost the head are dropped.
 *
 * Once the answer is recorded (the first `superstep-completed`), the request is no longer pending and a later
 * conflict is not retried: the answer stands, and the run that moved the head carries the session on.
 *
 * @param options The storage, workflow or factory, request, answer, and retry limits.
 * @returns The lazy run handle, like `resume`'s. It rejects with `RequestNotPendingError` (`requestId` set)
 *   when no session head holds the request — it was answered already, or never existed —,
 *   `AmbiguousRequestError` when several do and no `sessionId` says which, `CheckpointConflictError` when the
 *   head kept moving for `maxAttempts` attempts, or what `resume` rejects with.
 * @throws {TypeError} Synchronously, if neither or both of `workflow` and `factory` are given, or an id is
 *   invalid.
 * @throws {RangeError} Synchronously, if `maxAttempts` is not a positive integer.
 * @throws {StorageCapabilityError} Synchronously, if the storage keeps no inbox.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { answerRequest, defineExecutor, listPendingRequests, WorkflowBuilder } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 *
 * const ask = defineExecutor({
 *   id: "ask",
 *   handle: async (question: string, ctx) => void await ctx.requestInfo(question),
 *   onResponse: async (answer: unknown, _request, ctx) => await ctx.yieldOutput(answer),
 * });
 * const storage = new MemoryCheckpointStorage();
 * const factory = () => new WorkflowBuilder({ name: "ask", start: ask }).withCheckpointing(storage).build();
 * await factory().run("Ship it?");
 * const [waiting] = await listPendingRequests(storage, { workflowName: "ask" });
 * const result = await answerRequest({ storage, factory, requestId: waiting.requestId, response: "yes" });
 * assert.deepEqual(result.outputs, ["yes"]);
 * await assert.rejects(
 *   answerRequest({ storage, factory, requestId: waiting.requestId, response: "again" }),
 *   { name: "RequestNotPendingError" },
 * );
 * ```
 * @experimental
 */
export function answerRequest<TOutput = unknown>(
  options: AnswerRequestOptions<TOutput>,
): WorkflowRun<TOutput> {
  const { storage, workflow, factory, requestId, sessionId, maxAttempts = DEFAULT_ATTEMPTS } = options;
  if ((workflow === undefined) === (factory === undefined)) {
    throw new TypeError("answerRequest needs exactly one of workflow and factory");
  }
  for (const [what, id] of [["requestId", requestId], ["sessionId", sessionId]] as const) {
    if (id === undefined && what === "sessionId") continue;
    const problem = idProblem(id);
    if (problem !== undefined) {
      throw new TypeError(`Invalid answerRequest ${what}: ${JSON.stringify(id)}: ${problem}`);
    }
  }
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`Invalid answerRequest maxAttempts: ${maxAttempts} (a positive integer)`);
  }
  if (typeof storage?.listPendingRequests !== "function") {
    throw new StorageCapabilityError("listPendingRequests");
  }
  return new RetryingRun(
    (log, signal) => answer(log, signal, { ...options, maxAttempts }),
    options.signal,
  ) as unknown as WorkflowRun<TOutput>;
}

async function answer<TOutput>(
  log: Log,
  signal: AbortSignal,
  options: AnswerRequestOptions<TOutput> & { maxAttempts: number },
): Promise<WorkflowResult> {
  const { storage, requestId, response, maxAttempts } = options;
  let contended = false;
  try {
    for (let attempt = 1;; attempt++) {
      const waiting = await find(storage, requestId, options.sessionId);
      // After a conflict another writer is at work on the session: let a head with work queued settle (its
      // run writes on), so that this answer does not cut in between its supersteps.
      if (contended && attempt < maxAttempts && await busy(storage, waiting.checkpointId)) {
        options.onRetry?.({ attempt, reason: "busy" });
        await backoff(attempt, signal);
        continue;
      }
      const workflow = options.factory?.() ?? options.workflow!;
      const run = workflow.resume(waiting.checkpointId, {
        storage,
        responses: { [requestId]: response },
        signal,
        ...(options.plugins !== undefined && { plugins: options.plugins }),
        ...(options.metadata !== undefined && { metadata: options.metadata }),
        ...(options.lease !== undefined && { lease: options.lease }),
      });
      const held: WorkflowEvent[] = [];
      let recorded = false;
      try {
        for await (const event of run) {
          if (recorded) log.push(event);
          else {
            held.push(event);
            if (event.type === "superstep-completed") {
              recorded = true;
              for (const earlier of held) log.push(earlier);
            }
          }
        }
        const result = await run;
        if (!recorded) { for (const earlier of held) log.push(earlier); }
        log.close();
        return result;
      } catch (error) {
        const leased = isLeased(error);
        if (!recorded && (isConflict(error) || leased) && attempt < maxAttempts && !signal.aborted) {
          contended = true;
          options.onRetry?.({ attempt, reason: leased ? "busy" : "conflict", error });
          await backoff(attempt, signal);
          continue;
        }
        if (!recorded) { for (const earlier of held) log.push(earlier); }
        throw error;
      }
    }
  } catch (error) {
    if (!log.closed) {
      if (log.events[log.events.length - 1]?.type !== "status") {
        log.push({ type: "failed", error });
        log.push({ type: "status", state: "failed" });
      }
      log.close({ error });
    }
    throw error;
  }
}

/** The one session head holding the request (`sessionId`'s, if given). */
async function find(
  storage: CheckpointStorage,
  requestId: string,
  sessionId?: string,
): Promise<WaitingRequest> {
  const entries = await storage.listPendingRequests!({
    requestId,
    ...sessionId !== undefined && { sessionId },
  });
  if (entries.length === 0) {
    const where = sessionId === undefined ? "" : ` in session ${JSON.stringify(sessionId)}`;
    throw new RequestNotPendingError(
      `Cannot answer request ${requestId}: it is not pending${where} (answered already, or unknown)`,
      { requestId },
    );
  }
  if (entries.length > 1) throw new AmbiguousRequestError(requestId, entries.map((entry) => entry.sessionId));
  return entries[0];
}

/** Whether the head still has work queued (a run of another writer going on). */
async function busy(storage: CheckpointStorage, checkpointId: string): Promise<boolean> {
  const head = await storage.load(checkpointId);
  return head !== undefined && (head.messages.length > 0 || (head.answers?.length ?? 0) > 0);
}

function isConflict(error: unknown): boolean {
  return error instanceof Error && error.name === "CheckpointConflictError";
}

function isLeased(error: unknown): boolean {
  return error instanceof Error && error.name === "SessionLeasedError";
}

/** Wait a little longer each attempt, with jitter, so that racing writers spread out; a cancel ends it. */
function backoff(attempt: number, signal: AbortSignal): Promise<void> {
  return abortableSleep(Math.min(250, 10 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()), signal);
}

/** The events of the attempt that is streamed, for any number of readers, each from the first event. */
class Log {
  readonly events: WorkflowEvent[] = [];
  closed = false;
  failure: { error: unknown } | undefined;
  #wake: (() => void)[] = [];

  push(event: WorkflowEvent): void {
    this.events.push(event);
    this.#notify();
  }

  close(failure?: { error: unknown }): void {
    this.closed = true;
    this.failure = failure;
    this.#notify();
  }

  async *read(): AsyncGenerator<WorkflowEvent> {
    for (let index = 0;; index++) {
      while (index >= this.events.length && !this.closed) {
        await new Promise<void>((wake) => this.#wake.push(wake));
      }
      if (index < this.events.length) yield this.events[index];
      else if (this.failure !== undefined) throw this.failure.error;
      else return;
    }
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}

/**
 * The handle `answerRequest` returns: lazy like a `WorkflowRun` (the first await or iteration starts it),
 * awaitable for the result, iterable for the events; breaking out of an iteration or `cancel()` cancels it.
 */
class RetryingRun implements WorkflowRun {
  readonly #log = new Log();
  readonly #controller = new AbortController();
  readonly #start: (log: Log, signal: AbortSignal) => Promise<WorkflowResult>;
  #promise: Promise<WorkflowResult> | undefined;

  constructor(start: (log: Log, signal: AbortSignal) => Promise<WorkflowResult>, signal?: AbortSignal) {
    this.#start = start;
    if (signal !== undefined) {
      const onAbort = () => this.#controller.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
  }

  #started(): Promise<WorkflowResult> {
    if (this.#promise === undefined) {
      this.#promise = this.#start(this.#log, this.#controller.signal);
      // Readers that only iterate see the failure; this keeps it from being reported as unhandled.
      this.#promise.catch(() => {});
    }
    return this.#promise;
  }

  then<A = WorkflowResult, B = never>(
    onFulfilled?: ((value: WorkflowResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#started().then(onFulfilled, onRejected);
  }

  catch<T = never>(
    onRejected?: ((reason: unknown) => T | PromiseLike<T>) | null,
  ): Promise<WorkflowResult | T> {
    return this.#started().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<WorkflowResult> {
    return this.#started().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return "WorkflowRun";
  }

  cancel(reason?: unknown): void {
    this.#controller.abort(reason ?? new DOMException("The run was cancelled", "AbortError"));
  }

  [Symbol.asyncIterator](): AsyncIterator<WorkflowEvent> {
    void this.#started();
    const events = this.#log.read();
    const log = this.#log;
    const cancel = () => this.cancel(new DOMException("The event stream was closed early", "AbortError"));
    return {
      next: () => events.next(),
      async return() {
        if (!log.closed) cancel();
        await events.return(undefined);
        return { done: true, value: undefined };
      },
    };
  }
}
