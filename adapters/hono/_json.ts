// JSON for HTTP (package-private): what clients receive is JSON-safe whatever a run holds, and never throws.
import { type JsonPolicy, toJsonSafe } from "../../src/_json_safe.ts";

/**
 * How deep JSON may nest. Deeper outputs are cut: a hostile or accidental deep structure must not overflow the
 * stack mid-stream. Deeper request bodies are refused: the checkpoint codec could not encode them.
 */
export const MAX_DEPTH = 200;

/**
 * BigInt → decimal string, Map → `[key, value]` pairs, Set → array, typed arrays → number arrays, Date →
 * ISO string (invalid → null), Error → `{ name, message }` (no stack: clients see no internals), cycles →
 * `"[Circular]"`, non-finite numbers → null, functions and symbols dropped, a throwing getter or `toJSON` →
 * dropped.
 */
const HTTP_POLICY: JsonPolicy = {
  maxDepth: MAX_DEPTH,
  unrepresentable: (value) => typeof value === "number" ? null : undefined,
  bytes: (value, convert) =>
    value instanceof DataView
      ? []
      : value instanceof ArrayBuffer
      ? {}
      : Array.from(value as Uint8Array, convert),
  error: (error) => ({ name: String(error.name), message: String(error.message) }),
  invalidDate: null,
  unreadable: undefined,
  throwingGetter: undefined,
};

/** `JSON.stringify` of the JSON-safe copy; never throws. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(toJsonSafe(value, HTTP_POLICY)) ?? "null";
  } catch {
    return "null";
  }
}

/** Whether a parsed JSON value nests arrays and objects more than `limit` levels deep (walked without recursion). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [item, level] = pending.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (level > limit) return true;
    for (const child of Object.values(item)) pending.push([child, level + 1]);
  }
  return false;
}
