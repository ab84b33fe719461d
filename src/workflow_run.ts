/**
 * `WorkflowRun`: the handle `run()`, `resume()` and `respond()` return.
 *
 * @module
 */
import type { WorkflowEvent, WorkflowResult } from "./events.ts";

/**
 * A run of a workflow: lazy (nothing runs until it is awaited or iterated),
 * awaitable for its {@linkcode WorkflowResult} and async-iterable for its
 * events, streamed live. Await it and iterate it as often as you like: a
 * reader that starts before the run does sees every event of the call; one
 * that starts later sees the events the call still keeps (its last
 * `keepEvents`, 1,000 by default) and every event after them.
 *
 * A failed run rejects (the stream yields a `failed` event, then throws).
 * `TOutput` is the workflow's output type: `result.outputs` and `output` events carry it.
 * Breaking out of `for await` cancels the run and releases the workflow at once;
 * so does dropping the handle unused (once it is garbage-collected).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 *
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).build();
 * const seen: unknown[] = [];
 * for await (const event of workflow.run("hi")) {
 *   if (event.type === "output") seen.push(event.data);
 * }
 * assert.deepEqual(seen, ["hi"]);
 * const result = await workflow.run("again");
 * assert.equal(result.status, "idle");
 * ```
 */
export interface WorkflowRun<TOutput = unknown>
  extends Promise<WorkflowResult<TOutput>>, AsyncIterable<WorkflowEvent<TOutput>> {
  /**
   * Cancel the run: executors see `ctx.signal` abort, the run ends `cancelled`,
   * the last checkpoint stays resumable. A run not yet started never starts.
   */
  cancel(reason?: unknown): void;
}
