// The core benchmarks (1, 2 and the floor) alone, on whichever runtime runs this file: `run.mjs` starts it
// on Deno and Bun (Node runs them in node_peers.ts, next to LangGraph.js).
import { args, quick, Report } from "./_harness.ts";
import { runCore } from "./core.ts";

const report = new Report();
await runCore(report, { quick: quick(args()) });
report.print();
