// The peer: the same shapes in LangGraph.js (`@langchain/langgraph`, StateGraph), Node only. Defaults are
// kept (durability "async", JSON serde); only the recursion limit is raised so long runs may finish.
import { Annotation, END, MemorySaver, Send, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { Peer, PeerShape } from "./core.ts";
import type { Shape } from "./_shapes.ts";

/** The builder calls used here, typed loosely: node names are made at run time. */
interface Builder {
  addNode(name: string, fn: (state: Record<string, unknown>) => unknown): Builder;
  addEdge(from: string | string[], to: string): Builder;
  addConditionalEdges(from: string, route: (state: Record<string, unknown>) => string | Send[]): Builder;
  compile(options?: { checkpointer?: BaseCheckpointSaver }): Graph;
}

/** A compiled graph. */
export interface Graph {
  invoke(input: unknown, config: Record<string, unknown>): Promise<Record<string, unknown>>;
}

const Count = Annotation.Root({ n: Annotation<number> });
const Fan = Annotation.Root({
  results: Annotation<number[]>({
    reducer: (a, b) => a.concat(b),
    default: () => [],
  }),
  sum: Annotation<number>,
});

const Mapped = Annotation.Root({
  item: Annotation<number>,
  results: Annotation<number[]>({
    reducer: (a, b) => a.concat(b),
    default: () => [],
  }),
  sum: Annotation<number>,
});

function builder(annotation: unknown): Builder {
  return new StateGraph(annotation as typeof Count) as unknown as Builder;
}

/** The uncompiled graph of a shape. */
export function buildGraph(shape: Shape): Builder {
  const n = shape.size;
  if (shape.kind === "loop") {
    return builder(Count)
      .addNode("loop", (s) => ({ n: (s.n as number) + 1 }))
      .addEdge(START, "loop")
      .addConditionalEdges("loop", (s) => ((s.n as number) < n ? "loop" : END));
  }
  if (shape.kind === "chain") {
    let graph = builder(Count);
    for (let i = 0; i < n; i++) {
      graph = graph.addNode(`c${i}`, (s) => ({ n: (s.n as number) + 1 }));
    }
    graph = graph.addEdge(START, "c0");
    for (let i = 0; i < n - 1; i++) graph = graph.addEdge(`c${i}`, `c${i + 1}`);
    return graph.addEdge(`c${n - 1}`, END);
  }
  if (shape.kind === "map") {
    // LangGraph.js's map-reduce: `Send` one task per item to one node, a reducer concatenates the results.
    return builder(Mapped)
      .addNode("split", () => ({}))
      .addNode("work", (s) => ({ results: [(s.item as number) * 2] }))
      .addNode("total", (s) => ({ sum: (s.results as number[]).reduce((a, b) => a + b, 0) }))
      .addEdge(START, "split")
      .addConditionalEdges("split", () => Array.from({ length: n }, (_, i) => new Send("work", { item: i })))
      .addEdge("work", "total")
      .addEdge("total", END);
  }
  let graph = builder(Fan)
    .addNode("start", () => ({}))
    .addNode("join", (s) => ({ sum: (s.results as number[]).reduce((a, b) => a + b, 0) }));
  const workers: string[] = [];
  for (let i = 0; i < n; i++) {
    workers.push(`w${i}`);
    graph = graph.addNode(`w${i}`, () => ({ results: [i] })).addEdge("start", `w${i}`);
  }
  return graph.addEdge(START, "start").addEdge(workers, "join").addEdge("join", END);
}

let threads = 0;

/** Run a compiled graph once on a new thread; returns what the Superstep shape outputs. */
export async function invoke(
  graph: Graph,
  shape: Shape,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const config = {
    recursionLimit: 10 * shape.size + 100,
    configurable: { thread_id: `t${++threads}` },
    ...extra,
  };
  const oneRun = shape.kind === "fan" || shape.kind === "map";
  const out = await graph.invoke(oneRun ? {} : { n: 0 }, config);
  return (oneRun ? out.sum : out.n) as number;
}

/** LangGraph.js with `MemorySaver` (or no checkpointer), a fresh checkpointer per run. */
export const langGraph: Peer = {
  subject: "langgraph",
  prepare(shape: Shape, checkpointing: boolean): Promise<PeerShape> {
    const graph = buildGraph(shape);
    const plain = checkpointing ? undefined : graph.compile();
    const slow = shape.kind === "chain" && shape.size >= 1000;
    return Promise.resolve({
      setup: () => {
        const compiled = plain ??
          graph.compile({ checkpointer: new MemorySaver() });
        return Promise.resolve(() => invoke(compiled, shape));
      },
      warmup: 1,
      reps: slow ? 3 : 5,
      budgetMs: 30_000,
    });
  },
};
