// Benchmark 8 (Node, one process per library): peak resident memory while running benchmark 1 with
// in-memory checkpoints (the loop, the 1,000-chain and the 100-chain, twice each). Each library has its
// own entry point (rss_superstep.ts, rss_langgraph.ts), so that neither process loads the other library.
import process from "node:process";
import { Report } from "./_harness.ts";
import { CHAIN_100, CHAIN_1000, LOOP, type Shape } from "./_shapes.ts";

export const RSS_SHAPES: Shape[] = [LOOP, CHAIN_1000, CHAIN_100];
const ROUNDS = 2;
const MIB = 1024 * 1024;

/** Measure `run` (one round of every shape), the graphs being built already. */
export async function measureRss(subject: string, run: () => Promise<void>): Promise<void> {
  const report = new Report();
  // What the process holds before any run: the runtime, the library, the built graphs.
  const baseline = process.memoryUsage().rss;
  for (let i = 0; i < ROUNDS; i++) await run();
  const peak = process.resourceUsage().maxRSS * 1024;
  const one = (median: number) => ({
    median,
    mad: 0,
    min: median,
    max: median,
    reps: 1,
    unit: "MiB",
  });
  report.add({
    bench: "8",
    name: "peak RSS · benchmark 1, memory checkpoints",
    subject,
    ...one(peak / MIB),
  });
  report.add({
    bench: "8",
    name: "RSS before the runs",
    subject,
    ...one(baseline / MIB),
  });
  report.add({
    bench: "8",
    name: "peak RSS − RSS before the runs",
    subject,
    ...one((peak - baseline) / MIB),
  });
  report.print();
}
