/**
 * One value of every type the codec round-trips, and the checks that a decoded copy is exact (package-private).
 *
 * @module
 */
import assert from "node:assert/strict";

/** A fresh object holding one value of every type the codec supports, with repeated and cyclic references. */
export function codecSamples(): Record<string, unknown> {
  const shared = { shared: true };
  const cyclic: Record<string, unknown> = { name: "cycle" };
  cyclic.self = cyclic;
  const nullProto: Record<string, unknown> = Object.create(null);
  nullProto.a = 1;
  nullProto["constructor"] = "not a function";
  const protoKey = JSON.parse('{"__proto__":{"polluted":true},"b":2}') as Record<string, unknown>;
  // deno-lint-ignore no-sparse-arrays
  const sparse = [1, , 3];
  const bytes = new Uint8Array([0, 1, 127, 128, 255]);
  const buffer = new Uint8Array([9, 8, 7, 6]).buffer;
  const protoCycle = JSON.parse('{"__proto__":{}}') as Record<string, unknown>;
  protoCycle.self = protoCycle;
  return {
    string: 'héllo \u2028 </script> " \\ \0 \ud83d\ude00',
    emptyString: "",
    numbers: [0, -0, 1.5, -2, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE],
    booleans: [true, false],
    null: null,
    undefined: undefined,
    date: new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 678)),
    invalidDate: new Date(NaN),
    map: new Map<unknown, unknown>([["k", 1], [{ objectKey: 1 }, [2]], [3n, new Set([1])], [
      undefined,
      null,
    ]]),
    set: new Set<unknown>([1, "a", { inSet: true }, -0]),
    bigint: 123456789012345678901234567890n,
    negativeBigint: -1n,
    bytes,
    subarray: bytes.subarray(1, 3),
    arrayBuffer: buffer,
    typedArrays: [
      new Int8Array([-128, 127]),
      new Uint8ClampedArray([0, 255]),
      new Int16Array([-32768, 32767]),
      new Uint16Array([65535]),
      new Int32Array([-2147483648]),
      new Uint32Array([4294967295]),
      new Float32Array([1.5, NaN]),
      new Float64Array([-0, Infinity]),
      new BigInt64Array([-(2n ** 63n)]),
      new BigUint64Array([2n ** 64n - 1n]),
    ],
    dataView: new DataView(new Uint8Array([1, 2, 3]).buffer),
    regexp: /a+b/gi,
    url: new URL("https://example.com/a?b=c#d"),
    searchParams: new URLSearchParams("a=1&a=2"),
    boxed: [Object("s"), Object(1), Object(false)],
    nested: { deep: [{ deeper: [1, [2, [3, { deepest: "yes" }]]] }] },
    repeated: [shared, shared, { again: shared }],
    cyclic,
    nullProto,
    protoKey,
    protoCycle,
    sparse,
    oddKeys: { constructor: 1, hasOwnProperty: 2, "": 3, "a.b": 4, toString: 5, "\0x": 6, "\0__proto__": 7 },
    emptyObject: {},
    emptyArray: [],
  };
}

/** The parts of a decoded sample whose identity or prototype is checked by hand. */
interface DecodedSamples {
  invalidDate: unknown;
  searchParams: unknown;
  numbers: number[];
  repeated: [object, object, { again: object }];
  cyclic: { self: unknown };
  protoCycle: { self: unknown };
  nullProto: object;
  protoKey: object;
  bytes: Uint8Array;
  subarray: Uint8Array;
  sparse: unknown[];
}

/** Assert that `actual` is an exact decoded copy of `codecSamples()` (deep equality plus identities). */
export function assertCodecSamples(actual: unknown, expected: Record<string, unknown>): void {
  assert.ok(typeof actual === "object" && actual !== null, "a decoded sample must be an object");
  const value = actual as DecodedSamples;
  // Compared by hand: Node 20's deepStrictEqual finds two invalid Dates unequal (and its TAP reporter then
  // crashes printing them), Bun's finds two equal URLSearchParams unequal, and workerd's throws on
  // null-prototype objects (it calls their missing propertyIsEnumerable).
  assert.deepStrictEqual(withoutQuirks(actual as Record<string, unknown>), withoutQuirks(expected));
  assert.ok(value.invalidDate instanceof Date && Number.isNaN(value.invalidDate.getTime()));
  assert.ok(value.searchParams instanceof URLSearchParams);
  assert.deepStrictEqual([...value.searchParams], [...(expected.searchParams as URLSearchParams)]);
  assert.notStrictEqual(value, expected, "a decoded value must be a copy");
  assert.ok(Object.is(value.numbers[1], -0), "-0 must stay -0");
  assert.strictEqual(value.repeated[0], value.repeated[1], "a repeated reference must stay one object");
  assert.strictEqual(value.repeated[2].again, value.repeated[0], "a repeated reference must stay one object");
  assert.strictEqual(value.cyclic.self, value.cyclic, "a cycle must stay a cycle");
  assert.strictEqual(value.protoCycle.self, value.protoCycle, "a cycle through a __proto__ key must stay");
  assert.strictEqual(Object.getPrototypeOf(value.nullProto), null);
  assert.deepStrictEqual({ ...value.nullProto }, { ...(expected.nullProto as object) });
  assert.ok(Object.hasOwn(value.protoKey, "__proto__"), "an own __proto__ key must stay an own key");
  assert.strictEqual(Object.getPrototypeOf(value.protoKey), Object.prototype);
  assert.deepStrictEqual(Object.keys(value.protoKey), ["__proto__", "b"]);
  assert.strictEqual(value.subarray.buffer, value.bytes.buffer, "a subarray must share its buffer");
  assert.ok(!(1 in value.sparse), "a hole must stay a hole");
  assertNoPollution();
}

/** Assert that no test value leaked into `Object.prototype`. */
export function assertNoPollution(): void {
  assert.strictEqual(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
  assert.ok(!Object.hasOwn(Object.prototype, "polluted"), "Object.prototype was polluted");
  assert.strictEqual(typeof ({} as Record<string, unknown>).constructor, "function");
}

function withoutQuirks(samples: Record<string, unknown>): Record<string, unknown> {
  const { invalidDate: _date, searchParams: _params, nullProto: _nullProto, ...rest } = samples;
  return rest;
}
