// The test matrix. `npm test` (= `node scripts/test.mjs`) runs every part, then prints a table and,
// as the very last line, `N passed, N failed` (exit 1 if anything failed); `npm run check` and
// `npm run test:<part>` run one part: check (scripts/check.mjs), deno, node, bun (every tests/**/*_test.ts;
// under tests/runtime/ only the runtime's own files), workerd (scripts/workerd.mjs), npm (npm_package.mjs).
//
// Two or more parts run side by side, each in a child process (`node scripts/test.mjs <part>`),
// SUPERSTEP_TEST_JOBS at a time (default: the machine's cores; 1 runs them one after another in this
// process). Every part but the runtimes' own subprocesses runs on about one core, and what they share is
// safe to share: every test file makes its own temporary directories, databases (tests/_postgres.ts) and
// ports. One part's output streams live; every other part's is printed whole when it ends (then the
// longest-running one goes live), so no two parts' lines interleave.
//
// Usage: node scripts/test.mjs [check|deno|node|bun|workerd|npm]... [<file filter>]...
//   A file filter (contains "/" or ends in ".ts") keeps the test files whose path contains it; with one and
//   no part named, only the runtimes and workerd's test files run.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { check } from "./check.mjs";
import { npmPackage } from "./npm_package.mjs";
import {
  onInterrupt,
  printSummaryAndExit,
  ROOT,
  row,
  runTests,
  RUNTIME_NAMES,
  testFiles,
} from "./_shared.mjs";
import { startPostgres } from "./postgres.mjs";
import { workerd } from "./workerd.mjs";

const TIMEOUT_MS = Number(process.env.SUPERSTEP_TEST_TIMEOUT_MS) || 15 * 60_000;

// One throwaway PostgreSQL server for every runtime's run, started before the first, its URL passed in
// SUPERSTEP_POSTGRES_URL (tests/_postgres.ts), stopped at the end. Without it (no server binaries) the
// Postgres tests start their own and fail, saying what is missing: they never skip.
let postgres;
async function testEnv() {
  if (process.env.SUPERSTEP_POSTGRES_URL) return process.env;
  postgres ??= startPostgres().then((server) => {
    console.log(`[test.mjs] PostgreSQL for the tests: ${server.version} on ${new URL(server.url).host}`);
    return server;
  }, (error) => {
    console.error(`[test.mjs] ${error.message}`);
    return undefined;
  });
  const server = await postgres;
  return server ? { ...process.env, SUPERSTEP_POSTGRES_URL: server.url } : process.env;
}
const stopPostgres = async () => (await postgres)?.stop();

const runtime = (name) => async (filters) => {
  const files = testFiles(name, filters);
  // No file must not mean no argument: `deno test` alone runs every test it finds.
  if (!files.length) return [{ name, passed: 0, failed: 0, ms: 0, note: "skipped: no test files" }];
  console.log(`\n=== ${name}: ${files.length} test file(s)`);
  const env = await testEnv();
  const { output: _, ...summary } = await runTests(name, files, { timeoutMs: TIMEOUT_MS, env });
  return [summary];
};

const PARTS = {
  check: async () => [await check()],
  ...Object.fromEntries(RUNTIME_NAMES.map((name) => [name, runtime(name)])),
  workerd,
  npm: npmPackage,
};

/**
 * Longest first, so the short parts fill in beside the long ones (seconds alone on 2 cores, 2026-12-01:
 * node 245, bun 98, check 86, deno 78, workerd 53, npm 4).
 */
const LONGEST_FIRST = ["node", "bun", "check", "deno", "workerd", "npm"];
const JOBS = Number(process.env.SUPERSTEP_TEST_JOBS) || availableParallelism();
/** Set in a part's child process: where it writes its rows (JSON) instead of printing the summary. */
const ROWS_FILE = process.env.SUPERSTEP_TEST_ROWS;
delete process.env.SUPERSTEP_TEST_ROWS;

const rows = [];
const finish = (extraFailed = 0) => {
  if (!ROWS_FILE) return printSummaryAndExit(rows, extraFailed);
  const name = `${process.argv.slice(2).join(" ")}: interrupted`;
  const failed = extraFailed ? [{ name, passed: 0, failed: extraFailed, ms: 0 }] : [];
  writeFileSync(ROWS_FILE, JSON.stringify([...rows, ...failed]));
  process.exit(0);
};
const children = new Set();
/** The parts not started yet (sideBySide). */
const queue = [];
onInterrupt(() => {
  queue.length = 0;
  // Each child kills its own subprocesses' groups on SIGTERM (onInterrupt), then exits.
  for (const child of children) child.kill("SIGTERM");
  stopPostgres().finally(() => finish(1));
});

/** Runs each part in order, here. */
async function inOrder(parts, filters) {
  for (const part of parts) {
    const started = Date.now();
    try {
      rows.push(...await PARTS[part](filters));
    } catch (error) {
      // A part that throws (cannot bundle, cannot start) is one failure; it must not hide the others.
      console.error(`[test.mjs] ${part}:`, error);
      rows.push({ ...row(part, started, { passed: 0, failed: 1 }), note: String(error?.message ?? error) });
    }
  }
}

/** Runs the parts in child processes, `JOBS` at a time, longest first; their rows in the order named. */
async function sideBySide(parts, filters) {
  const env = parts.some((part) => RUNTIME_NAMES.includes(part)) ? await testEnv() : process.env;
  const dir = mkdtempSync(join(tmpdir(), "superstep-parts-"));
  queue.push(...parts.toSorted((a, b) => LONGEST_FIRST.indexOf(a) - LONGEST_FIRST.indexOf(b)));
  const order = new Map();
  const running = [];
  let live;
  let held = "";
  const goLive = (next) => {
    live = next;
    if (!live) return;
    process.stdout.write(`\n[test.mjs] ${live.part}, live from here on:\n${live.output}`);
    live.output = "";
  };
  const write = (job, text) => {
    if (job !== live) return void (job.output += text);
    // Only whole lines, so another part's output printed in between starts on a line of its own.
    const lines = held + text;
    const end = lines.lastIndexOf("\n") + 1;
    process.stdout.write(lines.slice(0, end));
    held = lines.slice(end);
  };
  const start = (part) =>
    new Promise((resolve) => {
      const file = join(dir, `${part}.json`);
      const script = fileURLToPath(import.meta.url);
      const child = spawn(process.execPath, [script, part, ...filters], {
        cwd: ROOT,
        env: { ...env, SUPERSTEP_TEST_ROWS: file },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.add(child);
      const job = { part, output: "", started: Date.now() };
      running.push(job);
      live ??= job;
      for (const stream of [child.stdout, child.stderr]) {
        stream.setEncoding("utf8").on("data", (chunk) => write(job, chunk));
      }
      const done = (code, error) => {
        if (!children.delete(child)) return; // "error" and "close" may both come
        running.splice(running.indexOf(job), 1);
        let ended;
        try {
          ended = JSON.parse(readFileSync(file, "utf8"));
        } catch {
          const note = error ? `could not start: ${error.message}` : `exit ${code}, no rows`;
          ended = [{ ...row(part, job.started, { passed: 0, failed: 1 }), note }];
        }
        // Here at once: an interrupted run still shows the parts that ended.
        for (const r of ended) order.set(r, parts.indexOf(part));
        rows.push(...ended);
        if (job === live) {
          process.stdout.write(held);
          held = "";
          goLive(running.reduce((a, b) => (b.started < a.started ? b : a), running[0]));
        } else {
          process.stdout.write(`\n[test.mjs] ${part}, run beside ${live.part}:\n${job.output}`);
        }
        resolve();
      };
      child.once("error", (error) => done(null, error));
      child.once("close", (code) => done(code));
    });
  const lane = async () => {
    while (queue.length) await start(queue.shift());
  };
  try {
    await Promise.all(Array.from({ length: Math.min(JOBS, parts.length) }, lane));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  rows.sort((a, b) => order.get(a) - order.get(b));
}

const args = process.argv.slice(2);
const isFilter = (arg) => arg.includes("/") || arg.endsWith(".ts");
const filters = args.filter(isFilter).map((filter) => filter.replace(/^\.\//, ""));
const named = args.filter((arg) => !isFilter(arg));
const unknown = named.filter((name) => !Object.hasOwn(PARTS, name));
if (unknown.length) {
  console.error(`usage: node scripts/test.mjs [${Object.keys(PARTS).join("|")}]... [<file filter>]...`);
  console.error(`unknown part ${unknown.join(", ")}`);
  finish(1);
} else if (filters.length && ![...RUNTIME_NAMES, "workerd"].some((name) => testFiles(name, filters).length)) {
  console.error(`no test file matches ${filters.join(", ")}`);
  finish(1);
} else {
  const parts = named.length
    ? named
    : Object.keys(PARTS).filter((p) => !filters.length || p !== "check" && p !== "npm");
  await (parts.length > 1 && JOBS > 1 ? sideBySide : inOrder)(parts, filters);
  await stopPostgres();
  finish();
}
