/**
 * `WorkflowPlugin`: hooks the runner calls around a run — its start and end,
 * every event, every checkpoint written, and every executor call.
 *
 * @module
 */
import type { CheckpointSummary } from "./checkpoint.ts";
import type { WorkflowEvent, WorkflowResult } from "./events.ts";
import type { WorkflowContext } from "./context.ts";

/** Which call of a workflow a run is: `run()`, `resume()` or `respond()`. */
export type RunKind = "run" | "resume" | "respond";

/** The hooks of {@linkcode WorkflowPlugin}, as `PluginError.hook` names them. */
export type PluginHook = "onRunStart" | "onEvent" | "wrapExecutor" | "onCheckpoint" | "onRunEnd";

/**
 * What a plugin knows about the call it observes. One object per call: the
 * same object is passed to every hook of that call, so a plugin shared by
 * concurrent runs can key its per-run state on it (a `WeakMap`).
 */
export interface RunInfo {
  /** The workflow's name. */
  readonly workflowName: string;
  /** The session (branch) the call writes its checkpoints to. */
  readonly sessionId: string;
  /** Which call this is. */
  readonly kind: RunKind;
  /** A unique id of this call (each `run`, `resume` and `respond` gets its own). */
  readonly runId: string;
  /**
   * The checkpoint the call continues from: the resumed checkpoint (`resume`),
   * the newest checkpoint of the run being answered (`respond`), or the
   * session's head that a fresh `run` with an existing `sessionId` appends to.
   */
  readonly parentCheckpointId?: string;
  /** Aborts when the call is cancelled (`signal`, `cancel()`, a dropped handle). */
  readonly signal: AbortSignal;
}

/**
 * An executor call as `wrapExecutor` sees it: the handler (or `onResponse`)
 * with everything plugins inside this one added.
 */
export type ExecutorCall = (message: unknown, ctx: WorkflowContext) => Promise<void>;

/**
 * A plugin: a named object with optional hooks, registered on a builder
 * (`builder.use(plugin)`, every call of the workflow) or for one call
 * (`run(input, { plugins })`, also on `resume` and `respond`). Builder plugins
 * come first, then the call's, and hooks run in that order.
 *
 * - Every plugin receives the call's events and checkpoints in emission order,
 *   each hook awaited before its next one; a plugin whose hooks are
 *   synchronous receives each event while it is emitted. The runner waits for
 *   every plugin at each superstep boundary and at the end of the call, so a
 *   slow plugin slows the run instead of falling behind it.
 * - `wrapExecutor` composes like middleware: the first plugin registered is the
 *   outermost. A wrapper may call `next` again after it settled (a retry): each
 *   attempt starts from the state the call started with (the sends, outputs,
 *   requests, state writes and `snapshot()` state of a failed attempt are
 *   discarded), and the runner emits `executor-retried`. The `output` and
 *   `request` events of a failed attempt were already streamed.
 * - A plugin that throws (or rejects) fails the call the way an executor does,
 *   with a `PluginError` naming it: at once from `wrapExecutor` or
 *   `onRunStart`, otherwise by aborting the running superstep, which is then
 *   not committed nor checkpointed. A plugin that threw is not called again
 *   in that call; the others still see the `failed` event and `onRunEnd`.
 * - Plugins see a call from its `started` event on: a `resume` that fails
 *   before it starts (unknown checkpoint, graph mismatch) reaches no plugin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, type WorkflowPlugin, WorkflowBuilder } from "@superstep/superstep";
 *
 * const log: string[] = [];
 * const timing: WorkflowPlugin = {
 *   name: "timing",
 *   wrapExecutor: (next, executorId) => async (message, ctx) => {
 *     const started = Date.now();
 *     try {
 *       await next(message, ctx);
 *     } finally {
 *       log.push(`${executorId} took ${Date.now() - started} ms`);
 *     }
 *   },
 *   onRunEnd: (result, info) => void log.push(`${info.workflowName}: ${result.status}`),
 * };
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).use(timing).build();
 * await workflow.run("hi");
 * assert.match(log[0], /^echo took \d+ ms$/);
 * assert.equal(log[1], "echo: idle");
 * ```
 */
export interface WorkflowPlugin {
  /** Names the plugin in errors (`PluginError.pluginName`). */
  readonly name: string;
  /** Before the call's first event (`started`). */
  onRunStart?(info: RunInfo): void | Promise<void>;
  /** Every event of the call, in emission order (what the stream holds). */
  onEvent?(event: WorkflowEvent, info: RunInfo): void | Promise<void>;
  /**
   * Middleware around every handler call (`handle` and `onResponse`; for
   * `onResponse` the message is the response): return a function that calls
   * `next` (or not). Called once per handler call; return `next` itself to
   * leave an executor alone (then the call is made as if unwrapped, without
   * the bookkeeping that lets a wrapper retry it).
   */
  wrapExecutor?(next: ExecutorCall, executorId: string, info: RunInfo): ExecutorCall;
  /** After a checkpoint was saved (before its `superstep-completed` event). */
  onCheckpoint?(summary: CheckpointSummary, info: RunInfo): void | Promise<void>;
  /**
   * Once the call is over — converged, cancelled or failed (then
   * `result.status` is `failed` and `result.error` holds the error the call
   * rejects with).
   */
  onRunEnd?(result: WorkflowResult, info: RunInfo): void | Promise<void>;
}
