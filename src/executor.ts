/**
 * Executors — the nodes of a workflow graph — and the context they run with.
 *
 * @module
 */
import type { PendingRequest } from "./events.ts";
import { isWellFormed } from "./_ids.ts";

/**
 * The part of the Standard Schema interface (standardschema.dev, v1) that
 * Superstep uses to validate messages. Schemas of zod, valibot, arktype and
 * other implementers satisfy it structurally; no runtime dependency is needed.
 *
 * @typeParam TOutput What a successful validation yields (handed to `handle`).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StandardSchema } from "@superstep/superstep";
 * const word: StandardSchema<string> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) =>
 *       typeof value === "string" ? { value: value.trim() } : { issues: [{ message: "expected a string" }] },
 *   },
 * };
 * assert.deepEqual(await word["~standard"].validate(" hi "), { value: "hi" });
 * ```
 */
export interface StandardSchema<TOutput = unknown> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** The spec version (1). */
    readonly version: 1;
    /** The implementing library. */
    readonly vendor: string;
    /** Validate a value: a success carries `value`, a failure carries `issues`. */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<TOutput> | Promise<StandardSchemaResult<TOutput>>;
  };
}

/** The outcome of `StandardSchema["~standard"].validate`. */
export type StandardSchemaResult<TOutput> =
  | { readonly value: TOutput; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string }> };

/** Options of `WorkflowContext.send`. */
export interface SendOptions {
  /** Deliver only along the edge that leads to this executor id. */
  to?: string;
}

/**
 * Shared workflow state, bulk-synchronous: a read sees the state committed at
 * the last superstep boundary plus this executor's own writes of the current
 * superstep. Writes commit at the boundary in executor-id order, then write
 * order, so a run's result never depends on scheduling. Treat values as
 * immutable: the checkpoint copies them, the live run does not.
 */
export interface WorkflowState {
  /** The value of `key`, or `undefined`. */
  get<T = unknown>(key: string): T | undefined;
  /** Whether `key` has a value. */
  has(key: string): boolean;
  /** Set `key`; visible to others from the next superstep. */
  set(key: string, value: unknown): void;
  /** Remove `key`; takes effect at the boundary like a write. */
  delete(key: string): void;
}

/**
 * What an executor's handler receives besides its message.
 *
 * @typeParam TOut The type of messages it sends.
 */
export interface WorkflowContext<TOut = unknown> {
  /** The id of the executor being run. */
  readonly executorId: string;
  /** The cumulative superstep index. */
  readonly superstep: number;
  /** Aborted when the run is cancelled or a sibling executor fails; pass it to fetch and timers. */
  readonly signal: AbortSignal;
  /** Shared state (see {@linkcode WorkflowState}). */
  readonly state: WorkflowState;
  /** Send a message along this executor's edges; delivered in the next superstep. */
  send(message: TOut, options?: SendOptions): Promise<void>;
  /** Emit a workflow output (`output` event, `result.outputs`). */
  yieldOutput(value: unknown): Promise<void>;
  /**
   * Ask for outside input. The run goes on; when it converges it ends
   * `idle-pending-requests`, and the answer arrives in `onResponse`.
   *
   * @returns The request id to answer with.
   */
  requestInfo(data: unknown): Promise<string>;
}

/**
 * An executor in class form: extend it to keep state of your own that is saved
 * into every checkpoint (`snapshot`) and put back on resume (`restore`).
 *
 * The id is explicit and stable (never derived from the class name, which
 * bundlers minify). Optional members: `accepts(msg)` or a Standard Schema
 * `input` to reject mistyped messages (a `warning` event, never a silent drop),
 * `onResponse` for answers to `ctx.requestInfo`, and `version`, which enters the
 * graph signature so checkpoints of an incompatible executor are refused.
 *
 * On a fresh `run()`, an executor with `snapshot`/`restore` is put back to the
 * state it had when the workflow was built, so runs of one instance do not leak
 * into each other.
 *
 * @typeParam TIn The messages it handles.
 * @typeParam TOut The messages it sends.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Executor, MemoryCheckpointStorage, WorkflowBuilder, type WorkflowContext } from "@superstep/superstep";
 *
 * class Counter extends Executor<string, number> {
 *   count = 0;
 *   constructor() {
 *     super("counter");
 *   }
 *   async handle(_msg: string, ctx: WorkflowContext<number>): Promise<void> {
 *     this.count++;
 *     await ctx.send(this.count);
 *   }
 *   override snapshot(): { count: number } {
 *     return { count: this.count };
 *   }
 *   override restore(state: { count: number }): void {
 *     this.count = state.count;
 *   }
 * }
 * const counter = new Counter();
 * const storage = new MemoryCheckpointStorage();
 * const result = await new WorkflowBuilder({ name: "count", start: counter }).withCheckpointing(storage).build()
 *   .run("tick");
 * assert.deepEqual((await storage.load(result.checkpointId!))?.executorState, { counter: { count: 1 } });
 * ```
 */
export abstract class Executor<TIn = unknown, TOut = unknown> {
  /** The executor's stable id, unique within a workflow. */
  readonly id: string;
  /** Enters the graph signature; bump it when the executor's checkpointed state changes shape. */
  readonly version?: string;
  /** A Standard Schema (zod, valibot, arktype …) that messages must satisfy; its output is handled. */
  input?: StandardSchema<TIn>;

  /**
   * Create an executor with a stable id.
   *
   * @param id The stable id (non-empty, no control characters).
   * @param options `version`: see {@linkcode Executor.version}.
   */
  constructor(id: string, options?: { version?: string }) {
    assertExecutorId(id);
    this.id = id;
    if (options?.version !== undefined) this.version = options.version;
  }

  /** Handle one message. Runs once per delivered message, one at a time per executor. */
  abstract handle(message: TIn, ctx: WorkflowContext<TOut>): void | Promise<void>;

  /** Return `false` to refuse a message (it becomes a `warning` event). */
  accepts?(message: unknown): boolean;

  /** Receive the answer to a request this executor made with `ctx.requestInfo`. */
  onResponse?(response: unknown, request: PendingRequest, ctx: WorkflowContext<TOut>): void | Promise<void>;

  /** The executor's own state, saved into every checkpoint (must be encodable by the codec). */
  snapshot?(): unknown;

  /** Put back the state `snapshot` returned (on resume and at the start of a fresh run). */
  restore?(state: unknown): void;
}

/** The definition `defineExecutor` turns into an executor. */
export interface ExecutorDefinition<TIn, TOut> {
  /** The stable id (non-empty, no control characters). */
  id: string;
  /** Handles one message. */
  handle: (message: TIn, ctx: WorkflowContext<TOut>) => void | Promise<void>;
  /** Refuse messages (they become `warning` events). */
  accepts?: (message: unknown) => boolean;
  /** A Standard Schema messages must satisfy. */
  input?: StandardSchema<TIn>;
  /** Receives answers to `ctx.requestInfo`. */
  onResponse?: (
    response: unknown,
    request: PendingRequest,
    ctx: WorkflowContext<TOut>,
  ) => void | Promise<void>;
  /** Enters the graph signature. */
  version?: string;
}

/**
 * Define an executor from a function (no state of its own; use `ctx.state` for
 * shared state).
 *
 * @param definition The id, the handler and optional hooks.
 * @returns An executor to wire into a `WorkflowBuilder`.
 * @throws {TypeError} If the id or handler is invalid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor } from "@superstep/superstep";
 *
 * const split = defineExecutor({
 *   id: "split",
 *   handle: async (text: string, ctx) => {
 *     for (const word of text.split(" ")) await ctx.send(word);
 *   },
 * });
 * assert.equal(split.id, "split");
 * ```
 */
export function defineExecutor<TIn = unknown, TOut = unknown>(
  definition: ExecutorDefinition<TIn, TOut>,
): Executor<TIn, TOut> {
  if (typeof definition?.handle !== "function") {
    throw new TypeError(`Cannot define executor "${definition?.id}": handle must be a function`);
  }
  return new FunctionExecutor(definition);
}

class FunctionExecutor<TIn, TOut> extends Executor<TIn, TOut> {
  #handle: ExecutorDefinition<TIn, TOut>["handle"];
  constructor(definition: ExecutorDefinition<TIn, TOut>) {
    super(definition.id, { version: definition.version });
    this.#handle = definition.handle;
    if (definition.accepts) this.accepts = definition.accepts;
    if (definition.input) this.input = definition.input;
    if (definition.onResponse) this.onResponse = definition.onResponse;
  }
  handle(message: TIn, ctx: WorkflowContext<TOut>): void | Promise<void> {
    return this.#handle(message, ctx);
  }
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function assertExecutorId(id: unknown): asserts id is string {
  if (
    typeof id !== "string" || id.length === 0 || id.length > 256 || CONTROL_CHARACTERS.test(id) ||
    !isWellFormed(id)
  ) {
    throw new TypeError(
      `Invalid executor id: ${
        JSON.stringify(id)
      } (a non-empty string of at most 256 characters, well-formed Unicode without control characters)`,
    );
  }
}
