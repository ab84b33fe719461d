// Builds the npm package `superstep` into `npm/` (the dnt replacement: JSR cannot be reached, and tsc is
// all an ESM-only package needs).
//
// 1. tsc (the repo's, TypeScript 7) compiles every file reachable from a deno.json export to ESM JavaScript
//    + `.d.ts` under `npm/esm/`, `rewriteRelativeImportExtensions` turning `./x.ts` into `./x.js`.
// 2. Declarations get the same rewrite (tsc 7 leaves `.ts` specifiers in `.d.ts` files, which TypeScript
//    before 5.x-with-`allowImportingTsExtensions` and other tools reject), and doc examples name the npm
//    package (`superstep/memory`) instead of the JSR one.
// 3. `npm/package.json` comes from deno.json (version, license, exports) and package.json (dependency
//    ranges, the optional peers of OPTIONAL_PEERS); README.md and LICENSE are copied.
// What the built exports import and touch is audited by scripts/npm_audit.mjs (`npm run test:npm`).
//
// Usage: `npm run build:npm` (= `node scripts/build_npm.mjs`). Prints a summary; exits 1 on any failure.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { bin, denoJson, entryPoints, isMain, ROOT, run, walk } from "./_shared.mjs";

const OUT = join(ROOT, "npm");
const JSR_NAME = /@superstep\/superstep(?![\w-])/g;

/**
 * The packages an export may import besides the runtime dependencies (package.json "dependencies"), each an
 * optional peer: hono (./hono, ./inspector), @libsql/client (./libsql), @deno/kv (./kv takes an injected handle, which on
 * Node and Bun comes from its `openKv`), postgres (./postgres creates a Postgres.js pool from a URL; a PGlite
 * database is only ever injected, never imported), @opentelemetry/api (./otel). A new one is a deliberate
 * choice (list it in README's Dependencies table too); scripts/npm_audit.mjs fails on an import of anything
 * else.
 */
const OPTIONAL_PEERS = ["hono", "@libsql/client", "@deno/kv", "postgres", "@opentelemetry/api"];

// Only the conformance suite (`./testing`) needs node types (node:test, node:assert).
const TSC_OPTIONS =
  "--target ES2022 --module NodeNext --moduleResolution NodeNext --lib ES2022,DOM,DOM.Iterable " +
  "--types node --strict --declaration --rewriteRelativeImportExtensions --skipLibCheck --noEmitOnError " +
  "--newLine lf --pretty false";

/** `"adapters/kv/mod.ts"` → `"./esm/adapters/kv/mod.js"` and `.d.ts` (`.mts` → `.mjs`, `.d.mts`). */
function compiledPaths(source) {
  const [, base, m] = /^(.*)\.(m?)tsx?$/.exec(source) ?? [];
  if (!base || base.endsWith(".d")) throw new Error(`export "${source}" is not a .ts source file`);
  return { types: `./esm/${base}.d.${m}ts`, import: `./esm/${base}.${m}js` };
}

/** The version range of a package: package.json first (the one dependency source), then deno.json imports. */
function rangeOf(name, pkg, deno) {
  const range = pkg.dependencies?.[name] ?? pkg.devDependencies?.[name] ??
    /^npm:(?:@[^/@]+\/)?[^@]+@(.+)$/.exec(deno.imports?.[name] ?? "")?.[1];
  if (!range) throw new Error(`no version range for "${name}" in package.json or deno.json imports`);
  return range;
}

const sorted = (names, value) => Object.fromEntries(names.toSorted().map((name) => [name, value(name)]));

/** Builds `npm/`; returns the generated package.json. */
export async function buildNpm() {
  const deno = denoJson();
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const sources = entryPoints();
  if (!deno.version || !sources["."]) throw new Error('deno.json needs a "version" and a "." export');
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT);
  const typeRoots = join(ROOT, "node_modules", "@types");
  const options = [
    ...TSC_OPTIONS.split(" "),
    "--typeRoots",
    typeRoots,
    "--rootDir",
    ROOT,
    "--outDir",
    "npm/esm",
  ];
  const tsc = await run(bin("tsc"), [...options, ...Object.values(sources)], { timeoutMs: 5 * 60_000 });
  if (tsc.code !== 0) {
    throw new Error(`tsc failed (${tsc.error?.message ?? `exit ${tsc.code}`}):\n${tsc.output}`);
  }

  const files = walk("npm/esm");
  const stray = files.filter((path) => /^npm\/esm\/(tests|examples|scripts|node_modules)\//.test(path));
  if (stray.length) throw new Error(`an export reaches files that must not ship: ${stray.join(", ")}`);
  for (const file of files.map((path) => join(ROOT, path))) {
    const text = readFileSync(file, "utf8");
    let next = text.replace(JSR_NAME, "superstep");
    if (/\.d\.m?ts$/.test(file)) {
      next = next.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.(m?)tsx?(["'])/g, "$1$2.$3js$4");
    }
    if (next !== text) writeFileSync(file, next);
  }

  const exports = Object.fromEntries(
    Object.entries(sources).map(([key, source]) => [key, compiledPaths(source)]),
  );
  const missing = Object.values(exports).flatMap(Object.values).filter((path) =>
    !existsSync(join(OUT, path))
  );
  if (missing.length) throw new Error(`tsc wrote no ${missing.join(", ")}`);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const summary = readme.split(/\n\s*\n/).map((p) => p.trim()).find((p) => p && !p.startsWith("#"));
  const manifest = {
    name: "superstep",
    version: deno.version,
    description: deno.description ?? summary?.replace(/\s+/g, " ") ?? pkg.description,
    license: deno.license,
    type: "module",
    main: exports["."].import,
    types: exports["."].types,
    exports: { ...exports, "./package.json": "./package.json" },
    files: ["esm/", "README.md", "LICENSE"],
    sideEffects: false,
    engines: { node: ">=20" },
    dependencies: sorted(Object.keys(pkg.dependencies ?? {}), (name) => rangeOf(name, pkg, deno)),
    peerDependencies: sorted(OPTIONAL_PEERS, (name) => rangeOf(name, pkg, deno)),
    peerDependenciesMeta: sorted(OPTIONAL_PEERS, () => ({ optional: true })),
    keywords: ["workflow", "checkpoint", "durable", "superstep", "deno", "bun", "cloudflare-workers", "hono"],
  };
  writeFileSync(join(OUT, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of ["README.md", "LICENSE"]) copyFileSync(join(ROOT, file), join(OUT, file));

  const count = (re) => files.filter((file) => re.test(file)).length;
  const ranges = (record) => Object.entries(record).map(([name, range]) => `${name}@${range}`).join(", ");
  console.log(
    `npm/: superstep@${deno.version}, ${count(/\.m?js$/)} .js + ${count(/\.d\.m?ts$/)} .d.ts files`,
  );
  for (const [key, target] of Object.entries(exports)) console.log(`  ${key.padEnd(16)} ${target.import}`);
  console.log(`  dependencies: ${ranges(manifest.dependencies) || "none"}`);
  console.log(`  optional peers: ${ranges(manifest.peerDependencies)}`);
  return manifest;
}

if (isMain(import.meta.url)) {
  await buildNpm().catch((error) => {
    console.error(`build_npm: ${error.message}`);
    process.exit(1);
  });
}
