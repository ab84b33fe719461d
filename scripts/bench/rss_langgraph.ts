// Benchmark 8, LangGraph.js's process (see _rss.ts): MemorySaver, a fresh one per run.
import { MemorySaver } from "@langchain/langgraph";
import { measureRss, RSS_SHAPES } from "./_rss.ts";
import { buildGraph, invoke } from "./_langgraph.ts";

const graphs = RSS_SHAPES.map((shape) => ({ shape, graph: buildGraph(shape) }));
await measureRss("langgraph", async () => {
  for (const { shape, graph } of graphs) {
    await invoke(graph.compile({ checkpointer: new MemorySaver() }), shape);
  }
});
