// JSON for HTTP (package-private): what clients receive is JSON-safe whatever a run holds, and never throws.
import { type JsonPolicy, JsonTooLongError, toJsonSafe } from "../../src/_json_safe.ts";

/**
 * How deep JSON may nest. Deeper outputs are cut: a hostile or accidental deep structure must not overflow the
 * stack mid-stream. Deeper request bodies are refused: the checkpoint codec could not encode them.
 */
export const MAX_DEPTH = 200;

/**
 * BigInt → decimal string, Map → `[key, value]` pairs, Set → array, typed arrays → number arrays, Date →
 * ISO string (invalid → null), Error → `{ name, message }` (no stack: clients see no internals), an object
 * met again (shared, or a cycle) → `{ "$ref": "#/json/pointer" }`, non-finite numbers → null, functions and
 * symbols dropped, a throwing getter or `toJSON` → dropped.
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

/**
 * `JSON.stringify` of the JSON-safe copy, or `undefined` when its UTF-8 would be longer than `maxBytes`
 * (known while the copy is made, so a giant answer is never built); never throws.
 */
export function stringifyJson(value: unknown, maxBytes: number = Infinity): string | undefined {
  let text: string;
  try {
    // A character is at least one byte: a copy over `maxBytes` characters is over `maxBytes` bytes.
    text = JSON.stringify(toJsonSafe(value, HTTP_POLICY, { maxLength: maxBytes })) ?? "null";
  } catch (error) {
    if (error instanceof JsonTooLongError) return undefined;
    return "null";
  }
  return text.length <= maxBytes && utf8Length(text) <= maxBytes ? text : undefined;
}

/** The length of `text` in UTF-8 (JSON.stringify leaves no lone surrogate: they are escaped). */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) i++; // a pair: 4 bytes for 2 units
    if (code >= 0x80) bytes += code >= 0x800 ? 2 : 1;
  }
  return bytes;
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
