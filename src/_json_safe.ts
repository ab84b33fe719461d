// JSON-safe copies of any value, for the places that must turn what a run holds into JSON and never throw:
// the HTTP adapter's bodies and the logger's records. One walker; each caller states its policy.
import { defineEntry } from "./_records.ts";

/** How one caller wants what JSON cannot hold. */
export interface JsonPolicy {
  /** Deeper values become `"[Too deep]"`. */
  maxDepth: number;
  /** Values JSON has no form for (a non-finite number, a function, a symbol): a replacement, or `undefined` to drop them. */
  // deno-lint-ignore ban-types
  unrepresentable(value: number | Function | symbol): unknown;
  /** A typed array, `DataView` or `ArrayBuffer`; `convert` makes its elements JSON-safe. */
  bytes(value: ArrayBufferView | ArrayBuffer, convert: (value: unknown) => unknown): unknown;
  /** An `Error`; `convert` makes its parts JSON-safe. */
  error(value: Error, convert: (value: unknown) => unknown): unknown;
  /** What an invalid `Date` becomes. */
  invalidDate: unknown;
  /** What an object whose conversion threw (a throwing `toJSON`, a revoked proxy) becomes. */
  unreadable: unknown;
  /** What the value of a property whose getter throws becomes (`undefined`: the property is left out). */
  throwingGetter: unknown;
}

/**
 * A JSON-safe copy of `value` under `policy`: BigInt → decimal string, Map → `[key, value]` pairs, Set →
 * array, Date → ISO string, `toJSON` honoured, cycles → `"[Circular]"`. Never throws.
 */
export function toJsonSafe(value: unknown, policy: JsonPolicy): unknown {
  return convert(value, policy, 0, []);
}

function convert(value: unknown, policy: JsonPolicy, depth: number, seen: object[]): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : policy.unrepresentable(value);
    case "bigint":
      return value.toString();
    case "undefined":
      // Left out of objects and `null` in arrays, as JSON.stringify does.
      return undefined;
    case "function":
    case "symbol":
      return policy.unrepresentable(value);
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.includes(object)) return "[Circular]";
  if (depth >= policy.maxDepth) return "[Too deep]";
  seen.push(object);
  try {
    return convertObject(object, policy, depth + 1, seen);
  } catch {
    return policy.unreadable;
  } finally {
    seen.pop();
  }
}

function convertObject(value: object, policy: JsonPolicy, depth: number, seen: object[]): unknown {
  const json = (item: unknown) => convert(item, policy, depth, seen);
  // In arrays, what JSON drops becomes null, as JSON.stringify does.
  const item = (entry: unknown) => json(entry) ?? null;
  if (value instanceof Error) return policy.error(value, json);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? policy.invalidDate : value.toISOString();
  if (value instanceof Map) return [...value].map(([k, v]) => [item(k), item(v)]);
  if (value instanceof Set) return [...value].map(item);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return policy.bytes(value, json);
  if (Array.isArray(value)) return value.map(item);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return json(toJSON.call(value));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    let converted: unknown;
    try {
      converted = json((value as Record<string, unknown>)[key]);
    } catch {
      converted = policy.throwingGetter;
    }
    if (converted !== undefined) defineEntry(out, key, converted);
  }
  return out;
}
