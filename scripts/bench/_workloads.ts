// The workloads of benchmarks 3b and 7, for Superstep and LangGraph.js alike (runtime-neutral): a loop whose
// state holds records from its first superstep, and a run whose state grows by one record per superstep.
import { Annotation, type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import { type CheckpointStorage, defineExecutor, type Workflow, WorkflowBuilder } from "../../mod.ts";
import { growthRecord } from "./_shapes.ts";

export { growthRecord };

/**
 * Superstep's growth run: `steps` supersteps, each adding `record(n)` to the state's `items` (or, without
 * `record`, only setting a counter: the fixed cost of a checkpoint), checkpointed to `storage`.
 */
export function superstepGrowth(
  storage: CheckpointStorage,
  steps: number,
  record?: (n: number) => unknown,
): Workflow<number, never> {
  const grow = defineExecutor({
    id: "grow",
    handle: async (n: number, ctx) => {
      if (record) ctx.state.set("items", [...(ctx.state.get<unknown[]>("items") ?? []), record(n)]);
      else ctx.state.set("n", n);
      if (n + 1 < steps) await ctx.send(n + 1);
    },
  });
  return new WorkflowBuilder({ name: "growth", start: grow, maxSupersteps: steps + 10 })
    .addEdge(grow, grow).withCheckpointing(storage).build();
}

/** The same growth run in LangGraph.js (a reducer appends each node's record), run to its end. */
export async function langGraphGrowth(
  checkpointer: BaseCheckpointSaver,
  steps: number,
  record: (n: number) => unknown,
): Promise<void> {
  const Growth = Annotation.Root({
    n: Annotation<number>,
    items: Annotation<unknown[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  await new StateGraph(Growth)
    .addNode("grow", (s) => ({ n: s.n + 1, items: [record(s.n)] }))
    .addEdge(START, "grow")
    .addConditionalEdges("grow", (s) => (s.n < steps ? "grow" : END))
    .compile({ checkpointer })
    .invoke({ n: 0 }, { recursionLimit: 10 * steps, configurable: { thread_id: "growth" } });
}

/** Benchmark 3b's loop: one executor, `steps` supersteps, the records set in its state by the first message. */
export function superstepLoop<Items>(steps: number): Workflow<{ n: number; items?: Items }, never> {
  const loop = defineExecutor({
    id: "loop",
    handle: async (message: { n: number; items?: Items }, ctx) => {
      if (message.items) ctx.state.set("items", message.items);
      if (message.n + 1 < steps) await ctx.send({ n: message.n + 1 });
    },
  });
  return new WorkflowBuilder({ name: "durable", start: loop, maxSupersteps: steps + 10 })
    .addEdge(loop, loop).build();
}

/** The same loop in LangGraph.js. */
export function langGraphLoop<Items>(steps: number, checkpointer: BaseCheckpointSaver) {
  const Durable = Annotation.Root({ n: Annotation<number>, items: Annotation<Items> });
  return new StateGraph(Durable)
    .addNode("loop", (s) => ({ n: s.n + 1 }))
    .addEdge(START, "loop")
    .addConditionalEdges("loop", (s) => (s.n < steps ? "loop" : END))
    .compile({ checkpointer });
}
