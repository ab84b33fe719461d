// Executors several test files build workflows from.
import assert from "node:assert/strict";
import {
  type Checkpoint,
  CheckpointConflictError,
  type CheckpointQuery,
  type CheckpointStorage,
  type CheckpointSummary,
  defineExecutor,
  Executor,
  type MemoryCheckpointStorage,
  type PendingRequest,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
} from "../mod.ts";

/** Adds every message to a running total kept in its own (checkpointed) state. */
export class Tally extends Executor<number, number> {
  total = 0;
  constructor() {
    super("tally");
  }
  async handle(n: number, ctx: WorkflowContext<number>): Promise<void> {
    this.total += n;
    await ctx.send(this.total);
  }
  override snapshot(): { total: number } {
    return { total: this.total };
  }
  override restore(state: { total: number }): void {
    this.total = state.total;
  }
}

/** A storage that delegates every call to a memory storage; subclasses intercept what they need. */
export class DelegatingStorage implements CheckpointStorage {
  readonly inner: MemoryCheckpointStorage;
  constructor(inner: MemoryCheckpointStorage) {
    this.inner = inner;
  }
  save(checkpoint: Checkpoint): Promise<void> {
    return this.inner.save(checkpoint);
  }
  load(id: string): Promise<Checkpoint | undefined> {
    return this.inner.load(id);
  }
  list(query?: CheckpointQuery): Promise<CheckpointSummary[]> {
    return this.inner.list(query);
  }
  head(sessionId: string): Promise<string | undefined> {
    return this.inner.head(sessionId);
  }
  delete(id: string): Promise<boolean> {
    return this.inner.delete(id);
  }
  deleteSession(sessionId: string): Promise<number> {
    return this.inner.deleteSession(sessionId);
  }
}

/**
 * ask → record: `ask` requests one answer per item of its input; each answer goes to `record`, which yields
 * `item=answer`.
 */
export function approvals(storage: CheckpointStorage, name = "approvals"): Workflow {
  const ask = defineExecutor({
    id: "ask",
    handle: async (items: string[], ctx) => {
      for (const item of items) await ctx.requestInfo({ item });
    },
    onResponse: async (answer: unknown, request: PendingRequest, ctx) => {
      await ctx.send(`${(request.data as { item: string }).item}=${answer}`);
    },
  });
  const record = defineExecutor({ id: "record", handle: (line: string, ctx) => ctx.yieldOutput(line) });
  return new WorkflowBuilder({ name, start: ask }).addEdge(ask, record).withCheckpointing(storage).build();
}

/**
 * What deleting a session while a run writes to it means, asserted on `storage`: the delete wins. The run's
 * next save follows a checkpoint that no longer exists, so it is refused (CheckpointConflictError,
 * `parent-missing`); the run fails with it (a `failed` event, then the rejection), and the session stays
 * deleted: nothing is written after the delete.
 */
export async function assertDeleteWhileRunning(storage: CheckpointStorage): Promise<void> {
  let reached!: () => void;
  const running = new Promise<void>((resolve) => reached = resolve);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const first = defineExecutor({ id: "first", handle: (text: string, ctx) => ctx.send(text) });
  const second = defineExecutor({
    id: "second",
    handle: async (text: string, ctx) => {
      reached();
      await gate;
      await ctx.yieldOutput(text);
    },
  });
  const workflow = new WorkflowBuilder({ name: "delete-while-running", start: first })
    .addEdge(first, second)
    .withCheckpointing(storage)
    .build();
  const sessionId = `deleted-${crypto.randomUUID()}`;
  const run = workflow.run("x", { sessionId });
  const outcome = run.then(() => undefined, (error: unknown) => error);
  await running;
  // The entry checkpoint and the one after `first`'s superstep.
  const deleted = await storage.deleteSession(sessionId);
  release();
  const error = await outcome;
  assert.strictEqual(deleted, 2, "the entry checkpoint and the first superstep's were deleted");
  assert.ok(error instanceof CheckpointConflictError, `the run fails with a conflict: ${String(error)}`);
  assert.strictEqual(error.reason, "parent-missing");
  assert.strictEqual(error.sessionId, sessionId);
  const types: string[] = [];
  await assert.rejects(async () => {
    for await (const event of run) types.push(event.type === "status" ? `status:${event.state}` : event.type);
  }, CheckpointConflictError);
  // `second` completed; its superstep's checkpoint was refused, so no superstep-completed, then the failure.
  assert.deepStrictEqual(types.slice(-3), ["executor-completed", "failed", "status:failed"]);
  assert.strictEqual(await storage.head(sessionId), undefined, "no head after the delete");
  assert.deepStrictEqual(await storage.list({ sessionId }), [], "nothing written after the delete");
}
