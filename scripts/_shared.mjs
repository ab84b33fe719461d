// What the scripts share: bounded subprocesses, killed with their process group; the repository's files and
// entry points (from deno.json, never hard-coded); the test files run on Deno, Node or Bun with their leaf
// tests counted from a JUnit report; named checks; the summary whose last line is `N passed, N failed`.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stripVTControlCharacters } from "node:util";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const running = new Set();

export const isMain = (url) => process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;

/** A tool installed by `npm ci` (node_modules/.bin), else the name for PATH to resolve. */
export const bin = (name) =>
  existsSync(join(ROOT, "node_modules", ".bin", name)) ? join(ROOT, "node_modules", ".bin", name) : name;

function killGroup(child, signal) {
  try {
    // The whole group (negative pid): node's per-file workers and the runtimes' own subprocesses die too.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs a command to completion, never rejecting; after `timeoutMs` its process group gets SIGTERM, then
 * SIGKILL. `echo` streams its output live; it is captured either way (ANSI stripped, the last 4 MiB).
 * @returns {Promise<{ code: number | null, output: string, timedOut: boolean, error?: Error }>}
 */
export function run(cmd, args, { cwd = ROOT, env = process.env, timeoutMs = 900_000, echo = false } = {}) {
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    running.add(child);
    for (const [stream, sink] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      stream.setEncoding("utf8").on("data", (chunk) => {
        if (echo) sink.write(chunk);
        output = (output + chunk).slice(-4 * 1024 * 1024);
      });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`\n[scripts] ${cmd} exceeded ${timeoutMs / 1000}s; killing it\n`);
      killGroup(child, "SIGTERM");
      setTimeout(() => killGroup(child, "SIGKILL"), 10_000).unref();
    }, timeoutMs);
    const done = (code, error) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, output: stripVTControlCharacters(output), timedOut, error });
    };
    child.on("error", (error) => done(null, error));
    child.on("close", (code) => done(code));
  });
}

/** For a script's main: on SIGINT/SIGTERM, kill every running child's group, then `finish()`. */
export function onInterrupt(finish) {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      for (const child of running) killGroup(child, "SIGKILL");
      process.stderr.write(`\n[scripts] interrupted by ${signal}\n`);
      finish();
    });
  }
}

/** Rejects with a timeout error unless `promise` settles within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Every file under `path` (relative to the root, `/`-separated), node_modules left out. */
export function walk(path) {
  if (!existsSync(join(ROOT, path))) return [];
  if (!statSync(join(ROOT, path)).isDirectory()) return [path];
  const names = readdirSync(join(ROOT, path)).filter((name) => name !== "node_modules");
  return names.flatMap((name) => walk(`${path}/${name}`));
}

export const withTypeScript = (paths) => paths.filter((path) => walk(path).some((f) => /\.m?tsx?$/.test(f)));

export const denoJson = () => JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));

/** The source file of each JSR export, by key (`"./memory"` → `"adapters/memory.ts"`). */
export function entryPoints() {
  const { exports = {} } = denoJson();
  const map = typeof exports === "string" ? { ".": exports } : exports;
  return Object.fromEntries(Object.entries(map).map(([key, path]) => [key, path.replace(/^\.\//, "")]));
}

/**
 * The test files of `runtime`: tests/**\/*_test.ts, sorted, whose path contains one of `filters` (if any);
 * under tests/runtime/ only those whose path starts with the runtime's name (runtime/node_test.ts,
 * runtime/bun/…).
 */
export function testFiles(runtime, filters = []) {
  return walk("tests").filter((path) => {
    const rest = path.match(/^tests\/runtime\/(.*)$/)?.[1];
    const wanted = !filters.length || filters.some((filter) => path.includes(filter));
    const runsHere = rest === undefined || rest.startsWith(`${runtime}_`) || rest.startsWith(`${runtime}/`);
    return path.endsWith("_test.ts") && wanted && runsHere;
  }).sort();
}

/**
 * Leaf test counts of a JUnit report. A `describe` is never a test: Node and Bun write it as a <testsuite>,
 * Deno as a case with steps named `a > b`, so a case whose name is a prefix of another's is a container,
 * failed only when it failed on its own (a hook), not by its steps ("N test steps failed"). Skipped cases
 * count as neither; `reported` is every <failure> or <error>. (Deno lists the steps of all files in one
 * suite: a top-level test named like another file's describe would pass for a container; names that state
 * symbol and behaviour do not collide.)
 */
export function countJUnit(xml) {
  const cases = [...xml.matchAll(/<testcase((?:\s+[\w:.-]+="[^"]*")*)\s*(?:\/>|>([\s\S]*?)<\/testcase>)/g)]
    .map(([, attributes, body = ""]) => ({
      name: /\sname="([^"]*)"/.exec(attributes)?.[1] ?? "",
      failure: /<(?:failure|error)\b(?:[^>]*\smessage="([^"]*)")?/.exec(body),
      skipped: /<skipped\b/.test(body),
    }));
  const prefixes = (parts) => parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join(" &gt; "));
  const containers = new Set(cases.flatMap(({ name }) => prefixes(name.split(" &gt; "))));
  const counts = { passed: 0, failed: 0, reported: 0 };
  for (const { name, failure, skipped } of cases) {
    if (failure) counts.reported++;
    if (skipped) continue;
    if (!containers.has(name)) counts[failure ? "failed" : "passed"]++;
    else if (failure && !/^\d+ test steps? failed/.test(failure[1] ?? "")) counts.failed++;
  }
  return counts;
}

const lastMatch = (text, re) => [...text.matchAll(re)].at(-1) ?? [];
const DENO_SUMMARY = /^(?:ok|FAILED) \| .*?\| (\d+) failed(?: \((\d+) steps?\))?/gm;

/**
 * Each runtime's command line, and the failures its JUnit report leaves out: Deno's omits a module's uncaught
 * error (a file that fails to load), counted only in its summary (`FAILED | 2 passed | 3 failed (2 steps)`);
 * Bun's omits errors outside any test (` N errors`). Node reports a file that fails to load as a case.
 * Deno runs with --no-check: the `deno check` gate type-checks everything once (node and bun do not either).
 * Bun's per-test timeout defaults to 5 s (Deno and Node have none): a slow machine must not fail only on Bun.
 */
const RUNTIMES = {
  deno: {
    command: "deno test -A --no-check --v8-flags=--expose-gc --junit-path={junit}",
    unreported: (output, reported) => {
      const [, tests = 0, steps = 0] = lastMatch(output, DENO_SUMMARY);
      return Math.max(0, Number(tests) + Number(steps) - reported);
    },
  },
  node: {
    command: "node --expose-gc --import tsx --test --test-reporter=spec --test-reporter-destination=stdout " +
      "--test-reporter=junit --test-reporter-destination={junit}",
    unreported: () => 0,
  },
  bun: {
    command: "bun test --timeout={timeout} --reporter=junit --reporter-outfile={junit}",
    unreported: (output) => Number(lastMatch(output, /^\s*(\d+) errors?\s*$/gm)[1] ?? 0),
  },
};

export const RUNTIME_NAMES = Object.keys(RUNTIMES);

/**
 * Runs `files` on `runtime` (output streamed) and counts their leaf tests.
 * @returns {Promise<Row & { output: string }>}
 */
export async function runTests(runtime, files, { name = runtime, env, timeoutMs, testTimeoutMs } = {}) {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "superstep-test-"));
  const junit = join(dir, "junit.xml");
  try {
    const [tool, ...args] = RUNTIMES[runtime].command.split(" ")
      .map((arg) => arg.replace("{junit}", junit).replace("{timeout}", testTimeoutMs ?? 120_000));
    // With ./ Bun takes an argument for a path, not a name filter.
    args.push(...files.map((file) => `./${file}`));
    const cmd = tool === "node" ? process.execPath : bin(tool);
    const result = await run(cmd, args, { env, timeoutMs, echo: true });
    const report = existsSync(junit) ? readFileSync(junit, "utf8") : undefined;
    const counts = report === undefined ? { passed: 0, failed: 0, reported: 0 } : countJUnit(report);
    counts.failed += RUNTIMES[runtime].unreported(result.output, counts.reported);
    // Exiting 0 without a report counted nothing, so it cannot pass.
    if (report === undefined && result.code === 0) result.code = "0 without a JUnit report";
    return { ...row(name, started, counts, result), output: result.output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @typedef {{ name: string, passed: number, failed: number, ms: number, note?: string }} Row */

/** A summary row; a run that did not exit 0 yet counted no failure counts one. */
export function row(name, started, { passed, failed }, result = {}) {
  const notes = [result.error && `could not start: ${result.error.message}`, result.timedOut && "timed out"];
  if ((result.code ?? 0) !== 0 && failed === 0) [failed, notes[2]] = [1, `exit ${result.code}`];
  const note = notes.filter(Boolean).join(", ") || undefined;
  return { name, passed, failed, ms: Date.now() - started, note };
}

/**
 * Runs named checks in order, each bounded by `timeoutMs`, printing each result: a check passes when `run()`
 * resolves (to an optional detail to print), fails when it throws.
 * @param {{ name: string, run: () => unknown }[]} checks
 * @returns {Promise<Row>}
 */
export async function runChecks(name, checks, { timeoutMs = 5 * 60_000, started = Date.now() } = {}) {
  const counts = { passed: 0, failed: 0 };
  for (const check of checks) {
    const began = Date.now();
    try {
      const detail = await withTimeout(Promise.resolve().then(check.run), timeoutMs, `"${check.name}"`);
      counts.passed++;
      console.log(`  ✔ ${check.name} (${Date.now() - began}ms)${detail ? `: ${detail}` : ""}`);
    } catch (error) {
      counts.failed++;
      const lines = String(error?.stack ?? error).split("\n").slice(0, 16).join("\n    ");
      console.log(`  ✖ ${check.name} (${Date.now() - began}ms)\n    ${lines}`);
    }
  }
  return row(name, started, counts);
}

/** Prints the table of `rows`, then, as the very last line, `N passed, N failed`; exits 1 if any failed. */
export function printSummaryAndExit(rows, extraFailed = 0) {
  const width = Math.max(5, ...rows.map((r) => r.name.length));
  const line = ([name, passed, failed, time, note = ""]) =>
    `${name.padEnd(width)}  ${passed.padStart(6)}  ${failed.padStart(6)}  ${time.padStart(7)}  ${note}`;
  const cells = (r) => [r.name, `${r.passed}`, `${r.failed}`, `${(r.ms / 1000).toFixed(1)}s`, r.note];
  const table = [["suite", "passed", "failed", "time"], ...rows.map(cells)].map(line);
  const passed = rows.reduce((n, r) => n + r.passed, 0);
  const failed = rows.reduce((n, r) => n + r.failed, extraFailed);
  table.push(`${passed} passed, ${failed} failed`);
  // Nothing may be printed after the total: callers read the last line.
  const text = `\n${table.map((l) => l.split("\n")[0].trimEnd()).join("\n")}\n`;
  process.stdout.write(text, () => process.exit(failed ? 1 : 0));
}
