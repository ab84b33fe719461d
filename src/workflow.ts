/**
 * `Workflow`: a built graph with its executors; runs, resumes and answers.
 *
 * @module
 */
import type { Checkpoint, CheckpointStorage } from "./checkpoint.ts";
import { decodeValue, encodeValue } from "./codec.ts";
import {
  CheckpointConflictError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  RequestNotPendingError,
  WorkflowAlreadyRunningError,
  WorkflowValidationError,
} from "./errors.ts";
import type { PendingRequest, RunStatus, WorkflowEvent } from "./events.ts";
import { canonicalGraph, type CompiledWorkflow, signatureOf, type WorkflowGraph } from "./_graph.ts";
import { evolutionOf, type EvolutionOptions, resumable, type ResumePolicy } from "./_evolution.ts";
import { renderDot, renderMermaid } from "./_render.ts";
import { Runner, type RunState } from "./_runner.ts";
import { newSessionId } from "./_ulid.ts";
import type { WorkflowPlugin } from "./plugin.ts";
import { assertPlugins } from "./_plugin_host.ts";
import { Calls } from "./_calls.ts";
import { describeType } from "./_describe.ts";
import { idProblem } from "./_ids.ts";
import type { WorkflowRun } from "./workflow_run.ts";
import { type ClaimSessionOptions, leaseForRun } from "./leases.ts";
import type { Prepared } from "./_calls.ts";

/** Options of `Workflow.run`. */
export interface RunOptions {
  /**
   * Stored on every checkpoint this call writes (and in their summaries): who ran it, why, a trace id.
   * A plain object the codec can encode.
   *
   * @default {{}}
   */
  metadata?: Record<string, unknown>;
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
   * Claim the session with a lease for the run (the storage must have leases): the run fails with
   * `SessionLeasedError` without starting if another lease holds it, renews the lease while it goes on,
   * saves only while the lease is still its own (`LeaseLostError` otherwise), and releases it when it ends.
   * So `recover` on another host never takes over this live run.
   *
   * @default {no lease}
   */
  lease?: ClaimSessionOptions;
  /**
   * Plugins for this call only, after the builder's (see {@linkcode WorkflowPlugin}).
   *
   * @default {none}
   */
  plugins?: readonly WorkflowPlugin[];
  /**
   * How many of the call's last events `result.events` holds (and a reader that starts iterating late
   * sees): `"all"`, or a count. A reader iterating from the start sees every event either way; a long run
   * that kept them all would hold every event it emitted until it ends.
   *
   * @default {1000}
   */
  keepEvents?: number | "all";
}

/** Options of `Workflow.resume`. */
export interface ResumeOptions {
  /**
   * Stored on every checkpoint this call writes (and in their summaries): who ran it, why, a trace id.
   * A plain object the codec can encode.
   *
   * @default {{}}
   */
  metadata?: Record<string, unknown>;
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
   * Claim the session with a lease for the run (the storage must have leases): the run fails with
   * `SessionLeasedError` without starting if another lease holds it, renews the lease while it goes on,
   * saves only while the lease is still its own (`LeaseLostError` otherwise), and releases it when it ends.
   * So `recover` on another host never takes over this live run.
   *
   * @default {no lease}
   */
  lease?: ClaimSessionOptions;
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
   * How a checkpoint written by another version of the graph resumes, for this call: `strict` and
   * `renames` (added to the builder's `evolution.renames`) as in the builder's `evolution` option.
   *
   * @default {the builder's `evolution`}
   */
  evolution?: EvolutionOptions;
  /**
   * Plugins for this call only, after the builder's (see {@linkcode WorkflowPlugin}).
   *
   * @default {none}
   */
  plugins?: readonly WorkflowPlugin[];
  /**
   * How many of the call's last events `result.events` holds (and a reader that starts iterating late
   * sees): `"all"`, or a count. A reader iterating from the start sees every event either way; a long run
   * that kept them all would hold every event it emitted until it ends.
   *
   * @default {1000}
   */
  keepEvents?: number | "all";
}

/** Options of `Workflow.respond`. */
export interface RespondOptions {
  /**
   * Stored on every checkpoint this call writes (and in their summaries): who ran it, why, a trace id.
   * A plain object the codec can encode.
   *
   * @default {{}}
   */
  metadata?: Record<string, unknown>;
  /** Cancels the run. */
  signal?: AbortSignal;
  /**
   * Claim the session with a lease for this call, as `run` and `resume` do (the live run's storage must
   * have leases). A lease of the call before was released when it ended: without this option the call
   * writes without one.
   *
   * @default {no lease}
   */
  lease?: ClaimSessionOptions;
  /**
   * Plugins for this call only, after the builder's (see {@linkcode WorkflowPlugin}).
   *
   * @default {none}
   */
  plugins?: readonly WorkflowPlugin[];
  /**
   * How many of the call's last events `result.events` holds (and a reader that starts iterating late
   * sees): `"all"`, or a count. A reader iterating from the start sees every event either way; a long run
   * that kept them all would hold every event it emitted until it ends.
   *
   * @default {1000}
   */
  keepEvents?: number | "all";
}

/** The sub-workflow side of `workflow`, if it is a `Workflow` (set by the class's static block). */
let nestedAccess: (workflow: object) => Nested | undefined;

/**
 * A workflow built by {@linkcode WorkflowBuilder}. It holds executor instances,
 * so one instance runs one run at a time (a second `run()` while one is live
 * throws `WorkflowAlreadyRunningError`); build one instance per concurrent run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.equal(result.outputs.join(), "5,3,5");
 * ```
 */
export class Workflow<TIn = unknown, TOutput = unknown> {
  #graph: WorkflowGraph;
  #storage: CheckpointStorage | undefined;
  #calls: Calls;
  #signature: Promise<string> | undefined;
  #canonical: string | undefined;
  /** The encoded snapshot each executor with state was built with (an array: usually there is none). */
  #initialSnapshots: [id: string, encoded: string][] = [];
  /** The sub-workflow side, made when first asked for (most workflows never run nested). */
  #nested: Nested | undefined;

  static {
    // A private field instead of a WeakMap entry per instance: a server builds an instance per request.
    nestedAccess = (workflow) =>
      #graph in workflow
        ? workflow.#nested ??= { graph: workflow.#graph, step: (step) => workflow.#nestedStep(step) }
        : undefined;
  }

  /**
   * Workflows are made by `WorkflowBuilder.build()`, which validates the graph first; the constructor is not
   * for direct use.
   *
   * @throws {TypeError} When called other than by `build()`.
   */
  constructor() {
    const compiled = handover;
    handover = undefined;
    if (compiled === undefined) {
      throw new TypeError(
        "Cannot construct a Workflow directly: build it with new WorkflowBuilder(…).build()",
      );
    }
    const { graph, storage, plugins } = compiled;
    this.#graph = graph;
    this.#storage = storage;
    this.#calls = new Calls(graph.name, plugins);
    for (const executor of graph.executors.values()) {
      if (typeof executor.snapshot !== "function") continue;
      try {
        this.#initialSnapshots.push([executor.id, encodeValue(executor.snapshot())]);
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
    return this.#calls.isRunning;
  }

  /** Requests the last run left unanswered (answer them with `respond`). */
  get pendingRequests(): PendingRequest[] {
    return this.#calls.live?.run.pendingList() ?? [];
  }

  /**
   * SHA-256 (hex) of the canonical graph; stored in every checkpoint and
   * compared on resume.
   *
   * @returns The signature.
   */
  graphSignature(): Promise<string> {
    return this.#signature ??= signatureOf(this.#description());
  }

  /**
   * Start a fresh run with `input` for the start executor.
   *
   * @param input The start executor's message.
   * @param options Session, per-run storage, cancellation and plugins.
   * @returns The lazy run handle.
   * @throws {WorkflowAlreadyRunningError} Synchronously, if a run is live.
   */
  run(input: TIn, options: RunOptions = {}): WorkflowRun<TOutput> {
    const storage = options.storage ?? this.#storage;
    assertSessionId(options.sessionId);
    assertPlugins(options.plugins, "run()");
    assertMetadata(options.metadata);
    assertLease(options.lease, storage);
    return this.#calls.start<TOutput>("run", options, async () => {
      this.#resetExecutors();
      const sessionId = options.sessionId ?? newSessionId();
      const leased = options.lease && await leaseForRun(storage!, sessionId, options.lease);
      try {
        const runner = this.#runner(leased ? leased.storage : storage, sessionId, storage);
        if (storage !== undefined && options.sessionId !== undefined) {
          runner.previousCheckpointId = (await storage.head(options.sessionId)) ?? null;
        }
        runner.seed(input);
        return { runner, entry: true, metadata: options.metadata, release: leased?.release };
      } catch (error) {
        await leased?.release();
        throw error;
      }
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
  resume(checkpointId: string, options: ResumeOptions = {}): WorkflowRun<TOutput> {
    const storage = options.storage ?? this.#storage;
    if (storage === undefined) {
      throw new TypeError(
        `Cannot resume workflow "${this.name}": no checkpoint storage (withCheckpointing or options.storage)`,
      );
    }
    const problem = idProblem(checkpointId);
    if (problem !== undefined) {
      throw new TypeError(`Invalid checkpoint id: ${JSON.stringify(checkpointId)}: ${problem}`);
    }
    assertSessionId(options.sessionId);
    assertResponses(options.responses);
    assertPlugins(options.plugins, "resume()");
    assertMetadata(options.metadata);
    assertLease(options.lease, storage);
    const policy = this.#policy(options.evolution);
    return this.#calls.start<TOutput>("resume", options, async () => {
      const checkpoint = await storage.load(checkpointId);
      if (checkpoint === undefined) throw new CheckpointNotFoundError(checkpointId);
      if (checkpoint.workflowName !== this.name) {
        throw new CheckpointMismatchError(
          checkpointId,
          `it belongs to workflow "${checkpoint.workflowName}", not "${this.name}"`,
        );
      }
      const saved = await resumable(
        checkpoint,
        this.#graph,
        await this.graphSignature(),
        this.#description(),
        storage,
        policy,
      );
      const forking = options.fork === true ||
        (options.sessionId !== undefined && options.sessionId !== checkpoint.sessionId);
      const sessionId = forking ? options.sessionId ?? newSessionId() : checkpoint.sessionId;
      // Claimed before the head is checked: the head a lease holder reads cannot move under it.
      const leased = options.lease && await leaseForRun(storage, sessionId, options.lease);
      const writes = leased ? leased.storage : storage;
      try {
        return await this.#resumed(
          checkpoint,
          saved,
          forking,
          sessionId,
          { writes, unleased: storage },
          options,
          leased?.release,
        );
      } catch (error) {
        await leased?.release();
        throw error;
      }
    });
  }

  async #resumed(
    checkpoint: Checkpoint,
    saved: RunState,
    forking: boolean,
    sessionId: string,
    { writes: storage, unleased }: { writes: CheckpointStorage; unleased: CheckpointStorage },
    options: ResumeOptions,
    release: (() => Promise<void>) | undefined,
  ): Promise<Prepared> {
    const checkpointId = checkpoint.id;
    if (!forking) {
      const head = await storage.head(checkpoint.sessionId);
      if (head !== checkpoint.id) {
        throw new CheckpointConflictError({
          reason: "not-head",
          checkpointId,
          sessionId: checkpoint.sessionId,
          expectedHead: checkpoint.id,
          actualHead: head ?? null,
        });
      }
    }
    if (forking && options.sessionId !== undefined) {
      const head = await storage.head(options.sessionId);
      if (head !== undefined) {
        throw new CheckpointConflictError({
          reason: "session-exists",
          checkpointId,
          sessionId: options.sessionId,
          expectedHead: null,
          actualHead: head,
        });
      }
    }
    // Executors the checkpoint holds no state of (added since it was written) start as they were built.
    if (saved !== checkpoint) this.#resetExecutors();
    const runner = this.#runner(storage, sessionId, unleased);
    runner.restore({ ...checkpoint, ...saved });
    return {
      runner,
      responses: runner.run.answers(options.responses),
      replayRequests: true,
      fork: forking,
      metadata: options.metadata,
      release,
    };
  }

  /**
   * Answer pending requests of the last run on this instance and continue it.
   *
   * @param responses Answers by request id.
   * @param options Cancellation, a lease, plugins.
   * @returns The lazy run handle.
   * @throws {RequestNotPendingError} Synchronously, for an unknown request id or when nothing is pending.
   * @throws {WorkflowAlreadyRunningError} Synchronously, if a run is live.
   * @throws {TypeError} Synchronously, for a `lease` without a storage that has leases.
   */
  respond(responses: Record<string, unknown>, options: RespondOptions = {}): WorkflowRun<TOutput> {
    assertResponses(responses);
    assertPlugins(options.plugins, "respond()");
    assertMetadata(options.metadata);
    if (this.#calls.isRunning) throw new WorkflowAlreadyRunningError(this.name);
    const runner = this.#calls.live;
    if (runner === undefined || runner.run.pending.size === 0) {
      throw new RequestNotPendingError(`Cannot respond: workflow "${this.name}" has no pending request`);
    }
    assertLease(options.lease, runner.unleased);
    const answers = runner.run.answers(responses);
    const metadata = options.metadata;
    return this.#calls.start<TOutput>("respond", options, async () => {
      // The lease of the call that paused was released when it ended: this call claims its own, or none.
      const leased = options.lease && await leaseForRun(runner.unleased!, runner.sessionId, options.lease);
      runner.storage = leased ? leased.storage : runner.unleased;
      return { runner, responses: answers, metadata, release: leased?.release };
    });
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

  /** The canonical description of the graph (what the signature hashes). */
  #description(): string {
    return this.#canonical ??= canonicalGraph(this.#graph);
  }

  /** How a resume with `evolution` treats checkpoints of another graph: the builder's, amended by the call. */
  #policy(evolution: EvolutionOptions | undefined): ResumePolicy {
    const graph = this.#graph;
    const call = evolutionOf(evolution, "resume()");
    for (const [from, to] of call.renames) {
      if (!graph.executors.has(to)) {
        throw new TypeError(`Invalid resume() evolution.renames: "${from}" maps to "${to}", not an executor`);
      }
      if (graph.executors.has(from)) {
        throw new TypeError(`Invalid resume() evolution.renames: "${from}" is still an executor`);
      }
    }
    return {
      strict: evolution?.strict ?? graph.strict === true,
      renames: new Map([...graph.renames ?? [], ...call.renames]),
    };
  }

  #runner(
    storage: CheckpointStorage | undefined,
    sessionId: string,
    unleased: CheckpointStorage | undefined = storage,
  ): Runner {
    return new Runner({
      graph: this.#graph,
      graphSignature: () => this.graphSignature(),
      graphDescription: () => this.#description(),
      storage,
      unleased,
      sessionId,
    });
  }

  /**
   * One step of this workflow run as a sub-workflow: a fresh run of `input`, or the continuation of a paused
   * run's `state` with `responses`, through the same calls as `run` and `resume` (guard, plugins, limits),
   * without storage; every event goes to `forward`. Ends when the run converges or waits for answers.
   */
  async #nestedStep(step: NestedStep): Promise<NestedOutcome> {
    let runner: Runner;
    const call = step.state === undefined
      ? this.#calls.start<TOutput>("run", { signal: step.signal }, () => {
        this.#resetExecutors();
        runner = this.#runner(undefined, newSessionId());
        runner.seed(step.input);
        return Promise.resolve({ runner, entry: true });
      })
      : this.#calls.start<TOutput>("resume", { signal: step.signal }, () => {
        runner = this.#runner(undefined, step.state!.sessionId);
        runner.restoreState(step.state!);
        return Promise.resolve({
          runner,
          responses: runner.run.answers(step.responses),
          replayRequests: true,
        });
      });
    for await (const event of call) step.forward(event);
    const result = await call;
    return {
      status: result.status,
      outputs: result.outputs,
      pendingRequests: result.pendingRequests,
      state: result.status === "idle-pending-requests" ? runner!.capture() : undefined,
    };
  }

  /** Put executors with state back to how they were built, so fresh runs do not leak into each other. */
  #resetExecutors(): void {
    for (const [id, encoded] of this.#initialSnapshots) {
      this.#graph.executors.get(id)!.restore?.(decodeValue(encoded));
    }
  }
}

/** One step of a sub-workflow run (see `Workflow#nestedStep`). */
export interface NestedStep {
  /** A fresh run's input (when there is no `state`). */
  input?: unknown;
  /** A paused run to continue. */
  state?: RunState;
  /** Answers to the paused run's requests. */
  responses?: Record<string, unknown>;
  signal: AbortSignal;
  forward(event: WorkflowEvent): void;
}

/** How a sub-workflow step ended. */
export interface NestedOutcome {
  status: RunStatus;
  outputs: unknown[];
  pendingRequests: PendingRequest[];
  /** The paused run, when it waits for answers (else it is over). */
  state: RunState | undefined;
}

/** What a `WorkflowExecutor` reaches of the workflow it runs (package-private). */
export interface Nested {
  graph: WorkflowGraph;
  step(step: NestedStep): Promise<NestedOutcome>;
}

/** The sub-workflow side of a workflow (package-private: `WorkflowExecutor` runs workflows through it). */
export function nestedOf(workflow: Workflow<unknown, unknown>): Nested {
  const nested = typeof workflow === "object" && workflow !== null ? nestedAccess(workflow) : undefined;
  if (nested === undefined) {
    throw new TypeError("WorkflowExecutor needs a Workflow built by WorkflowBuilder.build()");
  }
  return nested;
}

/** The compiled builder `createWorkflow` hands to the constructor it calls. */
let handover: CompiledWorkflow | undefined;

/**
 * The workflow of a compiled builder (package-private: `WorkflowBuilder.build()` calls it). The builder
 * depends on the workflow, never the other way round.
 */
export function createWorkflow<TIn, TOutput>(compiled: CompiledWorkflow): Workflow<TIn, TOutput> {
  handover = compiled;
  try {
    return new Workflow<TIn, TOutput>();
  } finally {
    handover = undefined;
  }
}

function assertSessionId(sessionId: unknown): void {
  if (sessionId === undefined) return;
  if (idProblem(sessionId) !== undefined || (sessionId as string).length > 256) {
    throw new TypeError(
      `Invalid sessionId: ${
        JSON.stringify(sessionId)
      } (a non-empty string of at most 256 characters, well-formed Unicode)`,
    );
  }
}

function assertResponses(responses: unknown): void {
  if (responses === undefined) return;
  if (responses === null || typeof responses !== "object" || Array.isArray(responses)) {
    throw new TypeError(
      `Invalid responses: expected an object mapping request ids to answers, got ${describeType(responses)}`,
    );
  }
  for (const id of Object.keys(responses)) {
    // An empty id is merely not pending (RequestNotPendingError); a lone surrogate is never an id.
    const problem = idProblem(id, true);
    if (problem !== undefined) {
      throw new TypeError(`Invalid request id ${JSON.stringify(id)} in responses: ${problem}`);
    }
  }
}

function assertLease(lease: ClaimSessionOptions | undefined, storage: CheckpointStorage | undefined): void {
  if (lease === undefined) return;
  if (typeof lease !== "object" || lease === null) {
    throw new TypeError(`Invalid lease: expected the lease options (an owner), got ${describeType(lease)}`);
  }
  if (storage === undefined) throw new TypeError("Invalid lease: a lease needs a checkpoint storage");
}

function assertMetadata(metadata: unknown): void {
  if (metadata === undefined) return;
  const proto = metadata !== null && typeof metadata === "object"
    ? Object.getPrototypeOf(metadata)
    : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`Invalid metadata: expected a plain object, got ${describeType(metadata)}`);
  }
}
