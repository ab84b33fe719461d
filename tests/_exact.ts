// An exact structural comparison for decoded values, the same on every runtime. node:assert's deepStrictEqual
// differs between runtimes on the edges the codec must keep (invalid Dates on Node 20, -0 inside Sets and Map
// keys, own `__proto__` keys), and it does not check that shared and cyclic references stay shared.

/**
 * Assert that `actual` is an exact copy of `expected`: the same types and prototypes, the same internal value
 * (Dates by time, NaN included; buffers by bytes, length and resizability; views by constructor, offset,
 * length and buffer; RegExps by source, flags and lastIndex; URLs by text; boxed primitives by value; Maps
 * and Sets entry by entry, in order), and the same own properties: the same keys in the same order (symbols,
 * non-enumerable keys, an own `__proto__`, array holes and extra array keys included), each with the same
 * enumerability and an equal value (numbers compared with `Object.is`), and the same sharing: two places that
 * hold one object in `expected` hold one object in `actual`, and no object of `actual` is an object of
 * `expected`. A getter of `expected` counts as the value it returns, and property writability is not compared:
 * the codec stores values, not property attributes. A typed array's indices are compared as its bytes.
 *
 * @throws {Error} Naming the path of the first difference.
 */
export function assertExact(actual: unknown, expected: unknown): void {
  compare(actual, expected, "(root)", { copies: new Map(), originals: new Map() });
}

/** The objects compared so far: each copy by its original, and each original by its copy. */
interface Pairs {
  copies: Map<object, object>;
  originals: Map<object, object>;
}

function fail(path: string, detail: string): never {
  throw new Error(`Not an exact copy at ${path}: ${detail}`);
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "symbol") return String(value);
  if (typeof value !== "object" || value === null) return Object.is(value, -0) ? "-0" : String(value);
  return Object.prototype.toString.call(value);
}

function describeKeys(keys: PropertyKey[]): string {
  return `[${keys.map((key) => typeof key === "string" ? JSON.stringify(key) : String(key)).join(", ")}]`;
}

function protoName(value: object): string {
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return "null";
  const name = Object.getOwnPropertyDescriptor(proto, "constructor")?.value?.name;
  return typeof name === "string" ? `${name}.prototype` : "an unnamed prototype";
}

/** Whether `value` has the internal slot `read` needs (built-in methods throw on objects without it). */
function has(value: object, read: (value: object) => unknown): boolean {
  try {
    read(value);
    return true;
  } catch {
    return false;
  }
}

const getter = (proto: object, key: string) => Object.getOwnPropertyDescriptor(proto, key)!.get!;
const bufferBytes = getter(ArrayBuffer.prototype, "byteLength");
const mapSize = getter(Map.prototype, "size");
const setSize = getter(Set.prototype, "size");
const regExpSource = getter(RegExp.prototype, "source");
const href = getter(URL.prototype, "href");

/** Own keys that are not a typed array's indices (those are compared as bytes). */
function ownKeys(value: object): PropertyKey[] {
  const keys = Reflect.ownKeys(value);
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return keys;
  const length = (value as Uint8Array).length;
  return keys.filter((key) => typeof key !== "string" || !(String(Number(key)) === key && +key < length));
}

function compare(actual: unknown, expected: unknown, path: string, pairs: Pairs): void {
  if (typeof expected !== "object" || expected === null) {
    if (!Object.is(actual, expected)) fail(path, `${describe(actual)} instead of ${describe(expected)}`);
    return;
  }
  if (typeof actual !== "object" || actual === null) fail(path, `${describe(actual)} instead of an object`);
  if (actual === expected) fail(path, "the same object, not a copy");
  const { copies, originals } = pairs;
  const seen = copies.get(expected);
  if (seen !== undefined) {
    if (seen !== actual) fail(path, "a shared or cyclic reference was not kept");
    return;
  }
  if (originals.has(actual)) fail(path, "one object stands for two different ones");
  copies.set(expected, actual);
  originals.set(actual, expected);
  if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) {
    fail(path, `prototype ${protoName(actual)} instead of ${protoName(expected)}`);
  }
  const tag = Object.prototype.toString.call(expected);
  if (Object.prototype.toString.call(actual) !== tag) {
    fail(path, `${describe(actual)} instead of ${tag}`);
  }
  compareSlots(actual, expected, path, pairs);
  // URLs and URLSearchParams carry internal symbol-keyed slots on Deno: only their string keys count.
  const onlyNames = has(expected, href) || has(expected, (v) => URLSearchParams.prototype.toString.call(v));
  const actualKeys = onlyNames ? Object.getOwnPropertyNames(actual) : ownKeys(actual);
  const expectedKeys = onlyNames ? Object.getOwnPropertyNames(expected) : ownKeys(expected);
  if (
    describeKeys(actualKeys) !== describeKeys(expectedKeys) ||
    actualKeys.some((k, i) => k !== expectedKeys[i])
  ) {
    fail(path, `keys ${describeKeys(actualKeys)} instead of ${describeKeys(expectedKeys)}`);
  }
  for (const key of expectedKeys) {
    const at = `${path}[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`;
    const a = Object.getOwnPropertyDescriptor(actual, key)!;
    const e = Object.getOwnPropertyDescriptor(expected, key)!;
    if (!("value" in a)) fail(at, "an accessor instead of a data property");
    if (a.enumerable !== e.enumerable) {
      fail(at, a.enumerable ? "enumerable instead of not" : "not enumerable");
    }
    compare(a.value, "value" in e ? e.value : Reflect.get(expected, key), at, pairs);
  }
}

/** Compare what lives in internal slots: a Date's time, a buffer's bytes, a Map's entries, … */
function compareSlots(actual: object, expected: object, path: string, pairs: Pairs): void {
  const a = actual as never;
  const e = expected as never;
  if (has(expected, (v) => Date.prototype.getTime.call(v))) {
    if (!Object.is(Date.prototype.getTime.call(a), Date.prototype.getTime.call(e))) {
      fail(path, "another date");
    }
  } else if (has(expected, bufferBytes)) {
    const [x, y] = [new Uint8Array(a as ArrayBuffer), new Uint8Array(e as ArrayBuffer)];
    if (x.length !== y.length || x.some((byte, i) => byte !== y[i])) fail(path, "other bytes");
    const resizable = (b: ArrayBuffer) => (b as { resizable?: boolean }).resizable === true;
    if (resizable(a) !== resizable(e)) fail(path, "another resizability");
  } else if (ArrayBuffer.isView(expected)) {
    const [x, y] = [a as DataView, e as DataView];
    if (x.byteOffset !== y.byteOffset || x.byteLength !== y.byteLength) {
      fail(path, "another view of its buffer");
    }
    compare(x.buffer, y.buffer, `${path}.buffer`, pairs);
  } else if (has(expected, mapSize)) {
    const [x, y] = [[...(a as Map<unknown, unknown>)], [...(e as Map<unknown, unknown>)]];
    if (x.length !== y.length) fail(path, `a Map of ${x.length} entries instead of ${y.length}`);
    y.forEach(([key, value], i) => {
      compare(x[i][0], key, `${path}.<key ${i}>`, pairs);
      compare(x[i][1], value, `${path}.<value ${i}>`, pairs);
    });
  } else if (has(expected, setSize)) {
    const [x, y] = [[...(a as Set<unknown>)], [...(e as Set<unknown>)]];
    if (x.length !== y.length) fail(path, `a Set of ${x.length} values instead of ${y.length}`);
    y.forEach((value, i) => compare(x[i], value, `${path}.<${i}>`, pairs));
  } else if (has(expected, regExpSource)) {
    const [x, y] = [a as RegExp, e as RegExp];
    if (x.source !== y.source || x.flags !== y.flags) fail(path, `${x} instead of ${y}`);
  } else if (has(expected, href)) {
    if (href.call(a) !== href.call(e)) fail(path, "another URL");
  } else if (has(expected, (v) => URLSearchParams.prototype.toString.call(v))) {
    if (String(a) !== String(e)) fail(path, "other search params");
  } else {
    for (const type of [Number, String, Boolean, BigInt] as { prototype: { valueOf(): unknown } }[]) {
      const valueOf = type.prototype.valueOf;
      if (has(expected, (v) => valueOf.call(v))) {
        if (!Object.is(valueOf.call(a), valueOf.call(e))) fail(path, "another boxed value");
        return;
      }
    }
  }
}

/** The own property names and symbols of the built-in prototypes, to compare before and after a test. */
export function prototypeFingerprint(): string {
  const protos: [string, object][] = [
    ["Object", Object.prototype],
    ["Array", Array.prototype],
    ["Function", Function.prototype],
    ["Map", Map.prototype],
    ["Set", Set.prototype],
    ["Date", Date.prototype],
    ["String", String.prototype],
    ["Number", Number.prototype],
    ["Promise", Promise.prototype],
    ["Error", Error.prototype],
  ];
  return JSON.stringify(protos.map(([name, proto]) => [
    name,
    Object.getOwnPropertyNames(proto).sort(),
    Object.getPrototypeOf(proto) === null ? null : "non-null",
  ]));
}
