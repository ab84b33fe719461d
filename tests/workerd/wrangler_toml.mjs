// Reads examples/wrangler.toml into Miniflare's options, so that the configuration the README documents is
// the one `npm run test:workerd` runs. It understands the TOML that file uses — `[table]` and
// `[[array.of.tables]]` headers, `key = value` with strings, string arrays, booleans and integers, comments —
// and refuses anything else by line, rather than misread it.
import { readFileSync } from "node:fs";

const VALUE = /^(?:"((?:[^"\\]|\\.)*)"|\[(.*)\]|(true|false)|(-?\d+))$/;

/** `text` as an object (tables nested by dotted names, arrays of tables as arrays). */
export function parseToml(text, file = "wrangler.toml") {
  const root = {};
  let table = root;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\s+#[^"]*$|^#.*$/, "").trim();
    const fail = (why) => new Error(`${file}:${index + 1}: ${why}: ${raw.trim()}`);
    if (line === "") return;
    const header = /^(\[\[?)\s*([\w.-]+)\s*\]\]?$/.exec(line);
    if (header) {
      const path = header[2].split(".");
      let at = root;
      for (const key of path.slice(0, -1)) at = at[key] ??= {};
      const last = path.at(-1);
      if (header[1] === "[[") (at[last] ??= []).push(table = {});
      else if (at[last] === undefined) at[last] = table = {};
      else throw fail("table defined twice");
      return;
    }
    const pair = /^([\w-]+)\s*=\s*(.+)$/.exec(line);
    if (!pair) throw fail("not a key = value line");
    const [, key, text] = pair;
    const value = VALUE.exec(text);
    if (!value) throw fail("unsupported value");
    const [, string, array, boolean, integer] = value;
    if (string !== undefined) table[key] = JSON.parse(`"${string}"`);
    else if (boolean !== undefined) table[key] = boolean === "true";
    else if (integer !== undefined) table[key] = Number(integer);
    else {
      const items = array.split(",").map((item) => item.trim()).filter(Boolean);
      if (!items.every((item) => /^"[^"\\]*"$/.test(item))) throw fail("only arrays of plain strings");
      table[key] = items.map((item) => item.slice(1, -1));
    }
  });
  return root;
}

/**
 * The wrangler.toml at `path`: its `main` and the Miniflare options of its bindings — vars, D1 databases,
 * Durable Objects (SQLite-backed when a migration lists the class in `new_sqlite_classes`).
 */
export function readWranglerToml(path) {
  const config = parseToml(readFileSync(path, "utf8"), path);
  const known = new Set([
    "name",
    "main",
    "compatibility_date",
    "vars",
    "d1_databases",
    "durable_objects",
    "migrations",
    // Cron Triggers: the checks send the `scheduled` event themselves (Miniflare's getWorker().scheduled()).
    "triggers",
  ]);
  const unknown = Object.keys(config).filter((key) => !known.has(key));
  if (unknown.length) throw new Error(`${path}: the test harness does not map ${unknown.join(", ")}`);
  const sqlite = new Set(
    (config.migrations ?? []).flatMap((migration) => migration.new_sqlite_classes ?? []),
  );
  const durableObjects = {};
  for (const { name, class_name: className } of config.durable_objects?.bindings ?? []) {
    if (!sqlite.has(className)) {
      throw new Error(`${path}: ${className} is in no migration's new_sqlite_classes`);
    }
    durableObjects[name] = { className, useSQLite: true };
  }
  return {
    main: config.main,
    options: {
      compatibilityDate: config.compatibility_date,
      bindings: { ...config.vars },
      d1Databases: Object.fromEntries((config.d1_databases ?? []).map((db) => [db.binding, db.database_id])),
      durableObjects,
    },
  };
}
