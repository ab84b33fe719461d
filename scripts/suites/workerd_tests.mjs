// The suite "workerd-tests": the project's test files run inside workerd (Cloudflare's runtime, through
// Miniflare), next to Deno, Node and Bun. Each file is bundled with esbuild for workerd, with `node:test`
// replaced by tests/workerd/node_test_shim.ts (workerd has no test runner) and `node:assert/strict` taken
// from workerd's own Node compatibility layer; the worker runs the file's tests when fetched and answers
// with each test's result. Every leaf test counts once; skipped tests count as neither.
//
// Files that cannot run in a worker are listed in EXCLUDED with the reason, never skipped silently.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { bundleForWorkerd, withTimeout, withWorkerd } from "../_workerd.mjs";

export const name = "workerd-tests";

/** Test files that need what a worker does not have. */
export const EXCLUDED = {
  "run_guard_test.ts": "forces garbage collection (gc() / Bun.gc), which workerd does not expose",
  "libsql_test.ts": "file: databases and child processes (workerd cannot open file: libSQL URLs)",
  "kv_test.ts": "@deno/kv is a native Node binding; Deno KV exists only on Deno and Deno Deploy",
  "crash_test.ts": "kills child processes",
  "concurrency_test.ts": "spawns 8 processes",
  "hono_test.ts": 'covered inside workerd by the worker example\'s checks (suite "workerd")',
  "faults_test.ts": "also injects faults into the libSQL file and KV adapters (native bindings, files)",
  "pollution_test.ts": "also round-trips through the libSQL file and KV adapters (native bindings, files)",
  "property_test.ts": "also compares the memory adapter with the libSQL and KV adapters (native bindings)",
  "load_test.ts": "starts a server process and drives it with autocannon over sockets",
  "http_fuzz_test.ts": "also serves over node:http and through the libSQL adapter (native bindings, files)",
};

const FILE_TIMEOUT_MS = 120_000;

/** esbuild plugin: `node:test` → the shim; other `node:` modules → workerd's nodejs_compat. */
function nodeTestShim(root) {
  return {
    name: "node-test-shim",
    setup(build) {
      build.onResolve(
        { filter: /^node:test$/ },
        () => ({ path: join(root, "tests", "workerd", "node_test_shim.ts") }),
      );
      build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, external: true }));
    },
  };
}

export async function run(ctx = {}) {
  const root = ctx.root ?? process.cwd();
  const files = readdirSync(join(root, "tests")).filter((f) => f.endsWith("_test.ts")).sort();
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    if (Object.hasOwn(EXCLUDED, file)) {
      console.log(`  - ${file}: not run in workerd: ${EXCLUDED[file]}`);
      continue;
    }
    const started = Date.now();
    try {
      const script = await bundleForWorkerd(root, {
        contents: [
          `import { runRegistered } from "./tests/workerd/node_test_shim.ts";`,
          `import "./tests/${file}";`,
          `export default { async fetch() { return Response.json(await runRegistered()); } };`,
        ].join("\n"),
        plugins: [nodeTestShim(root)],
      });
      const results = await withWorkerd(
        script,
        async (fetch) => await (await withTimeout(fetch("/"), FILE_TIMEOUT_MS, file)).json(),
        { compatibilityFlags: ["nodejs_compat"] },
      );
      const counts = { passed: 0, failed: 0, skipped: 0 };
      for (const result of results) {
        counts[result.status]++;
        if (result.status === "failed") {
          console.log(
            `  ✖ ${file} > ${result.name}\n    ${
              String(result.error).split("\n").slice(0, 8).join("\n    ")
            }`,
          );
        }
      }
      passed += counts.passed;
      failed += counts.failed;
      console.log(
        `  ${counts.failed ? "✖" : "✔"} ${file}: ${counts.passed} passed, ${counts.failed} failed` +
          `${counts.skipped ? `, ${counts.skipped} skipped` : ""} (${Date.now() - started}ms)`,
      );
    } catch (error) {
      failed++;
      console.log(
        `  ✖ ${file}: could not run in workerd: ${
          String(error?.stack ?? error).split("\n").slice(0, 6).join("\n    ")
        }`,
      );
    }
  }
  console.log(`workerd-tests: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}
