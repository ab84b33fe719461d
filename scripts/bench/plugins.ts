// The cost of plugins per superstep (issue: "zero cost when no plugin is registered"): the 1,000-superstep
// loop with memory checkpoints, with no plugin, with a plugin that has no hooks, with a no-op `onEvent`, and
// with a pass-through `wrapExecutor`, measured in turns in one process.
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder, type WorkflowPlugin } from "../../mod.ts";
import { args, quick, Report } from "./_harness.ts";

const STEPS = 1000;

function loop(plugins: WorkflowPlugin[]) {
  const step = defineExecutor({
    id: "loop",
    handle: async (count: number, ctx) => {
      if (count + 1 < STEPS) await ctx.send(count + 1);
      else await ctx.yieldOutput(count + 1);
    },
  });
  const builder = new WorkflowBuilder({ name: "loop", start: step, maxSupersteps: STEPS + 10 }).addEdge(
    step,
    step,
  );
  for (const plugin of plugins) builder.use(plugin);
  return builder.build();
}

const CASES: [string, WorkflowPlugin[]][] = [
  ["no plugin", []],
  ["a plugin without hooks", [{ name: "empty" }]],
  ["a no-op onEvent", [{ name: "events", onEvent() {} }]],
  ["a pass-through wrapExecutor", [{ name: "wrap", wrapExecutor: (next) => (msg, ctx) => next(msg, ctx) }]],
];

const fast = quick(args());
const report = new Report();
for (const [name, plugins] of CASES) {
  const workflow = loop(plugins);
  await report.time("P", name, "superstep", {
    warmup: fast ? 1 : 5,
    reps: fast ? 3 : 31,
    budgetMs: fast ? 500 : 4000,
    ops: STEPS,
    run: async () => {
      const result = await workflow.run(0, { storage: new MemoryCheckpointStorage() });
      if (result.outputs[0] !== STEPS) throw new Error(`plugins bench: output ${result.outputs[0]}`);
    },
  });
}
report.print();
