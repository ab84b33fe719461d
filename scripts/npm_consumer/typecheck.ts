// Type-checked (never run) by tsc in a scratch project that installed the packed `superstep` tarball, once with
// `moduleResolution: NodeNext` and once with `Bundler`. The @ts-expect-error lines fail the check if the
// package's types resolve to `any`.
import {
  type CheckpointStorage,
  type CheckpointSummary,
  defineExecutor,
  Executor,
  lineage,
  type RunStatus,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
  type WorkflowResult,
  type WorkflowRun,
} from "superstep";
import { MemoryCheckpointStorage } from "superstep/memory";
import type { KvHandle } from "superstep/kv";

class Counter extends Executor<string, number> {
  count = 0;
  constructor() {
    super("counter");
  }
  async handle(_word: string, ctx: WorkflowContext<number>): Promise<void> {
    this.count++;
    await ctx.send(this.count);
  }
  override snapshot(): { count: number } {
    return { count: this.count };
  }
  override restore(state: { count: number }): void {
    this.count = state.count;
  }
}

const split = defineExecutor({
  id: "split",
  handle: async (text: string, ctx) => {
    for (const word of text.split(" ")) await ctx.send(word);
  },
});
const counter = new Counter();
const report = defineExecutor({ id: "report", handle: (n: number, ctx) => ctx.yieldOutput(n) });
const storage: CheckpointStorage = new MemoryCheckpointStorage();
const workflow = new WorkflowBuilder({ name: "typed", start: split })
  .addChain([split, counter, report])
  .withCheckpointing(storage)
  .build();

const run: WorkflowRun = workflow.run("a b");
const result: WorkflowResult = await run;
const status: RunStatus = result.status;
const closed: "idle" | "idle-pending-requests" | "failed" | "cancelled" = result.status;
const outputs: unknown[] = result.outputs;
const checkpointId: string | undefined = result.checkpointId;
const sessionId: string = result.sessionId;
const requestIds: string[] = result.pendingRequests.map((request) => request.requestId);
// @ts-expect-error status is a closed union, not a string
const notAStatus: "running" = result.status;
// @ts-expect-error sessionId is a string
const notANumber: number = result.sessionId;

for await (const event of workflow.run("c")) {
  const kind: WorkflowEvent["type"] = event.type;
  if (event.type === "superstep-completed") {
    const superstep: number = event.superstep;
    void superstep;
  }
  void kind;
}
const ancestry: CheckpointSummary[] = checkpointId ? await lineage(storage, checkpointId) : [];
const kv: KvHandle | undefined = undefined;

export { ancestry, closed, kv, notANumber, notAStatus, outputs, requestIds, sessionId, status };
