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
// The helpers are generic so that other code can run inside workerd the same way (the core test files, issue
// 7): `bundleForWorkerd` bundles any module (or inline source) for workerd, `withWorkerd` serves a bundled
// module and always disposes Miniflare, `runChecks` runs named checks with a timeout each and counts them.
// Every step is bounded: bundling, startup, each check, and dispose.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** workerd's dates: Miniflare's bundled workerd supports dates up to 2026-05-03. */
export const COMPATIBILITY_DATE = "2026-05-01";
const STARTUP_TIMEOUT_MS = 60_000;
const CHECK_TIMEOUT_MS = 30_000;
const DISPOSE_TIMEOUT_MS = 15_000;
const BUNDLE_TIMEOUT_MS = 60_000;

/** Rejects with a timeout error unless `promise` settles within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Bundle a module into one ESM script for workerd.
 *
 * @param {string} root The repository root (esbuild's working directory; node_modules is found from it).
 * @param {{ entry?: string, contents?: string, resolveDir?: string, external?: string[] }} input
 *   `entry`: a path relative to `root`; or `contents`: inline module source (e.g. a harness importing test
 *   files), resolved from `resolveDir` (default `root`).
 * @returns {Promise<string>} The bundled script.
 */
export async function bundleForWorkerd(root, { entry, contents, resolveDir = root, external = [] }) {
  const { build } = await import("esbuild");
  const source = contents === undefined
    ? { entryPoints: [join(root, entry)] }
    : { stdin: { contents, resolveDir, sourcefile: "workerd-entry.ts", loader: "ts" } };
  const result = await withTimeout(
    build({
      ...source,
      absWorkingDir: root,
      bundle: true,
      write: false,
      format: "esm",
      // "browser" with workerd's conditions: packages' worker builds (hono, @libsql/client/web …), and
      // browser mainFields for packages without "exports"; nothing Node-only gets in.
      platform: "browser",
      conditions: ["workerd", "worker", "browser"],
      target: "es2022",
      external,
      logLevel: "silent",
    }),
    BUNDLE_TIMEOUT_MS,
    "esbuild",
  );
  for (const warning of result.warnings) console.warn(`[workerd] esbuild: ${warning.text}`);
  return result.outputFiles[0].text;
}

/**
 * Serve a bundled ES module worker in workerd (Miniflare), call `fn(fetch, mf)`, and dispose Miniflare.
 *
 * @template T
 * @param {string} script The bundled module (its default export is the worker).
 * @param {(fetch: (path: string, init?: RequestInit) => Promise<Response>, mf: unknown) => Promise<T>} fn
 * @param {{ compatibilityFlags?: string[], bindings?: Record<string, unknown> }} [options]
 * @returns {Promise<T>}
 */
export async function withWorkerd(script, fn, { compatibilityFlags = [], bindings = {} } = {}) {
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags,
    bindings,
  });
  try {
    await withTimeout(mf.ready, STARTUP_TIMEOUT_MS, "Miniflare startup");
    const fetch = (path, init) => mf.dispatchFetch(new URL(path, "http://localhost").href, init);
    return await fn(fetch, mf);
  } finally {
    await withTimeout(mf.dispose(), DISPOSE_TIMEOUT_MS, "Miniflare dispose").catch((error) => {
      console.error(`[workerd] ${error.message}`);
    });
  }
}

/**
 * Run named checks in order, each bounded by a timeout; print each check's name and result.
 *
 * @template C
 * @param {{ name: string, run: (context: C) => Promise<void> }[]} checks
 * @param {C} context What each check receives (e.g. a fetch into the worker).
 * @param {{ timeoutMs?: number, label?: string }} [options] The timeout of each check; the summary's label.
 * @returns {Promise<{ passed: number, failed: number }>}
 */
export async function runChecks(checks, context, { timeoutMs = CHECK_TIMEOUT_MS, label = "checks" } = {}) {
  let passed = 0;
  let failed = 0;
  for (const check of checks) {
    const started = Date.now();
    try {
      await withTimeout(Promise.resolve().then(() => check.run(context)), timeoutMs, `"${check.name}"`);
      passed++;
      console.log(`  ✔ ${check.name} (${Date.now() - started}ms)`);
    } catch (error) {
      failed++;
      console.log(`  ✖ ${check.name} (${Date.now() - started}ms)`);
      console.log(`    ${String(error?.stack ?? error).split("\n").slice(0, 12).join("\n    ")}`);
    }
  }
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

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
