// The npm package as a user gets it: build `npm/`, `npm pack` it, install the tarball into a scratch project
// in a temp dir (with its `devalue` dependency, no peers), then
//   - plain `node` (no loader) and `bun` import every export (an entry may only lack an optional peer) and
//     run a checkpointed workflow that pauses, then resume it on a fresh instance (npm_consumer/*.mjs);
//   - the repo's tsc type-checks a consumer (npm_consumer/typecheck.ts) with `moduleResolution` NodeNext and
//     Bundler, `skipLibCheck: false`, so the shipped declarations are checked too.
// Each check is one test; a check whose prerequisite failed counts as failed. Temp dirs are removed.
//
// Usage: an extra suite of scripts/test.mjs (`run(ctx)` → { passed, failed }), or alone:
//   node scripts/suites/npm_package.mjs
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, "npm_consumer");
const STEP_TIMEOUT_MS = 3 * 60_000;
const MAX_CAPTURE = 1024 * 1024;

export const name = "npm-package";

/**
 * Runs a command to completion (killing its process group after `timeoutMs`); never rejects.
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function exec(cmd, args, { cwd, env = process.env, timeoutMs = STEP_TIMEOUT_MS }) {
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(cmd, args, {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    const capture = (chunk) => {
      output += chunk;
      if (output.length > MAX_CAPTURE) output = output.slice(-MAX_CAPTURE / 2);
    };
    child.stdout.setEncoding("utf8").on("data", capture);
    child.stderr.setEncoding("utf8").on("data", capture);
    const timer = setTimeout(() => {
      output += `\n[npm_package] ${cmd} ${args.join(" ")} exceeded ${timeoutMs / 1000}s; killed`;
      try {
        if (process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, output: `${output}\n${error.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function bin(root, tool) {
  const local = join(root, "node_modules", ".bin", process.platform === "win32" ? `${tool}.cmd` : tool);
  return existsSync(local) ? local : tool;
}

/** The environment of a plain consumer: no loader (`--import tsx`) inherited through NODE_OPTIONS. */
function plainEnv() {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

async function ok(cmd, args, options) {
  const run = await exec(cmd, args, options);
  if (run.code !== 0) {
    throw new Error(`${[cmd, ...args].join(" ")} exited ${run.code}:\n${run.output.trim()}`);
  }
  return run.output;
}

function consumerTsconfig(root, resolution) {
  const nodeNext = resolution === "NodeNext";
  return {
    compilerOptions: {
      target: "ES2022",
      module: nodeNext ? "NodeNext" : "Preserve",
      moduleResolution: resolution,
      // A Node project sees Node's globals; a bundled (browser/worker) project sees the DOM's.
      lib: nodeNext ? ["ES2022"] : ["ES2022", "DOM", "DOM.Iterable"],
      types: nodeNext ? ["node"] : [],
      ...(nodeNext ? { typeRoots: [join(root, "node_modules", "@types")] } : {}),
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    files: ["typecheck.ts"],
  };
}

/** @param {{ root?: string }} [ctx] */
export async function run(ctx = {}) {
  const root = ctx.root ?? join(HERE, "..", "..");
  const env = plainEnv();
  const work = mkdtempSync(join(tmpdir(), "superstep-npm-"));
  const project = join(work, "consumer");
  /** @type {{ name: string, ok: boolean, detail: string }[]} */
  const results = [];
  const state = { built: false, packed: "", installed: false };

  async function check(name, needs, body) {
    const started = Date.now();
    let result;
    if (!needs) result = { name, ok: false, detail: "skipped: a prerequisite failed" };
    else {
      try {
        result = { name, ok: true, detail: (await body()) ?? "" };
      } catch (error) {
        result = { name, ok: false, detail: String(error?.message ?? error) };
      }
    }
    results.push(result);
    const time = `${((Date.now() - started) / 1000).toFixed(1)}s`;
    console.log(
      `${result.ok ? "ok  " : "FAIL"}  ${name} (${time})${result.detail ? `\n      ${result.detail}` : ""}`,
    );
  }

  try {
    await check("npm run build:npm builds npm/", true, async () => {
      const out = await ok("npm", ["run", "--silent", "build:npm"], { cwd: root, env });
      state.built = true;
      return out.trim().split("\n")[0];
    });

    await check(
      "npm pack ships every export's .js and .d.ts, README and LICENSE, no tests",
      state.built,
      async () => {
        const out = await ok("npm", ["pack", "--json", "--pack-destination", work], {
          cwd: join(root, "npm"),
          env,
        });
        const [info] = JSON.parse(out.slice(out.indexOf("[")));
        const files = new Set(info.files.map((file) => file.path));
        const manifest = JSON.parse(readFileSync(join(root, "npm", "package.json"), "utf8"));
        const wanted = ["package.json", "README.md", "LICENSE"];
        for (const target of Object.values(manifest.exports)) {
          if (typeof target === "string") continue;
          wanted.push(target.import.slice(2), target.types.slice(2));
        }
        const missing = wanted.filter((path) => !files.has(path));
        const stray = [...files].filter((path) => /(^|\/)(tests|examples|scripts)\/|_test\.|\.ts$/.test(path))
          .filter((path) => !path.endsWith(".d.ts"));
        if (missing.length) throw new Error(`the tarball lacks ${missing.join(", ")}`);
        if (stray.length) throw new Error(`the tarball ships ${stray.join(", ")}`);
        state.packed = join(work, info.filename);
        return `${info.filename}: ${info.entryCount} files, ${(info.size / 1024).toFixed(1)} KiB packed`;
      },
    );

    await check("npm install of the tarball into a scratch project", state.packed !== "", async () => {
      rmSync(project, { recursive: true, force: true });
      mkdirSync(project, { recursive: true });
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "superstep-consumer", private: true, type: "module" }, null, 2),
      );
      // --prefer-offline: devalue comes from the npm cache that `npm ci` filled; the registry only if missing.
      const args = [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        state.packed,
      ];
      await ok("npm", args, { cwd: project, env });
      for (const file of ["workflow.mjs", "exports.mjs", "typecheck.ts"]) {
        copyFileSync(join(FIXTURES, file), join(project, file));
      }
      if (!existsSync(join(project, "node_modules", "devalue", "package.json"))) {
        throw new Error("devalue was not installed with the package");
      }
      state.installed = true;
    });

    const runtimes = [["node", process.execPath], ["bun", bin(root, "bun")]];
    for (const [runtime, cmd] of runtimes) {
      await check(
        `${runtime} imports every export (lacking only optional peers)`,
        state.installed,
        async () => {
          const out = await ok(cmd, ["exports.mjs"], { cwd: project, env });
          const lines = out.trim().split("\n");
          return `${lines.filter((l) => l.startsWith("ok")).length} imported, ${
            lines.filter((l) => l.startsWith("peer")).length
          } need a peer`;
        },
      );
      await check(
        `${runtime} runs a checkpointed workflow and resumes it on a fresh instance`,
        state.installed,
        async () => {
          const out = await ok(cmd, ["workflow.mjs"], { cwd: project, env });
          return out.trim().split("\n").at(-1);
        },
      );
    }

    for (const resolution of ["NodeNext", "Bundler"]) {
      await check(
        `tsc type-checks a consumer with moduleResolution ${resolution}`,
        state.installed,
        async () => {
          const config = `tsconfig.${resolution.toLowerCase()}.json`;
          writeFileSync(join(project, config), JSON.stringify(consumerTsconfig(root, resolution), null, 2));
          await ok(bin(root, "tsc"), ["-p", config, "--pretty", "false"], { cwd: project, env });
        },
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`npm-package: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { failed } = await run();
  process.exitCode = failed ? 1 : 0;
}
