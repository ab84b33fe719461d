// The WorkflowContext one executor gets for one superstep. It buffers what the
// executor does (sends, state writes, requests) until the runner commits the
// superstep, and goes inert once the superstep is over, so a handler that
// outlives a cancelled or failed superstep cannot leak effects into the run.
import type { QueuedMessage } from "./checkpoint.ts";
import type { PendingRequest, WorkflowEvent } from "./events.ts";
import type { SendOptions, WorkflowContext, WorkflowState } from "./context.ts";
import type { Executor } from "./executor.ts";
import type { StandardSchema } from "./standard_schema.ts";
import { newId } from "./_ulid.ts";
import { decodeValue, encodeValue } from "./codec.ts";
import { type Reducer, StateWrites } from "./_state_writes.ts";

/** Where an attempt of a handler call started (see `ExecutorContext.mark`). */
export interface AttemptMark {
  outbox: number;
  outputs: number;
  requests: number;
  journal: number;
  /** The executor's encoded `snapshot()`, when it has one that encodes. */
  snapshot: string | undefined;
}

/** The key of an executor context's sub-workflow channel (package-private). */
export const NESTING: unique symbol = Symbol("superstep.nesting");

/** A context's sub-workflow channel: relay an inner request, forward an inner event. */
export interface Nesting {
  relay(request: PendingRequest): void;
  forward(path: string[], event: WorkflowEvent): void;
}

/** Shared by every context of one superstep: flips once when the superstep ends. */
export interface SuperstepScope {
  live: boolean;
  readonly signal: AbortSignal;
}

export class ExecutorContext implements WorkflowContext {
  readonly executorId: string;
  readonly superstep: number;
  readonly outbox: QueuedMessage[] = [];
  readonly outputs: unknown[] = [];
  readonly requests: PendingRequest[] = [];
  #scope: SuperstepScope;
  #emit: (event: WorkflowEvent) => void;
  #executor: Executor;
  readonly #writes: StateWrites;
  /** The `sends` / `yields` checks of this context, in order, and the first one that refused. */
  #checks: Promise<void> = Promise.resolve();
  #refused: { error: unknown } | undefined;
  #state: WorkflowState | undefined;
  #signal: AbortSignal | undefined;

  constructor(
    executor: Executor,
    superstep: number,
    scope: SuperstepScope,
    emit: (event: WorkflowEvent) => void,
    committed: ReadonlyMap<string, unknown>,
    reducers?: ReadonlyMap<string, Reducer>,
  ) {
    this.#executor = executor;
    this.executorId = executor.id;
    this.superstep = superstep;
    this.#scope = scope;
    this.#emit = emit;
    this.#writes = new StateWrites(committed, reducers);
  }

  /**
   * Aborts with the call. Its own signal, made on first use (most handlers never read it): what a handler
   * hangs on it (fetch, timers: an `abort` listener each) goes with this context, instead of piling up on
   * the call's signal for as many supersteps as the call runs (and tripping Node's
   * MaxListenersExceededWarning past ten).
   */
  get signal(): AbortSignal {
    return this.#signal ??= followSignal(this.#scope.signal);
  }

  /** Shared state; made on first use, since most handlers never touch it. */
  get state(): WorkflowState {
    return this.#state ??= this.#writes.view(() => this.#assertLive());
  }

  send(message: unknown, options?: SendOptions): Promise<void> {
    this.#assertLive();
    const to = options?.to;
    if (to !== undefined && typeof to !== "string") {
      throw new TypeError(`send() option "to" must be an executor id, got ${typeof to}`);
    }
    const schema = this.#executor.sends;
    const push = (data: unknown) =>
      this.outbox.push(
        to === undefined ? { source: this.executorId, data } : { source: this.executorId, data, to },
      );
    if (schema === undefined) {
      push(message);
      return Promise.resolve();
    }
    return this.#checked(schema, message, "send", push);
  }

  yieldOutput(value: unknown): Promise<void> {
    this.#assertLive();
    const schema = this.#executor.yields;
    const push = (data: unknown) => {
      this.outputs.push(data);
      this.#emit({ type: "output", executorId: this.executorId, data });
    };
    if (schema === undefined) {
      push(value);
      return Promise.resolve();
    }
    // Checked before it streams: an output its schema refuses is never seen.
    return this.#checked(schema, value, "yield", push);
  }

  /**
   * Validate `value` against the executor's `sends` / `yields` schema, then `apply` its output. Checks run
   * one after another, so messages and outputs keep their order; the first refusal fails the handler call
   * (see `settle`), awaited or not.
   */
  #checked(
    schema: StandardSchema,
    value: unknown,
    verb: string,
    apply: (value: unknown) => void,
  ): Promise<void> {
    const step = this.#checks.then(async () => {
      const result = await schema["~standard"].validate(value);
      if (result.issues !== undefined) {
        throw new TypeError(
          `Executor "${this.executorId}" cannot ${verb} a value its ${
            verb === "send" ? "sends" : "yields"
          } ` +
            `schema refuses: ${result.issues.map((issue) => issue.message).join("; ")}`,
        );
      }
      if (this.#scope.live) apply(result.value);
    });
    // Handled here, so a handler that does not await its send leaves no unhandled rejection behind.
    this.#checks = step.catch((error) => void (this.#refused ??= { error }));
    return step;
  }

  /**
   * Wait for the `sends` / `yields` checks of the handler call so far; throws the first refusal. A call
   * is over only once they are.
   */
  async settle(): Promise<void> {
    await this.#checks;
    const refused = this.#refused;
    this.#refused = undefined;
    if (refused !== undefined) throw refused.error;
  }

  emit(name: string, data?: unknown): void {
    this.#assertLive();
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`emit() needs a non-empty event name, got ${JSON.stringify(name)}`);
    }
    this.#emit({ type: "custom", name, data, executorId: this.executorId, superstep: this.superstep });
  }

  requestInfo(data: unknown): Promise<string> {
    this.#assertLive();
    if (typeof this.#executor.onResponse !== "function") {
      throw new TypeError(
        `Executor "${this.executorId}" cannot request info: it has no onResponse to receive the answer`,
      );
    }
    const request: PendingRequest = { requestId: newId(), executorId: this.executorId, data };
    this.requests.push(request);
    this.#emit({ type: "request", ...request });
    return Promise.resolve(request.requestId);
  }

  /**
   * What a sub-workflow's executor uses of its context beyond the public API: pass an inner request on as a
   * request of this run (answered to this executor), and forward an inner event (see `WorkflowExecutor`).
   */
  readonly [NESTING]: Nesting = {
    relay: (request: PendingRequest) => {
      this.#assertLive();
      this.requests.push(request);
      this.#emit({ type: "request", ...request });
    },
    forward: (path: string[], event: WorkflowEvent) => {
      if (this.#scope.live) this.#emit({ type: "nested", executorId: this.executorId, path, event });
    },
  };

  /** Whether the superstep is still running (afterwards the context is inert). */
  get live(): boolean {
    return this.#scope.live;
  }

  /**
   * Remember where a handler call starts, so a plugin that runs it again (a
   * retry) can discard what a failed attempt did. Executor state is copied
   * through the codec: `snapshot()` may return live references.
   */
  mark(): AttemptMark {
    const journal = this.#writes.mark();
    let snapshot: string | undefined;
    if (typeof this.#executor.snapshot === "function" && typeof this.#executor.restore === "function") {
      try {
        snapshot = encodeValue(this.#executor.snapshot());
      } catch {
        // Not encodable now: the checkpoint will say so; the attempt just cannot restore it.
      }
    }
    return {
      outbox: this.outbox.length,
      outputs: this.outputs.length,
      requests: this.requests.length,
      journal,
      snapshot,
    };
  }

  /** Undo everything done since `mark` (sends, outputs, requests, state writes, executor state). */
  rollback(mark: AttemptMark): void {
    this.outbox.length = mark.outbox;
    this.outputs.length = mark.outputs;
    this.requests.length = mark.requests;
    this.#writes.rollback(mark.journal);
    if (mark.snapshot !== undefined) this.#executor.restore!(decodeValue(mark.snapshot));
  }

  /** Apply this context's state writes to `state` (called in executor-id order). Throws what a reducer throws. */
  commitWrites(state: Map<string, unknown>): void {
    this.#writes.commit(state);
  }

  #assertLive(): void {
    if (!this.#scope.live) {
      throw this.#scope.signal.reason ?? new DOMException("The superstep is over", "AbortError");
    }
  }
}

/**
 * A signal that aborts when `signal` does. `AbortSignal.any` ties the two without an event listener on
 * `signal` (runtimes hold their dependents weakly), so nothing accumulates on the call's signal.
 */
function followSignal(signal: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof any === "function") return any.call(AbortSignal, [signal]);
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}
