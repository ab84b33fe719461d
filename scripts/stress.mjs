// The long-running reliability tests: `npm run test:stress` (= `node scripts/stress.mjs`).
//
// Runs the reliability test files with SUPERSTEP_STRESS=1 (their long versions: see tests/_stress.ts) on
// Node, Deno and Bun, one file at a time, then prints every `[figure]` line the tests reported (trials,
// cases, runs, seeds), a table of file × runtime results and, last, `N passed, N failed`. Exits 1 if any
// run failed.
//
// Bounded: every loop in the tests stops at its count or at SUPERSTEP_STRESS_TIME_MS (default 10 minutes per
// loop), and each file run is killed after SUPERSTEP_STRESS_FILE_TIMEOUT_MS (default 30 minutes).
//
// Usage: node scripts/stress.mjs [node|deno|bun]... [<file filter>]...
//   SUPERSTEP_SEED=<n> replays the random choices of a failed run (each test prints its seed).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FILES = [
  "tests/crash_test.ts",
  "tests/concurrency_test.ts",
  "tests/property_test.ts",
  "tests/faults_test.ts",
  "tests/load_test.ts",
  "tests/http_fuzz_test.ts",
];
const RUNTIMES = ["node", "deno", "bun"];
const FILE_TIMEOUT_MS = Number(process.env.SUPERSTEP_STRESS_FILE_TIMEOUT_MS) || 30 * 60_000;

function bin(name) {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

function command(runtime, file) {
  if (runtime === "node") {
    return [process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", file]];
  }
  if (runtime === "deno") return [bin("deno"), ["test", "-A", "--no-check", file]];
  // Bun's per-test timeout defaults to 5 s; a stressed test runs for minutes (bounded by its own limits).
  return [bin("bun"), ["test", `--timeout=${FILE_TIMEOUT_MS}`, `./${file}`]];
}

/** @type {Set<import("node:child_process").ChildProcess>} */
const running = new Set();

function run(runtime, file) {
  const [cmd, args] = command(runtime, file);
  process.stdout.write(`\n=== ${runtime} ${file} (SUPERSTEP_STRESS=1)\n`);
  return new Promise((resolve) => {
    const started = Date.now();
    let output = "";
    let timedOut = false;
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, SUPERSTEP_STRESS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    running.add(child);
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => {
        process.stdout.write(chunk);
        output += chunk;
      });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child);
    }, FILE_TIMEOUT_MS);
    const done = (code, error) => {
      clearTimeout(timer);
      running.delete(child);
      const text = stripVTControlCharacters(output);
      const figures = [...text.matchAll(/\[figure\] (.*)$/gm)].map((m) => m[1].trim());
      resolve({
        runtime,
        file,
        ok: code === 0 && !timedOut,
        ms: Date.now() - started,
        figures,
        timedOut,
        error,
      });
    };
    child.on("error", (error) => done(null, error));
    child.on("close", (code) => done(code));
  });
}

function kill(child) {
  try {
    if (process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) kill(child);
    process.stderr.write(`\n[stress.mjs] interrupted by ${signal}\n0 passed, 1 failed\n`);
    process.exit(1);
  });
}

const args = process.argv.slice(2);
const runtimes = args.filter((a) => RUNTIMES.includes(a));
const filters = args.filter((a) => !RUNTIMES.includes(a));
const unknown = filters.filter((f) => !FILES.some((file) => file.includes(f)));
if (unknown.length) {
  console.error(
    `usage: node scripts/stress.mjs [node|deno|bun]... [<file filter>]...\nno file matches ${unknown}`,
  );
  process.exit(1);
}
const files = filters.length ? FILES.filter((file) => filters.some((f) => file.includes(f))) : FILES;

const results = [];
for (const runtime of runtimes.length ? runtimes : RUNTIMES) {
  for (const file of files) results.push(await run(runtime, file));
}

const lines = ["", "Figures:", ...results.flatMap((r) => r.figures.map((f) => `  ${f}`)), ""];
const width = Math.max(...results.map((r) => `${r.runtime} ${r.file}`.length));
for (const r of results) {
  const note = r.timedOut ? "  timed out" : r.error ? `  could not start: ${r.error.message}` : "";
  lines.push(
    `${`${r.runtime} ${r.file}`.padEnd(width)}  ${r.ok ? "pass" : "FAIL"}  ${
      (r.ms / 1000).toFixed(1)
    }s${note}`,
  );
}
const failed = results.filter((r) => !r.ok).length;
lines.push(`${results.length - failed} passed, ${failed} failed`);
process.stdout.write(`${lines.join("\n")}\n`, () => process.exit(failed > 0 ? 1 : 0));
