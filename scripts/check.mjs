// `npm run check`: the static gates, one check each: deno fmt --check; deno lint; deno check (every JSR
// export, tests/, examples/); deno doc --lint (every export); deno test --doc (every JSDoc example of the
// published code runs); deno publish --dry-run; tsc over the type tests (tests/types/tsconfig.json); no import
// cycle among the project's modules; the inspector's committed bundle (adapters/inspector/_assets.ts) is what
// its sources build (scripts/build_inspector.mjs). Paths come from
// deno.json ("exports", "publish.include").
import { bin, denoJson, entryPoints, run, runChecks, withTypeScript } from "./_shared.mjs";
import { findImportCycles } from "./import_cycles.mjs";
import { checkInspectorAssets } from "./build_inspector.mjs";

const GATE_TIMEOUT_MS = 5 * 60_000;

/** `deno test --doc` on `paths`: every JSDoc example in them runs (the doc gate; tests prove it can fail). */
export function docTest(paths, { echo = false } = {}) {
  return run(bin("deno"), ["test", "--doc", "-A", ...paths], { echo, timeoutMs: GATE_TIMEOUT_MS });
}

// Deno 2.9's doc linter reports every type of another package that appears in a public signature as a
// "private-type-ref" (denoland/deno#27364, fixed upstream after 2.9). The adapters must name their peer's
// types (Hono's app type is what `hc` needs), so exactly these names are tolerated; any other doc-lint
// error, or a private-type-ref to any other type, still fails the gate. Tracer and TracerProvider are
// @opentelemetry/api's, in the options of the ./otel plugin.
const FOREIGN_TYPES = new Set(["Env", "BlankEnv", "Context", "Hono", "Client", "Config", "Kv"]);
FOREIGN_TYPES.add("Tracer").add("TracerProvider");

function onlyKnownForeignTypeRefs(output) {
  const errors = output.split("\n").filter((line) => /^error\[/.test(line));
  return errors.length > 0 && errors.every((line) => {
    const match = /^error\[private-type-ref\]: .* references private type '([^']+)'/.exec(line);
    return match !== null && FOREIGN_TYPES.has(match[1]);
  });
}

function gate(name, args, tolerate = () => false) {
  return {
    name,
    run: async () => {
      console.log(`\n=== ${name}`);
      const { code, output, timedOut } = typeof args === "function"
        ? await args()
        : await run(bin("deno"), args, { echo: true, timeoutMs: GATE_TIMEOUT_MS });
      if (timedOut || (code !== 0 && !tolerate(output))) throw new Error(`${name} failed (exit ${code})`);
    },
  };
}

/** The gates, one check each, as one summary row. */
export function check() {
  const exports = Object.values(entryPoints());
  const published = withTypeScript(denoJson().publish?.include ?? exports);
  return runChecks("check", [
    gate("deno fmt --check", ["fmt", "--check"]),
    gate("deno lint", ["lint"]),
    gate("deno check", ["check", ...withTypeScript([...exports, "tests", "examples"])]),
    gate("deno doc --lint", ["doc", "--lint", ...exports], onlyKnownForeignTypeRefs),
    gate("deno test --doc", () => docTest(published, { echo: true })),
    // --allow-dirty: CI runs on a clean clone, but developers run this before committing.
    gate("deno publish --dry-run", ["publish", "--dry-run", "--allow-dirty"]),
    // The type tests again under tsc, as a consumer's strict project checks them (deno check has its own).
    gate("tsc: type tests", () => run(bin("tsc"), ["-p", "tests/types/tsconfig.json"], { echo: true })),
    gate("inspector assets up to date", async () => {
      try {
        const output = await checkInspectorAssets();
        console.log(output);
        return { code: 0, output, timedOut: false };
      } catch (error) {
        console.error(error.message);
        return { code: 1, output: error.message, timedOut: false };
      }
    }),
    gate("no import cycles", () => {
      const cycles = findImportCycles();
      const output = cycles.map((cycle) => `import cycle: ${cycle.join(" <-> ")}`).join("\n");
      console.log(output || "no import cycles");
      return Promise.resolve({ code: cycles.length === 0 ? 0 : 1, output, timedOut: false });
    }),
  ], { timeoutMs: GATE_TIMEOUT_MS + 10_000 });
}
