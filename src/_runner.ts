// The runner owns run state and the superstep loop: deliver, run targets
// concurrently, commit state, write the checkpoint, report. One runner lives for
// one run and the respond() calls that continue it; resume() builds a new one
// from a checkpoint, so resume state never leaks into a later run.
import {
  type Checkpoint,
  CHECKPOINT_VERSION,
  type CheckpointStorage,
  type QueuedMessage,
  toSummary,
} from "./checkpoint.ts";
import {
  CheckpointConflictError,
  CheckpointEncodeError,
  CheckpointSaveError,
  ExecutorFailedError,
  LeaseLostError,
  WorkflowConvergenceError,
  WorkflowInputError,
} from "./errors.ts";
import type { RunStatus, WorkflowResult } from "./events.ts";
import type { Executor } from "./executor.ts";
import type { CallAbort } from "./_call_abort.ts";
import { ExecutorContext, type SuperstepScope } from "./_executor_context.ts";
import { compareIds, INPUT_SOURCE, type WorkflowGraph } from "./_graph.ts";
import { type Inbox, invoke, refusal } from "./_invoke.ts";
import type { PluginHost } from "./_plugin_host.ts";
import { defineEntry } from "./_records.ts";
import { Router } from "./_router.ts";
import { type Delivery, RunContext } from "./_run_context.ts";
import { newId } from "./_ulid.ts";
import { decodeValue, encodeValue } from "./codec.ts";

/** What one call of the runner does besides its supersteps. */
export interface ExecuteOptions {
  /** Write the entry checkpoint first (a fresh run), after checking the start executor takes the input. */
  entry?: boolean;
  /**
   * Answers to deliver: recorded first in a checkpoint of their own (no longer pending), then handed to their
   * handlers in the first superstep, so an answer survives a crash between the two.
   */
  responses?: Delivery[];
  /** The call forks into a new session: its first checkpoint is written even if no superstep runs. */
  fork?: boolean;
  /** Emit a `request` event for every request still pending (a resumed run). */
  replayRequests?: boolean;
  /** Stored on every checkpoint the call writes. */
  metadata?: Record<string, unknown>;
  /** The call's plugins, started by the caller. */
  plugins?: PluginHost;
}

/** What a run is at a superstep boundary: the part of a checkpoint that is the run itself. */
export type RunState = Pick<
  Checkpoint,
  | "sessionId"
  | "superstep"
  | "messages"
  | "state"
  | "executorState"
  | "edgeState"
  | "pendingRequests"
  | "answers"
  | "versions"
>;

export interface RunnerConfig {
  graph: WorkflowGraph;
  graphSignature: () => Promise<string>;
  /** The canonical description the signature hashes (written on a session's first checkpoint). */
  graphDescription: () => string;
  storage: CheckpointStorage | undefined;
  /** The storage without a run's lease (what a later call on the live run claims anew, or writes to). */
  unleased?: CheckpointStorage;
  sessionId: string;
}

export class Runner {
  readonly graph: WorkflowGraph;
  /** Where checkpoints go: a call on the live run (`respond`) sets it to its own lease's, or `unleased`. */
  storage: CheckpointStorage | undefined;
  readonly unleased: CheckpointStorage | undefined;
  readonly run: RunContext = new RunContext();
  sessionId: string;
  /** The ancestry pointer: the parent of the next checkpoint written. */
  previousCheckpointId: string | null = null;
  superstep = 0;
  #state = new Map<string, unknown>();
  #router: Router;
  #graphSignature: () => Promise<string>;
  #graphDescription: () => string;
  #checkpointed: Executor[];
  /** The versions of the executors with snapshots, for every checkpoint (`Checkpoint.versions`). */
  #versions: Record<string, string>;
  /** The signature of the checkpoint the next one follows, when known: the graph is described on change. */
  #parentSignature: string | undefined;
  /** The next checkpoint starts a session (a fork): it describes the graph. */
  #startsSession = false;
  /** The plugins of the current call, if it has any. */
  #plugins: PluginHost | undefined;
  /** Ends the running superstep when the call aborts. */
  #abortSuperstep: (() => void) | undefined;
  /** The metadata the current call stores on every checkpoint it writes. */
  #metadata: Record<string, unknown> = {};
  /** Answers taken out of the pending requests whose handlers have not yet run; in every checkpoint until they have. */
  #answered: Delivery[] = [];

  constructor(config: RunnerConfig) {
    this.graph = config.graph;
    this.storage = config.storage;
    this.unleased = config.unleased ?? config.storage;
    this.sessionId = config.sessionId;
    this.#graphSignature = config.graphSignature;
    this.#graphDescription = config.graphDescription;
    this.#router = new Router(config.graph.groups);
    this.#checkpointed = [...config.graph.executors.values()].filter((e) => typeof e.snapshot === "function");
    this.#versions = versionsOf(this.#checkpointed);
  }

  /** Queue the run's input for the start executor (superstep 0). */
  seed(input: unknown): void {
    this.run.messages = [{ source: INPUT_SOURCE, data: input, to: this.graph.startId }];
  }

  /** Put the run back to a checkpoint; the next checkpoint written is its child. */
  restore(checkpoint: Checkpoint): void {
    this.restoreState(checkpoint, checkpoint.id);
    this.previousCheckpointId = checkpoint.id;
    this.#parentSignature = checkpoint.graphSignature;
  }

  /** Put the run back to `saved` (a checkpoint's contents, or a sub-workflow's captured run); not its session. */
  restoreState(saved: RunState, checkpointId = "(sub-workflow state)"): void {
    this.#state = new Map(Object.entries(saved.state));
    this.run.messages = saved.messages;
    this.run.pending.clear();
    for (const request of saved.pendingRequests) this.run.pending.set(request.requestId, request);
    this.#answered = saved.answers ?? [];
    for (const executor of this.#checkpointed) {
      if (Object.hasOwn(saved.executorState, executor.id)) {
        executor.restore?.(saved.executorState[executor.id]);
      }
    }
    this.#router.restore(saved.edgeState, checkpointId);
    this.superstep = saved.superstep;
  }

  /** The run's state now, as a checkpoint holds it (copied through the codec: nothing of it is live). */
  capture(): RunState {
    return decodeValue(encodeValue(this.#contents())) as RunState;
  }

  #contents(): RunState {
    const executorState: Record<string, unknown> = {};
    for (const executor of this.#checkpointed) defineEntry(executorState, executor.id, executor.snapshot!());
    return {
      sessionId: this.sessionId,
      superstep: this.superstep,
      messages: this.run.messages,
      state: Object.fromEntries(this.#state),
      executorState,
      edgeState: this.#router.snapshot(),
      pendingRequests: this.run.pendingList(),
      answers: this.#answered,
      versions: this.#versions,
    };
  }

  /**
   * Run supersteps until no message is left, the call's superstep budget is
   * spent, the signal aborts or something fails (then it throws; reporting the
   * failure is the caller's). `run.beginCall` must have started the call. `abort` is the call's: a
   * cancel ends it `cancelled`, another abort (a failing executor, a failing plugin) stops its executors.
   * `entry` writes the entry checkpoint first (a fresh run). With `plugins`
   * (started by the caller), the call waits for them at every superstep
   * boundary and fails with the first `PluginError`.
   */
  async execute(abort: CallAbort, options: ExecuteOptions = {}): Promise<WorkflowResult> {
    const run = this.run;
    const plugins = this.#plugins = options.plugins;
    if (options.fork) this.#startsSession = true;
    this.#metadata = options.metadata ?? {};
    const responses = options.responses ?? [];
    for (const delivery of responses) {
      run.pending.delete(delivery.request.requestId);
      this.#answered.push(delivery);
    }
    // One abort per call, not per superstep: any abort ends the call, so no later superstep sees it.
    // Called before any signal listener, so contexts go inert before a handler reacts to the abort.
    abort.onAbort = () => this.#abortSuperstep?.();
    try {
      run.emit({ type: "started", workflowName: this.graph.name, sessionId: this.sessionId });
      run.emit({
        type: "status",
        state: run.pending.size > 0 ? "in-progress-pending-requests" : "in-progress",
      });
      if (options.replayRequests) {
        // What a resumed run waits for, streamed again so a reader of this call sees it.
        for (const request of run.pending.values()) run.emit({ type: "request", ...request });
      }
      if (abort.cancelled) return this.#finish("cancelled");
      if ((responses.length > 0 || options.fork) && this.storage !== undefined) {
        // No superstep ran: the checkpoint records the answers (or the fork) under the same superstep number.
        const checkpointId = await this.#checkpoint();
        run.emit({ type: "superstep-completed", superstep: this.superstep, checkpointId });
        if (plugins !== undefined) await plugins.flush();
      }
      if (options.entry) {
        await this.#checkInput();
        run.emit({ type: "superstep-started", superstep: this.superstep });
        const checkpointId = await this.#checkpoint();
        run.emit({ type: "superstep-completed", superstep: this.superstep, checkpointId });
        if (plugins !== undefined) await plugins.flush();
      }
      let executed = 0;
      while (run.messages.length > 0 || this.#answered.length > 0) {
        if (abort.cancelled) return this.#finish("cancelled");
        if (executed === this.graph.maxSupersteps) {
          throw new WorkflowConvergenceError(
            this.graph.name,
            this.graph.maxSupersteps,
            this.previousCheckpointId ?? undefined,
          );
        }
        const completed = await this.#superstep(abort, this.#answered);
        if (!completed) return this.#finish("cancelled");
        executed++;
      }
      return this.#finish(run.pending.size > 0 ? "idle-pending-requests" : "idle");
    } catch (error) {
      this.#unanswer();
      throw error;
    } finally {
      abort.onAbort = undefined;
    }
  }

  #finish(status: RunStatus): WorkflowResult {
    if (status === "cancelled") {
      this.#unanswer();
    } else {
      for (const { edgeId, target, waitingFor, messages } of this.#router.stranded()) {
        this.run.emit({
          type: "warning",
          message:
            `Run converged with ${messages} message(s) stranded in the fan-in ${edgeId} into "${target}": ` +
            `it still waits for ${waitingFor.map((id) => `"${id}"`).join(", ")}`,
        });
      }
    }
    this.run.emit({ type: "status", state: status });
    return this.result(status);
  }

  /**
   * A call that ends before the answers' handlers ran leaves their requests waiting again on this instance,
   * to be answered anew; a checkpoint that recorded the answers still resumes with them.
   */
  #unanswer(): void {
    for (const { request } of this.#answered) this.run.pending.set(request.requestId, request);
    this.#answered = [];
  }

  /** A start executor that refuses the run's input fails the run before anything is written. */
  async #checkInput(): Promise<void> {
    const [input] = this.run.messages;
    if (input?.source !== INPUT_SOURCE) return;
    const start = this.graph.executors.get(this.graph.startId)!;
    let why: string | undefined;
    try {
      why = await refusal(start, input.data);
    } catch (error) {
      throw new ExecutorFailedError(start.id, error);
    }
    if (why !== undefined) throw new WorkflowInputError(this.graph.name, start.id, why);
  }

  /** What the call reports with `status`: its outputs, events and requests so far. */
  result(status: RunStatus): WorkflowResult {
    return {
      status,
      outputs: this.run.outputs,
      pendingRequests: this.run.pendingList(),
      events: this.run.keptEvents(),
      checkpointId: this.previousCheckpointId ?? undefined,
      sessionId: this.sessionId,
      stranded: status === "cancelled" ? [] : this.#router.stranded(),
    };
  }

  /** @returns `false` if the signal aborted the superstep (its effects are discarded). */
  async #superstep(abort: CallAbort, responses: Delivery[]): Promise<boolean> {
    const run = this.run;
    const plugins = this.#plugins;
    const step = ++this.superstep;
    run.emit({ type: "superstep-started", superstep: step });
    if (plugins?.failure !== undefined) throw plugins.failure;
    const unroute = this.#router.mark();
    const scope = new Scope(abort);
    let aborted: () => void = () => {};
    const abortedPromise = new Promise<"aborted">((resolve) => aborted = () => resolve("aborted"));
    this.#abortSuperstep = () => {
      scope.live = false;
      aborted();
    };
    let inboxes: Map<string, Inbox> | "aborted" = new Map();
    const routing = this.#route(run.messages, responses, scope, inboxes);
    if (routing !== undefined) {
      // Async conditions may take their time (or never end): a cancel must still end the superstep.
      routing.catch(() => {});
      inboxes = await Promise.race([routing.then(() => inboxes), abortedPromise]);
    }
    if (inboxes === "aborted" || abort.cancelled) {
      this.#abortSuperstep = undefined;
      this.superstep = step - 1;
      unroute();
      return false;
    }
    // A plugin failing mid-superstep stops the executors as a failing executor would.
    if (plugins !== undefined) plugins.onFailure = (error) => abort.abort(error);
    const contexts: ExecutorContext[] = [];
    const tasks: Promise<void>[] = [];
    const reducers = this.graph.reducers;
    for (const inbox of inboxes.values()) {
      // Contexts are made in delivery order; the commit's stable sort by executor id keeps that order.
      const contextFor = () => {
        const ctx = new ExecutorContext(inbox.executor, step, scope, run.emit, this.#state, reducers);
        contexts.push(ctx);
        return ctx;
      };
      tasks.push(invoke(inbox, contextFor, scope, run.emit, plugins));
    }
    try {
      const all = Promise.all(tasks);
      // A failure aborts the siblings at once instead of waiting for them to notice.
      all.catch(() => abort.abort(new DOMException("A sibling executor failed", "AbortError")));
      const outcome = await Promise.race([all, abortedPromise]);
      if (outcome === "aborted" || abort.cancelled) {
        if (plugins?.failure !== undefined) throw plugins.failure;
        this.superstep = step - 1;
        unroute();
        return false;
      }
    } finally {
      scope.live = false;
      this.#abortSuperstep = undefined;
      if (plugins !== undefined) plugins.onFailure = undefined;
    }
    // A plugin that failed during the superstep keeps it from being committed and checkpointed.
    if (plugins !== undefined) await plugins.flush();
    this.#commit(contexts);
    const checkpointId = await this.#checkpoint();
    run.emit({ type: "superstep-completed", superstep: step, checkpointId });
    if (plugins !== undefined) await plugins.flush();
    return true;
  }

  /**
   * Who receives what this superstep, into `inboxes`: answers to their requesters, messages along the
   * edges. A Promise only while an async condition is pending.
   */
  #route(
    messages: QueuedMessage[],
    responses: Delivery[],
    scope: SuperstepScope,
    inboxes: Map<string, Inbox>,
  ): Promise<void> | undefined {
    const inboxOf = (id: string): Inbox => {
      let inbox = inboxes.get(id);
      if (inbox === undefined) {
        inbox = { executor: this.graph.executors.get(id)!, messages: [], responses: [] };
        inboxes.set(id, inbox);
      }
      return inbox;
    };
    for (const delivery of responses) inboxOf(delivery.request.executorId).responses.push(delivery);
    return this.#router.route(
      messages,
      (target, source, data) => void inboxOf(target).messages.push({ source, data }),
      (executorId, message) => this.run.emit({ type: "warning", message, executorId }),
      () => scope.live,
    );
  }

  /** Apply a finished superstep: state writes, then sends, outputs and requests, in executor-id order. */
  #commit(contexts: ExecutorContext[]): void {
    const run = this.run;
    const hadPending = run.pending.size > 0;
    this.#answered = [];
    contexts.sort((a, b) => compareIds(a.executorId, b.executorId));
    const messages: QueuedMessage[] = [];
    for (const ctx of contexts) {
      try {
        ctx.commitWrites(this.#state);
      } catch (error) {
        throw new ExecutorFailedError(ctx.executorId, error);
      }
      for (const message of ctx.outbox) messages.push(message);
      for (const output of ctx.outputs) run.outputs.push(output);
      for (const request of ctx.requests) run.pending.set(request.requestId, request);
    }
    run.messages = messages;
    const hasPending = run.pending.size > 0;
    if (hasPending !== hadPending) {
      run.emit({ type: "status", state: hasPending ? "in-progress-pending-requests" : "in-progress" });
    }
  }

  /** Write the checkpoint of the current state; a save that fails fails the run. */
  async #checkpoint(): Promise<string | undefined> {
    if (this.storage === undefined) return undefined;
    const id = newId(this.previousCheckpointId ?? undefined);
    const graphSignature = await this.#graphSignature();
    // Described where a reader would look for it: a session's first checkpoint, and wherever the graph changed.
    const describe = this.previousCheckpointId === null || this.#startsSession ||
      this.#parentSignature !== graphSignature;
    const checkpoint: Checkpoint = {
      version: CHECKPOINT_VERSION,
      id,
      parentId: this.previousCheckpointId,
      workflowName: this.graph.name,
      graphSignature,
      createdAt: isoNow(),
      metadata: this.#metadata,
      ...this.#contents(),
      ...describe && { graph: this.#graphDescription() },
    };
    try {
      await this.storage.save(checkpoint);
    } catch (error) {
      if (
        error instanceof CheckpointConflictError || error instanceof CheckpointEncodeError ||
        error instanceof LeaseLostError
      ) throw error;
      throw new CheckpointSaveError(id, error);
    }
    this.previousCheckpointId = id;
    this.#parentSignature = graphSignature;
    this.#startsSession = false;
    this.#plugins?.checkpoint(toSummary(checkpoint));
    return id;
  }
}

/** One superstep's scope: live until it ends; its signal is the call's, made only if a context asks for it. */
class Scope implements SuperstepScope {
  live = true;
  #abort: CallAbort;
  constructor(abort: CallAbort) {
    this.#abort = abort;
  }
  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

let isoTime = -1;
let isoText = "";

/** `new Date().toISOString()`, made once per millisecond (a fast run writes many checkpoints in one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoTime) {
    isoTime = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** The executors' versions, of those that declare one: what every checkpoint records in `versions`. */
function versionsOf(executors: readonly Executor[]): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const executor of executors) {
    if (executor.version !== undefined) defineEntry(versions, executor.id, executor.version);
  }
  return versions;
}
