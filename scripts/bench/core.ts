// Benchmarks 1 and 2 and the floor: the core benchmarks, runtime-neutral. `core_main.ts` runs them alone
// (on Deno and Bun); `node_peers.ts` runs them on Node with LangGraph.js, in the same process: every
// Superstep case first, then every LangGraph.js case, so that neither pays for the other's garbage.
import type { Plan, Report } from "./_harness.ts";
import {
  buildWorkflow,
  CHAIN_100,
  CHAIN_1000,
  expectedOutput,
  FAN,
  floor,
  LOOP,
  MAP,
  runWorkflow,
  type Shape,
} from "./_shapes.ts";

/** A peer library that builds the same shapes. */
export interface Peer {
  /** Its name in the table. */
  subject: string;
  /** Build a shape once (untimed). */
  prepare(shape: Shape, checkpointing: boolean): Promise<PeerShape>;
}

/** A peer's built shape. */
export interface PeerShape {
  /** Untimed per-repetition preparation (a fresh checkpointer); returns the timed run and its output. */
  setup(): Promise<() => Promise<unknown>>;
  /** Repetition counts for this peer (a slow peer gets fewer). */
  warmup: number;
  reps: number;
  budgetMs: number;
}

/** Every case: benchmark 1's shapes with and without checkpoints, then benchmark 2's. */
const CASES: { bench: string; shape: Shape; checkpointing: boolean }[] = [
  ...[LOOP, CHAIN_1000, CHAIN_100].flatMap((shape) =>
    [true, false].map((checkpointing) => ({ bench: "1", shape, checkpointing }))
  ),
  ...[FAN, MAP].flatMap((shape) =>
    [true, false].map((checkpointing) => ({ bench: "2", shape, checkpointing }))
  ),
];

function caseName(shape: Shape, checkpointing: boolean): string {
  return `${shape.key} · ${checkpointing ? "memory checkpoints" : "no checkpoints"}`;
}

/** Per-superstep figures: one timed repetition is 1,000 supersteps (a 100-chain runs 10 times). */
function runsPerRep(shape: Shape): number {
  return shape.kind === "chain" && shape.size < 1000 ? Math.round(1000 / shape.size) : 1;
}

function check(shape: Shape, subject: string, output: unknown): void {
  const expected = expectedOutput(shape);
  if (output !== expected) {
    throw new Error(`${subject} ${shape.key}: output ${JSON.stringify(output)}, expected ${expected}`);
  }
}

export async function runCore(report: Report, options: { quick: boolean; peer?: Peer }): Promise<void> {
  const { quick, peer } = options;
  for (const { bench, shape, checkpointing } of CASES) {
    const workflow = buildWorkflow(shape);
    check(shape, "superstep", await runWorkflow(workflow, checkpointing));
    const fan = shape.kind === "fan" || shape.kind === "map";
    const runs = runsPerRep(shape);
    await report.time(bench, caseName(shape, checkpointing), "superstep", {
      warmup: quick ? 1 : fan ? 5 : 10,
      reps: quick ? 2 : fan ? 21 : 31,
      budgetMs: 6000,
      // Benchmark 1 is per superstep, benchmark 2 per run.
      ops: fan ? 1 : shape.size * runs,
      run: async () => {
        for (let r = 0; r < runs; r++) {
          await runWorkflow(workflow, checkpointing);
        }
      },
    });
  }
  // The floor: what one superstep with a checkpoint cannot go below (see floor()).
  await report.time(
    "1",
    "floor",
    "floor",
    {
      warmup: quick ? 1 : 10,
      reps: quick ? 2 : 31,
      budgetMs: 3000,
      ops: LOOP.size,
      setup: () => new Map<string, string>(),
      run: (store) => floor(LOOP.size, store),
    } satisfies Plan<Map<string, string>>,
  );

  if (!peer) return;
  for (const { bench, shape, checkpointing } of CASES) {
    const built = await peer.prepare(shape, checkpointing);
    check(shape, peer.subject, await (await built.setup())());
    await report.time(bench, caseName(shape, checkpointing), peer.subject, {
      warmup: quick ? 0 : built.warmup,
      reps: quick ? 1 : built.reps,
      minReps: quick ? 1 : 3,
      budgetMs: built.budgetMs,
      ops: shape.kind === "fan" || shape.kind === "map" ? 1 : shape.size,
      setup: () => built.setup(),
      run: (run) => run(),
    });
  }
}
