/**
 * The events a run streams, its statuses and its result.
 *
 * @module
 */

/** Messages a fan-in buffered, waiting for sources that never sent (see `WorkflowResult.stranded`). */
export interface StrandedMessages {
  /** The fan-in's edge group id. */
  edgeId: string;
  /** Its target. */
  target: string;
  /** The sources it still waits for. */
  waitingFor: string[];
  /** How many messages it holds. */
  messages: number;
}

/** A request for outside input that an executor made with `ctx.requestInfo(data)` and nobody answered yet. */
export interface PendingRequest {
  /** Unique id to answer with (`respond({ [requestId]: value })`). */
  requestId: string;
  /** The executor whose `onResponse` receives the answer. */
  executorId: string;
  /** What the executor asked, as it passed it. */
  data: unknown;
  /**
   * For a request made inside a sub-workflow: the executors that lead to the one that asked, outermost
   * first (`["review", "ask"]`: executor `ask` of the sub-workflow run by `review`). `executorId` is then the
   * outer `WorkflowExecutor`, which passes the answer on.
   */
  path?: string[];
}

/**
 * The state of a run. `in-progress*` while it runs, then one terminal state:
 * `idle` (converged, nothing outstanding), `idle-pending-requests` (converged,
 * waiting for answers), `failed` or `cancelled`.
 */
export type RunState =
  | "in-progress"
  | "in-progress-pending-requests"
  | "idle"
  | "idle-pending-requests"
  | "failed"
  | "cancelled";

/** The terminal state of a run, as `WorkflowResult.status` reports it. */
export type RunStatus = "idle" | "idle-pending-requests" | "failed" | "cancelled";

/**
 * Every event a run emits, discriminated by `type` (kebab-case, stable).
 *
 * `executor-retried` means a plugin (such as `./retry`) runs a handler call
 * again: `attempt` is the attempt starting (2 for the first retry) and `error`
 * what the previous attempt threw (`undefined` if it had succeeded). The
 * sends, outputs, requests and state writes of the previous attempt are
 * discarded; its `output` and `request` events were already emitted.
 *
 * `custom` events are what executors stream with `ctx.emit(name, data)`
 * (progress, tokens): live, never outputs, never checkpointed.
 *
 * `nested` events carry an event of a sub-workflow (`WorkflowExecutor`):
 * `path` names the executors that lead to it, outermost first, and `event` is
 * the sub-workflow's own event (its outputs are the sub-workflow's, never this
 * workflow's).
 *
 * @typeParam TOutput What `output` events carry: the workflow's output type.
 */
export type WorkflowEvent<TOutput = unknown> =
  | { type: "started"; workflowName: string; sessionId: string }
  | { type: "status"; state: RunState }
  | { type: "superstep-started"; superstep: number }
  | { type: "executor-invoked"; executorId: string; superstep: number }
  | { type: "executor-completed"; executorId: string; superstep: number }
  | { type: "executor-failed"; executorId: string; superstep: number; error: unknown }
  | { type: "executor-retried"; executorId: string; superstep: number; attempt: number; error: unknown }
  | { type: "output"; executorId: string; data: TOutput }
  | { type: "request"; requestId: string; executorId: string; data: unknown }
  | { type: "superstep-completed"; superstep: number; checkpointId?: string }
  | { type: "warning"; message: string; executorId?: string; refusedBy?: string }
  | { type: "custom"; name: string; data: unknown; executorId: string; superstep: number }
  | { type: "nested"; executorId: string; path: string[]; event: WorkflowEvent }
  | { type: "failed"; error: unknown };

/** The `type` of every event, in one union. */
export type WorkflowEventType = WorkflowEvent["type"];

/**
 * What a finished run (or call of resume/respond) reports.
 *
 * @typeParam TOutput The workflow's output type (the union of what its executors yield).
 */
export interface WorkflowResult<TOutput = unknown> {
  /** The terminal status. A failed run rejects instead of resolving, so this is rarely `failed`. */
  status: RunStatus;
  /** Values passed to `ctx.yieldOutput`, by superstep, then executor id, then yield order. */
  outputs: TOutput[];
  /** Requests still unanswered when the run stopped. */
  pendingRequests: PendingRequest[];
  /**
   * The call's events in emission order: all of them, or the last `keepEvents` (1,000 unless the call
   * says otherwise) of a longer call.
   */
  events: WorkflowEvent<TOutput>[];
  /** The newest checkpoint of the run's state (the one to resume from), when checkpointing is on. */
  checkpointId?: string;
  /** The session (branch) the run's checkpoints belong to. */
  sessionId: string;
  /**
   * Messages left in fan-in buffers when the run converged, because some of their sources never sent
   * (a `select` that picked fewer targets, a branch that stopped): each named with what it waits for, and
   * reported by a `warning` event too. Empty when nothing was stranded. They stay in the checkpoint: a
   * later call (`respond`, `resume`) that makes the missing sources send delivers them.
   */
  stranded: StrandedMessages[];
  /**
   * The error of a failed call. Only plugins see it (`onRunEnd`): a failed
   * call rejects with it instead of resolving.
   */
  error?: unknown;
}
