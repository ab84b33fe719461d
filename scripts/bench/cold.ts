// Benchmark 1's cold column: the first 3,000 supersteps of a fresh process (three runs of the 1,000-superstep
// loop with memory checkpoints, the first one included), for one library per process. `run.mjs` starts
// several such processes, alternating the libraries, so each library's figure is the median over fresh
// processes that ran under the same conditions. `--subject=superstep` (the default) or `--subject=langgraph`
// (Node only); `--shape=loop|request`: `request` builds a new workflow per run from the same factory, as
// the Hono adapter does per request (one 10-superstep run per workflow, 300 workflows).
import { args, log, once, quick, Report } from "./_harness.ts";
import { buildWorkflow, LOOP, runWorkflow, type Shape } from "./_shapes.ts";

const argv = args();
const subject = argv.find((a) => a.startsWith("--subject="))?.slice("--subject=".length) ?? "superstep";
const shapeArg = argv.find((a) => a.startsWith("--shape="))?.slice("--shape=".length) ?? "loop";
const SUPERSTEPS = quick(argv) ? 1000 : 3000;

/** Time `runs` runs made by `next` (the first one included): microseconds per superstep. */
async function cold(runs: number, supersteps: number, next: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await next();
  return ((performance.now() - t0) * 1000) / (runs * supersteps);
}

async function superstepFigure(): Promise<number> {
  if (shapeArg === "request") {
    const shape: Shape = { ...LOOP, size: 10 };
    return await cold(SUPERSTEPS / 10, 10, () => runWorkflow(buildWorkflow(shape), true));
  }
  const workflow = buildWorkflow(LOOP);
  return await cold(SUPERSTEPS / LOOP.size, LOOP.size, () => runWorkflow(workflow, true));
}

async function langGraphFigure(): Promise<number> {
  const { MemorySaver } = await import("@langchain/langgraph");
  const { buildGraph, invoke } = await import("./_langgraph.ts");
  if (shapeArg === "request") {
    const shape: Shape = { ...LOOP, size: 10 };
    return await cold(
      SUPERSTEPS / 10,
      10,
      () => invoke(buildGraph(shape).compile({ checkpointer: new MemorySaver() }), shape),
    );
  }
  const graph = buildGraph(LOOP);
  return await cold(
    SUPERSTEPS / LOOP.size,
    LOOP.size,
    () => invoke(graph.compile({ checkpointer: new MemorySaver() }), LOOP),
  );
}

const report = new Report();
const perStep = subject === "langgraph" ? await langGraphFigure() : await superstepFigure();
report.add({
  bench: "1",
  name: shapeArg === "request" ? "cold · a new workflow per run" : "cold · loop, memory checkpoints",
  subject,
  unit: "µs",
  ...once(perStep),
  extra: { supersteps: SUPERSTEPS },
});
log(`cold ${shapeArg} ${subject}: ${perStep.toFixed(2)} µs per superstep over the first ${SUPERSTEPS}`);
report.print();
