// JSON-safe copies of any value, for the places that must turn what a run holds into JSON and never throw:
// the HTTP adapter's bodies and the logger's records. One walker; each caller states its policy.
//
// The copy is linear in the size of the value: an object reached again (a shared reference, or a cycle) is
// written once, where it is first reached, and as `{ "$ref": "#<pointer>" }` everywhere after. Copying it
// again instead made a DAG of n levels 2^n times larger than what the codec stores (issue 13).
import { defineEntry } from "./_records.ts";

/** Where a converted part goes in its parent: a property name or an index. */
export type JsonKey = string | number;

/** How one caller wants what JSON cannot hold. */
export interface JsonPolicy {
  /** Deeper values become `"[Too deep]"`. */
  maxDepth: number;
  /** Values JSON has no form for (a non-finite number, a function, a symbol): a replacement, or `undefined` to drop them. */
  // deno-lint-ignore ban-types
  unrepresentable(value: number | Function | symbol): unknown;
  /**
   * A typed array, `DataView` or `ArrayBuffer`; `convert` makes its elements JSON-safe (`key`: where in the
   * replacement the element goes).
   */
  bytes(value: ArrayBufferView | ArrayBuffer, convert: (value: unknown, key: JsonKey) => unknown): unknown;
  /** An `Error`; `convert` makes its parts JSON-safe (`key`: the member of the replacement a part becomes). */
  error(value: Error, convert: (value: unknown, key: JsonKey) => unknown): unknown;
  /** What an invalid `Date` becomes. */
  invalidDate: unknown;
  /** What an object whose conversion threw (a throwing `toJSON`, a revoked proxy) becomes. */
  unreadable: unknown;
  /** What the value of a property whose getter throws becomes (`undefined`: the property is left out). */
  throwingGetter: unknown;
}

/** Options of {@linkcode toJsonSafe}. */
export interface JsonSafeOptions {
  /**
   * Where the copy goes in the document it is part of, as unescaped pointer tokens (the logger puts each
   * event field at its key), so that references point from the document's root.
   *
   * @default {[] (the copy is the document)}
   */
  at?: readonly JsonKey[];
  /**
   * Give up once the copy's JSON text is known to be longer than this many characters: `toJsonSafe` then
   * throws a {@linkcode JsonTooLongError}. Counted while walking (a lower bound of the text's length), so a
   * huge copy is never built.
   *
   * @default {Infinity}
   */
  maxLength?: number;
}

/** Thrown by {@linkcode toJsonSafe} when the copy's JSON text would be longer than its `maxLength`. */
export class JsonTooLongError extends RangeError {
  constructor(maxLength: number) {
    super(`The JSON text would be longer than ${maxLength} characters`);
    this.name = "JsonTooLongError";
  }
}

/**
 * A JSON-safe copy of `value` under `policy`: BigInt → decimal string, Map → `[key, value]` pairs, Set →
 * array, Date → ISO string, `toJSON` honoured, and an object reached again (shared, or a cycle) →
 * `{ "$ref": "#/pointer/to/where/it/was/first/written" }`: `#` then an RFC 6901 JSON pointer from the
 * document's root, in its string form (`~0` for `~`, `~1` for `/`, nothing percent-encoded). Never throws,
 * except {@linkcode JsonTooLongError} past `options.maxLength`.
 */
export function toJsonSafe(value: unknown, policy: JsonPolicy, options: JsonSafeOptions = {}): unknown {
  const walker = new Walker(policy, options.maxLength ?? Infinity);
  const base = (options.at ?? []).map((token) => "/" + escapeToken(token)).join("");
  return walker.convert(value, base, undefined, 0);
}

/** An RFC 6901 reference token: `~` → `~0`, `/` → `~1`. */
function escapeToken(token: JsonKey): string {
  return typeof token === "number" ? String(token) : token.replaceAll("~", "~0").replaceAll("/", "~1");
}

class Walker {
  readonly #policy: JsonPolicy;
  readonly #maxLength: number;
  /** Where each object was written (its pointer), objects still being written included (for cycles). */
  readonly #written = new Map<object, string>();
  /** The keys of `#written`, in order: a conversion that throws forgets what it wrote. */
  readonly #order: object[] = [];
  /** A lower bound of the length of the JSON text so far. */
  #length = 0;

  constructor(policy: JsonPolicy, maxLength: number) {
    this.#policy = policy;
    this.#maxLength = maxLength;
  }

  /** Convert `value`, the member `key` of the value at `parent` (`key` undefined: at `parent` itself). */
  convert(value: unknown, parent: string, key: JsonKey | undefined, depth: number): unknown {
    switch (typeof value) {
      case "string":
        this.#grow(value.length + 2);
        return value;
      case "boolean":
        this.#grow(4);
        return value;
      case "number":
        if (!Number.isFinite(value)) return this.#replacement(this.#policy.unrepresentable(value));
        this.#grow(String(value).length);
        return value;
      case "bigint":
        return this.#replacement(value.toString());
      case "undefined":
        // Left out of objects and `null` in arrays, as JSON.stringify does.
        return undefined;
      case "function":
      case "symbol":
        return this.#replacement(this.#policy.unrepresentable(value));
    }
    if (value === null) return this.#replacement(null);
    return this.#object(value as object, parent, key, depth);
  }

  #object(value: object, parent: string, key: JsonKey | undefined, depth: number): unknown {
    const first = this.#written.get(value);
    if (first !== undefined) {
      this.#grow(first.length + 12);
      return { $ref: "#" + first };
    }
    if (depth >= this.#policy.maxDepth) return this.#replacement("[Too deep]");
    const pointer = key === undefined ? parent : parent + "/" + escapeToken(key);
    const mark = this.#order.length;
    this.#written.set(value, pointer);
    this.#order.push(value);
    let out: unknown;
    try {
      out = this.#convertObject(value, pointer, depth + 1);
    } catch (error) {
      if (error instanceof JsonTooLongError) throw error;
      this.#forget(mark);
      return this.#replacement(this.#policy.unreadable);
    }
    // Written as something a reference cannot stand for (a Date's string, what `toJSON` returned, nothing):
    // later occurrences are converted again, each as small as this one.
    if (out === null || typeof out !== "object") this.#forget(mark);
    return out;
  }

  #grow(characters: number): void {
    this.#length += characters;
    if (this.#length > this.#maxLength) throw new JsonTooLongError(this.#maxLength);
  }

  /** Count a replacement (a string, a number, `null` …) as JSON writes it. */
  #replacement(replacement: unknown): unknown {
    if (typeof replacement === "string") this.#grow(replacement.length + 2);
    else if (replacement !== undefined) this.#grow(4);
    return replacement;
  }

  /** An array element: what JSON drops (`undefined`) is `null` there, as JSON.stringify does. */
  #orNull(converted: unknown): unknown {
    return converted === undefined ? this.#replacement(null) : converted;
  }

  #forget(mark: number): void {
    while (this.#order.length > mark) this.#written.delete(this.#order.pop()!);
  }

  #convertObject(value: object, pointer: string, depth: number): unknown {
    const json = (part: unknown, key: JsonKey) => this.convert(part, pointer, key, depth);
    const item = (entry: unknown, index: number) => {
      if (index > 0) this.#grow(1);
      return this.#orNull(json(entry, index));
    };
    if (value instanceof Error) return this.#policy.error(value, json);
    if (value instanceof Date) {
      return this.#replacement(
        Number.isNaN(value.getTime()) ? this.#policy.invalidDate : value.toISOString(),
      );
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return this.#policy.bytes(value, json);
    if (value instanceof Map) {
      this.#grow(2);
      return [...value].map(([k, v], index) => {
        if (index > 0) this.#grow(1);
        this.#grow(3);
        const entry = pointer + "/" + index;
        return [
          this.#orNull(this.convert(k, entry, 0, depth)),
          this.#orNull(this.convert(v, entry, 1, depth)),
        ];
      });
    }
    if (value instanceof Set) {
      this.#grow(2);
      return [...value].map(item);
    }
    if (Array.isArray(value)) {
      this.#grow(2);
      return value.map(item);
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      const replacement = toJSON.call(value);
      // `toJSON() { return this }`: JSON.stringify writes the object's own properties then.
      if (replacement !== value) return this.convert(replacement, pointer, undefined, depth);
    }
    this.#grow(2);
    const out: Record<string, unknown> = {};
    let members = 0;
    for (const key of Object.keys(value)) {
      let converted: unknown;
      try {
        converted = json((value as Record<string, unknown>)[key], key);
      } catch (error) {
        if (error instanceof JsonTooLongError) throw error;
        converted = this.#replacement(this.#policy.throwingGetter);
      }
      if (converted === undefined) continue;
      this.#grow(key.length + (members++ > 0 ? 4 : 3));
      defineEntry(out, key, converted);
    }
    return out;
  }
}
