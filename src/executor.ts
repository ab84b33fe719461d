/**
 * Executors — the nodes of a workflow graph — typed by what they handle, send and yield.
 *
 * @module
 */
import type { WorkflowContext } from "./context.ts";
import type { PendingRequest } from "./events.ts";
import type { StandardSchema } from "./standard_schema.ts";
import { isWellFormed } from "./_ids.ts";

/**
 * An executor in class form: extend it to keep state of your own that is saved
 * into every checkpoint (`snapshot`) and put back on resume (`restore`).
 *
 * The id is explicit and stable (never derived from the class name, which
 * bundlers minify). Optional members: `accepts(msg)` or a Standard Schema
 * `input` to reject mistyped messages (a `warning` event, never a silent drop),
 * `sends` / `yields` schemas that what it sends and yields must satisfy,
 * `onResponse` for answers to `ctx.requestInfo`, and `version`, which enters the
 * graph signature so checkpoints of an incompatible executor are refused.
 *
 * On a fresh `run()`, an executor with `snapshot`/`restore` is put back to the
 * state it had when the workflow was built, so runs of one instance do not leak
 * into each other.
 *
 * @typeParam TIn The messages it handles.
 * @typeParam TOut The messages it sends (`never`: none). The builder checks that every target accepts them.
 * @typeParam TYield The outputs it yields (`never`: none). They type the workflow's `result.outputs`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Executor, MemoryCheckpointStorage, WorkflowBuilder, type WorkflowContext } from "@superstep/superstep";
 *
 * class Counter extends Executor<string, never, number> {
 *   count = 0;
 *   constructor() {
 *     super("counter");
 *   }
 *   async handle(_msg: string, ctx: WorkflowContext<never, number>): Promise<void> {
 *     this.count++;
 *     await ctx.yieldOutput(this.count);
 *   }
 *   override snapshot(): { count: number } {
 *     return { count: this.count };
 *   }
 *   override restore(state: { count: number }): void {
 *     this.count = state.count;
 *   }
 * }
 * const storage = new MemoryCheckpointStorage();
 * const workflow = new WorkflowBuilder({ name: "count", start: new Counter() }).withCheckpointing(storage).build();
 * const result = await workflow.run("tick");
 * const counts: number[] = result.outputs;
 * assert.deepEqual(counts, [1]);
 * assert.deepEqual((await storage.load(result.checkpointId!))?.executorState, { counter: { count: 1 } });
 * ```
 */
export abstract class Executor<TIn = unknown, TOut = unknown, TYield = unknown> {
  /**
   * The executor's message types, for the type checker only (never set at run time): the builder reads
   * them to check edges and to type a workflow's input and outputs.
   */
  declare readonly "~types"?: ExecutorTypes<TIn, TOut, TYield>;
  /** The executor's stable id, unique within a workflow. */
  readonly id: string;
  /** Enters the graph signature; bump it when the executor's checkpointed state changes shape. */
  readonly version?: string;
  /**
   * How many of its messages of one superstep it handles at once (each call with its own context). What
   * the calls send, yield and write is still ordered by message position, never by completion.
   */
  readonly concurrency?: number;
  /** A Standard Schema (zod, valibot, arktype …) that messages must satisfy; its output is handled. */
  input?: StandardSchema<TIn>;
  /** A Standard Schema every message it sends must satisfy (its output is what is sent); else it fails. */
  sends?: StandardSchema<TOut>;
  /** A Standard Schema every output it yields must satisfy (its output is what is yielded); else it fails. */
  yields?: StandardSchema<TYield>;

  /**
   * Create an executor with a stable id.
   *
   * @param id The stable id (non-empty, well-formed Unicode without control characters, at most 256 characters).
   * @param options `version`: see {@linkcode Executor.version}; `concurrency`: see
   *   {@linkcode Executor.concurrency} (a positive integer, default 1).
   * @throws {TypeError} If the id is invalid.
   * @throws {RangeError} If `concurrency` is not a positive integer.
   */
  constructor(id: string, options?: ExecutorOptions) {
    assertExecutorId(id);
    this.id = id;
    if (options?.version !== undefined) this.version = options.version;
    const concurrency = options?.concurrency;
    if (concurrency !== undefined) {
      if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
        throw new RangeError(`Invalid concurrency of executor "${id}": ${concurrency} (a positive integer)`);
      }
      this.concurrency = concurrency;
    }
  }

  /** Handle one message. Runs once per delivered message, one at a time per executor. */
  abstract handle(message: TIn, ctx: WorkflowContext<TOut, TYield>): void | Promise<void>;

  /** Return `false` to refuse a message (it becomes a `warning` event). */
  accepts?(message: unknown): boolean;

  /** Receive the answer to a request this executor made with `ctx.requestInfo`. */
  onResponse?(
    response: unknown,
    request: PendingRequest,
    ctx: WorkflowContext<TOut, TYield>,
  ): void | Promise<void>;

  /** The executor's own state, saved into every checkpoint (must be encodable by the codec). */
  snapshot?(): unknown;

  /** Put back the state `snapshot` returned (on resume and at the start of a fresh run). */
  restore?(state: unknown): void;

  /**
   * Turn a snapshot written by another `version` of this executor into one `restore` takes: called on
   * resume when a checkpoint's snapshot of this executor was written by `fromVersion` (`undefined`: none)
   * and the executor's `version` is now another. Without it, such a checkpoint is refused
   * (`CheckpointMismatchError`, kind `version-changed`). A throw refuses it too (`upgrade-failed`).
   */
  upgrade?(snapshot: unknown, fromVersion: string | undefined): unknown;
}

/** Options of an executor, for both the class form (`super(id, options)`) and `defineExecutor`. */
export interface ExecutorOptions {
  /**
   * Enters the graph signature; bump it when the executor's checkpointed state changes shape.
   *
   * @default {undefined}
   */
  version?: string;
  /**
   * How many of its messages of one superstep it handles at once.
   *
   * @default {1}
   */
  concurrency?: number;
}

/** The message types of an executor (see {@linkcode Executor}'s type parameters). */
export interface ExecutorTypes<TIn, TOut, TYield> {
  /** What it handles. */
  readonly in: TIn;
  /** What it sends. */
  readonly out: TOut;
  /** What it yields. */
  readonly yield: TYield;
}

/** An executor of any message types (what the builder wires). */
// deno-lint-ignore no-explicit-any
export type AnyExecutor = Executor<any, any, any>;

/** An executor, or the id of one already added to the builder (unchecked: the escape hatch). */
export type ExecutorRef = AnyExecutor | string;

/**
 * What an executor handles (its `TIn`); `unknown` for an id given as a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, type ExecutorInput } from "@superstep/superstep";
 *
 * const parse = defineExecutor({ id: "parse", handle: (_text: string) => {} });
 * const input: ExecutorInput<typeof parse> = "1,2";
 * assert.equal(input, "1,2");
 * ```
 */
export type ExecutorInput<E> = E extends AnyExecutor ? NonNullable<E["~types"]>["in"] : unknown;

/**
 * What an executor sends (its `TOut`); `unknown` for an id given as a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, type ExecutorOutput, type WorkflowContext } from "@superstep/superstep";
 *
 * const parse = defineExecutor({ id: "parse", handle: (text: string, ctx: WorkflowContext<number[]>) => ctx.send([text.length]) });
 * const sent: ExecutorOutput<typeof parse> = [1];
 * assert.deepEqual(sent, [1]);
 * ```
 */
export type ExecutorOutput<E> = E extends AnyExecutor ? NonNullable<E["~types"]>["out"] : unknown;

/**
 * What an executor yields (its `TYield`); `never` for an id given as a string (the executor it names was
 * added with its types where it was added).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, type ExecutorYield, type WorkflowContext } from "@superstep/superstep";
 *
 * const done = defineExecutor({ id: "done", handle: (_n: number, ctx: WorkflowContext<never, boolean>) => ctx.yieldOutput(true) });
 * const output: ExecutorYield<typeof done> = true;
 * assert.equal(output, true);
 * ```
 */
export type ExecutorYield<E> = E extends AnyExecutor ? NonNullable<E["~types"]>["yield"] : never;

/** The definition `defineExecutor` turns into an executor. */
export interface ExecutorDefinition<TIn, TOut = unknown, TYield = unknown> extends ExecutorOptions {
  /** The stable id (non-empty, well-formed Unicode without control characters, at most 256 characters). */
  id: string;
  /** Handles one message. Annotate `message` (or give `input`) and `ctx` to type the executor. */
  handle: (message: TIn, ctx: WorkflowContext<TOut, TYield>) => void | Promise<void>;
  /** Refuse messages (they become `warning` events). */
  accepts?: (message: unknown) => boolean;
  /** A Standard Schema messages must satisfy; it also types `TIn`. */
  input?: StandardSchema<TIn>;
  /** A Standard Schema every sent message must satisfy; it also types `TOut`. */
  sends?: StandardSchema<TOut>;
  /** A Standard Schema every yielded output must satisfy; it also types `TYield`. */
  yields?: StandardSchema<TYield>;
  /** Receives answers to `ctx.requestInfo`. */
  onResponse?: (
    response: unknown,
    request: PendingRequest,
    ctx: WorkflowContext<TOut, TYield>,
  ) => void | Promise<void>;
}

/**
 * Define an executor from a function (no state of its own; use `ctx.state` for
 * shared state). Its types are inferred: `TIn` from the `message` parameter's
 * annotation or the `input` schema, `TOut` and `TYield` from the `ctx`
 * annotation (`WorkflowContext<TOut, TYield>`) or the `sends` / `yields`
 * schemas; explicit type arguments always work. Left out, a type is `unknown`
 * (anything, unchecked). An executor that yields nothing should say so
 * (`ctx: WorkflowContext<TOut, never>`, or `never` as a type argument): one
 * that leaves its yields `unknown` makes the workflow's outputs `unknown`.
 *
 * @param definition The id, the handler and optional hooks.
 * @returns An executor to wire into a `WorkflowBuilder`.
 * @throws {TypeError} If the id or handler is invalid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, type WorkflowContext } from "@superstep/superstep";
 *
 * const split = defineExecutor({
 *   id: "split",
 *   handle: async (text: string, ctx: WorkflowContext<string, never>) => {
 *     for (const word of text.split(" ")) await ctx.send(word);
 *   },
 * });
 * assert.equal(split.id, "split");
 * ```
 */
export function defineExecutor<TIn = unknown, TOut = unknown, TYield = unknown>(
  definition: ExecutorDefinition<TIn, TOut, TYield>,
): Executor<TIn, TOut, TYield> {
  if (typeof definition?.handle !== "function") {
    throw new TypeError(`Cannot define executor "${definition?.id}": handle must be a function`);
  }
  return new FunctionExecutor(definition);
}

class FunctionExecutor<TIn, TOut, TYield> extends Executor<TIn, TOut, TYield> {
  #handle: ExecutorDefinition<TIn, TOut, TYield>["handle"];
  constructor(definition: ExecutorDefinition<TIn, TOut, TYield>) {
    super(definition.id, { version: definition.version, concurrency: definition.concurrency });
    this.#handle = definition.handle;
    if (definition.accepts) this.accepts = definition.accepts;
    if (definition.input) this.input = definition.input;
    if (definition.sends) this.sends = definition.sends;
    if (definition.yields) this.yields = definition.yields;
    if (definition.onResponse) this.onResponse = definition.onResponse;
  }
  handle(message: TIn, ctx: WorkflowContext<TOut, TYield>): void | Promise<void> {
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
