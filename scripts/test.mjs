// The whole test matrix in one command: `npm test` (= `node scripts/test.mjs`).
//
// Runs in order, each bounded by a timeout (SUPERSTEP_TEST_TIMEOUT_MS per runtime, default 15 min):
//   gates  deno fmt --check; deno lint; deno check <mod.ts adapters testing tests examples, if present>;
//          deno doc --lint <every deno.json export>; deno test --doc (every JSDoc example runs);
//          deno publish --dry-run;
//          one test each.
//   deno   deno test -A --no-check --v8-flags=--expose-gc --junit-path=<tmp file> <files>
//   node   node --expose-gc --import tsx --test --test-reporter=spec <files>
//   bun    bun test --timeout=120000 --reporter=junit --reporter-outfile=<tmp file> ./<files>
//   extra  `export const suites = [{ name, run(ctx) }]` of scripts/test_extra.mjs, if it exists;
//          run resolves to { passed, failed }; ctx = { root, testFiles, runCommand } (workerd, packages…).
// Then it prints a table and, as the very last line, `N passed, N failed`; it exits 1 if anything failed.
//
// Usage: node scripts/test.mjs [gates|deno|node|bun|<extra>]... [--no-gates] [<file filter>]...
//   Without suite names everything runs. A file filter (contains "/" or ends in ".ts") keeps the test
//   files whose path contains it and skips the gates unless `gates` is named. Without arguments,
//   SUPERSTEP_TEST_ONLY ("deno,node") is read instead; SUPERSTEP_TEST_NO_GATES=1 equals --no-gates.
//
// Test files: tests/**/*_test.ts, sorted. Under tests/runtime/ a file runs only on the runtime its path
// starts with (runtime/deno_test.ts, runtime/node_http_test.ts, runtime/bun/…); others are for extras.
//
// Counting: each runtime reports LEAF test cases (a `test`/`it` without subtests; a `describe` is never
// a test), so the three runtimes' numbers are comparable.
//   node  the spec summary (`ℹ pass N`, `ℹ fail N`, `ℹ cancelled N`) counts leaves; cancelled counts
//         as failed; a file that fails to load is one failure.
//   bun   ` N pass` of the summary counts leaves. Failed = the JUnit report's failed leaves + ` N errors`
//         (an error outside any test, e.g. a describe body or a file that fails to load): ` N fail`
//         counts only some of those errors (and the console lists failed tests twice).
//   deno  runs a node:test describe as a test with steps, so its summary (`1 passed (3 steps)`)
//         counts describes. We read its JUnit report instead: a case whose name is a prefix of
//         another's (`a` of `a > b`) is a container, not counted unless it failed on its own (a hook;
//         not "N test steps failed"). A module's uncaught error is only in the summary, so failures the
//         summary has beyond the report are added. JUnit lists the node:test steps of all files in one
//         suite, so a top-level test named exactly like another file's describe would be taken for a
//         container (names that state symbol and behaviour don't collide).
//         --no-check: the `deno check` gate type-checks everything once; a type error fails that gate
//         instead of aborting the whole Deno run (node and bun do not type-check either).
// A run that exits non-zero with no failure counted, or whose counts cannot be parsed, counts one failure.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stripVTControlCharacters } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNTIMES = ["deno", "node", "bun"];
const RUNTIME_TIMEOUT_MS = Number(process.env.SUPERSTEP_TEST_TIMEOUT_MS) || 15 * 60_000;
const GATE_TIMEOUT_MS = 5 * 60_000;
// Bun's default per-test timeout is 5 s (Deno and Node have none): a slow CI must not fail only on Bun.
const BUN_TEST_TIMEOUT_MS = 120_000;
const MAX_CAPTURE = 4 * 1024 * 1024;

/** @type {{ name: string, passed: number, failed: number, ms: number, note?: string }[]} */
const results = [];
/** @type {Set<import("node:child_process").ChildProcess>} */
const running = new Set();

function bin(name) {
  const local = join(ROOT, "node_modules", ".bin", process.platform === "win32" ? `${name}.cmd` : name);
  return existsSync(local) ? local : name;
}

function killTree(child, signal) {
  try {
    // Negative pid: the whole process group, so node's per-file workers and bun/deno subprocesses die too.
    if (process.platform !== "win32") process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // already gone
  }
}

/**
 * Runs a command, streaming its output live while capturing it (ANSI stripped) for parsing.
 * @returns {Promise<{ code: number | null, output: string, timedOut: boolean, error?: Error }>}
 */
function runCommand(cmd, args, { timeoutMs = RUNTIME_TIMEOUT_MS, env = {} } = {}) {
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    running.add(child);
    const capture = (chunk, stream) => {
      stream.write(chunk);
      output += chunk;
      if (output.length > MAX_CAPTURE) output = output.slice(-MAX_CAPTURE / 2);
    };
    // utf8 decoding across chunk boundaries keeps Node's `ℹ pass N` intact.
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (c) => capture(c, process.stdout));
    child.stderr.on("data", (c) => capture(c, process.stderr));
    const timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`\n[test.mjs] ${cmd} exceeded ${timeoutMs / 1000}s; killing it\n`);
      killTree(child, "SIGTERM");
      setTimeout(() => killTree(child, "SIGKILL"), 10_000).unref();
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

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : walk(path);
    return [path];
  });
}

const toPosix = (path) => path.split(sep).join("/");

function discoverTestFiles() {
  return walk(join(ROOT, "tests"))
    .map((path) => toPosix(relative(ROOT, path)))
    .filter((path) => path.endsWith("_test.ts"))
    .sort();
}

function filesFor(runtime, files) {
  return files.filter((path) => {
    const rest = path.match(/^tests\/runtime\/(.*)$/)?.[1];
    return rest === undefined || rest.startsWith(`${runtime}_`) || rest.startsWith(`${runtime}/`);
  });
}

const lastNumber = (text, re) => {
  const all = [...text.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : undefined;
};

function decodeXml(text) {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (_, e) => {
    const named = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" }[e.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(e[1].toLowerCase() === "x" ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

// `ok | 1 passed (3 steps) | 1 failed (1 step) (13ms)`
const DENO_SUMMARY =
  /(?:^|\n)\s*(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/;
const JUNIT_CASE = /<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g;

/** Leaf counts from Deno's JUnit report, reconciled with the summary line. */
function parseDeno(output, junitPath) {
  const summary = output.match(DENO_SUMMARY);
  const summaryFailed = summary ? Number(summary[3]) + Number(summary[4] ?? 0) : undefined;
  if (!existsSync(junitPath)) {
    if (!summary) return undefined;
    // No report (should not happen once tests ran): fall back to tests + steps.
    return { passed: Number(summary[1]) + Number(summary[2] ?? 0), failed: summaryFailed };
  }
  const xml = readFileSync(junitPath, "utf8");
  const cases = [...xml.matchAll(JUNIT_CASE)].map((m) => ({ name: decodeXml(m[1]), body: m[3] ?? "" }));
  const containers = new Set();
  for (const { name } of cases) {
    const parts = name.split(" > ");
    for (let i = 1; i < parts.length; i++) containers.add(parts.slice(0, i).join(" > "));
  }
  let passed = 0;
  let failed = 0;
  let reported = 0;
  for (const { name, body } of cases) {
    const failure = body.match(/<failure message="([^"]*)"/);
    if (failure) reported++;
    if (body.includes("<skipped")) continue;
    if (containers.has(name)) {
      if (failure && !/^\d+ test steps? failed/.test(decodeXml(failure[1]))) failed++;
    } else if (failure) failed++;
    else passed++;
  }
  if (summaryFailed !== undefined && summaryFailed > reported) failed += summaryFailed - reported;
  return { passed, failed };
}

function parseNode(output) {
  const passed = lastNumber(output, /^\s*[ℹ#] pass (\d+)\s*$/gm);
  const failed = lastNumber(output, /^\s*[ℹ#] fail (\d+)\s*$/gm);
  if (passed === undefined || failed === undefined) return undefined;
  return { passed, failed: failed + (lastNumber(output, /^\s*[ℹ#] cancelled (\d+)\s*$/gm) ?? 0) };
}

function parseBun(output, junitPath) {
  const passed = lastNumber(output, /^\s*(\d+) pass\s*$/gm);
  const failed = lastNumber(output, /^\s*(\d+) fail\s*$/gm);
  if (passed === undefined || failed === undefined) return undefined;
  const errors = lastNumber(output, /^\s*(\d+) errors?\s*$/gm) ?? 0;
  // ` N fail` includes a made-up failed test for a file that errored before any test ran, not for an error
  // in a file whose tests ran; the JUnit report has the real failed tests and none of the errors.
  // No report when no test ran at all (each file failed to load): then every ` N fail` is such an error.
  if (!existsSync(junitPath)) return { passed, failed: Math.max(failed, errors) };
  const reported = readFileSync(junitPath, "utf8").match(/<failure[\s>]/g)?.length ?? 0;
  return { passed, failed: reported + errors };
}

function record(name, started, counts, run) {
  const ms = Date.now() - started;
  let { passed = 0, failed = 0 } = counts ?? {};
  const notes = [];
  if (run?.error) notes.push(`could not start: ${run.error.message}`);
  if (run?.timedOut) notes.push("timed out");
  if (!counts) notes.push("no counts parsed");
  if ((run && run.code !== 0 && failed === 0) || !counts) {
    failed = Math.max(failed, 1);
    if (run?.code) notes.push(`exit ${run.code}`);
  }
  results.push({ name, passed, failed, ms, note: notes.join(", ") || undefined });
}

async function runGates() {
  const deno = bin("deno");
  const hasTs = (path) => {
    const full = join(ROOT, path);
    if (!existsSync(full)) return false;
    return statSync(full).isDirectory() ? walk(full).some((p) => /\.(ts|tsx|mts)$/.test(p)) : true;
  };
  const checkPaths = ["mod.ts", "adapters", "testing", "tests", "examples"].filter(hasTs);
  const gates = [
    ["gate: deno fmt --check", ["fmt", "--check"]],
    ["gate: deno lint", ["lint"]],
    ["gate: deno check", checkPaths.length ? ["check", ...checkPaths] : undefined],
    ["gate: deno doc --lint", ["doc", "--lint", ...entryPoints()]],
    // Every @example in the published code runs (STYLE: "JSDoc that runs").
    ["gate: deno test --doc", [
      "test",
      "--doc",
      "-A",
      ...["mod.ts", "src", "adapters", "plugins", "testing"].filter(hasTs),
    ]],
    // --allow-dirty: CI runs on a clean clone, but developers run this before committing.
    ["gate: deno publish --dry-run", ["publish", "--dry-run", "--allow-dirty"]],
  ];
  for (const [name, args] of gates) {
    if (!args) {
      results.push({ name, passed: 0, failed: 0, ms: 0, note: "skipped: nothing to check" });
      continue;
    }
    process.stdout.write(`\n=== ${name} (${args.join(" ")})\n`);
    const started = Date.now();
    const run = await runCommand(deno, args, { timeoutMs: GATE_TIMEOUT_MS });
    const ok = !run.timedOut &&
      (run.code === 0 || (args[0] === "doc" && onlyKnownForeignTypeRefs(run.output)));
    results.push({
      name,
      passed: ok ? 1 : 0,
      failed: ok ? 0 : 1,
      ms: Date.now() - started,
      note: run.timedOut ? "timed out" : run.error ? `could not start: ${run.error.message}` : undefined,
    });
  }
}

// Deno 2.9's doc linter reports every type of another package that appears in a public signature as a
// "private-type-ref" (denoland/deno#27364, fixed upstream after 2.9). The adapters must name their peer's
// types (Hono's app type is what `hc` needs), so exactly these names are tolerated; any other doc-lint
// error, or a private-type-ref to any other type, still fails the gate. Tracer and TracerProvider are
// @opentelemetry/api's, in the options of the ./otel plugin.
const FOREIGN_TYPES = new Set(["Env", "BlankEnv", "Context", "Hono", "Client", "Config", "Kv"]);
FOREIGN_TYPES.add("Tracer").add("TracerProvider");

function onlyKnownForeignTypeRefs(output) {
  const errors = stripVTControlCharacters(output).split("\n").filter((line) => /^error\[/.test(line));
  if (errors.length === 0) return false;
  return errors.every((line) => {
    const match = /^error\[private-type-ref\]: .* references private type '([^']+)'/.exec(line);
    return match !== null && FOREIGN_TYPES.has(match[1]);
  });
}

/** Every JSR entry point named in deno.json "exports": each must document itself fully. */
function entryPoints() {
  const manifest = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  return Object.values(manifest.exports ?? {}).map((path) => path.replace(/^\.\//, ""));
}

async function runRuntime(runtime, allFiles) {
  const files = filesFor(runtime, allFiles);
  if (!files.length) {
    results.push({ name: runtime, passed: 0, failed: 0, ms: 0, note: "skipped: no test files" });
    return;
  }
  process.stdout.write(`\n=== ${runtime}: ${files.length} test file(s)\n`);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "superstep-test-"));
  const junit = join(dir, `${runtime}.xml`);
  try {
    if (runtime === "deno") {
      const args = ["test", "-A", "--no-check", "--v8-flags=--expose-gc", `--junit-path=${junit}`, ...files];
      const run = await runCommand(bin("deno"), args);
      record("deno", started, parseDeno(run.output, junit), run);
    } else if (runtime === "node") {
      const args = ["--expose-gc", "--import", "tsx", "--test", "--test-reporter=spec", ...files];
      const run = await runCommand(process.execPath, args);
      record("node", started, parseNode(run.output), run);
    } else {
      const args = [
        "test",
        `--timeout=${BUN_TEST_TIMEOUT_MS}`,
        "--reporter=junit",
        `--reporter-outfile=${junit}`,
        // Without ./ Bun takes an argument for a name filter, not a path.
        ...files.map((f) => `./${f}`),
      ];
      const run = await runCommand(bin("bun"), args);
      record("bun", started, parseBun(run.output, junit), run);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loadExtraSuites() {
  const path = join(ROOT, "scripts", "test_extra.mjs");
  if (!existsSync(path)) return [];
  try {
    const mod = await import(pathToFileURL(path).href);
    return Array.isArray(mod.suites) ? mod.suites : [];
  } catch (error) {
    console.error(`[test.mjs] cannot load scripts/test_extra.mjs:`, error);
    return [{ name: "test_extra.mjs", run: () => ({ passed: 0, failed: 1 }) }];
  }
}

async function runExtra(suite, testFiles) {
  process.stdout.write(`\n=== ${suite.name}\n`);
  const started = Date.now();
  let timer;
  try {
    const message = `timed out after ${RUNTIME_TIMEOUT_MS / 1000}s`;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), RUNTIME_TIMEOUT_MS);
    });
    const counts = await Promise.race([suite.run({ root: ROOT, testFiles, runCommand }), timeout]);
    const valid = Number.isInteger(counts?.passed) && Number.isInteger(counts?.failed);
    record(suite.name, started, valid ? counts : undefined);
  } catch (error) {
    console.error(`[test.mjs] suite ${suite.name} threw:`, error);
    const note = String(error?.message ?? error);
    results.push({ name: suite.name, passed: 0, failed: 1, ms: Date.now() - started, note });
  } finally {
    clearTimeout(timer);
  }
}

function printSummaryAndExit(extraFailed = 0) {
  const rows = results.map((r) => [r.name, r.passed, r.failed, `${(r.ms / 1000).toFixed(1)}s`, r.note ?? ""]);
  const width = Math.max(5, ...rows.map((r) => r[0].length));
  const line = ([name, passed, failed, time, note]) =>
    [name.padEnd(width), String(passed).padStart(6), String(failed).padStart(6), time.padStart(7), note]
      .join("  ")
      .trimEnd();
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0) + extraFailed;
  const table = [line(["suite", "passed", "failed", "time", ""]), ...rows.map(line)];
  // The last line is the machine-readable total; nothing may be printed after it.
  process.stdout.write(`\n${table.join("\n")}\n${passed} passed, ${failed} failed\n`, () => {
    process.exit(failed > 0 ? 1 : 0);
  });
}

const USAGE = "usage: node scripts/test.mjs [gates|deno|node|bun|<extra>]... [--no-gates] [<file filter>]...";

async function main() {
  const extras = await loadExtraSuites();
  const known = new Set(["gates", ...RUNTIMES, ...extras.map((s) => s.name)]);
  const argv = process.argv.slice(2);
  const args = argv.length ? argv : (process.env.SUPERSTEP_TEST_ONLY ?? "").split(/[\s,]+/).filter(Boolean);
  let noGates = process.env.SUPERSTEP_TEST_NO_GATES === "1";
  const selected = new Set();
  const filters = [];
  for (const arg of args) {
    if (arg === "--no-gates") noGates = true;
    else if (arg === "-h" || arg === "--help") {
      console.log(`${USAGE}\nsuites: ${[...known].join(", ")}`);
      return process.exit(0);
    } else if (known.has(arg)) selected.add(arg);
    else if (arg.includes("/") || arg.endsWith(".ts")) filters.push(arg.replace(/^\.\//, ""));
    else {
      console.error(`${USAGE}\nunknown suite "${arg}"; known: ${[...known].join(", ")}`);
      return printSummaryAndExit(1);
    }
  }
  const wants = (name) =>
    selected.size ? selected.has(name) : !(name === "gates" && (noGates || filters.length > 0));
  if (noGates) selected.delete("gates");

  let files = discoverTestFiles();
  if (filters.length) files = files.filter((f) => filters.some((filter) => f.includes(filter)));
  if (filters.length && !files.length) {
    console.error(`no test file matches ${filters.join(", ")}`);
    return printSummaryAndExit(1);
  }

  if (wants("gates")) await runGates();
  for (const runtime of RUNTIMES) if (wants(runtime)) await runRuntime(runtime, files);
  for (const suite of extras) if (wants(suite.name)) await runExtra(suite, files);
  printSummaryAndExit();
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) killTree(child, "SIGKILL");
    process.stderr.write(`\n[test.mjs] interrupted by ${signal}\n`);
    results.push({ name: "interrupted", passed: 0, failed: 1, ms: 0, note: signal });
    printSummaryAndExit();
  });
}

await main();
