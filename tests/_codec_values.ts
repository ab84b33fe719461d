// Values for the codec's property tests: every type it keeps, and the shapes it must refuse rather than
// change silently (issue 13), each marked, so a property can check that encoding refuses exactly the values
// that hold one of them.
import fc from "fast-check";
import { TemporalLike } from "./fixtures/codec_portable.ts";

// Keys that have tripped up codecs and stores: prototype keys, the codec's own escape character, empty.
export const dangerousKey: fc.Arbitrary<string> = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "toJSON",
  "\0",
  "\0__proto__",
  "",
);

/** An object with `proto` and `entries` as own enumerable data properties (an own `__proto__` included). */
export function objectFrom(entries: [string, unknown][], proto: object | null): Record<string, unknown> {
  const object = Object.create(proto) as Record<string, unknown>;
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** A generated value and whether the codec must refuse it (it holds something that would not come back). */
export type Marked = [value: unknown, refused: boolean];

const globals = globalThis as unknown as {
  Temporal?: { Instant: { from(text: string): object } };
  Float16Array?: new (length: number) => object;
  Buffer?: { from(bytes: number[]): Uint8Array };
};

class Row extends Array<unknown> {}
class Registry extends Map<unknown, unknown> {}
class Tags extends Set<unknown> {}
class Stamp extends Date {}
class Pattern extends RegExp {}
class Samples extends Float64Array {}
class Buffer extends Uint8Array {}
class Point {
  x = 1;
}

const withOwn = <T extends object>(value: T, key: PropertyKey, enumerable = true): T =>
  Object.defineProperty(value, key, { value: 1, enumerable, writable: true, configurable: true });

/**
 * Makers of fresh values the codec must refuse that look like JSON data: plain objects and arrays with
 * something JSON.stringify would drop or replace, or whose prototype is not the plain one.
 */
const nearJsonMakers: (() => unknown)[] = [
  () => withOwn({ a: 1 }, "hidden", false),
  () => Object.defineProperty({ a: 1 }, "toJSON", { value: () => "replaced" }),
  () => withOwn(Object.create(null), "hidden", false),
  () => withOwn({}, Symbol("meta")),
  () => withOwn({}, Symbol("meta"), false),
  () => objectFrom([["a", 1]], Object.create(null)),
  () => objectFrom([["a", 1]], { inherited: 1 }),
  () => new Point(),
  () => Row.from([1, 2]),
  () => withOwn([1, 2], "note"),
  () => withOwn([], "hidden", false),
  () => withOwn([1], Symbol("s")),
  () => "abc".match(/b/),
  () => Object.setPrototypeOf(new Date(0), Object.prototype),
  () => Object.setPrototypeOf(Object(1), Object.prototype),
  () => Object.create(Object.prototype, { [Symbol.toStringTag]: { value: "Map" } }),
];

/**
 * Makers of fresh values the codec must refuse: what JSON or devalue would change (a property dropped, a
 * prototype lost, a subclass made its base class, a value another runtime cannot read back).
 */
const refusedMakers: (() => unknown)[] = [
  ...nearJsonMakers,
  () => withOwn(new Date(0), "label"),
  () => withOwn(new Map([[1, 2]]), "label"),
  () => withOwn(new Set([1]), "label"),
  () => withOwn(/a/g, "label"),
  () => withOwn(new ArrayBuffer(2), "label"),
  () => withOwn(new DataView(new ArrayBuffer(2)), "label"),
  () => withOwn(Object("ab"), "label"),
  () => withOwn(Object(1n), "label"),
  () => withOwn(new Uint8Array([1]), Symbol("tag")),
  () => new Registry([[1, 2]]),
  () => new Tags([1]),
  () => new Stamp(0),
  () => new Pattern("a"),
  () => new Samples(2),
  () => new Buffer([1, 2]),
  () => new TemporalLike("Temporal.PlainDate", "2024-02-29"),
  () => {
    const regexp = /a/g;
    regexp.test("a");
    return regexp;
  },
  () => new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(2, { maxByteLength: 4 }),
  () => new Error("not data"),
  () => () => "a function",
  () => Symbol("a symbol"),
  ...(globals.Temporal ? [() => globals.Temporal!.Instant.from("2024-02-29T12:00:00Z")] : []),
  ...(globals.Float16Array ? [() => new globals.Float16Array!(2)] : []),
  ...(globals.Buffer ? [() => globals.Buffer!.from([1, 2])] : []),
];

const made = (makers: (() => unknown)[]): fc.Arbitrary<Marked> =>
  fc.nat({ max: makers.length - 1 }).map((i) => [makers[i](), true]);

// Strings with lone surrogates: a UTF-8 store would replace them unless the text escapes them.
const surrogateString = fc.string({
  unit: fc.oneof(
    fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  ),
  maxLength: 6,
});

// What JSON holds exactly.
const jsonLeaf: fc.Arbitrary<Marked> = fc.oneof(
  fc.string(),
  surrogateString,
  fc.double({ noDefaultInfinity: true, noNaN: true }).filter((n) => !Object.is(n, -0)),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
).map((value) => [value, false]);

/** One value of a type the codec keeps, not nested. */
export const supportedLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 16 }),
  fc.constantFrom(NaN, -0, Infinity, -Infinity),
);

const keptLeaf: fc.Arbitrary<Marked> = fc.oneof(
  supportedLeaf,
  surrogateString,
  fc.float64Array({ maxLength: 4 }),
  fc.int32Array({ maxLength: 4 }),
  fc.uint8Array({ minLength: 4, maxLength: 8 }).map((bytes) => bytes.subarray(1, 3)),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => new DataView(bytes.buffer)),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => bytes.buffer),
  fc.constantFrom("", "a+b", "\\d", "\ud800").chain((source) =>
    fc.constantFrom("", "g", "iy").map((flags) => new RegExp(source, flags))
  ),
  fc.constantFrom("https://example.com/a?b=c#d", "http://[::1]:8/%F0%9F").map((text) => new URL(text)),
  fc.constantFrom("a=1&a=2", "", "x=%00").map((text) => new URLSearchParams(text)),
  fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.bigInt()).map((primitive) => Object(primitive)),
).map((value) => [value, false]);

const key = fc.oneof(fc.string({ maxLength: 6 }), surrogateString, dangerousKey);

function all(children: Marked[]): boolean {
  return children.some(([, refused]) => refused);
}

/** An object of `entries`; a repeated key keeps its last value, so only that one's mark counts. */
function objectOf(entries: [string, Marked][], proto: object | null): Marked {
  const last = new Map(entries);
  return [objectFrom([...last].map(([key, [value]]) => [key, value]), proto), all([...last.values()])];
}

/** A Map of `entries`; a repeated key keeps its last value, so only that one's mark counts. */
function mapOf(entries: [Marked, Marked][]): Marked {
  const map = new Map<unknown, unknown>();
  const marks = new Map<unknown, boolean>();
  for (const [[key, keyRefused], [value, valueRefused]] of entries) {
    map.set(key, value);
    marks.set(key, keyRefused || valueRefused);
  }
  return [map, [...marks.values()].includes(true)];
}

/** Marked values built from `kept` and `refused` leaves, in containers JSON has too (`json`) or in any. */
function marked(
  kept: fc.Arbitrary<Marked>,
  refused: fc.Arbitrary<Marked>,
  json: boolean,
): fc.Arbitrary<Marked> {
  const { value } = fc.letrec<{ value: Marked; array: Marked }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { weight: 4, arbitrary: kept },
      refused,
      tie("array"),
      fc.array(fc.tuple(key, tie("value")), { maxLength: 4 }).map((entries) =>
        objectOf(entries, Object.prototype)
      ),
      ...(json ? [] : [
        fc.array(fc.tuple(key, tie("value")), { maxLength: 3 }).map((entries) => objectOf(entries, null)),
        fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }).map(mapOf),
        fc.array(tie("value"), { maxLength: 3 }).map((values): Marked => [
          new Set(values.map(([v]) => v)),
          all(values),
        ]),
      ]),
      // Property attributes are not part of the value: a frozen object and a getter's value are kept.
      tie("value").map(([v, refused]): Marked => [Object.freeze({ frozen: v }), refused]),
      tie("value").map(([v, refused]): Marked => [{
        get computed() {
          return v;
        },
      }, refused]),
    ),
    array: fc.oneof(
      fc.array(tie("value"), { maxLength: 4 }).map((values): Marked => [values.map(([v]) => v), all(values)]),
      ...(json ? [] : [
        fc.sparseArray(tie("value"), { maxLength: 5, noTrailingHole: false }).map((values): Marked => {
          const array: unknown[] = new Array(values.length);
          values.forEach(([v], i) => array[i] = v);
          return [array, all(values.filter(Boolean))];
        }),
      ]),
    ),
  }));
  // Sharing and cycles (the same object twice, an object that holds itself), which JSON cannot hold.
  const sharing = fc.oneof(
    { weight: json ? 4 : 1, arbitrary: fc.constant("none") },
    fc.constant("shared"),
    fc.constant("cyclic"),
  );
  return fc.tuple(value, value, sharing).map(([[a, refusedA], [b, refusedB], shape]): Marked => {
    const holder: Record<string, unknown> = { a, b };
    if (shape !== "none") holder.again = a;
    if (shape === "cyclic") holder.self = holder;
    return [holder, refusedA || refusedB];
  });
}

/**
 * Marked values: every type the codec keeps and every shape it must refuse, nested in plain and
 * null-prototype objects, arrays (sparse too), Maps, Sets, frozen objects and getters, with prototype keys,
 * shared and cyclic references; and as many that are JSON data, or JSON data but for one near-JSON shape
 * the codec must refuse (so its JSON path meets them). About a third hold something refused.
 */
export const markedValue: fc.Arbitrary<Marked> = fc.oneof(
  marked(keptLeaf, made(refusedMakers), false),
  marked(jsonLeaf, made(nearJsonMakers), true),
);
