// The long-running reliability tests: `npm run test:stress` (= `node scripts/stress.mjs`).
//
// Runs every test file that imports tests/_stress.ts with SUPERSTEP_STRESS=1 (their long versions) on Node,
// Deno and Bun, one file at a time, then prints every `[figure]` line the tests reported (trials, cases,
// runs, seeds), a table of file × runtime leaf-test counts and, last, `N passed, N failed`. Exits 1 if any
// test failed.
//
// Bounded: every loop in the tests stops at its count or at SUPERSTEP_STRESS_TIME_MS (default 10 minutes per
// loop), and each file run is killed after SUPERSTEP_STRESS_FILE_TIMEOUT_MS (default 30 minutes).
//
// Usage: node scripts/stress.mjs [node|deno|bun]... [<file filter>]...
//   SUPERSTEP_SEED=<n> replays the random choices of a failed run (each test prints its seed).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { onInterrupt, printSummaryAndExit, ROOT, runTests, RUNTIME_NAMES, testFiles } from "./_shared.mjs";

const FILE_TIMEOUT_MS = Number(process.env.SUPERSTEP_STRESS_FILE_TIMEOUT_MS) || 30 * 60_000;

const args = process.argv.slice(2);
const runtimes = args.filter((arg) => RUNTIME_NAMES.includes(arg));
const filters = args.filter((arg) => !RUNTIME_NAMES.includes(arg));
const rows = [];
const figures = [];
onInterrupt(() => printSummaryAndExit(rows, 1));

const stressed = (file) => /from "\.\.?\/(\.\.\/)*_stress\.ts"/.test(readFileSync(join(ROOT, file), "utf8"));
const filesOf = (runtime) => testFiles(runtime, filters).filter(stressed);
const unknown = filters.filter((filter) => !RUNTIME_NAMES.some((r) => testFiles(r, [filter]).some(stressed)));
if (unknown.length) {
  console.error(
    `usage: node scripts/stress.mjs [node|deno|bun]... [<file filter>]...\nno file matches ${unknown}`,
  );
  printSummaryAndExit(rows, 1);
} else {
  const env = { ...process.env, SUPERSTEP_STRESS: "1" };
  for (const runtime of runtimes.length ? runtimes : RUNTIME_NAMES) {
    for (const file of filesOf(runtime)) {
      console.log(`\n=== ${runtime} ${file} (SUPERSTEP_STRESS=1)`);
      // A stressed test runs for minutes (bounded by its own limits), past Bun's per-test timeout.
      const options = {
        name: `${runtime} ${file}`,
        env,
        timeoutMs: FILE_TIMEOUT_MS,
        testTimeoutMs: FILE_TIMEOUT_MS,
      };
      const { output, ...row } = await runTests(runtime, [file], options);
      rows.push(row);
      figures.push(...[...output.matchAll(/\[figure\] (.*)$/gm)].map((m) => `  ${m[1].trim()}`));
    }
  }
  console.log(["", "Figures:", ...figures].join("\n"));
  printSummaryAndExit(rows);
}
