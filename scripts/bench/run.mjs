// `npm run bench`: Superstep against its peers, printed as tables of ratios and absolute medians and
// written to bench/results.json. What each benchmark measures: the README ("Benchmarks") and the header of
// each entry point here.
//
// Usage: node scripts/bench/run.mjs [--quick] [--only=<task>,<task>…]
//   --quick  a smoke run (few repetitions, short histories): the figures mean nothing.
//   --only   run some tasks: cold, node-core, deno-core, bun-core, plugins, durable, delta, postgres, history,
//            kv-node, kv-deno, rss, and the ones a whole run leaves out: head-deno, head-bun,
//            head-workerd.
//
// The peers (LangGraph.js, its SQLite and Postgres savers, better-sqlite3) live in scripts/bench/package.json,
// installed
// into scripts/bench/node_modules on first use, never into the main install. The Node entry points are
// bundled with esbuild first (the main install's): Node 20 cannot run TypeScript, and tsx would add
// esbuild's keepNames wrappers to every closure of the core, which the npm build does not have. Deno and
// Bun run the TypeScript sources as they are.
//
// Tasks run one after another (timings of parallel processes on 2 cores would mean little), each in its
// own process with a time limit, and all of them within TASKS_BUDGET_MS: the whole command, first install
// included, ends well within 10 minutes even if a task hangs.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { renderTables } from "./_tables.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const PEERS = join(HERE, "node_modules");
const BUILD = join(PEERS, ".superstep-build");
const RESULT_PREFIX = "SUPERSTEP_BENCH_RESULT ";
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)
  .split(",");

function bin(name) {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

/** Runs a command; stderr streams through, stdout is captured (the last result line is the payload). */
function run(cmd, args, { timeoutMs, cwd = ROOT, capture = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"],
      detached: true,
    });
    let stdout = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    const timer = setTimeout(() => {
      process.stderr.write(
        `[bench] ${cmd} ${args.join(" ")} exceeded ${timeoutMs / 1000} s: stopping it\n`,
      );
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone already
      }
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, error });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

async function installPeers() {
  if (
    existsSync(join(PEERS, "@langchain", "langgraph")) &&
    existsSync(join(PEERS, "@langchain", "langgraph-checkpoint-postgres")) &&
    existsSync(join(PEERS, "better-sqlite3"))
  ) return;
  process.stderr.write(
    "[bench] installing the peers into scripts/bench/node_modules (first run only)\n",
  );
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const { code } = await run(npm, [
    "install",
    "--prefix",
    HERE,
    "--no-audit",
    "--no-fund",
  ], {
    // better-sqlite3 compiles in about a minute on 2 cores.
    timeoutMs: 3 * 60_000,
    capture: false,
  });
  if (code !== 0) {
    throw new Error(`npm install --prefix scripts/bench failed (exit ${code})`);
  }
}

const NODE_ENTRIES = [
  "node_peers",
  "cold",
  "http",
  "http_server",
  "workerd",
  "plugins",
  "durable",
  "delta",
  "postgres",
  "history",
  "kv",
  "rss_superstep",
  "rss_langgraph",
];

async function bundle() {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: NODE_ENTRIES.map((name) => join(HERE, `${name}.ts`)),
    outdir: BUILD,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
}

const q = quick ? ["--quick"] : [];
function node(entry) {
  return [process.execPath, ["--expose-gc", join(BUILD, `${entry}.mjs`), ...q]];
}
function deno(entry) {
  return [bin("deno"), [
    "run",
    "-A",
    "--unstable-kv",
    "--v8-flags=--expose-gc",
    join(HERE, `${entry}.ts`),
    ...q,
  ]];
}
function bun(entry) {
  return [bin("bun"), [join(HERE, `${entry}.ts`), ...q]];
}

/** Fresh processes per library in the cold column of benchmark 1. */
const COLD_PROCESSES = quick ? 1 : 5;

/** All tasks together may take this long (they take about 8 minutes); a task past it is stopped. */
const TASKS_BUDGET_MS = 9 * 60_000;

/** Every task: its name, its command, its time limit. */
const TASKS = [
  {
    // Benchmark 1's cold column: fresh processes, the libraries and runtimes taking turns.
    name: "cold",
    alternate: [
      node("cold"),
      withArgs(node("cold"), "--subject=langgraph"),
      deno("cold"),
      bun("cold"),
      withArgs(node("cold"), "--shape=request"),
      withArgs(node("cold"), "--subject=langgraph", "--shape=request"),
      withArgs(deno("cold"), "--shape=request"),
      withArgs(bun("cold"), "--shape=request"),
    ],
    processes: COLD_PROCESSES,
    timeoutMs: 3 * 60_000,
  },
  { name: "node-core", cmd: node("node_peers"), timeoutMs: 4 * 60_000 },
  { name: "deno-core", cmd: deno("core_main"), timeoutMs: 90_000 },
  { name: "bun-core", cmd: bun("core_main"), timeoutMs: 90_000 },
  { name: "plugins", cmd: node("plugins"), timeoutMs: 60_000 },
  { name: "http", cmd: node("http"), timeoutMs: 2 * 60_000 },
  { name: "workerd", cmd: node("workerd"), timeoutMs: 90_000 },
  { name: "durable", cmd: node("durable"), timeoutMs: 3 * 60_000 },
  { name: "delta", cmd: node("delta"), timeoutMs: 6 * 60_000 },
  { name: "postgres", cmd: node("postgres"), timeoutMs: 3 * 60_000 },
  { name: "history", cmd: node("history"), timeoutMs: 3 * 60_000 },
  // Benchmark 9 on Deno and Bun: about 7 minutes more, so only when named (`--only=head-deno,head-bun`).
  { name: "head-deno", cmd: deno("head_loads"), timeoutMs: 6 * 60_000, optIn: true },
  { name: "head-bun", cmd: bun("head_loads"), timeoutMs: 6 * 60_000, optIn: true },
  // Benchmark 9 in workerd (D1 and Durable Objects, through Miniflare): about 2 minutes, also only when named.
  { name: "head-workerd", cmd: node("head_loads_workerd"), timeoutMs: 5 * 60_000, optIn: true },
  { name: "kv-node", cmd: node("kv"), timeoutMs: 90_000 },
  { name: "kv-deno", cmd: deno("kv"), timeoutMs: 90_000 },
  { name: "rss", cmd: node("rss_superstep"), timeoutMs: 60_000 },
  { name: "rss", cmd: node("rss_langgraph"), timeoutMs: 2 * 60_000 },
];

function withArgs([cmd, args], ...more) {
  return [cmd, [...args, ...more]];
}

/** One process's figures, or its failure. */
async function runOne([cmd, args], timeoutMs, name, failures) {
  process.stderr.write(
    `[bench] ── ${name}: ${[cmd, ...args].join(" ").replaceAll(ROOT + "/", "")}\n`,
  );
  const { code, stdout, error } = await run(cmd, args, { timeoutMs });
  const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) {
    failures.push(`${name}: exit ${code ?? error?.message}`);
  }
  return line ? JSON.parse(line.slice(RESULT_PREFIX.length)) : { figures: [], notes: {} };
}

/** The processes of an alternating task, in turns; each figure is then the median over its processes. */
async function runAlternating(task, deadline, failures) {
  const byKey = new Map();
  for (let round = 0; round < task.processes; round++) {
    for (const cmd of task.alternate) {
      const left = Math.min(task.timeoutMs, deadline - Date.now());
      if (left <= 0) return [];
      const { figures } = await runOne(cmd, left, task.name, failures);
      for (const figure of figures) {
        const key = [figure.bench, figure.name, figure.subject, figure.runtime]
          .join("\0");
        if (!byKey.has(key)) byKey.set(key, []);
        byKey.get(key).push(figure);
      }
    }
  }
  return [...byKey.values()].map((series) => {
    const values = series.map((f) => f.median).sort((a, b) => a - b);
    const mid = values.length >> 1;
    const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    const deviations = values.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
    const mad = deviations.length % 2 ? deviations[mid] : (deviations[mid - 1] + deviations[mid]) / 2;
    return {
      ...series[0],
      median,
      mad,
      min: values[0],
      max: values[values.length - 1],
      reps: values.length,
      extra: { ...series[0].extra, processes: values.length },
    };
  });
}

async function version(cmd, args) {
  const { stdout } = await run(cmd, args, { timeoutMs: 30_000 });
  return stdout.trim().split("\n")[0];
}

async function main() {
  const began = Date.now();
  await installPeers();
  await bundle();
  const figures = [];
  const notes = {};
  const failures = [];
  const load = [loadavg()[0]];
  const deadline = Date.now() + TASKS_BUDGET_MS;
  for (const task of TASKS) {
    if (only ? !only.includes(task.name) : task.optIn) continue;
    const left = deadline - Date.now();
    if (left <= 0) {
      failures.push(
        `${task.name}: not run (the time budget of all tasks is spent)`,
      );
      continue;
    }
    if (task.alternate) {
      const t0 = Date.now();
      figures.push(...await runAlternating(task, deadline, failures));
      process.stderr.write(
        `[bench] ── ${task.name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
      );
      load.push(loadavg()[0]);
      continue;
    }
    const [cmd, args] = task.cmd;
    process.stderr.write(
      `[bench] ── ${task.name}: ${[cmd, ...args].join(" ").replaceAll(ROOT + "/", "")}\n`,
    );
    const t0 = Date.now();
    const { code, stdout, error } = await run(cmd, args, {
      timeoutMs: Math.min(task.timeoutMs, left),
    });
    const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX));
    if (line) {
      const payload = JSON.parse(line.slice(RESULT_PREFIX.length));
      figures.push(...payload.figures);
      Object.assign(notes, payload.notes);
    }
    if (code !== 0 || !line) {
      failures.push(`${task.name}: exit ${code ?? error?.message}`);
    }
    process.stderr.write(
      `[bench] ── ${task.name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    );
    load.push(loadavg()[0]);
  }
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    deno: await version(bin("deno"), ["--version"]),
    bun: await version(bin("bun"), ["--version"]),
    langgraph: JSON.parse(
      readFileSync(
        join(PEERS, "@langchain", "langgraph", "package.json"),
        "utf8",
      ),
    ).version,
    loadAverage: { min: Math.min(...load), max: Math.max(...load) },
  };
  const date = new Date().toISOString();
  const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  const { markdown, ratios, goals } = renderTables(figures, {
    date,
    command,
    machine,
    quick,
  });
  const seconds = Math.round((Date.now() - began) / 1000);
  mkdirSync(join(ROOT, "bench"), { recursive: true });
  writeFileSync(
    join(ROOT, "bench", "results.json"),
    JSON.stringify(
      {
        date,
        command,
        seconds,
        quick,
        machine,
        goals,
        ratios,
        figures,
        notes,
        failures,
      },
      null,
      2,
    ) +
      "\n",
  );
  console.log(markdown);
  console.log(
    `\n${figures.length} figures in ${seconds} s; written to bench/results.json`,
  );
  if (failures.length > 0) {
    console.log(`Failed: ${failures.join("; ")}`);
    process.exitCode = 1;
  }
}

await main();
