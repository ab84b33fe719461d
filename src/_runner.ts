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
  CheckpointCorruptError,
  CheckpointEncodeError,
  CheckpointSaveError,
  ExecutorFailedError,
  WorkflowConvergenceError,
  WorkflowRoutingError,
} from "./errors.ts";
import type { PendingRequest, RunStatus, WorkflowResult } from "./events.ts";
import type { Executor } from "./executor.ts";
import { createEdgeRunner, type EdgeRunner } from "./_edge_runner.ts";
import { ExecutorContext, type SuperstepScope } from "./_executor_context.ts";
import { compareIds, INPUT_SOURCE, type WorkflowGraph } from "./_graph.ts";
import { RunContext } from "./_run_context.ts";
import { newId } from "./_ulid.ts";
import type { EventLog } from "./_event_log.ts";
import { describeError } from "./_describe.ts";
import type { HandlerCall, PluginHost } from "./_plugin_host.ts";

export interface RunnerConfig {
  graph: WorkflowGraph;
  graphSignature: () => Promise<string>;
  storage: CheckpointStorage | undefined;
  sessionId: string;
}

/** One answer to deliver: the request it answers and the value. */
export interface Delivery {
  request: PendingRequest;
  response: unknown;
}

interface Inbox {
  executor: Executor;
  messages: { source: string; data: unknown }[];
  responses: Delivery[];
}

export class Runner {
  readonly graph: WorkflowGraph;
  readonly storage: CheckpointStorage | undefined;
  readonly run: RunContext = new RunContext();
  sessionId: string;
  /** The ancestry pointer: the parent of the next checkpoint written. */
  previousCheckpointId: string | null = null;
  superstep = 0;
  #state = new Map<string, unknown>();
  #edges: EdgeRunner[];
  #edgesBySource = new Map<string, EdgeRunner[]>();
  #graphSignature: () => Promise<string>;
  #checkpointed: Executor[];
  #statefulEdges: EdgeRunner[];
  /** The plugins of the current call, if it has any. */
  #plugins: PluginHost | undefined;
  /**
   * The current call's controller; executors see its signal. One per call, not per superstep: an
   * AbortController and its listeners cost more than the rest of a small superstep on Node, and any abort
   * ends the call, so no later superstep of the call ever sees an aborted signal.
   */
  #controller: AbortController | undefined;
  /** Ends the running superstep when the call's controller aborts. */
  #abortSuperstep: (() => void) | undefined;

  constructor(config: RunnerConfig) {
    this.graph = config.graph;
    this.storage = config.storage;
    this.sessionId = config.sessionId;
    this.#graphSignature = config.graphSignature;
    this.#edges = config.graph.groups.map((spec) => {
      const runner = createEdgeRunner(spec);
      for (const source of spec.kind === "fan-in" ? spec.sources : [spec.source]) {
        const list = this.#edgesBySource.get(source) ?? [];
        list.push(runner);
        this.#edgesBySource.set(source, list);
      }
      return runner;
    });
    this.#checkpointed = [...config.graph.executors.values()].filter((e) => typeof e.snapshot === "function");
    this.#statefulEdges = this.#edges.filter((edge) => typeof edge.snapshot === "function");
  }

  /** Queue the run's input for the start executor (superstep 0). */
  seed(input: unknown): void {
    this.run.messages = [{ source: INPUT_SOURCE, data: input, to: this.graph.startId }];
  }

  /** Put the run back to a checkpoint; the next checkpoint written is its child. */
  restore(checkpoint: Checkpoint): void {
    this.#state = new Map(Object.entries(checkpoint.state));
    this.run.messages = checkpoint.messages;
    this.run.pending.clear();
    for (const request of checkpoint.pendingRequests) this.run.pending.set(request.requestId, request);
    for (const executor of this.#checkpointed) {
      if (Object.hasOwn(checkpoint.executorState, executor.id)) {
        executor.restore?.(checkpoint.executorState[executor.id]);
      }
    }
    for (const edge of this.#edges) {
      try {
        edge.restore?.(
          Object.hasOwn(checkpoint.edgeState, edge.id) ? checkpoint.edgeState[edge.id] : undefined,
        );
      } catch (error) {
        throw new CheckpointCorruptError(checkpoint.id, `invalid state of edge ${edge.id}`, { cause: error });
      }
    }
    this.superstep = checkpoint.superstep;
    this.previousCheckpointId = checkpoint.id;
  }

  /**
   * Run supersteps until no message is left, the call's superstep budget is
   * spent, the signal aborts or something fails. `entry` writes the entry
   * checkpoint first (a fresh run). With `plugins`, the call waits for them at
   * every superstep boundary and fails with the first `PluginError`.
   */
  async execute(
    log: EventLog,
    signal: AbortSignal,
    options: { entry?: boolean; responses?: Delivery[]; plugins?: PluginHost } = {},
  ): Promise<WorkflowResult> {
    const run = this.run;
    const plugins = this.#plugins = options.plugins;
    run.beginCall(log, plugins);
    let responses = options.responses ?? [];
    const controller = this.#controller = new AbortController();
    // Registered before any handler can listen, so contexts go inert before a handler reacts to the abort.
    const onCallAbort = () => this.#abortSuperstep?.();
    controller.signal.addEventListener("abort", onCallAbort, { once: true });
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (plugins !== undefined) await plugins.start();
      run.emit({ type: "started", workflowName: this.graph.name, sessionId: this.sessionId });
      run.emit({
        type: "status",
        state: run.pending.size > 0 ? "in-progress-pending-requests" : "in-progress",
      });
      if (signal.aborted) return await this.#finish("cancelled");
      if (options.entry) {
        run.emit({ type: "superstep-started", superstep: this.superstep });
        const checkpointId = await this.#checkpoint();
        run.emit({ type: "superstep-completed", superstep: this.superstep, checkpointId });
        if (plugins !== undefined) await plugins.flush();
      }
      let executed = 0;
      while (run.messages.length > 0 || responses.length > 0) {
        if (signal.aborted) return await this.#finish("cancelled");
        if (executed === this.graph.maxSupersteps) {
          throw new WorkflowConvergenceError(
            this.graph.name,
            this.graph.maxSupersteps,
            this.previousCheckpointId ?? undefined,
          );
        }
        const completed = await this.#superstep(signal, responses);
        if (!completed) return await this.#finish("cancelled");
        responses = [];
        executed++;
      }
      return await this.#finish(run.pending.size > 0 ? "idle-pending-requests" : "idle");
    } catch (error) {
      run.emit({ type: "failed", error });
      run.emit({ type: "status", state: "failed" });
      // Plugins learn of the failure; one failing again now cannot change what the call rejects with.
      if (plugins !== undefined) await plugins.end({ ...this.#result("failed"), error });
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
      controller.signal.removeEventListener("abort", onCallAbort);
    }
  }

  #finish(status: RunStatus): WorkflowResult | Promise<WorkflowResult> {
    this.run.emit({ type: "status", state: status });
    const result = this.#result(status);
    return this.#plugins === undefined ? result : this.#endPlugins(this.#plugins, result);
  }

  async #endPlugins(plugins: PluginHost, result: WorkflowResult): Promise<WorkflowResult> {
    await plugins.flush();
    await plugins.end(result);
    if (plugins.failure !== undefined) throw plugins.failure;
    return result;
  }

  #result(status: RunStatus): WorkflowResult {
    return {
      status,
      outputs: this.run.outputs,
      pendingRequests: this.run.pendingList(),
      events: this.run.events,
      checkpointId: this.previousCheckpointId ?? undefined,
      sessionId: this.sessionId,
    };
  }

  /** @returns `false` if the signal aborted the superstep (its effects are discarded). */
  async #superstep(signal: AbortSignal, responses: Delivery[]): Promise<boolean> {
    const run = this.run;
    const plugins = this.#plugins;
    const step = ++this.superstep;
    run.emit({ type: "superstep-started", superstep: step });
    if (plugins?.failure !== undefined) throw plugins.failure;
    // Routing fills fan-in buffers; a cancelled superstep must leave them as they were,
    // since its messages stay queued and will be routed again when the run continues.
    const edgesBefore = this.#statefulEdges.map((edge) => edge.snapshot!());
    const inboxes = this.#route(run.messages, responses);
    const controller = this.#controller!;
    const scope: SuperstepScope = { live: true, signal: controller.signal };
    let aborted: () => void = () => {};
    const abortedPromise = new Promise<"aborted">((resolve) => aborted = () => resolve("aborted"));
    this.#abortSuperstep = () => {
      scope.live = false;
      aborted();
    };
    // A plugin failing mid-superstep stops the executors as a failing executor would.
    if (plugins !== undefined) plugins.onFailure = (error) => controller.abort(error);
    const contexts: ExecutorContext[] = [];
    const tasks: Promise<void>[] = [];
    for (const inbox of inboxes.values()) {
      const ctx = new ExecutorContext(inbox.executor, step, scope, run, this.#state);
      contexts.push(ctx);
      tasks.push(this.#invoke(inbox, ctx, scope));
    }
    try {
      const all = Promise.all(tasks);
      // A failure aborts the siblings at once instead of waiting for them to notice.
      all.catch(() => controller.abort(new DOMException("A sibling executor failed", "AbortError")));
      const outcome = await Promise.race([all, abortedPromise]);
      if (outcome === "aborted" || signal.aborted) {
        if (plugins?.failure !== undefined) throw plugins.failure;
        this.superstep = step - 1;
        this.#statefulEdges.forEach((edge, i) => edge.restore!(edgesBefore[i]));
        return false;
      }
    } finally {
      scope.live = false;
      this.#abortSuperstep = undefined;
      if (plugins !== undefined) plugins.onFailure = undefined;
    }
    // A plugin that failed during the superstep keeps it from being committed and checkpointed.
    if (plugins !== undefined) await plugins.flush();
    this.#commit(contexts, responses);
    const checkpointId = await this.#checkpoint();
    run.emit({ type: "superstep-completed", superstep: step, checkpointId });
    if (plugins !== undefined) await plugins.flush();
    return true;
  }

  /** Deliver queued messages along their sources' edges, in deterministic order. */
  #route(messages: QueuedMessage[], responses: Delivery[]): Map<string, Inbox> {
    const inboxes = new Map<string, Inbox>();
    const inboxOf = (id: string): Inbox => {
      let inbox = inboxes.get(id);
      if (inbox === undefined) {
        inbox = { executor: this.graph.executors.get(id)!, messages: [], responses: [] };
        inboxes.set(id, inbox);
      }
      return inbox;
    };
    for (const delivery of responses) inboxOf(delivery.request.executorId).responses.push(delivery);
    for (const message of messages) {
      const { source, data, to } = message;
      if (source === INPUT_SOURCE) {
        inboxOf(to!).messages.push({ source, data });
        continue;
      }
      const edges = this.#edgesBySource.get(source);
      if (edges === undefined) {
        this.#warn(source, `Message from "${source}" dropped: it has no outgoing edges`);
        continue;
      }
      if (to !== undefined && !edges.some((edge) => edge.leadsTo(to))) {
        this.#warn(
          source,
          `Message from "${source}" to "${to}" dropped: no edge leads from "${source}" to "${to}"`,
        );
        continue;
      }
      const deliver = (target: string, payload: unknown) =>
        inboxOf(target).messages.push({ source, data: payload });
      for (const edge of edges) {
        if (to !== undefined && !edge.leadsTo(to)) continue;
        try {
          edge.route(source, data, to, deliver);
        } catch (error) {
          if (error instanceof WorkflowRoutingError) throw error;
          throw new WorkflowRoutingError(source, `a condition of ${edge.id} threw: ${describeError(error)}`, {
            cause: error,
          });
        }
      }
    }
    for (const edge of this.#statefulEdges) {
      edge.flush?.((target, joined) => inboxOf(target).messages.push({ source: edge.id, data: joined }));
    }
    return inboxes;
  }

  async #invoke(inbox: Inbox, ctx: ExecutorContext, scope: SuperstepScope): Promise<void> {
    const { executor } = inbox;
    const run = this.run;
    const plugins = this.#plugins?.wraps ? this.#plugins : undefined;
    const retried = plugins && ((attempt: number, error: unknown) => {
      if (!scope.live) return;
      run.emit({
        type: "executor-retried",
        executorId: executor.id,
        superstep: ctx.superstep,
        attempt,
        error,
      });
    });
    const call = async (body: HandlerCall, message: unknown) => {
      if (!scope.live) return;
      run.emit({ type: "executor-invoked", executorId: executor.id, superstep: ctx.superstep });
      try {
        await (plugins === undefined ? body : plugins.wrap(ctx, body, retried!))(message, ctx);
      } catch (error) {
        if (!scope.live) return;
        run.emit({ type: "executor-failed", executorId: executor.id, superstep: ctx.superstep, error });
        throw plugins?.owns(error) ? error : new ExecutorFailedError(executor.id, error);
      }
      if (scope.live) {
        run.emit({ type: "executor-completed", executorId: executor.id, superstep: ctx.superstep });
      }
    };
    for (const { request, response } of inbox.responses) {
      await call((answer, context) => executor.onResponse!(answer, request, context), response);
    }
    for (const { source, data } of inbox.messages) {
      let admitted: unknown;
      try {
        admitted = await this.#admit(executor, source, data);
      } catch (error) {
        // accepts() and input schemas are the executor's code: a throw fails it like its handler.
        if (!scope.live) return;
        run.emit({ type: "executor-failed", executorId: executor.id, superstep: ctx.superstep, error });
        throw new ExecutorFailedError(executor.id, error);
      }
      if (admitted === REFUSED || !scope.live) continue;
      await call((message, context) => executor.handle(message, context), admitted);
    }
  }

  /** Check a message against the executor's `accepts` / `input` schema. */
  async #admit(executor: Executor, source: string, data: unknown): Promise<unknown> {
    if (executor.accepts !== undefined && !executor.accepts(data)) {
      this.#warn(source, `Message from "${source}" to "${executor.id}" refused: accepts() returned false`);
      return REFUSED;
    }
    if (executor.input !== undefined) {
      const result = await executor.input["~standard"].validate(data);
      if (result.issues !== undefined) {
        const detail = result.issues.map((issue) => issue.message).join("; ");
        this.#warn(source, `Message from "${source}" to "${executor.id}" refused: input schema: ${detail}`);
        return REFUSED;
      }
      return result.value;
    }
    return data;
  }

  /** Apply a finished superstep: state writes, then sends, outputs and requests, in executor-id order. */
  #commit(contexts: ExecutorContext[], responses: Delivery[]): void {
    const run = this.run;
    const hadPending = run.pending.size > 0;
    for (const { request } of responses) run.pending.delete(request.requestId);
    contexts.sort((a, b) => compareIds(a.executorId, b.executorId));
    const messages: QueuedMessage[] = [];
    for (const ctx of contexts) {
      ctx.commitWrites(this.#state);
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
    const executorState: Record<string, unknown> = {};
    for (const executor of this.#checkpointed) defineEntry(executorState, executor.id, executor.snapshot!());
    const edgeState: Record<string, unknown> = {};
    // Only fan-in edges have state: walking every edge would make a superstep's cost grow with the graph.
    for (const edge of this.#statefulEdges) {
      const snapshot = edge.snapshot!();
      if (snapshot !== undefined) defineEntry(edgeState, edge.id, snapshot);
    }
    const checkpoint: Checkpoint = {
      version: CHECKPOINT_VERSION,
      id,
      parentId: this.previousCheckpointId,
      sessionId: this.sessionId,
      workflowName: this.graph.name,
      graphSignature: await this.#graphSignature(),
      superstep: this.superstep,
      createdAt: isoNow(),
      messages: this.run.messages,
      state: Object.fromEntries(this.#state),
      executorState,
      edgeState,
      pendingRequests: this.run.pendingList(),
      metadata: {},
    };
    try {
      await this.storage.save(checkpoint);
    } catch (error) {
      if (error instanceof CheckpointConflictError || error instanceof CheckpointEncodeError) throw error;
      throw new CheckpointSaveError(id, error);
    }
    this.previousCheckpointId = id;
    this.#plugins?.checkpoint(toSummary(checkpoint));
    return id;
  }

  #warn(executorId: string, message: string): void {
    this.run.emit({ type: "warning", message, executorId });
  }
}

const REFUSED: unique symbol = Symbol("refused");

/** `record[key] = value` that stays an own data property even for "__proto__". */
function defineEntry(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
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
