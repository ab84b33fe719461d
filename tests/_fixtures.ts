// Executors several test files build workflows from.
import {
  type Checkpoint,
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
