// Benchmarks 1 and 2 on Node: Superstep and LangGraph.js side by side, case by case, in one process.
import { setMaxListeners } from "node:events";
import { args, quick, Report } from "./_harness.ts";
import { runCore } from "./core.ts";
import { langGraph } from "./_langgraph.ts";

// LangGraph.js adds an abort listener per task to one signal: a fan-out to 1,000 nodes makes Node warn
// about a listener leak on every run. Silence the warning; it changes nothing else.
setMaxListeners(0);
const report = new Report();
await runCore(report, { quick: quick(args()), peer: langGraph });
report.print();
