// `npm run test:npm`: the npm package as a user gets it, each step one check (a step whose prerequisite
// failed fails too). npm: package: `npm run build:npm`; `npm pack`; the tarball installed into a scratch
// project (with `devalue`, no peers); plain `node` and `bun` import every export and run a workflow that
// pauses, then resume it on a fresh instance (npm_consumer/*.mjs); tsc type-checks npm_consumer/typecheck.ts
// with `moduleResolution` NodeNext and Bundler. npm: audit: scripts/npm_audit.mjs. npm: size budget: size.mjs.
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { auditChecks } from "./npm_audit.mjs";
import { bin, ROOT, run, runChecks } from "./_shared.mjs";
import { sizeChecks } from "./size.mjs";

/** Runs a command as a plain consumer would (no `--import tsx` in NODE_OPTIONS); throws unless it exits 0. */
async function ok(cmd, args, cwd = ROOT) {
  const env = { ...process.env, NODE_OPTIONS: "" };
  const { code, output } = await run(cmd, args, { cwd, env, timeoutMs: 3 * 60_000 });
  if (code !== 0) throw new Error(`${[cmd, ...args].join(" ")} exited ${code}:\n${output.trim()}`);
  return output.trim();
}

const after = (done, body) => () => {
  if (!done()) throw new Error("skipped: a prerequisite failed");
  return body();
};

function packageChecks(work, state) {
  const installed = () => state.installed;
  const shipped = ({ import: js, types }) => [js.slice(2), types.slice(2)];
  return [
    {
      name: "npm run build:npm builds npm/",
      run: async () => {
        const out = await ok("npm", ["run", "--silent", "build:npm"]);
        state.built = true;
        return out.split("\n")[0];
      },
    },
    {
      name: "npm pack ships every export's .js and .d.ts, README and LICENSE, no tests",
      run: after(() => state.built, async () => {
        const out = await ok("npm", ["pack", "--json", "--pack-destination", work], join(ROOT, "npm"));
        const [{ files, filename, entryCount, size }] = JSON.parse(out.slice(out.indexOf("[")));
        const paths = new Set(files.map((file) => file.path));
        const { exports } = JSON.parse(readFileSync(join(ROOT, "npm", "package.json"), "utf8"));
        const targets = Object.values(exports).filter((target) => typeof target !== "string");
        const missing = ["package.json", "README.md", "LICENSE", ...targets.flatMap(shipped)]
          .filter((path) => !paths.has(path));
        const stray = [...paths].filter((p) =>
          /(^|\/)(tests|examples|scripts)\/|_test\.|(?<!\.d)\.ts$/.test(p)
        );
        if (missing.length) throw new Error(`the tarball lacks ${missing.join(", ")}`);
        if (stray.length) throw new Error(`the tarball ships ${stray.join(", ")}`);
        state.tarball = join(work, filename);
        return `${filename}: ${entryCount} files, ${(size / 1024).toFixed(1)} KiB packed`;
      }),
    },
    {
      name: "npm install of the tarball into a scratch project",
      run: after(() => state.tarball, async () => {
        const fixtures = join(ROOT, "scripts", "npm_consumer");
        for (const file of readdirSync(fixtures)) copyFileSync(join(fixtures, file), join(work, file));
        writeFileSync(join(work, "package.json"), '{ "name": "superstep-consumer", "type": "module" }');
        // --prefer-offline: devalue comes from the npm cache `npm ci` filled; the registry only if missing.
        const flags = ["--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock"];
        await ok("npm", ["install", ...flags, state.tarball], work);
        if (!existsSync(join(work, "node_modules", "devalue"))) throw new Error("devalue was not installed");
        state.installed = true;
      }),
    },
    ...[["node", process.execPath], ["bun", bin("bun")]].flatMap(([runtime, cmd]) => [{
      name: `${runtime} imports every export (lacking only optional peers)`,
      run: after(installed, async () => {
        const lines = (await ok(cmd, ["exports.mjs"], work)).split("\n");
        const count = (prefix) => lines.filter((line) => line.startsWith(prefix)).length;
        return `${count("ok")} imported, ${count("peer")} need a peer`;
      }),
    }, {
      name: `${runtime} runs a checkpointed workflow and resumes it on a fresh instance`,
      run: after(installed, async () => (await ok(cmd, ["workflow.mjs"], work)).split("\n").at(-1)),
    }]),
    ...["NodeNext", "Bundler"].map((resolution) => ({
      name: `tsc type-checks a consumer with moduleResolution ${resolution}`,
      run: after(installed, async () => {
        const config = `tsconfig.${resolution.toLowerCase()}.json`;
        const typeRoots = join(ROOT, "node_modules", "@types");
        await ok(bin("tsc"), ["-p", config, "--pretty", "false", "--typeRoots", typeRoots], work);
      }),
    })),
  ];
}

/** The package's checks, its audit and the size budgets: three summary rows. */
export async function npmPackage() {
  const work = mkdtempSync(join(tmpdir(), "superstep-npm-"));
  const state = { built: false, tarball: "", installed: false };
  try {
    console.log("\n=== npm: package");
    const rows = [await runChecks("npm: package", packageChecks(work, state))];
    console.log("\n=== npm: audit");
    const audit = auditChecks().map((check) => ({ ...check, run: after(() => state.built, check.run) }));
    rows.push(await runChecks("npm: audit", audit));
    console.log("\n=== npm: size budget");
    return [...rows, await runChecks("npm: size budget", sizeChecks())];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
