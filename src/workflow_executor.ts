/**
 * `WorkflowExecutor`: a workflow run as one executor of another.
 *
 * @module
 */
import type { WorkflowContext } from "./context.ts";
import type { PendingRequest } from "./events.ts";
import { Executor, type ExecutorOptions } from "./executor.ts";
import { NESTED_GRAPH } from "./_graph.ts";
import { NESTING, type Nesting } from "./_executor_context.ts";
import type { RunState } from "./_runner.ts";
import { newId } from "./_ulid.ts";
import { nestedOf, type NestedOutcome, type Workflow } from "./workflow.ts";

/** One paused run of the sub-workflow: its state, and the outer requests that stand for its requests. */
interface PausedRun {
  key: string;
  state: RunState;
}

/** What a `WorkflowExecutor` saves into every checkpoint: its sub-workflow's paused runs. */
interface Saved {
  runs: PausedRun[];
}

/**
 * An executor that runs a whole workflow for each message it receives — a sub-workflow.
 *
 * - The message is the inner run's input; each inner output is sent along this executor's edges, in order
 *   (typed: the inner workflow's input and output types are this executor's `TIn` and `TOut`).
 * - The inner run goes on until it converges or waits for answers. A request made inside it is a request of
 *   the outer run (`result.pendingRequests`, `request` events, HTTP), whose `path` names the executors that
 *   lead to the one that asked; answer it through the outer workflow (`respond`, `resume` with responses)
 *   and the answer reaches the inner executor's `onResponse`. Request ids are unique across levels.
 * - A waiting inner run's whole state — queued messages, shared state, executor snapshots, fan-in
 *   buffers, pending requests, superstep count — is this executor's snapshot, so it is in every outer
 *   checkpoint: resuming any outer checkpoint, on a fresh instance in another process, continues the
 *   inner run where it was, never from its start. Several inner runs may wait at once.
 * - Inner events stream in the outer run as `nested` events (`path`, `event`); the inner graph enters the
 *   outer graph signature; an inner failure fails this executor (`ExecutorFailedError`, the inner error as
 *   its cause); cancelling the outer run cancels the inner one; the inner workflow's own plugins and
 *   `maxSupersteps` apply. Sub-workflows nest to any depth.
 *
 * The inner workflow instance belongs to this executor: it handles one message at a time, and must not be
 * run elsewhere meanwhile.
 *
 * @typeParam TIn The inner workflow's input.
 * @typeParam TOut The inner workflow's outputs: what this executor sends.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   defineExecutor,
 *   MemoryCheckpointStorage,
 *   WorkflowBuilder,
 *   type WorkflowContext,
 *   WorkflowExecutor,
 * } from "@superstep/superstep";
 *
 * // The inner workflow asks a person to approve a draft, then yields the verdict.
 * const ask = defineExecutor({
 *   id: "ask",
 *   handle: async (draft: string, ctx: WorkflowContext<never, string>) => void await ctx.requestInfo(draft),
 *   onResponse: (answer, request, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(`${request.data}: ${answer}`),
 * });
 * const review = new WorkflowBuilder({ name: "review", start: ask }).build();
 *
 * const publish = defineExecutor({
 *   id: "publish",
 *   handle: (verdict: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(`published (${verdict})`),
 * });
 * const reviewing = new WorkflowExecutor("review", review);
 * const storage = new MemoryCheckpointStorage();
 * const outer = new WorkflowBuilder({ name: "publishing", start: reviewing })
 *   .addEdge(reviewing, publish)
 *   .withCheckpointing(storage)
 *   .build();
 *
 * const paused = await outer.run("draft 1");
 * assert.equal(paused.status, "idle-pending-requests");
 * const [request] = paused.pendingRequests;
 * assert.deepEqual(request.path, ["review", "ask"]);
 * // Answered on a fresh instance, from the checkpoint alone:
 * const again = new WorkflowBuilder({ name: "publishing", start: new WorkflowExecutor("review", review) })
 *   .addEdge("review", publish)
 *   .withCheckpointing(storage)
 *   .build();
 * const done = await again.resume(paused.checkpointId!, { responses: { [request.requestId]: "yes" } });
 * assert.deepEqual(done.outputs, ["published (draft 1: yes)"]);
 * ```
 */
export class WorkflowExecutor<TIn = unknown, TOut = unknown> extends Executor<TIn, TOut, never> {
  #workflow: Workflow<TIn, TOut>;
  #runs: PausedRun[] = [];

  /**
   * Wrap `workflow` as an executor with the stable id `id`.
   *
   * @param id The executor's stable id in the outer workflow.
   * @param workflow The inner workflow (built by `WorkflowBuilder.build()`; it belongs to this executor).
   * @param options `version`: bump it when the inner workflow's state changes shape.
   * @throws {TypeError} If `workflow` is not a built workflow, or the id is invalid.
   */
  constructor(id: string, workflow: Workflow<TIn, TOut>, options?: Pick<ExecutorOptions, "version">) {
    super(id, { version: options?.version });
    this.#workflow = workflow;
    // Checked now, so a wrong argument fails where the graph is built.
    const graph = nestedOf(workflow as Workflow<unknown, unknown>).graph;
    Object.defineProperty(this, NESTED_GRAPH, { value: graph, enumerable: false });
  }

  /**
   * Start an inner run with `message` as its input and take it as far as it goes.
   *
   * @param message The inner run's input.
   * @param ctx The outer context: inner outputs are sent through it, inner requests relayed.
   * @returns Once the inner run converged or waits for answers.
   */
  async handle(message: TIn, ctx: WorkflowContext<TOut, never>): Promise<void> {
    await this.#step(ctx, newId(), { input: message }, new Set());
  }

  /**
   * Pass an answer to the inner run that asked, and take it as far as it goes again.
   *
   * @param response The answer.
   * @param request The outer request, which stands for the inner one (same id).
   * @param ctx The outer context.
   * @returns Once the inner run converged or waits for answers again.
   */
  override async onResponse(
    response: unknown,
    request: PendingRequest,
    ctx: WorkflowContext<TOut, never>,
  ): Promise<void> {
    const run = this.#runs.find((paused) =>
      paused.state.pendingRequests.some((r) => r.requestId === request.requestId)
    );
    if (run === undefined) {
      throw new TypeError(
        `WorkflowExecutor "${this.id}" has no waiting inner run with request "${request.requestId}"`,
      );
    }
    const known = new Set(run.state.pendingRequests.map((r) => r.requestId));
    await this.#step(ctx, run.key, { state: run.state, responses: { [request.requestId]: response } }, known);
  }

  /**
   * The waiting inner runs, each with its whole state (saved into every outer checkpoint).
   *
   * @returns The snapshot.
   */
  override snapshot(): unknown {
    return { runs: this.#runs.map(({ key, state }) => ({ key, state })) };
  }

  /**
   * Put back the waiting inner runs of a checkpoint.
   *
   * @param snapshot What `snapshot()` returned.
   * @throws {TypeError} If it is not such a snapshot.
   */
  override restore(snapshot: unknown): void {
    const saved = snapshot as Saved | null;
    if (saved === null || typeof saved !== "object" || !Array.isArray(saved.runs)) {
      throw new TypeError(`WorkflowExecutor "${this.id}" cannot restore ${JSON.stringify(snapshot)}`);
    }
    this.#runs = saved.runs.map(({ key, state }) => ({ key, state }));
  }

  /** Run one step of inner run `key`, forward what it did, and keep it if it waits. */
  async #step(
    ctx: WorkflowContext<TOut, never>,
    key: string,
    from: { input: unknown } | { state: RunState; responses: Record<string, unknown> },
    known: ReadonlySet<string>,
  ): Promise<void> {
    const nesting = nestingOf(ctx, this.id);
    const outcome: NestedOutcome = await nestedOf(this.#workflow as Workflow<unknown, unknown>).step({
      ...from,
      signal: ctx.signal,
      forward: (event) => {
        // A sub-workflow's own nested events are flattened: one `nested` event, its whole path.
        if (event.type === "nested") nesting.forward([this.id, ...event.path], event.event);
        else nesting.forward([this.id], event);
      },
    });
    if (outcome.status === "cancelled") {
      throw ctx.signal.reason ?? new DOMException("Cancelled", "AbortError");
    }
    this.#runs = this.#runs.filter((run) => run.key !== key);
    if (outcome.state !== undefined) this.#runs.push({ key, state: outcome.state });
    for (const output of outcome.outputs) await ctx.send(output as TOut);
    for (const request of outcome.pendingRequests) {
      if (known.has(request.requestId)) continue;
      nesting.relay({
        requestId: request.requestId,
        executorId: this.id,
        data: request.data,
        path: [this.id, ...(request.path ?? [request.executorId])],
      });
    }
  }
}

/** The runner's context behind `ctx`: a plugin's wrapper must hand the context it got on to `next`. */
function nestingOf(ctx: WorkflowContext<unknown, unknown>, id: string): Nesting {
  const nesting = (ctx as { [NESTING]?: Nesting })[NESTING];
  if (nesting === undefined) {
    throw new TypeError(
      `WorkflowExecutor "${id}" needs the context the runner gave it (a plugin's wrapper replaced it)`,
    );
  }
  return nesting;
}
