// The test matrix. `npm test` (= `node scripts/test.mjs`) runs every part in order, then prints a table and,
// as the very last line, `N passed, N failed` (exit 1 if anything failed); `npm run check` and
// `npm run test:<part>` run one part: check (scripts/check.mjs), deno, node, bun (every tests/**/*_test.ts;
// under tests/runtime/ only the runtime's own files), workerd (scripts/workerd.mjs), npm (npm_package.mjs).
//
// Usage: node scripts/test.mjs [check|deno|node|bun|workerd|npm]... [<file filter>]...
//   A file filter (contains "/" or ends in ".ts") keeps the test files whose path contains it; with one and
//   no part named, only the runtimes and workerd's test files run.
import process from "node:process";
import { check } from "./check.mjs";
import { npmPackage } from "./npm_package.mjs";
import { onInterrupt, printSummaryAndExit, row, runTests, RUNTIME_NAMES, testFiles } from "./_shared.mjs";
import { startPostgres } from "./postgres.mjs";
import { workerd } from "./workerd.mjs";

const TIMEOUT_MS = Number(process.env.SUPERSTEP_TEST_TIMEOUT_MS) || 15 * 60_000;

// One throwaway PostgreSQL server for every runtime's run, started before the first, its URL passed in
// SUPERSTEP_POSTGRES_URL (tests/_postgres.ts), stopped at the end. Without it (no server binaries) the
// Postgres tests start their own and fail, saying what is missing: they never skip.
let postgres;
async function testEnv() {
  if (process.env.SUPERSTEP_POSTGRES_URL) return process.env;
  postgres ??= startPostgres().then((server) => {
    console.log(`[test.mjs] PostgreSQL for the tests: ${server.version} on ${new URL(server.url).host}`);
    return server;
  }, (error) => {
    console.error(`[test.mjs] ${error.message}`);
    return undefined;
  });
  const server = await postgres;
  return server ? { ...process.env, SUPERSTEP_POSTGRES_URL: server.url } : process.env;
}
const stopPostgres = async () => (await postgres)?.stop();

const runtime = (name) => async (filters) => {
  const files = testFiles(name, filters);
  // No file must not mean no argument: `deno test` alone runs every test it finds.
  if (!files.length) return [{ name, passed: 0, failed: 0, ms: 0, note: "skipped: no test files" }];
  console.log(`\n=== ${name}: ${files.length} test file(s)`);
  const env = await testEnv();
  const { output: _, ...summary } = await runTests(name, files, { timeoutMs: TIMEOUT_MS, env });
  return [summary];
};

const PARTS = {
  check: async () => [await check()],
  ...Object.fromEntries(RUNTIME_NAMES.map((name) => [name, runtime(name)])),
  workerd,
  npm: npmPackage,
};

const rows = [];
onInterrupt(() => stopPostgres().finally(() => printSummaryAndExit(rows, 1)));
const args = process.argv.slice(2);
const isFilter = (arg) => arg.includes("/") || arg.endsWith(".ts");
const filters = args.filter(isFilter).map((filter) => filter.replace(/^\.\//, ""));
const named = args.filter((arg) => !isFilter(arg));
const unknown = named.filter((name) => !Object.hasOwn(PARTS, name));
if (unknown.length) {
  console.error(`usage: node scripts/test.mjs [${Object.keys(PARTS).join("|")}]... [<file filter>]...`);
  console.error(`unknown part ${unknown.join(", ")}`);
  printSummaryAndExit(rows, 1);
} else if (filters.length && ![...RUNTIME_NAMES, "workerd"].some((name) => testFiles(name, filters).length)) {
  console.error(`no test file matches ${filters.join(", ")}`);
  printSummaryAndExit(rows, 1);
} else {
  const parts = named.length
    ? named
    : Object.keys(PARTS).filter((p) => !filters.length || p !== "check" && p !== "npm");
  for (const part of parts) {
    const started = Date.now();
    try {
      rows.push(...await PARTS[part](filters));
    } catch (error) {
      // A part that throws (cannot bundle, cannot start) is one failure; it must not hide the others.
      console.error(`[test.mjs] ${part}:`, error);
      rows.push({ ...row(part, started, { passed: 0, failed: 1 }), note: String(error?.message ?? error) });
    }
  }
  await stopPostgres();
  printSummaryAndExit(rows);
}
