// An exact structural comparison for decoded values, the same on every runtime. node:assert's deepStrictEqual
// differs between runtimes on the edges the codec must keep (invalid Dates on Node 20, -0 inside Sets and Map
// keys, own `__proto__` keys), and it does not check that shared and cyclic references stay shared.

/**
 * Assert that `actual` is an exact copy of `expected`: the same types and prototypes (plain or null), the same
 * own enumerable keys in the same order (an own `__proto__` key included), numbers compared with `Object.is`,
 * Dates by time (NaN included), bytes by value, arrays with the same holes, Maps and Sets in the same order,
 * and the same sharing: two places that hold one object in `expected` hold one object in `actual`, and no
 * object of `actual` is an object of `expected`.
 *
 * @throws {Error} Naming the path of the first difference.
 */
export function assertExact(actual: unknown, expected: unknown): void {
  const copies = new Map<object, object>();
  const originals = new Map<object, object>();
  compare(actual, expected, "(root)", copies, originals);
}

function fail(path: string, detail: string): never {
  throw new Error(`Not an exact copy at ${path}: ${detail}`);
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value !== "object" || value === null) return Object.is(value, -0) ? "-0" : String(value);
  return Object.prototype.toString.call(value);
}

function protoName(value: object): string {
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return "null";
  const name = Object.getOwnPropertyDescriptor(proto, "constructor")?.value?.name;
  return typeof name === "string" ? `${name}.prototype` : "an unnamed prototype";
}

function compare(
  actual: unknown,
  expected: unknown,
  path: string,
  copies: Map<object, object>,
  originals: Map<object, object>,
): void {
  if (typeof expected !== "object" || expected === null) {
    if (!Object.is(actual, expected)) fail(path, `${describe(actual)} instead of ${describe(expected)}`);
    return;
  }
  if (typeof actual !== "object" || actual === null) fail(path, `${describe(actual)} instead of an object`);
  if (actual === expected) fail(path, "the same object, not a copy");
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
  if (expected instanceof Date) {
    if (!Object.is((actual as Date).getTime(), expected.getTime())) fail(path, "another date");
    return;
  }
  if (expected instanceof Uint8Array) {
    const bytes = actual as Uint8Array;
    if (bytes.length !== expected.length || bytes.some((byte, i) => byte !== expected[i])) {
      fail(path, "other bytes");
    }
    return;
  }
  if (expected instanceof Map) {
    const a = [...(actual as Map<unknown, unknown>)];
    const e = [...expected];
    if (a.length !== e.length) fail(path, `a Map of ${a.length} entries instead of ${e.length}`);
    e.forEach(([key, value], i) => {
      compare(a[i][0], key, `${path}.<key ${i}>`, copies, originals);
      compare(a[i][1], value, `${path}.<value ${i}>`, copies, originals);
    });
    return;
  }
  if (expected instanceof Set) {
    const a = [...(actual as Set<unknown>)];
    const e = [...expected];
    if (a.length !== e.length) fail(path, `a Set of ${a.length} values instead of ${e.length}`);
    e.forEach((value, i) => compare(a[i], value, `${path}.<${i}>`, copies, originals));
    return;
  }
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (a.length !== expected.length) fail(path, `length ${a.length} instead of ${expected.length}`);
    for (let i = 0; i < expected.length; i++) {
      if ((i in a) !== (i in expected)) fail(`${path}[${i}]`, "a hole differs");
      if (i in expected) compare(a[i], expected[i], `${path}[${i}]`, copies, originals);
    }
    return;
  }
  const actualKeys = Object.keys(actual);
  const expectedKeys = Object.keys(expected);
  if (JSON.stringify(actualKeys) !== JSON.stringify(expectedKeys)) {
    fail(path, `keys ${JSON.stringify(actualKeys)} instead of ${JSON.stringify(expectedKeys)}`);
  }
  for (const key of expectedKeys) {
    const a = Object.getOwnPropertyDescriptor(actual, key)!;
    const e = Object.getOwnPropertyDescriptor(expected, key)!;
    if (!("value" in a)) fail(`${path}[${JSON.stringify(key)}]`, "an accessor instead of a data property");
    compare(a.value, e.value, `${path}[${JSON.stringify(key)}]`, copies, originals);
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
