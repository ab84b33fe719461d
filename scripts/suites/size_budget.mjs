// The size budget as tests: one per bundle of scripts/size.mjs, failing when the minified, gzipped bundle
// exceeds its budget in scripts/size-budget.json (or has none).
//
// Usage: an extra suite of scripts/test.mjs (`run(ctx)` → { passed, failed }), or alone:
//   node scripts/suites/size_budget.mjs
import process from "node:process";
import { pathToFileURL } from "node:url";
import { formatTable, measure } from "../size.mjs";

export const name = "size-budget";

/** @param {{ root?: string }} [ctx] */
export async function run(ctx = {}) {
  const rows = await measure(ctx.root);
  console.log(formatTable(rows));
  let passed = 0;
  let failed = 0;
  for (const row of rows) {
    const verdict = row.budget === undefined
      ? "no budget in scripts/size-budget.json"
      : `${row.gzip} B gzipped, budget ${row.budget} B`;
    console.log(`${row.over ? "FAIL" : "ok  "}  ${row.name} fits its size budget: ${verdict}`);
    if (row.over) failed++;
    else passed++;
  }
  return { passed, failed };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { failed } = await run();
  process.exitCode = failed ? 1 : 0;
}
