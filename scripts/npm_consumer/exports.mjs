// Imports every entry of the installed package's exports map. An entry may fail only because an optional
// peer it needs is not installed (the scratch project installs none); anything else is an error.
import { readFileSync } from "node:fs";
import process from "node:process";

const manifest = JSON.parse(
  readFileSync(new URL("./node_modules/superstep/package.json", import.meta.url), "utf8"),
);
const peers = new Set(Object.keys(manifest.peerDependencies ?? {}));
const packageOf = (s) => (s.startsWith("@") ? s.split("/").slice(0, 2) : s.split("/").slice(0, 1)).join("/");
let failed = 0;
for (const key of Object.keys(manifest.exports)) {
  if (key === "./package.json") continue;
  const specifier = `superstep${key.slice(1)}`;
  try {
    const mod = await import(specifier);
    if (Object.keys(mod).length === 0) throw new Error("no exports");
    console.log(`ok    ${specifier} (${Object.keys(mod).length} exports)`);
  } catch (error) {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String(error?.message))?.[1];
    if (missing && peers.has(packageOf(missing))) {
      console.log(`peer  ${specifier} needs the optional peer ${packageOf(missing)}`);
    } else {
      failed++;
      console.log(`FAIL  ${specifier}: ${error?.stack ?? error}`);
    }
  }
}
process.exit(failed ? 1 : 0);
