// How much the reliability tests do. `npm test` runs a reduced version of each (a few seconds per file per
// runtime); `npm run test:stress` sets SUPERSTEP_STRESS=1 and the same tests run their long versions. Every
// loop is bounded twice: by a count and by a time limit, whichever comes first.
//
//   SUPERSTEP_STRESS=1         the long versions
//   SUPERSTEP_SEED=<n>         replay a failure: the seed every random choice derives from (printed by each test)
//   SUPERSTEP_STRESS_TIME_MS   the time limit of one stressed loop (default 10 minutes)
import process from "node:process";
import { runtimeName } from "./fixtures/hitl_workflow.ts";

/** Whether the long (stress) versions run. */
export const STRESS: boolean = process.env.SUPERSTEP_STRESS === "1";

/** The seed of this run's random choices: SUPERSTEP_SEED, else fixed for `npm test` and random under stress. */
export const SEED: number = process.env.SUPERSTEP_SEED !== undefined
  ? Number(process.env.SUPERSTEP_SEED)
  : STRESS
  ? Math.floor(Math.random() * 2 ** 31)
  : 20240229;

/** The time limit of one loop (a stressed loop, or a property's runs). */
export const TIME_LIMIT_MS: number = STRESS
  ? Number(process.env.SUPERSTEP_STRESS_TIME_MS) || 10 * 60_000
  : 60_000;

/** `quick` in `npm test`, `stressed` under `npm run test:stress`. */
export function scale(quick: number, stressed: number): number {
  return STRESS ? stressed : quick;
}

/** A loop bound: at most `count` iterations, and none started after the time limit. */
export class Budget {
  readonly count: number;
  readonly #deadline: number;
  #done = 0;
  constructor(count: number) {
    this.count = count;
    this.#deadline = Date.now() + TIME_LIMIT_MS;
  }
  /** Whether another iteration may start; counts it if so. */
  next(): boolean {
    if (this.#done >= this.count || Date.now() >= this.#deadline) return false;
    this.#done++;
    return true;
  }
  /** How many iterations started. */
  get done(): number {
    return this.#done;
  }
  /** Whether the time limit cut the loop short. */
  get cut(): boolean {
    return this.#done < this.count;
  }
}

/** A small seeded PRNG (mulberry32): reproducible random choices from {@linkcode SEED}. */
export function random(seed: number = SEED): { int(max: number): number; float(): number } {
  let state = seed >>> 0;
  const float = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { float, int: (max: number) => Math.floor(float() * max) };
}

/**
 * Print one measured figure as a `[figure]` line: scripts/stress.mjs collects these into its summary.
 * Named by area, then what was measured.
 */
export function figure(area: string, text: string): void {
  console.log(`[figure] ${runtimeName()} ${area}: ${text}`);
}
