// Running code inside workerd (Cloudflare's runtime) through Miniflare's JS API: bundle a module with
// esbuild for workerd, serve it, run named checks against it. Used by the "workerd" suite of
// scripts/test_extra.mjs and by scripts/suites/workerd_tests.mjs. Every step is bounded: bundling, startup,
// each check, and dispose.
import { join } from "node:path";

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
 * @param {{ entry?: string, contents?: string, resolveDir?: string, external?: string[], plugins?: unknown[] }} input
 *   `entry`: a path relative to `root`; or `contents`: inline module source (e.g. a harness importing test
 *   files), resolved from `resolveDir` (default `root`); `plugins`: esbuild plugins (e.g. module aliases).
 * @returns {Promise<string>} The bundled script.
 */
export async function bundleForWorkerd(
  root,
  { entry, contents, resolveDir = root, external = [], plugins = [] },
) {
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
      plugins,
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
