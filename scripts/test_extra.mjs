// Extra suites of `npm test`, beyond Deno, Node and Bun. The contract is in the header of scripts/test.mjs:
// `export const suites = [{ name, run(ctx) }]`, run resolves to `{ passed, failed }`,
// ctx = { root, testFiles, runCommand }. Run one alone: `node scripts/test.mjs workerd`.
//
// Suites: "workerd" (below), then one per module in scripts/suites/*.mjs that exports `name` and `run(ctx)`.
//
//   workerd  bundles examples/worker.ts with esbuild (browser platform, workerd conditions, ESM), serves it in
//            workerd through Miniflare's JS API, and runs the HTTP checks of
//            tests/workerd/worker_example_checks.ts against it (each check counts once, named in the output).
//
// The workerd helpers (bundle, serve, run checks) live in scripts/_workerd.mjs, shared with the suite that
// runs the core test files inside workerd (scripts/suites/workerd_tests.mjs).
import { existsSync, readdirSync } from "node:fs";
import { bundleForWorkerd, runChecks, withWorkerd } from "./_workerd.mjs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Import a TypeScript module from Node (tsx's loader, scoped to this import). */
async function importTs(path) {
  const { tsImport } = await import("tsx/esm/api");
  return await tsImport(pathToFileURL(path).href, import.meta.url);
}

/** The suite "workerd": the Cloudflare worker example, over HTTP, inside workerd. */
async function workerdSuite({ root }) {
  const { checks } = await importTs(join(root, "tests", "workerd", "worker_example_checks.ts"));
  const script = await bundleForWorkerd(root, { entry: "examples/worker.ts" });
  console.log(`  bundled examples/worker.ts: ${(script.length / 1024).toFixed(0)} KiB`);
  return await withWorkerd(script, (fetch) => runChecks(checks, fetch, { label: "workerd" }));
}

/**
 * The suites of the modules in scripts/suites/ (`export const name`, `export async function run(ctx)`), in
 * file-name order. A module that fails to load is a suite with one failure, so it cannot hide the others.
 */
async function moduleSuites() {
  const dir = join(ROOT, "scripts", "suites");
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((file) => file.endsWith(".mjs") && !file.startsWith("_")).sort();
  return await Promise.all(files.map(async (file) => {
    try {
      const mod = await import(pathToFileURL(join(dir, file)).href);
      if (typeof mod.name !== "string" || typeof mod.run !== "function") {
        throw new TypeError("it must export `name` (a string) and `run(ctx)`");
      }
      return { name: mod.name, run: mod.run };
    } catch (error) {
      const name = file.replace(/\.mjs$/, "");
      return {
        name,
        run: () => (console.error(`[test_extra] scripts/suites/${file}:`, error), { passed: 0, failed: 1 }),
      };
    }
  }));
}

export const suites = [{ name: "workerd", run: workerdSuite }, ...await moduleSuites()];
