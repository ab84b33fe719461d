// `npm run test:workerd`: code inside workerd (Cloudflare's runtime), served by Miniflare's JS API.
//   workerd: example  examples/worker.ts, bundled, checked over HTTP by tests/workerd/worker_example_checks.ts
//   workerd: tests    each test file a worker can run, bundled with `node:test` replaced by
//                     tests/workerd/node_test_shim.ts (`node:assert/strict` is workerd's own); fetched, the
//                     worker runs the file's tests and answers each leaf's result (skipped count as neither)
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, row, runChecks, testFiles, withTimeout } from "./_shared.mjs";

const STEP_TIMEOUT_MS = 120_000;

/** Test files that need what a worker does not have, with the reason (never skipped silently). */
const EXCLUDED = {
  "tests/run_guard_test.ts": "forces garbage collection (gc() / Bun.gc), which workerd does not expose",
  "tests/libsql_test.ts": "file: databases and child processes (workerd cannot open file: libSQL URLs)",
  "tests/kv_test.ts": "@deno/kv is a native Node binding; Deno KV exists only on Deno and Deno Deploy",
  "tests/crash_test.ts": "kills child processes",
  "tests/concurrency_test.ts": "spawns 8 processes",
  "tests/sub_workflow_durable_test.ts": "libSQL and KV files, and a child process",
  "tests/hono_test.ts": "covered inside workerd by the worker example's checks (workerd: example)",
  "tests/faults_test.ts": "also injects faults into the libSQL file and KV adapters (native bindings, files)",
  "tests/pollution_test.ts":
    "also round-trips through the libSQL file and KV adapters (native bindings, files)",
  "tests/property_test.ts":
    "also compares the memory adapter with the libSQL and KV adapters (native bindings)",
  "tests/load_test.ts": "starts a server process and drives it with autocannon over sockets",
  "tests/http_fuzz_test.ts": "also serves over node:http and the libSQL adapter (native bindings, files)",
};

/** esbuild plugin: `node:test` → the shim; other `node:` modules are left to workerd's nodejs_compat. */
const nodeTestShim = {
  name: "node-test-shim",
  setup(build) {
    const shim = join(ROOT, "tests/workerd/node_test_shim.ts");
    build.onResolve({ filter: /^node:test$/ }, () => ({ path: shim }));
    build.onResolve({ filter: /^node:/ }, ({ path }) => ({ path, external: true }));
  },
};

/** Bundles `entry` (a path, or `{ contents }`) into one ES module and serves it; `fn(fetch)`; disposes. */
async function withWorker(entry, fn, { plugins = [], compatibilityFlags = [] } = {}) {
  const [{ build }, { Miniflare }] = await Promise.all([import("esbuild"), import("miniflare")]);
  const source = typeof entry === "string"
    ? { entryPoints: [join(ROOT, entry)] }
    : { stdin: { ...entry, resolveDir: ROOT, loader: "ts" } };
  // "browser" with workerd's conditions: packages' worker builds (hono, @libsql/client/web …), nothing Node-only.
  const conditions = ["workerd", "worker", "browser"];
  const options = { ...source, bundle: true, write: false, format: "esm", target: "es2022", conditions };
  const bundling = build({ ...options, platform: "browser", plugins, logLevel: "silent" });
  const bundled = await withTimeout(bundling, STEP_TIMEOUT_MS, "esbuild");
  for (const warning of bundled.warnings) console.warn(`[workerd] esbuild: ${warning.text}`);
  const script = bundled.outputFiles[0].text;
  // Miniflare's bundled workerd supports compatibility dates up to 2026-05-03.
  const mf = new Miniflare({ modules: true, script, compatibilityDate: "2026-05-01", compatibilityFlags });
  try {
    await withTimeout(mf.ready, STEP_TIMEOUT_MS, "Miniflare startup");
    return await fn((path, init) => mf.dispatchFetch(new URL(path, "http://localhost").href, init), script);
  } finally {
    const disposing = withTimeout(mf.dispose(), STEP_TIMEOUT_MS, "Miniflare dispose");
    await disposing.catch((error) => console.error(`[workerd] ${error.message}`));
  }
}

async function example() {
  const started = Date.now();
  const { tsImport } = await import("tsx/esm/api");
  const url = pathToFileURL(join(ROOT, "tests/workerd/worker_example_checks.ts")).href;
  const { checks } = await tsImport(url, import.meta.url);
  return await withWorker("examples/worker.ts", (fetch, script) => {
    console.log(`\n=== workerd: examples/worker.ts, bundled: ${(script.length / 1024).toFixed(0)} KiB`);
    const named = checks.map((check) => ({ name: check.name, run: () => check.run(fetch) }));
    return runChecks("workerd: example", named, { timeoutMs: 30_000, started });
  });
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
    const contents = `import { runRegistered } from "./tests/workerd/node_test_shim.ts"; import "./${file}";
      export default { async fetch() { return Response.json(await runRegistered()); } };`;
    try {
      const results = await withWorker(
        { contents },
        async (fetch) => await (await withTimeout(fetch("/"), STEP_TIMEOUT_MS, file)).json(),
        { plugins: [nodeTestShim], compatibilityFlags: ["nodejs_compat"] },
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
  return row("workerd: tests", started, counts);
}

/** The worker example's checks (unless test files are filtered) and the test files inside workerd. */
export async function workerd(filters = []) {
  return [...(filters.length ? [] : [await example()]), await tests(filters)];
}
