// The measuring loop of every benchmark (runtime-neutral: Deno, Node, Bun). A case starts with a full
// garbage collection when the runtime exposes one (so it does not pay for the garbage of the case before),
// runs `warmup` untimed repetitions, then `reps` timed ones; each repetition may prepare untimed state first
// (a fresh storage, a fresh thread). No collection is forced between repetitions: on V8 a forced full
// collection also shrinks the young generation, and the next repetition then runs several times slower
// than a program that runs steadily would. Both bounds are hard: a case stops after `reps` repetitions or
// once `budgetMs` is spent (after at least `minReps`), whichever comes first.

/** The runtime running this code. */
export type Runtime = "node" | "deno" | "bun";

/** One measured figure: the median of its repetitions and how much they spread. */
export interface Figure {
  /** The benchmark number of the issue (1–8, or "floor"). */
  bench: string;
  /** What was measured, e.g. "loop 1,000 · memory checkpoints". */
  name: string;
  /** Who was measured: "superstep", "langgraph", "floor", "raw" … */
  subject: string;
  runtime: Runtime;
  /** The unit of `median`, `min`, `max` and `mad`: "µs", "ms", "B" or "MiB". */
  unit: string;
  median: number;
  /** Median absolute deviation of the repetitions. */
  mad: number;
  min: number;
  max: number;
  /** How many timed repetitions. */
  reps: number;
  /** Anything else worth keeping (operations per repetition, sizes …). */
  extra?: Record<string, unknown>;
}

/** How one case is repeated. */
export interface Plan<T> {
  /** Untimed repetitions first. */
  warmup: number;
  /** Timed repetitions, at most. */
  reps: number;
  /** Stop adding repetitions once this much time is spent (after `minReps`). */
  budgetMs: number;
  /** Timed repetitions, at least (still bounded by `reps`). @default 3 */
  minReps?: number;
  /** How many operations one repetition does: the figure is the time per operation. */
  ops: number;
  /** Untimed preparation of one repetition. */
  setup?: () => T | Promise<T>;
  /** The timed work. */
  run: (prepared: T) => unknown;
  /** Untimed cleanup after one repetition. */
  teardown?: (prepared: T) => unknown;
}

export function runtime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}

/** A full collection, if the runtime lets us ask for one (`--expose-gc`, Bun.gc). */
export function collectGarbage(): void {
  const g = globalThis as {
    gc?: () => void;
    Bun?: { gc(force: boolean): void };
  };
  if (g.Bun) g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
}

/** Median and median absolute deviation. */
export function stats(values: number[]): { median: number; mad: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const median = quantile(sorted);
  const mad = quantile(values.map((v) => Math.abs(v - median)).sort((a, b) => a - b));
  return { median, mad, min: sorted[0], max: sorted[sorted.length - 1] };
}

function quantile(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Time a case: the figure is microseconds per operation.
 *
 * @returns The median, spread and count of the timed repetitions.
 */
export async function measure<T>(
  plan: Plan<T>,
): Promise<Omit<Figure, "bench" | "name" | "subject" | "runtime">> {
  const minReps = Math.min(plan.minReps ?? 3, plan.reps);
  collectGarbage();
  for (let i = 0; i < plan.warmup; i++) {
    const prepared = await plan.setup?.() as T;
    await plan.run(prepared);
    await plan.teardown?.(prepared);
  }
  const values: number[] = [];
  const started = performance.now();
  for (let i = 0; i < plan.reps; i++) {
    if (i >= minReps && performance.now() - started > plan.budgetMs) break;
    const prepared = await plan.setup?.() as T;
    const t0 = performance.now();
    await plan.run(prepared);
    const elapsed = performance.now() - t0;
    values.push((elapsed * 1000) / plan.ops);
    await plan.teardown?.(prepared);
  }
  return {
    unit: "µs",
    ...stats(values),
    reps: values.length,
    extra: { ops: plan.ops },
  };
}

/** Collects the figures of one benchmark process and hands them to `run.mjs`. */
export class Report {
  readonly figures: Figure[] = [];
  readonly notes: Record<string, unknown> = {};
  readonly #runtime = runtime();

  /** Measure a case and record it. */
  async time<T>(bench: string, name: string, subject: string, plan: Plan<T>): Promise<Figure> {
    const began = performance.now();
    const figure = {
      bench,
      name,
      subject,
      runtime: this.#runtime,
      ...(await measure(plan)),
    };
    figure.extra = {
      ...figure.extra,
      totalMs: Math.round(performance.now() - began),
    };
    this.figures.push(figure);
    log(`${this.#runtime} ${bench} ${name} · ${subject}: ${format(figure)}`);
    return figure;
  }

  /** Record a figure measured some other way (bytes, RSS). */
  add(figure: Omit<Figure, "runtime">): Figure {
    const full = { ...figure, runtime: this.#runtime };
    this.figures.push(full);
    log(`${this.#runtime} ${figure.bench} ${figure.name} · ${figure.subject}: ${format(full)}`);
    return full;
  }

  /** Print the figures as the last stdout line, where `run.mjs` reads them. */
  print(): void {
    console.log(
      RESULT_PREFIX +
        JSON.stringify({ figures: this.figures, notes: this.notes }),
    );
  }
}

/** A figure measured once (no spread): sizes, counts. */
export function once(median: number): Pick<Figure, "median" | "mad" | "min" | "max" | "reps"> {
  return { median, mad: 0, min: median, max: median, reps: 1 };
}

/**
 * Record benchmark 7's two figures for one library: stored and encoded bytes per checkpoint of a run of
 * `steps` supersteps whose state grows by one record per superstep.
 */
export function reportGrowth(
  report: Report,
  { bench, steps, subject, checkpoints, fileBytes, encodedBytes }: {
    bench: string;
    steps: number;
    subject: string;
    checkpoints: number;
    fileBytes: number;
    encodedBytes: number;
  },
): void {
  const run = `${steps} supersteps, +1 record each`;
  report.add({
    bench,
    name: `database bytes per checkpoint · ${run}`,
    subject,
    unit: "B",
    ...once(fileBytes / checkpoints),
    extra: { checkpoints, fileBytes },
  });
  report.add({
    bench,
    name: `encoded bytes per checkpoint · ${run}`,
    subject,
    unit: "B",
    ...once(encodedBytes / checkpoints),
    extra: { checkpoints, encodedBytes },
  });
}

/** The marker of the stdout line that carries a process's figures. */
export const RESULT_PREFIX = "SUPERSTEP_BENCH_RESULT ";

export function format(figure: Pick<Figure, "median" | "mad" | "unit" | "reps">): string {
  const spread = figure.median === 0 ? 0 : (figure.mad / figure.median) * 100;
  return `${round(figure.median)} ${figure.unit} ±${spread.toFixed(0)}% (n=${figure.reps})`;
}

export function round(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Progress goes to stderr: stdout carries only the result line. */
export function log(message: string): void {
  console.error(`[bench] ${message}`);
}

/** Whether this process was asked for the quick variant (`--quick`: a smoke run, figures not meaningful). */
export function quick(args: readonly string[]): boolean {
  return args.includes("--quick");
}

/** The process's arguments on every runtime. */
export function args(): string[] {
  const g = globalThis as {
    Deno?: { args: string[] };
    process?: { argv: string[] };
  };
  return g.Deno ? g.Deno.args : g.process?.argv.slice(2) ?? [];
}
