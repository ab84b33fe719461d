// Run by plain `node` and by `bun` inside a scratch project that installed the packed `superstep` tarball:
// a checkpointed workflow pauses on a request, and a fresh instance (as another process would build it)
// resumes the paused checkpoint from the same storage, restoring executor state and ancestry.
import assert from "node:assert/strict";
import {
  defineExecutor,
  Executor,
  lineage,
  MemoryCheckpointStorage as CoreMemoryCheckpointStorage,
  WorkflowBuilder,
} from "superstep";
import { MemoryCheckpointStorage } from "superstep/memory";

// One module instance behind both entry points: no dual-package hazard.
assert.equal(CoreMemoryCheckpointStorage, MemoryCheckpointStorage);

/** Counts words in its own checkpointed state, then asks a human to approve the count. */
class Counter extends Executor {
  count = 0;
  constructor() {
    super("counter");
  }
  async handle(word, ctx) {
    this.count++;
    if (word === "end") await ctx.requestInfo({ count: this.count });
  }
  async onResponse(answer, request, ctx) {
    await ctx.send(`${answer}:${request.data.count}:${this.count}`);
  }
  snapshot() {
    return { count: this.count };
  }
  restore(state) {
    this.count = state.count;
  }
}

function build(storage) {
  const split = defineExecutor({
    id: "split",
    handle: async (text, ctx) => {
      for (const word of text.split(" ")) await ctx.send(word);
    },
  });
  const counter = new Counter();
  const report = defineExecutor({ id: "report", handle: (line, ctx) => ctx.yieldOutput(line) });
  return new WorkflowBuilder({ name: "npm-consumer", start: split })
    .addChain([split, counter, report])
    .withCheckpointing(storage)
    .build();
}

const storage = new MemoryCheckpointStorage();
const paused = await build(storage).run("a b c end");
assert.equal(paused.status, "idle-pending-requests");
assert.equal(paused.pendingRequests.length, 1);
assert.ok(paused.checkpointId);

const [request] = paused.pendingRequests;
const resumed = await build(storage).resume(paused.checkpointId, {
  responses: { [request.requestId]: "yes" },
});
assert.equal(resumed.status, "idle");
assert.deepEqual(resumed.outputs, ["yes:4:4"]);
assert.equal(resumed.sessionId, paused.sessionId);

const ancestry = (await lineage(storage, resumed.checkpointId)).map((summary) => summary.id);
assert.ok(
  ancestry.includes(paused.checkpointId),
  "the resumed run's checkpoints descend from the paused one",
);
assert.equal(ancestry.at(-1), (await storage.list({ sessionId: paused.sessionId })).at(-1).id);

console.log(
  `ok: paused at ${paused.checkpointId}, resumed to ${resumed.checkpointId} (${ancestry.length} ancestors)`,
);
