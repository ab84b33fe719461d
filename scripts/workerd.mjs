// `npm run test:workerd`: code inside workerd (Cloudflare's runtime), served by Miniflare's JS API.
//   workerd: example  examples/worker.ts, bundled, checked over HTTP by tests/workerd/worker_example_checks.ts
//   workerd: tests    each test file a worker can run, bundled with `node:test` replaced by
//                     tests/workerd/node_test_shim.ts (`node:assert/strict` is workerd's own); fetched, the
//                     worker runs the file's tests and answers each leaf's result (skipped count as neither)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { entryPoints, ROOT, row, runChecks, testFiles, walk, withTimeout } from "./_shared.mjs";

const STEP_TIMEOUT_MS = 120_000;

/** Test files that need what a worker does not have, with the reason (never skipped silently). */
const EXCLUDED = {
  "tests/run_guard_test.ts": "forces garbage collection (gc() / Bun.gc), which workerd does not expose",
  "tests/libsql_test.ts": "file: databases and child processes (workerd cannot open file: libSQL URLs)",
  "tests/libsql_group_commit_test.ts": "file: databases (workerd cannot open file: libSQL URLs)",
  "tests/libsql_database_test.ts": "the `libsql` package's Database is a native Node binding",
  "tests/resume_copy_test.ts":
    "file: libSQL databases (workerd cannot open them); the workerd D1 and Durable Object suites run the same check",
  "tests/delta_base_migration_test.ts":
    "a libSQL database and a Postgres server (native bindings, TCP); the workerd D1 and Durable Object suites run the same delta cases",
  "tests/kv_test.ts": "@deno/kv is a native Node binding; Deno KV exists only on Deno and Deno Deploy",
  "tests/kv_inline_test.ts": "@deno/kv is a native Node binding; Deno KV exists only on Deno and Deno Deploy",
  "tests/kv_wakeups_test.ts":
    "KV queues are Deno KV's (and @deno/kv's, a native Node binding): no KV in workerd",
  "tests/kv_lineage_test.ts":
    "@deno/kv is a native Node binding; Deno KV exists only on Deno and Deno Deploy",
  "tests/crash_test.ts": "kills child processes",
  "tests/recover_crash_test.ts": "kills child processes recovering libSQL and KV files",
  "tests/concurrency_test.ts": "spawns 8 processes",
  "tests/answer_request_test.ts":
    "child processes on libSQL and KV files and PostgreSQL (answerRequest across processes)",
  "tests/sub_workflow_durable_test.ts": "libSQL and KV files, and a child process",
  "tests/evolution_durable_test.ts": "a libSQL file and child processes",
  "tests/hono_test.ts": "covered inside workerd by the worker example's checks (workerd: example)",
  "tests/faults_test.ts": "also injects faults into the libSQL file and KV adapters (native bindings, files)",
  "tests/pollution_test.ts":
    "also round-trips through the libSQL file and KV adapters (native bindings, files)",
  "tests/property_test.ts":
    "also compares the memory adapter with the libSQL and KV adapters (native bindings)",
  "tests/load_test.ts": "starts a server process and drives it with autocannon over sockets",
  "tests/postgres_test.ts": "a PostgreSQL server, child processes, and PGlite's Node build",
  "tests/http_fuzz_test.ts": "also serves over node:http and the libSQL adapter (native bindings, files)",
};

/** The test files of Superstep's Cloudflare adapters, run with bindings (tests/workerd/test_worker.ts). */
const DURABLE_TESTS = "tests/runtime/workerd/";
/** Those of them that run inside a Durable Object (a TestObject), not in the Worker. */
const IN_DURABLE_OBJECT = new Set(["tests/runtime/workerd/durable_object_test.ts"]);

/** esbuild plugin: `node:test` → the shim; other `node:` modules are left to workerd's nodejs_compat. */
const nodeTestShim = {
  name: "node-test-shim",
  setup(build) {
    const shim = join(ROOT, "tests/workerd/node_test_shim.ts");
    build.onResolve({ filter: /^node:test$/ }, () => ({ path: shim }));
    build.onResolve({ filter: /^node:/ }, ({ path }) => ({ path, external: true }));
  },
};

/** Bundles `entry` (a path, or `{ contents }`) into one ES module, the way a worker bundler does. */
async function bundle(entry, plugins = []) {
  const { build } = await import("esbuild");
  const source = typeof entry === "string"
    ? { entryPoints: [join(ROOT, entry)] }
    : { stdin: { ...entry, resolveDir: ROOT, loader: "ts" } };
  // "browser" with workerd's conditions: packages' worker builds (hono, @libsql/client/web …), nothing Node-only.
  const conditions = ["workerd", "worker", "browser"];
  const options = { ...source, bundle: true, write: false, format: "esm", target: "es2022", conditions };
  const bundling = build({ ...options, platform: "browser", plugins, logLevel: "silent" });
  const bundled = await withTimeout(bundling, STEP_TIMEOUT_MS, "esbuild");
  for (const warning of bundled.warnings) console.warn(`[workerd] esbuild: ${warning.text}`);
  return bundled.outputFiles[0].text;
}

/** Serves `script` in a new Miniflare: `{ mf, fetch, dispose }` (dispose: once, whoever calls it first). */
async function serve(script, { compatibilityFlags = [], miniflare = {} } = {}) {
  const { Miniflare } = await import("miniflare");
  // Miniflare's bundled workerd supports compatibility dates up to 2026-05-03.
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-05-01",
    compatibilityFlags,
    ...miniflare,
  });
  let disposed;
  const dispose = () =>
    disposed ??= withTimeout(mf.dispose(), STEP_TIMEOUT_MS, "Miniflare dispose")
      .catch((error) => console.error(`[workerd] ${error.message}`));
  try {
    await withTimeout(mf.ready, STEP_TIMEOUT_MS, "Miniflare startup");
  } catch (error) {
    await dispose();
    throw error;
  }
  const fetch = (path, init) => mf.dispatchFetch(new URL(path, "http://localhost").href, init);
  // A Cron Trigger's event, as Cloudflare sends it: the worker's `scheduled` handler runs to its end.
  const scheduled = async () => await (await mf.getWorker()).scheduled({ cron: "* * * * *" });
  return { mf, fetch, scheduled, dispose };
}

/** Bundles `entry` (a path, or `{ contents }`) and serves it; `fn(fetch, script)`; disposes. */
async function withWorker(entry, fn, { plugins = [], compatibilityFlags = [], miniflare = {} } = {}) {
  const script = await bundle(entry, plugins);
  const worker = await serve(script, { compatibilityFlags, miniflare });
  try {
    return await fn(worker.fetch, script);
  } finally {
    await worker.dispose();
  }
}

/** The worker example's configuration, read from the wrangler.toml the README documents. */
const WRANGLER_TOML = "examples/wrangler.toml";
/** The storages the worker example serves, by its `STORAGE` var. */
const EXAMPLE_STORAGES = ["d1", "durable-object"];

async function wranglerConfig() {
  const { readWranglerToml } = await import(
    pathToFileURL(join(ROOT, "tests/workerd/wrangler_toml.mjs")).href
  );
  const { main, options } = readWranglerToml(join(ROOT, WRANGLER_TOML));
  return { entry: join(dirname(WRANGLER_TOML), main), options };
}

/** The worker example, configured from its wrangler.toml, with `STORAGE`, on storage kept in `persist`. */
async function startExample(storage, persist) {
  const { entry, options } = await wranglerConfig();
  const script = await (exampleScript ??= bundle(entry));
  const bindings = { ...options.bindings, STORAGE: storage };
  return await serve(script, { miniflare: { ...options, bindings, ...persistence(persist) } });
}
let exampleScript;

/** Miniflare's options to keep D1 and Durable Object storage in `dir` (in memory when undefined). */
const persistence = (dir) =>
  dir === undefined ? {} : { d1Persist: join(dir, "d1"), durableObjectsPersist: join(dir, "do") };

/** The worker example's HTTP checks, once per storage it serves. */
async function example() {
  const started = Date.now();
  const { tsImport } = await import("tsx/esm/api");
  const url = pathToFileURL(join(ROOT, "tests/workerd/worker_example_checks.ts")).href;
  const { checks } = await tsImport(url, import.meta.url);
  const { entry } = await wranglerConfig();
  const script = await (exampleScript ??= bundle(entry));
  console.log(
    `\n=== workerd: ${entry} (${WRANGLER_TOML}), bundled: ${(script.length / 1024).toFixed(0)} KiB`,
  );
  const counts = { passed: 0, failed: 0 };
  for (const storage of EXAMPLE_STORAGES) {
    const worker = await startExample(storage);
    try {
      const named = checks.map((check) => ({
        name: `${storage}: ${check.name}`,
        run: () => check.run(worker.fetch, worker.scheduled),
      }));
      const { passed, failed } = await runChecks("workerd: example", named, { timeoutMs: 30_000 });
      counts.passed += passed;
      counts.failed += failed;
    } finally {
      await worker.dispose();
    }
  }
  return row("workerd: example", started, counts);
}

/** The checks of tests/workerd/durable_checks.ts: workers disposed and restarted on persisted storage. */
async function durable() {
  const started = Date.now();
  const { tsImport } = await import("tsx/esm/api");
  const url = pathToFileURL(join(ROOT, "tests/workerd/durable_checks.ts")).href;
  const { durableChecks } = await tsImport(url, import.meta.url);
  const root = mkdtempSync(join(tmpdir(), "superstep-workerd-durable-"));
  let dirs = 0;
  let crashScript;
  const harness = {
    persistDir: () => join(root, `${++dirs}`),
    example: startExample,
    async crashWorker(storage, persist, onGate) {
      const script = await (crashScript ??= bundle("tests/workerd/crash_worker.ts"));
      const self = {};
      let kill;
      const killed = new Promise((resolve) => kill = resolve);
      const outboundService = (request) => {
        if (onGate?.(new URL(request.url).pathname.slice(1)) !== "kill") return new Response("pass");
        // Dispose while the worker waits for this answer, which it never gets.
        self.worker.dispose().then(kill);
        return new Promise(() => {});
      };
      const miniflare = {
        d1Databases: ["DB"],
        durableObjects: { CHECKPOINTS: { className: "InspectedCheckpointObject", useSQLite: true } },
        bindings: { STORAGE: storage },
        outboundService,
        ...persistence(persist),
      };
      self.worker = await serve(script, { miniflare });
      return { ...self.worker, killed };
    },
  };
  console.log("\n=== workerd: durable storage across Miniflare restarts and kills");
  try {
    const checks = durableChecks(harness);
    return await runChecks("workerd: durable", checks, { timeoutMs: 60_000, started });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const excerpt = (text, lines) => String(text).split("\n").slice(0, lines).join("\n    ");

async function tests(filters) {
  console.log("\n=== workerd: tests");
  const started = Date.now();
  const counts = { passed: 0, failed: 0 };
  for (const file of testFiles("workerd", filters)) {
    if (EXCLUDED[file]) {
      console.log(`  - ${file}: not run in workerd: ${EXCLUDED[file]}`);
      continue;
    }
    const began = Date.now();
    const durable = file.startsWith(DURABLE_TESTS);
    const contents = durable
      ? `import { testWorker } from "./tests/workerd/test_worker.ts"; import "./${file}";
        export { CheckpointObject, TestObject } from "./tests/workerd/test_worker.ts";
        export default testWorker(${IN_DURABLE_OBJECT.has(file)});`
      : `import { runRegistered } from "./tests/workerd/node_test_shim.ts"; import "./${file}";
        export default { async fetch() { return Response.json(await runRegistered()); } };`;
    try {
      const miniflare = durable ? await durableBindings() : {};
      const results = await withWorker(
        { contents },
        async (fetch) => await (await withTimeout(fetch("/"), STEP_TIMEOUT_MS, file)).json(),
        { plugins: [nodeTestShim], compatibilityFlags: ["nodejs_compat"], miniflare },
      );
      const here = { passed: 0, failed: 0, skipped: 0 };
      for (const { name, status, error } of results) {
        here[status]++;
        if (status === "failed") console.log(`  ✖ ${file} > ${name}\n    ${excerpt(error, 8)}`);
      }
      counts.passed += here.passed;
      counts.failed += here.failed;
      const skipped = here.skipped ? `, ${here.skipped} skipped` : "";
      const summary = `${here.passed} passed, ${here.failed} failed${skipped} (${Date.now() - began}ms)`;
      console.log(`  ${here.failed ? "✖" : "✔"} ${file}: ${summary}`);
    } catch (error) {
      counts.failed++;
      console.log(`  ✖ ${file}: could not run in workerd: ${excerpt(error?.stack ?? error, 6)}`);
    }
  }
  await hrana?.then((server) => server.close());
  hrana = undefined;
  return row("workerd: tests", started, counts);
}

/** The emulated Hrana server (tests/fixtures/hrana_server.ts) of this run, on 127.0.0.1: started on first use. */
let hrana;
const HRANA_TOKEN = "workerd-hrana-token";

/**
 * The bindings of tests/runtime/workerd/ (see tests/workerd/env.ts): two local D1 databases, the
 * CheckpointObject and TestObject classes (SQLite-backed), the Hrana server's URL and token. Storage is in
 * memory: every file starts empty.
 */
async function durableBindings() {
  hrana ??= (async () => {
    const { tsImport } = await import("tsx/esm/api");
    const url = pathToFileURL(join(ROOT, "tests/fixtures/hrana_server.ts")).href;
    const { startHranaServer } = await tsImport(url, import.meta.url);
    const dir = mkdtempSync(join(tmpdir(), "superstep-workerd-hrana-"));
    const server = await startHranaServer(join(dir, "hrana.sqlite"), HRANA_TOKEN);
    return {
      ...server,
      url: server.url,
      close: () => server.close().finally(() => rmSync(dir, { recursive: true, force: true })),
    };
  })();
  const { url } = await hrana;
  return {
    d1Databases: ["DB", "SCRATCH_DB"],
    durableObjects: {
      CHECKPOINTS: { className: "CheckpointObject", useSQLite: true },
      TEST_OBJECT: { className: "TestObject", useSQLite: true },
    },
    bindings: { HRANA_URL: url, HRANA_TOKEN },
  };
}

/** The folders whose JSDoc examples need a Worker's bindings: marked `ts ignore`, run by `docExamples`. */
const WORKERD_EXAMPLE_DIRS = ["adapters/d1", "adapters/durable_object"];
const IMPORT = /^import\s[\s\S]*?\sfrom\s*["'][^"']+["'];?[^\S\n]*$/gm;

/** Every ```ts ignore block of those folders: `{ name: "file:line", imports, body }`. */
function workerdExamples() {
  const examples = [];
  for (const file of WORKERD_EXAMPLE_DIRS.flatMap(walk).filter((path) => path.endsWith(".ts"))) {
    const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*\* ```ts ignore\s*$/.test(lines[i])) continue;
      const name = `${file}:${i + 1}`;
      const code = [];
      for (i++; i < lines.length && !/^\s*\* ```\s*$/.test(lines[i]); i++) {
        code.push(lines[i].replace(/^\s*\* ?/, ""));
      }
      const text = code.join("\n");
      examples.push({ name, imports: text.match(IMPORT) ?? [], body: text.replace(IMPORT, "") });
    }
  }
  return examples;
}

/**
 * The Cloudflare adapters' JSDoc examples, inside workerd: each the body of a function of `env` (a D1
 * binding `DB`, a CheckpointObject namespace `CHECKPOINTS`) and `ctx` (a fresh SQLite-backed Durable
 * Object's state), run in its own object (tests/workerd/doc_example_worker.ts).
 */
async function docExamples() {
  const started = Date.now();
  const examples = workerdExamples();
  const exportsOf = entryPoints();
  const plugin = {
    name: "doc-examples",
    setup(build) {
      build.onResolve({ filter: /^doc-example:\d+$/ }, ({ path }) => ({ path, namespace: "doc-example" }));
      build.onLoad({ filter: /.*/, namespace: "doc-example" }, ({ path }) => {
        const { imports, body } = examples[Number(path.split(":")[1])];
        const contents = `${imports.join("\n")}\nexport default async function (env, ctx) {\n${body}\n}`;
        return { contents, loader: "ts", resolveDir: ROOT };
      });
      // The package's own name, as the examples import it: the repository's files.
      build.onResolve({ filter: /^@superstep\/superstep(\/.*)?$/ }, ({ path }) => {
        const key = `.${path.slice("@superstep/superstep".length)}`;
        if (!exportsOf[key]) return { errors: [{ text: `deno.json exports no "${key}"` }] };
        return { path: join(ROOT, exportsOf[key]) };
      });
    },
  };
  const names = examples.map((_, n) => `e${n}`);
  const contents = [
    `import { docExampleWorker, registerExamples } from "./tests/workerd/doc_example_worker.ts";`,
    ...names.map((name, n) => `import ${name} from "doc-example:${n}";`),
    `registerExamples([${names.join(", ")}]);`,
    `export { CheckpointObject, ExampleObject } from "./tests/workerd/doc_example_worker.ts";`,
    `export default docExampleWorker;`,
  ].join("\n");
  const miniflare = {
    d1Databases: ["DB"],
    durableObjects: {
      CHECKPOINTS: { className: "CheckpointObject", useSQLite: true },
      EXAMPLES: { className: "ExampleObject", useSQLite: true },
    },
  };
  return await withWorker({ contents }, (fetch) => {
    console.log(`\n=== workerd: doc examples (${examples.length}, of ${WORKERD_EXAMPLE_DIRS.join(", ")})`);
    const checks = examples.map(({ name }, n) => ({
      name,
      run: async () => {
        const response = await fetch(`/${n}`);
        const text = await response.text();
        if (response.status !== 200) throw new Error(`the example failed:\n${text}`);
      },
    }));
    return runChecks("workerd: doc examples", checks, { timeoutMs: 30_000, started });
  }, { plugins: [nodeTestShim, plugin], compatibilityFlags: ["nodejs_compat"], miniflare });
}

/** The worker example's checks and the doc examples (unless test files are filtered), then the test files. */
export async function workerd(filters = []) {
  const whole = filters.length ? [] : [await example(), await durable(), await docExamples()];
  return [...whole, await tests(filters)];
}
