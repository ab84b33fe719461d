/**
 * `WorkflowContext`: what an executor's handler receives besides its message.
 *
 * @module
 */

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
 * What an executor's handler receives besides its message. Its type
 * parameters say what the executor may send and yield, so the builder can
 * check every edge and type the workflow's outputs; left out, they are
 * `unknown` (anything, unchecked).
 *
 * @typeParam TOut What it sends (`send`); `never` for an executor that sends nothing.
 * @typeParam TYield What it yields as workflow output (`yieldOutput`); `never` for none.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder, type WorkflowContext } from "@superstep/superstep";
 *
 * const split = defineExecutor({
 *   id: "split",
 *   handle: async (text: string, ctx: WorkflowContext<string, never>) => {
 *     for (const word of text.split(" ")) await ctx.send(word);
 *   },
 * });
 * const len = defineExecutor({
 *   id: "len",
 *   handle: (word: string, ctx: WorkflowContext<never, number>) => ctx.yieldOutput(word.length),
 * });
 * const workflow = new WorkflowBuilder({ name: "lengths", start: split }).addEdge(split, len).build();
 * const lengths: number[] = (await workflow.run("a bb")).outputs;
 * assert.deepEqual(lengths, [1, 2]);
 * ```
 */
export interface WorkflowContext<TOut = unknown, TYield = unknown> {
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
  yieldOutput(value: TYield): Promise<void>;
  /**
   * Ask for outside input. The run goes on; when it converges it ends
   * `idle-pending-requests`, and the answer arrives in `onResponse`.
   *
   * @returns The request id to answer with.
   */
  requestInfo(data: unknown): Promise<string>;
  /**
   * Stream a custom event live — progress, tokens of a model's answer: a
   * `{ type: "custom", name, data, executorId, superstep }` event that readers
   * of the run's stream, SSE clients and plugins see at once. It is not an
   * output and not checkpointed, and it is emitted even if the superstep is
   * later discarded (cancelled, failed).
   */
  emit(name: string, data?: unknown): void;
}
