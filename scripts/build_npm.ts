/**
 * Builds the npm package `superstep` into `npm/` (the dnt replacement: JSR cannot be reached, and tsc is
 * all an ESM-only package needs).
 *
 * 1. tsc (the repo's, TypeScript 7) compiles every file reachable from a `deno.json` export to ESM
 *    JavaScript + `.d.ts` under `npm/esm/`, with `rewriteRelativeImportExtensions` turning `./x.ts`
 *    into `./x.js`. The tsconfig is generated in a temp dir, so the repo has none for editors to trip on.
 * 2. Declarations get the same rewrite (tsc 7 leaves `.ts` specifiers in `.d.ts` files, which TypeScript
 *    before 5.x-with-`allowImportingTsExtensions` and other tools reject), and doc examples name the npm
 *    package (`superstep/memory`) instead of the JSR one.
 * 3. esbuild reads the compiled graph of each export: every bare import must be a runtime dependency
 *    (`package.json` "dependencies") or one of the known optional peers (`OPTIONAL_PEERS`; ranges from
 *    `package.json`); anything else fails the build. The core export must not touch `Deno`, `Bun`, `process`, `Buffer`, `require` or a
 *    `node:` module (adapters may, behind runtime checks).
 * 4. `npm/package.json` is generated from `deno.json` (version, license, exports) and `package.json`
 *    (dependency ranges); README.md and LICENSE are copied.
 *
 * Usage: `npm run build:npm` (= `tsx scripts/build_npm.ts`) or `deno run -A scripts/build_npm.ts`.
 * Prints a summary; exits 1 on any failure.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "npm");
const ESM = join(OUT, "esm");
const NPM_NAME = "superstep";
const JSR_NAME = "@superstep/superstep";
const NODE_ENGINE = ">=20";

/**
 * The packages an export may import besides the runtime dependencies: each becomes an optional peer when
 * an export imports it. A new one is a deliberate choice (list it in README's Dependencies table too).
 */
const OPTIONAL_PEERS = new Set(["hono", "@libsql/client", "@deno/kv", "@opentelemetry/api"]);

/**
 * Peers that an export needs although it never imports them: the KV adapter takes an injected handle,
 * which on Node and Bun comes from `@deno/kv`'s `openKv` (its docs say so).
 */
const COMPANION_PEERS: Record<string, string[]> = { "./kv": ["@deno/kv"] };

/** Globals the core must not touch; esbuild's `define` swaps each for a marker we then look for. */
const CORE_FORBIDDEN_GLOBALS = ["Deno", "Bun", "process", "Buffer", "require", "__dirname", "__filename"];

interface DenoJson {
  name?: string;
  version?: string;
  license?: string;
  description?: string;
  exports?: string | Record<string, string>;
  imports?: Record<string, string>;
}

interface PackageJson {
  description?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

class BuildError extends Error {
  override name = "BuildError";
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;
const toPosix = (path: string) => path.split(sep).join("/");

/** `"./adapters/memory.ts"` → `"./esm/adapters/memory.js"` (and `.d.ts`). */
function compiledPaths(source: string): { js: string; dts: string } {
  const rel = source.replace(/^\.\//, "");
  const match = /^(.*)\.(ts|mts|tsx)$/.exec(rel);
  if (!match || match[1].endsWith(".d")) {
    throw new BuildError(`Cannot build export: expected a .ts source file, got "${source}"`);
  }
  const [, base, ext] = match;
  return ext === "mts"
    ? { js: `./esm/${base}.mjs`, dts: `./esm/${base}.d.mts` }
    : { js: `./esm/${base}.js`, dts: `./esm/${base}.d.ts` };
}

/** The package name of a bare specifier (`hono/streaming` → `hono`), or undefined for relative/builtin. */
function packageOf(specifier: string): string | undefined {
  if (/^(\.|\/|node:|[a-z][a-z0-9+.-]*:\/\/)/i.test(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

function bin(name: string): string {
  const local = join(ROOT, "node_modules", ".bin", process.platform === "win32" ? `${name}.cmd` : name);
  if (!existsSync(local)) throw new BuildError(`Cannot find ${name}: run npm ci first (looked for ${local})`);
  return local;
}

function compile(entries: string[]): void {
  const work = mkdtempSync(join(tmpdir(), "superstep-build-"));
  try {
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        // Only the adapters' conformance suite (`./testing`) needs node types (node:test, node:assert).
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
        strict: true,
        declaration: true,
        rewriteRelativeImportExtensions: true,
        verbatimModuleSyntax: false,
        skipLibCheck: true,
        noEmitOnError: true,
        newLine: "lf",
        rootDir: ROOT,
        outDir: ESM,
      },
      files: entries.map((entry) => join(ROOT, entry)),
    };
    const configPath = join(work, "tsconfig.json");
    writeFileSync(configPath, JSON.stringify(tsconfig, null, 2));
    const run = spawnSync(bin("tsc"), ["-p", configPath, "--pretty", "false"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 5 * 60_000,
    });
    if (run.error) throw new BuildError(`Cannot run tsc: ${run.error.message}`);
    if (run.status !== 0) {
      throw new BuildError(`tsc failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const RELATIVE_TS_SPECIFIER = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.(ts|mts|tsx)(["'])/g;

/** Rewrites `.d.ts` specifiers and the JSR name in docs and messages; returns the files written. */
function postProcess(): string[] {
  const files = walk(ESM);
  for (const file of files) {
    if (!/\.(m?js|d\.m?ts)$/.test(file)) continue;
    const text = readFileSync(file, "utf8");
    let next = text.replace(new RegExp(`${JSR_NAME.replace("/", "\\/")}(?![\\w-])`, "g"), NPM_NAME);
    if (/\.d\.m?ts$/.test(file)) {
      next = next.replace(
        RELATIVE_TS_SPECIFIER,
        (_, head, path, ext, quote) => `${head}${path}.${ext === "mts" ? "mjs" : "js"}${quote}`,
      );
    }
    if (next !== text) writeFileSync(file, next);
  }
  const stray = files
    .map((file) => toPosix(relative(ESM, file)))
    .filter((path) => /^(tests|examples|scripts|node_modules)\//.test(path) || path.startsWith("../"));
  if (stray.length) {
    throw new BuildError(`An export reaches files that must not ship: ${stray.join(", ")}`);
  }
  return files;
}

/** Bare specifiers of `import`/`export … from` and `import("…")` in a `.d.ts`, comments stripped. */
function declarationImports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)];
  return found.map((m) => m[1]);
}

interface ExportGraph {
  /** Packages imported by the export's JavaScript (static or dynamic imports). */
  runtime: Set<string>;
  /** Packages named only by its declarations. */
  types: Set<string>;
  /** `node:` modules its JavaScript imports. */
  builtins: Set<string>;
  /** Markers of forbidden globals found in its bundle (only computed for the core). */
  leaks: string[];
}

async function analyse(key: string, js: string, dts: string, checkGlobals: boolean): Promise<ExportGraph> {
  const graph: ExportGraph = { runtime: new Set(), types: new Set(), builtins: new Set(), leaks: [] };
  const define = Object.fromEntries(
    (checkGlobals ? CORE_FORBIDDEN_GLOBALS : []).flatMap((name) => [
      [name, `__superstep_forbidden_${name}`],
      [`globalThis.${name}`, `__superstep_forbidden_${name}`],
    ]),
  );
  const result = await esbuild.build({
    entryPoints: [join(OUT, js)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    logLevel: "silent",
    // Everything the package ships counts, not only what a bundler would keep.
    treeShaking: false,
    define,
    plugins: [{
      name: "collect-bare-imports",
      setup(build) {
        build.onResolve({ filter: /^[^./]/ }, ({ path }) => {
          if (path.startsWith("node:")) graph.builtins.add(path);
          else {
            const name = packageOf(path);
            if (name) graph.runtime.add(name);
          }
          return { path, external: true };
        });
      },
    }],
  });
  if (checkGlobals) {
    const code = result.outputFiles.map((file) => file.text).join("\n");
    graph.leaks = [...new Set(code.match(/__superstep_forbidden_\w+/g) ?? [])]
      .map((marker) => marker.replace("__superstep_forbidden_", ""));
  }
  // The declarations of every file the export reaches (the same tree, next to each .js).
  const reached = new Set<string>();
  const pending = [join(OUT, dts)];
  while (pending.length) {
    const file = pending.pop()!;
    if (reached.has(file) || !existsSync(file)) continue;
    reached.add(file);
    for (const specifier of declarationImports(readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) {
        pending.push(join(dirname(file), specifier.replace(/\.(m?)js$/, ".d.$1ts")));
      } else {
        const name = packageOf(specifier);
        if (name && !graph.runtime.has(name)) graph.types.add(name);
      }
    }
  }
  if (!existsSync(join(OUT, dts))) throw new BuildError(`Export "${key}" has no declarations at ${dts}`);
  return graph;
}

/** The version range of a package: package.json first (the one dependency source), then deno.json imports. */
function rangeOf(name: string, pkg: PackageJson, deno: DenoJson): string {
  const fromPackage = pkg.dependencies?.[name] ?? pkg.peerDependencies?.[name] ?? pkg.devDependencies?.[name];
  if (fromPackage) return fromPackage;
  const mapped = deno.imports?.[name];
  const match = mapped && /^npm:(?:@[^/@]+\/)?[^@]+@(.+)$/.exec(mapped);
  if (match) return match[1];
  throw new BuildError(`Cannot find a version range for "${name}" in package.json or deno.json imports`);
}

/** The README's first paragraph after the title: the one-line description. */
function readmeSummary(): string | undefined {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  return readme.split(/\n\s*\n/).map((p) => p.trim()).find((p) => p && !p.startsWith("#"))?.replace(
    /\s+/g,
    " ",
  );
}

const sorted = (record: Record<string, string>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

/** Builds `npm/`; returns the generated package.json. */
export async function buildNpm(): Promise<Record<string, unknown>> {
  const deno = readJson<DenoJson>(join(ROOT, "deno.json"));
  const pkg = readJson<PackageJson>(join(ROOT, "package.json"));
  if (!deno.version) throw new BuildError("deno.json has no version");
  const jsrExports = typeof deno.exports === "string" ? { ".": deno.exports } : deno.exports ?? {};
  if (!jsrExports["."]) throw new BuildError('deno.json "exports" has no "." entry');

  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  compile(Object.values(jsrExports));
  const files = postProcess();

  const exportsMap: Record<string, { types: string; import: string } | string> = {};
  const dependencies: Record<string, string> = {};
  const peers: Record<string, string> = {};
  const peersBy: Record<string, string[]> = {};
  const problems: string[] = [];
  for (const [key, source] of Object.entries(jsrExports)) {
    const { js, dts } = compiledPaths(source);
    if (!existsSync(join(OUT, js))) problems.push(`export "${key}": tsc wrote no ${js}`);
    exportsMap[key] = { types: dts, import: js };
    const graph = await analyse(key, js, dts, key === ".");
    if (key === ".") {
      if (graph.leaks.length) problems.push(`the core (".") uses runtime globals: ${graph.leaks.join(", ")}`);
      if (graph.builtins.size) problems.push(`the core (".") imports ${[...graph.builtins].join(", ")}`);
    }
    const needed = [...graph.runtime, ...graph.types, ...(COMPANION_PEERS[key] ?? [])];
    for (const name of new Set(needed)) {
      if (pkg.dependencies?.[name]) dependencies[name] = rangeOf(name, pkg, deno);
      else if (OPTIONAL_PEERS.has(name)) {
        peers[name] = rangeOf(name, pkg, deno);
        (peersBy[name] ??= []).push(key);
      } else {
        problems.push(
          `export "${key}" imports "${name}", which is neither in package.json "dependencies" nor an optional ` +
            `peer (OPTIONAL_PEERS in scripts/build_npm.ts)`,
        );
      }
    }
  }
  if (problems.length) throw new BuildError(`The package is not shippable:\n  ${problems.join("\n  ")}`);
  exportsMap["./package.json"] = "./package.json";

  const root = exportsMap["."] as { types: string; import: string };
  const manifest: Record<string, unknown> = {
    name: NPM_NAME,
    version: deno.version,
    description: deno.description ?? readmeSummary() ?? pkg.description,
    license: deno.license,
    type: "module",
    main: root.import,
    types: root.types,
    exports: exportsMap,
    files: ["esm/", "README.md", "LICENSE"],
    sideEffects: false,
    engines: { node: NODE_ENGINE },
    dependencies: sorted(dependencies),
    ...(Object.keys(peers).length
      ? {
        peerDependencies: sorted(peers),
        peerDependenciesMeta: Object.fromEntries(
          Object.keys(sorted(peers)).map((n) => [n, { optional: true }]),
        ),
      }
      : {}),
    keywords: ["workflow", "checkpoint", "durable", "superstep", "deno", "bun", "cloudflare-workers", "hono"],
  };
  writeFileSync(join(OUT, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of ["README.md", "LICENSE"]) copyFileSync(join(ROOT, file), join(OUT, file));

  const js = files.filter((f) => /\.m?js$/.test(f)).length;
  const dts = files.filter((f) => /\.d\.m?ts$/.test(f)).length;
  console.log(`npm/: ${NPM_NAME}@${deno.version}, ${js} .js + ${dts} .d.ts files`);
  for (const [key, target] of Object.entries(exportsMap)) {
    console.log(`  ${key.padEnd(16)} ${typeof target === "string" ? target : target.import}`);
  }
  console.log(
    `  dependencies: ${Object.entries(dependencies).map(([n, r]) => `${n}@${r}`).join(", ") || "none"}`,
  );
  for (const [name, keys] of Object.entries(peersBy)) {
    console.log(`  optional peer: ${name}@${peers[name]} (for ${keys.join(", ")})`);
  }
  return manifest;
}

const isMain = (import.meta as { main?: boolean }).main ??
  (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href);
if (isMain) {
  try {
    await buildNpm();
  } catch (error) {
    console.error(error instanceof BuildError ? `build_npm: ${error.message}` : error);
    process.exit(1);
  }
}
