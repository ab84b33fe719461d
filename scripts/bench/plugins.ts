// The cost of plugins per superstep (issue: "zero cost when no plugin is registered"): the 1,000-superstep
// loop with memory checkpoints, with no plugin, with a plugin that has no hooks, with a no-op `onEvent`, and
// with a pass-through `wrapExecutor`, in one process: all four warmed up, then timed in turns (one run each
// per round, the order rotating every round).
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder, type WorkflowPlugin } from "../../mod.ts";
import { args, quick, Report, stats } from "./_harness.ts";

const STEPS = 1000;

function loop(plugins: WorkflowPlugin[]) {
  const step = defineExecutor({
    id: "loop",
    handle: async (count: number, ctx) => {
      if (count + 1 < STEPS) await ctx.send(count + 1);
      else await ctx.yieldOutput(count + 1);
    },
  });
  const builder = new WorkflowBuilder({
    name: "loop",
    start: step,
    maxSupersteps: STEPS + 10,
  }).addEdge(
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
  ["a pass-through wrapExecutor", [{
    name: "wrap",
    wrapExecutor: (next) => (msg, ctx) => next(msg, ctx),
  }]],
];

const fast = quick(args());
const report = new Report();
const workflows = CASES.map(([name, plugins]) => ({
  name,
  workflow: loop(plugins),
  times: [] as number[],
}));
const runOnce = async (workflow: ReturnType<typeof loop>) => {
  const result = await workflow.run(0, {
    storage: new MemoryCheckpointStorage(),
  });
  if (result.outputs[0] !== STEPS) {
    throw new Error(`plugins bench: output ${result.outputs[0]}`);
  }
};
// Every case warms up first, then the cases take turns, each round in another order: no case runs cold
// or always right after the same other one.
for (let i = 0; i < (fast ? 1 : 10); i++) {
  for (const { workflow } of workflows) await runOnce(workflow);
}
const rounds = fast ? 3 : 24;
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < workflows.length; k++) {
    const entry = workflows[(round + k) % workflows.length];
    const t0 = performance.now();
    await runOnce(entry.workflow);
    entry.times.push(((performance.now() - t0) * 1000) / STEPS);
  }
}
for (const { name, times } of workflows) {
  report.add({
    bench: "P",
    name,
    subject: "superstep",
    unit: "µs",
    ...stats(times),
    reps: times.length,
  });
}
report.print();
