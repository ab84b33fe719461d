// The audit of the built npm package (npm/, from `npm run build:npm`): two checks of `npm run test:npm`.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./_shared.mjs";

const OUT = join(ROOT, "npm");
const FORBIDDEN_GLOBALS = ["Deno", "Bun", "process", "Buffer", "require", "__dirname", "__filename"];

/** The package of a bare specifier (`hono/streaming` → `hono`); undefined for relative paths and builtins. */
function packageOf(specifier) {
  if (/^(\.|\/|node:)/.test(specifier)) return undefined;
  return specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
}

/** What an export's JavaScript imports (`import`, `import()`), and the forbidden globals it touches. */
async function analyseJs(js) {
  const { build } = await import("esbuild");
  // esbuild's `define` swaps each global for a marker, then looked for in the bundle.
  const marker = (name) => [[name, `__forbidden_${name}`], [`globalThis.${name}`, `__forbidden_${name}`]];
  const result = await build({
    entryPoints: [join(OUT, js)],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    packages: "external",
    // Everything the package ships counts, not only what a bundler would keep.
    treeShaking: false,
    define: Object.fromEntries(FORBIDDEN_GLOBALS.flatMap(marker)),
    logLevel: "silent",
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) =>
    output.imports.map((i) => i.path)
  );
  const globals = new Set(result.outputFiles[0].text.match(/__forbidden_\w+/g)?.map((m) => m.slice(12)));
  return { imports, globals: [...globals] };
}

/** The packages named by the declarations an export reaches (`from "…"`, `import("…")`, `import "…"`). */
function declarationPackages(dts) {
  const packages = new Set();
  const pending = [join(OUT, dts)];
  for (const reached = new Set(); pending.length;) {
    const file = pending.pop();
    if (reached.has(file) || !existsSync(file)) continue;
    reached.add(file);
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (
      const [, specifier] of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)
    ) {
      if (!specifier.startsWith(".")) packages.add(packageOf(specifier));
      else pending.push(join(dirname(file), specifier.replace(/\.(m?)js$/, ".d.$1ts")));
    }
  }
  return packages;
}

/** The audit's checks: each throws naming every problem it found. */
export function auditChecks() {
  const manifest = () => JSON.parse(readFileSync(join(OUT, "package.json"), "utf8"));
  return [{
    name: 'npm audit: the core (".") touches no runtime global and no node: module',
    run: async () => {
      const { imports, globals } = await analyseJs(manifest().exports["."].import);
      const used = [...globals, ...imports.filter((path) => path.startsWith("node:"))];
      if (used.length) throw new Error(`the core uses ${used.join(", ")}`);
    },
  }, {
    name: 'npm audit: the inspector ("./inspector") touches no runtime global and no node: module (workerd)',
    run: async () => {
      const { imports, globals } = await analyseJs(manifest().exports["./inspector"].import);
      const used = [...globals, ...imports.filter((path) => path.startsWith("node:"))];
      if (used.length) throw new Error(`the inspector uses ${used.join(", ")}`);
    },
  }, {
    name: "npm audit: every export imports only the package's dependencies and peers",
    run: async () => {
      const { exports, dependencies = {}, peerDependencies = {} } = manifest();
      const problems = [];
      const targets = Object.entries(exports).filter(([, target]) => typeof target !== "string");
      for (const [key, { import: js, types }] of targets) {
        const used = new Set([
          ...(await analyseJs(js)).imports.map(packageOf),
          ...declarationPackages(types),
        ]);
        for (
          const name of [...used].filter((name) => name && !dependencies[name] && !peerDependencies[name])
        ) {
          problems.push(`export "${key}" imports "${name}", not in "dependencies" or "peerDependencies"`);
        }
      }
      if (problems.length) throw new Error(problems.join("\n"));
      return `${targets.length} exports`;
    },
  }];
}
