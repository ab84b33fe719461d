/**
 * `Workflow`: a built graph with its executors; runs, resumes and answers.
 *
 * @module
 */
import type { CheckpointStorage } from "./checkpoint.ts";
import { decodeValue, encodeValue } from "./codec.ts";
import {
  CheckpointConflictError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  RequestNotPendingError,
  WorkflowAlreadyRunningError,
  WorkflowValidationError,
} from "./errors.ts";
import type { PendingRequest, WorkflowResult } from "./events.ts";
import { compileBuilder, computeGraphSignature, type WorkflowGraph } from "./_graph.ts";
import { renderDot, renderMermaid } from "./_render.ts";
import { RunControl, RunHandle } from "./_run_handle.ts";
import { type Delivery, Runner } from "./_runner.ts";
import { newId, newSessionId } from "./_ulid.ts";
import type { RunInfo, RunKind, WorkflowPlugin } from "./plugin.ts";
import { assertPlugins, PluginHost } from "./_plugin_host.ts";
import { RunGuard, type RunOwner } from "./run_guard.ts";
import type { WorkflowBuilder } from "./workflow_builder.ts";
import type { WorkflowRun } from "./workflow_run.ts";

/** Options of `Workflow.run`. */
export interface RunOptions {
  /**
   * The session (branch) to write checkpoints to. A session that already has
   * checkpoints is appended to: the entry checkpoint's parent is its head.
   *
   * @default {a new session}
   */
  sessionId?: string;
  /**
   * Checkpoint storage for this run only (never inherited by a later run).
   *
   * @default {the builder's `withCheckpointing` storage, if any}
   */
  storage?: CheckpointStorage;
  /** Cancels the run: status `cancelled`, last checkpoint resumable. */
  signal?: AbortSignal;
  /**
   * Plugins for this call only, after the builder's (see {@linkcode WorkflowPlugin}).
   *
   * @default {none}
   */
  plugins?: readonly WorkflowPlugin[];
}

/** Options of `Workflow.resume`. */
export interface ResumeOptions {
  /** Answers to pending requests, by request id. */
  responses?: Record<string, unknown>;
  /**
   * Where the checkpoint lives (and where the resumed run writes).
   *
   * @default {the builder's `withCheckpointing` storage}
   */
  storage?: CheckpointStorage;
  /** Cancels the run. */
  signal?: AbortSignal;
  /**
   * Resume a checkpoint that is not its session's head by starting a new
   * session whose first checkpoint's parent is the resumed checkpoint.
   *
   * @default {false}
   */
  fork?: boolean;
  /**
   * The session to continue in. A different session than the checkpoint's
   * implies a fork into it.
   *
   * @default {the checkpoint's session, or a new one when forking}
   */
  sessionId?: string;
  /**
   * Plugins for this call only, after the builder's (see {@linkcode WorkflowPlugin}).
   *
   * @default {none}
   */
  plugins?: readonly WorkflowPlugin[];
}

/** Options of `Workflow.respond`. */
export interface RespondOptions {
  /** Cancels the run. */
  signal?: AbortSignal;
  /**
   * Plugins for this call only, after the builder's (see {@linkcode WorkflowPlugin}).
   *
   * @default {none}
   */
  plugins?: readonly WorkflowPlugin[];
}

/**
 * A workflow built by {@linkcode WorkflowBuilder}. It holds executor instances,
 * so one instance runs one run at a time (a second `run()` while one is live
 * throws `WorkflowAlreadyRunningError`); build one instance per concurrent run.
 *
 * @example
 * ```ts
 * import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "@superstep/superstep";
 *
 * const split = defineExecutor({
 *   id: "split",
 *   handle: async (text: string, ctx) => {
 *     for (const word of text.split(" ")) await ctx.send(word);
 *   },
 * });
 * const len = defineExecutor({
 *   id: "len",
 *   handle: async (word: string, ctx) => await ctx.yieldOutput(word.length),
 * });
 * const workflow = new WorkflowBuilder({ name: "wordlen", start: split })
 *   .addEdge(split, len)
 *   .withCheckpointing(new MemoryCheckpointStorage())
 *   .build();
 * const result = await workflow.run("hello big world");
 * console.assert(result.outputs.join() === "5,3,5");
 * ```
 */
export class Workflow {
  #graph: WorkflowGraph;
  #storage: CheckpointStorage | undefined;
  #plugins: readonly WorkflowPlugin[];
  #guard: RunGuard;
  #signature: Promise<string> | undefined;
  #initialSnapshots = new Map<string, string>();
  /** The runner of the last run that can still be answered with `respond()`. */
  #live: Runner | undefined;

  /**
   * Build from a builder; the same as `builder.build()`.
   *
   * @param builder A configured builder.
   * @throws {WorkflowValidationError} If the graph is invalid.
   */
  constructor(builder: WorkflowBuilder) {
    const compile = compileBuilder.get(builder);
    if (compile === undefined) throw new TypeError("new Workflow() needs a WorkflowBuilder");
    const { graph, storage, plugins } = compile();
    this.#graph = graph;
    this.#storage = storage;
    this.#plugins = plugins;
    this.#guard = new RunGuard(graph.name);
    for (const executor of graph.executors.values()) {
      if (typeof executor.snapshot !== "function") continue;
      try {
        this.#initialSnapshots.set(executor.id, encodeValue(executor.snapshot()));
      } catch (error) {
        throw new WorkflowValidationError(
          `Invalid workflow "${graph.name}": executor "${executor.id}" snapshot() cannot be encoded`,
          { cause: error },
        );
      }
    }
  }

  /** The workflow's name. */
  get name(): string {
    return this.#graph.name;
  }

  /** The ids of its executors, in the order they were added. */
  get executorIds(): string[] {
    return [...this.#graph.executors.keys()];
  }

  /** Whether a live run holds this instance. */
  get isRunning(): boolean {
    return this.#guard.isHeld;
  }

  /** Requests the last run left unanswered (answer them with `respond`). */
  get pendingRequests(): PendingRequest[] {
    return this.#live?.run.pendingList() ?? [];
  }

  /**
   * SHA-256 (hex) of the canonical graph; stored in every checkpoint and
   * compared on resume.
   *
   * @returns The signature.
   */
  graphSignature(): Promise<string> {
    return this.#signature ??= computeGraphSignature(this.#graph);
  }

  /**
   * Start a fresh run with `input` for the start executor.
   *
   * @param input The start executor's message.
   * @param options Session, per-run storage, cancellation and plugins.
   * @returns The lazy run handle.
   * @throws {WorkflowAlreadyRunningError} Synchronously, if a run is live.
   */
  run(input: unknown, options: RunOptions = {}): WorkflowRun {
    const storage = options.storage ?? this.#storage;
    assertSessionId(options.sessionId);
    assertPlugins(options.plugins, "run()");
    return this.#start("run", options, async () => {
      this.#resetExecutors();
      const runner = this.#runner(storage, options.sessionId ?? newSessionId());
      if (storage !== undefined && options.sessionId !== undefined) {
        runner.previousCheckpointId = (await storage.head(options.sessionId)) ?? null;
      }
      runner.seed(input);
      return { runner, options: { entry: true } };
    });
  }

  /**
   * Restore a checkpoint and continue from it, optionally answering pending
   * requests. Works on any instance of the same graph, in any process.
   *
   * @param checkpointId The checkpoint to resume.
   * @param options Responses, storage, fork, cancellation and plugins.
   * @returns The lazy run handle. It rejects with `CheckpointNotFoundError`,
   * `CheckpointMismatchError` (another graph), `CheckpointConflictError` (not
   * the head without `fork`, or another writer won) or `RequestNotPendingError`.
   * @throws {WorkflowAlreadyRunningError} Synchronously, if a run is live.
   * @throws {TypeError} Synchronously, if no storage is configured.
   */
  resume(checkpointId: string, options: ResumeOptions = {}): WorkflowRun {
    const storage = options.storage ?? this.#storage;
    if (storage === undefined) {
      throw new TypeError(
        `Cannot resume workflow "${this.name}": no checkpoint storage (withCheckpointing or options.storage)`,
      );
    }
    if (typeof checkpointId !== "string" || checkpointId.length === 0) {
      throw new TypeError(`Invalid checkpoint id: ${JSON.stringify(checkpointId)}`);
    }
    assertSessionId(options.sessionId);
    assertResponses(options.responses);
    assertPlugins(options.plugins, "resume()");
    return this.#start("resume", options, async () => {
      const checkpoint = await storage.load(checkpointId);
      if (checkpoint === undefined) throw new CheckpointNotFoundError(checkpointId);
      if (checkpoint.workflowName !== this.name) {
        throw new CheckpointMismatchError(
          checkpointId,
          `it belongs to workflow "${checkpoint.workflowName}", not "${this.name}"`,
        );
      }
      if (checkpoint.graphSignature !== await this.graphSignature()) {
        throw new CheckpointMismatchError(
          checkpointId,
          `graph signature differs from the workflow "${this.name}"`,
        );
      }
      const forking = options.fork === true ||
        (options.sessionId !== undefined && options.sessionId !== checkpoint.sessionId);
      if (!forking) {
        const head = await storage.head(checkpoint.sessionId);
        if (head !== checkpoint.id) {
          throw new CheckpointConflictError(
            `Cannot resume checkpoint ${checkpointId}: it is not the head of session "${checkpoint.sessionId}" ` +
              `(head is ${head ?? "none"}); pass fork: true to branch from it`,
          );
        }
      }
      if (
        forking && options.sessionId !== undefined && (await storage.head(options.sessionId)) !== undefined
      ) {
        throw new CheckpointConflictError(
          `Cannot fork checkpoint ${checkpointId} into session "${options.sessionId}": the session already exists`,
        );
      }
      const sessionId = forking ? options.sessionId ?? newSessionId() : checkpoint.sessionId;
      const runner = this.#runner(storage, sessionId);
      runner.restore(checkpoint);
      const responses = deliveries(runner, options.responses);
      return { runner, options: { responses } };
    });
  }

  /**
   * Answer pending requests of the last run on this instance and continue it.
   *
   * @param responses Answers by request id.
   * @param options Cancellation and plugins.
   * @returns The lazy run handle.
   * @throws {RequestNotPendingError} Synchronously, for an unknown request id or when nothing is pending.
   * @throws {WorkflowAlreadyRunningError} Synchronously, if a run is live.
   */
  respond(responses: Record<string, unknown>, options: RespondOptions = {}): WorkflowRun {
    assertResponses(responses);
    assertPlugins(options.plugins, "respond()");
    if (this.#guard.isHeld) throw new WorkflowAlreadyRunningError(this.name);
    const runner = this.#live;
    if (runner === undefined || runner.run.pending.size === 0) {
      throw new RequestNotPendingError(`Cannot respond: workflow "${this.name}" has no pending request`);
    }
    const answers = deliveries(runner, responses!);
    return this.#start(
      "respond",
      options,
      () => Promise.resolve({ runner, options: { responses: answers } }),
    );
  }

  /**
   * The graph as a Mermaid flowchart.
   *
   * @returns Mermaid source.
   */
  toMermaid(): string {
    return renderMermaid(this.#graph);
  }

  /**
   * The graph in Graphviz DOT.
   *
   * @returns DOT source.
   */
  toDot(): string {
    return renderDot(this.#graph);
  }

  #runner(storage: CheckpointStorage | undefined, sessionId: string): Runner {
    return new Runner({
      graph: this.#graph,
      graphSignature: () => this.graphSignature(),
      storage,
      sessionId,
    });
  }

  /** Put executors with state back to how they were built, so fresh runs do not leak into each other. */
  #resetExecutors(): void {
    for (const [id, encoded] of this.#initialSnapshots) {
      this.#graph.executors.get(id)!.restore?.(decodeValue(encoded));
    }
  }

  /**
   * Take the guard synchronously, then return the lazy handle. `prepare` runs
   * when the handle is first awaited or iterated.
   */
  #start(
    kind: RunKind,
    options: { signal?: AbortSignal; plugins?: readonly WorkflowPlugin[] },
    prepare: (control: RunControl) => Promise<Prepared>,
  ): WorkflowRun {
    const { signal } = options;
    const plugins = options.plugins?.length ? [...this.#plugins, ...options.plugins] : this.#plugins;
    // The closures run only after `owner` is set below (or never, if acquire throws).
    const control: RunControl = new RunControl(
      (control) => this.#execute(control, owner, signal, prepare, { kind, plugins }),
      () => this.#guard.release(owner),
    );
    const handle = new RunHandle(control);
    // The finalizer callback must not reference the handle, or it would never be collected.
    const controller = control.controller;
    const owner = this.#guard.acquire(
      handle,
      () => controller.abort(new DOMException("The run handle was garbage-collected", "AbortError")),
    );
    return handle;
  }

  async #execute(
    control: RunControl,
    owner: RunOwner,
    signal: AbortSignal | undefined,
    prepare: (control: RunControl) => Promise<Prepared>,
    call: { kind: RunKind; plugins: readonly WorkflowPlugin[] },
  ): Promise<WorkflowResult> {
    const onAbort = () => control.controller.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    try {
      let prepared: Prepared;
      try {
        prepared = await prepare(control);
      } catch (error) {
        control.log.push({ type: "failed", error });
        control.log.push({ type: "status", state: "failed" });
        throw error;
      }
      const { runner } = prepared;
      if (this.#guard.owns(owner)) this.#live = undefined;
      const runSignal = control.controller.signal;
      const host = call.plugins.length === 0
        ? undefined
        : new PluginHost(call.plugins, runInfo(runner, call.kind, runSignal));
      const result = await runner.execute(control.log, runSignal, { ...prepared.options, plugins: host });
      if (this.#guard.owns(owner)) this.#live = runner;
      // Free the instance before anyone learns the run is over, so `await run(); run()` works.
      this.#guard.release(owner);
      control.log.close();
      return result;
    } catch (error) {
      this.#guard.release(owner);
      control.log.close({ error });
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

interface Prepared {
  runner: Runner;
  options: { entry?: boolean; responses?: Delivery[] };
}

function runInfo(runner: Runner, kind: RunKind, signal: AbortSignal): RunInfo {
  const parent = runner.previousCheckpointId;
  return Object.freeze({
    workflowName: runner.graph.name,
    sessionId: runner.sessionId,
    kind,
    runId: newId(),
    signal,
    ...(parent === null ? {} : { parentCheckpointId: parent }),
  });
}

function assertSessionId(sessionId: unknown): void {
  if (sessionId === undefined) return;
  if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 256) {
    throw new TypeError(
      `Invalid sessionId: ${JSON.stringify(sessionId)} (a non-empty string of at most 256 characters)`,
    );
  }
}

function assertResponses(responses: unknown): void {
  if (responses === undefined) return;
  if (responses === null || typeof responses !== "object" || Array.isArray(responses)) {
    throw new TypeError(
      `Invalid responses: expected an object mapping request ids to answers, got ${describe(responses)}`,
    );
  }
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Match answers to the runner's pending requests; every id must be pending. */
function deliveries(runner: Runner, responses: Record<string, unknown> | undefined): Delivery[] {
  if (responses === undefined) return [];
  const ids = Object.keys(responses);
  if (ids.length > 0 && runner.run.pending.size === 0) {
    throw new RequestNotPendingError(`Cannot respond: no request is pending (got ${ids.length} response(s))`);
  }
  return ids.map((id) => {
    const request = runner.run.pending.get(id);
    if (request === undefined) {
      throw new RequestNotPendingError(
        `Cannot respond: request "${id}" is not pending (pending: ${
          [...runner.run.pending.keys()].join(", ")
        })`,
      );
    }
    return { request, response: responses[id] };
  });
}
