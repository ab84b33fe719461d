// Bundle size budget: what Superstep adds to an edge worker. Edge platforms cap a worker's size, so each
// bundle below is built the way a worker bundler builds it (esbuild, minified ESM, `platform: "neutral"` with
// the `workerd`/`worker`/`browser` conditions, as wrangler resolves), gzipped (level 9), and compared to
// its budget in scripts/size-budget.json (gzipped bytes).
//   core+memory       everything `mod.ts` and `./memory` export, with `devalue`
//   core+memory+hono  the same plus the Hono adapter, without Hono itself (`hono`, `hono/*` external: a
//                     worker that serves over HTTP has Hono anyway)
// `export *` keeps every public symbol, so these are upper bounds: a worker that imports less ships less.
//
// Usage: `npm run size` (= `node scripts/size.mjs`): prints the table, exits 1 if a budget is exceeded.
// scripts/suites/size_budget.mjs runs the same measurement as one test per budget.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The measured bundles: each an entry (re-exports of repo files) and the packages left external. */
export const BUNDLES = [
  { name: "core+memory", exports: ["mod.ts", "adapters/memory.ts"], external: [] },
  {
    name: "core+memory+hono",
    exports: ["mod.ts", "adapters/memory.ts", "adapters/hono.ts"],
    external: ["hono", "hono/*"],
  },
];

/**
 * @typedef {{ name: string, minified: number, gzip: number, budget: number | undefined, over: boolean }} Measure
 */

/** Reads the budgets: `{ "<bundle name>": { "gzip": bytes } }`. */
export function readBudgets(root = ROOT) {
  return JSON.parse(readFileSync(join(root, "scripts", "size-budget.json"), "utf8"));
}

/**
 * Bundles, minifies and gzips each bundle.
 * @returns {Promise<Measure[]>}
 */
export async function measure(root = ROOT) {
  const budgets = readBudgets(root);
  const rows = [];
  for (const bundle of BUNDLES) {
    const result = await esbuild.build({
      stdin: {
        contents: bundle.exports.map((file) => `export * from "./${file}";`).join("\n"),
        resolveDir: root,
        sourcefile: `${bundle.name}.ts`,
        loader: "ts",
      },
      bundle: true,
      write: false,
      minify: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["browser", "module", "main"],
      external: bundle.external,
      legalComments: "none",
      logLevel: "silent",
    });
    const code = result.outputFiles[0].contents;
    const gzip = gzipSync(code, { level: 9 }).length;
    const budget = budgets[bundle.name]?.gzip;
    rows.push({
      name: bundle.name,
      minified: code.length,
      gzip,
      budget,
      over: budget === undefined || gzip > budget,
    });
  }
  return rows;
}

/** The table `npm run size` prints. */
export function formatTable(rows) {
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const lines = [["bundle", "minified", "gzip", "budget (gzip)", "headroom"]];
  for (const row of rows) {
    lines.push([
      row.name,
      `${row.minified} B (${kib(row.minified)})`,
      `${row.gzip} B (${kib(row.gzip)})`,
      row.budget === undefined ? "none: add it to size-budget.json" : `${row.budget} B`,
      row.budget === undefined
        ? ""
        : `${row.budget - row.gzip} B (${
          (((row.budget - row.gzip) / row.gzip) * 100).toFixed(1)
        }% of the size)`,
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((line) => line[i].length)));
  return lines.map((line) => line.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await measure();
  console.log(formatTable(rows));
  const over = rows.filter((row) => row.over);
  for (const row of over) {
    console.error(`over budget: ${row.name} is ${row.gzip} B gzipped (budget ${row.budget} B)`);
  }
  process.exitCode = over.length ? 1 : 0;
}
