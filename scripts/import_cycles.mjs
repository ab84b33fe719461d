// The import-cycle gate: finds every cycle among the project's own modules (relative imports, type-only
// ones included: a type-only cycle still shows two modules that each need the other).
//
// Usage: node scripts/import_cycles.mjs [dir or file]...   (default: mod.ts src adapters plugins testing)
// Prints each cycle and exits 1 if there is one. `findImportCycles` is what tests call.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_PATHS = ["mod.ts", "src", "adapters", "plugins", "testing"];
const SPECIFIER = [
  /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
];

function modulesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return /\.(ts|mts|js|mjs)$/.test(path) ? [path] : [];
  return readdirSync(path).flatMap((name) => name === "node_modules" ? [] : modulesUnder(join(path, name)));
}

/** The relative imports of a module's source, comments removed (JSDoc examples import too). */
export function importsOf(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out = new Set();
  for (const pattern of SPECIFIER) {
    for (const match of code.matchAll(pattern)) if (match[1].startsWith(".")) out.add(match[1]);
  }
  return [...out];
}

/**
 * Every import cycle among the modules under `paths` (relative to `root`), each as the list of its modules
 * (relative paths), one list per strongly connected component of more than one module or a self-import.
 */
export function findImportCycles(root = ROOT, paths = DEFAULT_PATHS) {
  const files = paths.flatMap((path) => modulesUnder(resolve(root, path)));
  const graph = new Map(files.map((file) => [
    file,
    importsOf(readFileSync(file, "utf8")).map((specifier) => resolve(dirname(file), specifier)),
  ]));
  // Tarjan's strongly connected components, iteratively deep enough for any module graph here.
  let index = 0;
  const indices = new Map();
  const lowlinks = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (file) => {
    indices.set(file, index);
    lowlinks.set(file, index);
    index++;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(file, Math.min(lowlinks.get(file), lowlinks.get(next)));
      } else if (onStack.has(next)) {
        lowlinks.set(file, Math.min(lowlinks.get(file), indices.get(next)));
      }
    }
    if (lowlinks.get(file) !== indices.get(file)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file).includes(file)) {
      cycles.push(component.map((path) => relative(root, path)).sort());
    }
  };
  for (const file of graph.keys()) if (!indices.has(file)) visit(file);
  return cycles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const paths = process.argv.slice(2);
  const cycles = findImportCycles(ROOT, paths.length ? paths : DEFAULT_PATHS);
  for (const cycle of cycles) console.error(`import cycle: ${cycle.join(" <-> ")}`);
  console.log(cycles.length === 0 ? "no import cycles" : `${cycles.length} import cycle(s)`);
  process.exit(cycles.length === 0 ? 0 : 1);
}
