// Bundle size budget: what Superstep adds to an edge worker. Edge platforms cap a worker's size, so each
// bundle below is built the way a worker bundler builds it (esbuild, minified ESM, `platform: "neutral"` with
// the `workerd`/`worker`/`browser` conditions, as wrangler resolves), gzipped (level 9), and compared to
// its budget in scripts/size-budget.json (gzipped bytes).
//   core+memory       everything `mod.ts` and `./memory` export, with `devalue`
//   core+memory+hono  the same plus the Hono adapter, without Hono itself (`hono`, `hono/*` external: a
//                     worker that serves over HTTP has Hono anyway)
//   core+d1, core+durable-object
//                     the core with a Cloudflare storage adapter (the shared SQLite layer included)
//   inspector         the inspector (./inspector) alone, Hono external: what serving it adds to a worker that
//                     serves the Hono adapter (its page's script and style sheet are strings in it)
//   core+libsql       the core with the libSQL adapter, without `@libsql/client` (its web build is the
//                     client's own weight: about 19 KiB gzipped more)
// `export *` keeps every public symbol, so these are upper bounds: a worker that imports less ships less.
//
// Usage: `npm run size` (= `node scripts/size.mjs`); `npm run test:npm` runs the same checks.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { entryPoints, isMain, printSummaryAndExit, ROOT, runChecks } from "./_shared.mjs";

/** The measured bundles: each the JSR exports it re-exports (deno.json keys), the packages left external. */
const BUNDLES = [
  { name: "core+memory", exports: [".", "./memory"], external: [] },
  { name: "core+memory+hono", exports: [".", "./memory", "./hono"], external: ["hono", "hono/*"] },
  { name: "core+d1", exports: [".", "./d1"], external: [] },
  { name: "core+durable-object", exports: [".", "./durable-object"], external: [] },
  { name: "core+libsql", exports: [".", "./libsql"], external: ["@libsql/client"] },
  { name: "inspector", exports: ["./inspector"], external: ["hono", "hono/*"] },
];

/** Bundles that must not contain the inspector (its assets are large): the core's and the Hono adapter's. */
const WITHOUT_INSPECTOR = new Set(["core+memory", "core+memory+hono"]);

/** Bundles, minifies and gzips `bundle`; throws over its budget (or without one). */
async function measure({ name, exports, external }) {
  const { build } = await import("esbuild");
  const files = entryPoints();
  const missing = exports.filter((key) => !files[key]);
  if (missing.length) throw new Error(`deno.json "exports" has no ${missing.join(", ")}`);
  const contents = exports.map((key) => `export * from "./${files[key]}";`).join("\n");
  const result = await build({
    stdin: { contents, resolveDir: ROOT, sourcefile: `${name}.ts`, loader: "ts" },
    bundle: true,
    write: false,
    minify: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    external,
    legalComments: "none",
    logLevel: "silent",
  });
  const code = result.outputFiles[0].contents;
  if (WITHOUT_INSPECTOR.has(name) && result.outputFiles[0].text.includes("superstep-inspector")) {
    throw new Error(`${name} contains the inspector: it must stay in its own export`);
  }
  const gzip = gzipSync(code, { level: 9 }).length;
  const budgets = JSON.parse(readFileSync(join(ROOT, "scripts", "size-budget.json"), "utf8"));
  const budget = budgets[name]?.gzip;
  const sizes = `${(code.length / 1024).toFixed(1)} KiB minified, ${gzip} B (${
    (gzip / 1024).toFixed(1)
  } KiB) gzipped`;
  if (budget === undefined) throw new Error(`${sizes}; no budget: add it to scripts/size-budget.json`);
  const headroom = `${budget - gzip} B headroom, ${(((budget - gzip) / gzip) * 100).toFixed(1)}% of the size`;
  if (gzip > budget) throw new Error(`${sizes}: over its budget of ${budget} B`);
  return `${sizes}, budget ${budget} B (${headroom})`;
}

/** One check per bundle. */
export const sizeChecks = () =>
  BUNDLES.map((bundle) => ({ name: `${bundle.name} fits its size budget`, run: () => measure(bundle) }));

if (isMain(import.meta.url)) printSummaryAndExit([await runChecks("size budget", sizeChecks())]);
