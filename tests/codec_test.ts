import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeCheckpoint, decodeValue, encodeCheckpoint, encodeValue } from "../src/codec.ts";
import type { Checkpoint } from "../src/checkpoint.ts";
import { CheckpointCorruptError, CheckpointEncodeError } from "../src/errors.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { assertCodecSamples, assertNoPollution, codecSamples } from "../testing/_samples.ts";
import { assertExact } from "./_exact.ts";
import { TemporalLike } from "./fixtures/codec_portable.ts";

function roundTrip<T>(value: T): T {
  return decodeValue(encodeValue(value)) as T;
}

function encodeErrorOf(fn: () => unknown): CheckpointEncodeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CheckpointEncodeError, `expected CheckpointEncodeError, got ${error}`);
    return error;
  }
  assert.fail("expected a CheckpointEncodeError");
}

function corruptErrorOf(fn: () => unknown): CheckpointCorruptError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CheckpointCorruptError, `expected CheckpointCorruptError, got ${error}`);
    return error;
  }
  assert.fail("expected a CheckpointCorruptError");
}

class Point {
  constructor(public x: number) {}
}

describe("encodeValue() and decodeValue()", () => {
  test("encodeValue() then decodeValue() round-trips every supported type exactly", () => {
    assertCodecSamples(roundTrip(codecSamples()), codecSamples());
  });

  test("decodeValue() round-trips top-level primitives", () => {
    for (const value of [undefined, null, true, false, 0, -0, NaN, Infinity, -Infinity, 42, "", "s", 1n]) {
      assert.ok(Object.is(roundTrip(value), value), `round-trip of ${String(value)}`);
    }
  });

  test("decodeValue() returns a fresh copy each call", () => {
    const text = encodeValue({ list: [1] });
    assert.notStrictEqual(decodeValue(text), decodeValue(text));
  });

  test("encodeValue() keeps an own __proto__ key as an own data property without touching prototypes", () => {
    const value = JSON.parse('{"a":1,"__proto__":{"polluted":true},"b":[{"__proto__":null}]}');
    const back = roundTrip(value);
    assert.deepStrictEqual(back, value);
    assert.deepStrictEqual(Object.keys(back), ["a", "__proto__", "b"]);
    assert.strictEqual(Object.getPrototypeOf(back), Object.prototype);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(back, "__proto__"), {
      value: { polluted: true },
      writable: true,
      enumerable: true,
      configurable: true,
    });
    assert.ok(Object.hasOwn(back.b[0], "__proto__") && back.b[0].__proto__ === null);
    assert.strictEqual(back.polluted, undefined);
    assertNoPollution();
  });

  test("encodeValue() keeps an own __proto__ key on a null-prototype object", () => {
    const value = Object.create(null);
    Object.defineProperty(value, "__proto__", {
      value: 1,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const back = roundTrip(value);
    assert.strictEqual(Object.getPrototypeOf(back), null);
    assert.ok(Object.hasOwn(back, "__proto__"));
    assert.strictEqual(back.__proto__, 1);
  });

  test("encodeValue() escapes keys that start with NUL so they cannot collide with __proto__", () => {
    const value = { "\0__proto__": 1, "\0\0x": 2, "\0": 3, "a\0": 4 };
    const back = roundTrip(value);
    assert.deepStrictEqual(back, value);
    assert.ok(!Object.hasOwn(back, "__proto__"));
  });

  test("encodeValue() keeps a cycle that passes through an object with an own __proto__ key", () => {
    const value = JSON.parse('{"__proto__":{}}');
    value.__proto__.back = value;
    const back = roundTrip(value);
    assert.strictEqual(back.__proto__.back, back);
  });

  test("decodeValue() rejects a raw __proto__ key in crafted text with CheckpointCorruptError", () => {
    for (const text of ['[{"__proto__":1},{"polluted":2}]', '[["null","__proto__",1],{"polluted":2}]']) {
      const error = corruptErrorOf(() => decodeValue(text));
      assert.strictEqual(error.checkpointId, undefined);
    }
    assertNoPollution();
  });

  test("decodeValue() rejects text that is not encoded with CheckpointCorruptError", () => {
    for (const text of ["", "{", "[", "[]", "{}", '"text"', "[1", '[{"a":9}]', '[["Nope",1]]']) {
      const error = corruptErrorOf(() => decodeValue(text));
      assert.match(error.message, /^Checkpoint \(unknown id\) is corrupt: cannot decode value: /);
      assert.ok(error.cause !== undefined, "the parser's error is the cause");
    }
  });

  test("encodeValue() rejects a function with CheckpointEncodeError naming its path", () => {
    const error = encodeErrorOf(() => encodeValue({ a: { b: [0, () => 1] } }));
    assert.strictEqual(error.path, ".a.b[1]");
    assert.strictEqual(error.message, "Cannot encode checkpoint value at .a.b[1]: unsupported function");
  });

  test("encodeValue() rejects a symbol, a promise and symbol keys, naming each path", () => {
    assert.strictEqual(
      encodeErrorOf(() => encodeValue(new Map([["k", { f: Symbol("s") }]]))).path,
      '.get("k").f',
    );
    const promise = encodeErrorOf(() => encodeValue({ p: Promise.resolve(1) }));
    assert.strictEqual(promise.path, ".p");
    assert.match(promise.message, /promise/);
    const keyed = encodeErrorOf(() => encodeValue({ o: { [Symbol("k")]: 1 } }));
    assert.strictEqual(keyed.path, ".o");
    assert.match(keyed.message, /symbol key Symbol\(k\)/);
    assert.strictEqual(encodeErrorOf(() => encodeValue(Symbol("top"))).path, "");
  });

  test("encodeValue() rejects a class instance, naming its class", () => {
    const error = encodeErrorOf(() => encodeValue({ list: [new Point(1)] }));
    assert.strictEqual(error.path, ".list[0]");
    assert.match(error.message, /instance of Point/);
    assert.strictEqual(encodeErrorOf(() => encodeValue({ e: new Error("x") })).path, ".e");
  });

  test("encodeValue() error paths show escaped keys as they are in the data", () => {
    const proto = JSON.parse('{"__proto__":{"x":{}}}');
    proto.__proto__.x.fn = () => 1;
    assert.strictEqual(encodeErrorOf(() => encodeValue(proto)).path, ".__proto__.x.fn");
    assert.strictEqual(
      encodeErrorOf(() => encodeValue({ "\0k": { "a b": [() => 1] } })).path,
      '["\\u0000k"]["a b"][0]',
    );
  });

  test("encodeValue() and decodeValue() turn a stack overflow from deep nesting into their errors", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    assert.ok(encodeErrorOf(() => encodeValue(deep)).cause instanceof RangeError);
    const text = `[${Array.from({ length: 200_000 }, (_, i) => `[${i + 1}]`).join(",")},1]`;
    assert.ok(corruptErrorOf(() => decodeValue(text)).cause instanceof RangeError);
  });

  test("encodeValue() turns a throwing getter into CheckpointEncodeError with the cause", () => {
    const cause = new Error("getter failed");
    const error = encodeErrorOf(() =>
      encodeValue({
        get broken() {
          throw cause;
        },
      })
    );
    assert.strictEqual(error.cause, cause);
    assert.match(error.message, /getter failed/);
  });
});

describe("encodeCheckpoint() and decodeCheckpoint()", () => {
  function sample(): Checkpoint {
    return makeCheckpoint({
      parentId: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      superstep: 3,
      messages: [{ source: "a", data: new Map([[1, new Date(0)]]), to: "b" }],
      state: { count: 2n, seen: new Set(["x"]) },
      executorState: { a: { n: -0 } },
      edgeState: { "fan-in": [[1], [undefined]] },
      pendingRequests: [{ requestId: "r", executorId: "a", data: new Uint8Array([1]) }],
      metadata: { note: "hi" },
    });
  }

  test("encodeCheckpoint() then decodeCheckpoint() round-trips a checkpoint exactly", () => {
    const cp = sample();
    const back = decodeCheckpoint(encodeCheckpoint(cp), cp.id);
    assert.deepStrictEqual(back, cp);
    assert.ok(Object.is(back.executorState.a && (back.executorState.a as { n: number }).n, -0));
  });

  test("encodeCheckpoint() writes only the Checkpoint fields", () => {
    const cp = { ...sample(), extra: () => "not stored" } as Checkpoint;
    const back = decodeCheckpoint(encodeCheckpoint(cp));
    assert.ok(!("extra" in back));
  });

  test("encodeCheckpoint() names the path of an unencodable value from the checkpoint root", () => {
    const cp = sample();
    cp.state.user = { fn: () => 1 };
    assert.strictEqual(encodeErrorOf(() => encodeCheckpoint(cp)).path, ".state.user.fn");
    const withMessage = { ...sample(), messages: [{ source: "a", data: [new Point(1)] }] };
    const error = encodeErrorOf(() => encodeCheckpoint(withMessage));
    assert.strictEqual(error.path, ".messages[0].data[0]");
    assert.match(error.message, /^Cannot encode checkpoint value at \.messages\[0\]\.data\[0\]: /);
  });

  test("encodeCheckpoint() rejects a malformed checkpoint with TypeError", () => {
    const bad: Array<[string, unknown]> = [
      ["version", 2],
      ["id", 1],
      ["parentId", undefined],
      ["superstep", -1],
      ["superstep", 1.5],
      ["state", null],
      ["messages", {}],
      ["metadata", []],
    ];
    for (const [field, value] of bad) {
      const cp = { ...sample(), [field]: value } as Checkpoint;
      assert.throws(() => encodeCheckpoint(cp), TypeError, `${field}: ${String(value)}`);
    }
  });

  test("decodeCheckpoint() returns a fresh copy each call", () => {
    const text = encodeCheckpoint(sample());
    assert.notStrictEqual(decodeCheckpoint(text).state, decodeCheckpoint(text).state);
  });

  test("decodeCheckpoint() rejects text that does not decode with CheckpointCorruptError naming the id", () => {
    for (const text of ["", "not encoded", "[", '[{"a":7}]', '[["Unknown",1]]', '[{"__proto__":1}]']) {
      const error = corruptErrorOf(() => decodeCheckpoint(text, "01JABC"));
      assert.strictEqual(error.checkpointId, "01JABC");
      assert.match(error.message, /^Checkpoint 01JABC is corrupt: cannot decode: /);
    }
  });

  test("decodeCheckpoint() rejects a value that is not a checkpoint with CheckpointCorruptError", () => {
    for (const value of [undefined, null, 42, "text", [], new Map(), { version: 1 }]) {
      const error = corruptErrorOf(() => decodeCheckpoint(encodeValue(value), "01JABC"));
      assert.strictEqual(error.checkpointId, "01JABC");
    }
  });

  test("decodeCheckpoint() rejects a missing or mistyped field, naming it", () => {
    const fields = [
      "id",
      "parentId",
      "sessionId",
      "workflowName",
      "graphSignature",
      "superstep",
      "createdAt",
      "messages",
      "state",
      "executorState",
      "edgeState",
      "pendingRequests",
      "metadata",
    ];
    for (const field of fields) {
      for (const value of [undefined, 1n]) {
        const record: Record<string, unknown> = { ...sample(), [field]: value };
        if (value === undefined) delete record[field];
        const error = corruptErrorOf(() => decodeCheckpoint(encodeValue(record), "01JABC"));
        assert.ok(error.message.includes(`"${field}"`), error.message);
      }
    }
  });

  test("decodeCheckpoint() rejects a queued message or pending request without its string ids, naming it", () => {
    // Regression: these decoded, and resume() then failed with a TypeError reading `message.source` or
    // `request.requestId` instead of reporting the damage.
    const bad: Array<[string, unknown[], RegExp]> = [
      ["messages", [null], /messages\[0\] must be an object/],
      ["messages", [{ source: "a", data: 1 }, 7], /messages\[1\] must be an object/],
      ["messages", [{ source: 5, data: 1 }], /messages\[0\] must be an object with a string "source"/],
      ["messages", [{ source: "a", data: 1, to: 3 }], /messages\[0\]\.to must be a string/],
      ["pendingRequests", [null], /pendingRequests\[0\] must be an object/],
      ["pendingRequests", [{ requestId: 1, executorId: "a", data: 1 }], /pendingRequests\[0\]/],
      ["pendingRequests", [{ requestId: "r", data: 1 }], /pendingRequests\[0\]/],
    ];
    for (const [field, value, message] of bad) {
      const text = encodeValue({ ...sample(), [field]: value });
      const error = corruptErrorOf(() => decodeCheckpoint(text, "01JABC"));
      assert.strictEqual(error.checkpointId, "01JABC");
      assert.match(error.message, message);
      assert.throws(() => encodeCheckpoint({ ...sample(), [field]: value } as Checkpoint), TypeError);
    }
    const fine = { ...sample(), messages: [{ source: "a", data: null }, { source: "b", data: 1, to: "c" }] };
    assert.deepStrictEqual(decodeCheckpoint(encodeCheckpoint(fine)), fine);
  });

  test("decodeCheckpoint() rejects a format version other than 1", () => {
    for (const version of [0, 2, "1", undefined]) {
      const text = encodeValue({ ...sample(), version });
      const error = corruptErrorOf(() => decodeCheckpoint(text, "01JABC"));
      assert.match(error.message, /unsupported format version/);
    }
  });

  test("decodeCheckpoint() rejects text holding another checkpoint than the id it was stored under", () => {
    const cp = sample();
    const error = corruptErrorOf(() => decodeCheckpoint(encodeCheckpoint(cp), "01JOTHER"));
    assert.strictEqual(error.checkpointId, "01JOTHER");
    assert.ok(error.message.includes(cp.id));
  });

  test("decodeCheckpoint() without an id names the decoded id in errors when it has one", () => {
    const text = encodeValue({ ...sample(), id: "01JINNER", version: 9 });
    assert.strictEqual(corruptErrorOf(() => decodeCheckpoint(text)).checkpointId, "01JINNER");
    assert.strictEqual(corruptErrorOf(() => decodeCheckpoint("x")).checkpointId, undefined);
  });
});

describe("encodeCheckpoint() plain-JSON fast path", () => {
  test("encodeCheckpoint() writes a plain-JSON checkpoint as JSON, and decodeCheckpoint() reads it back exactly", () => {
    const checkpoint = makeCheckpoint({
      state: { list: [1, "two", true, null, { nested: [0.5] }], ["__proto__"]: { kept: 1 } },
    });
    const text = encodeCheckpoint(checkpoint);
    assert.equal(text[0], "{");
    const copy = decodeCheckpoint(text, checkpoint.id);
    assert.deepStrictEqual(copy.state.list, checkpoint.state.list);
    assert.ok(Object.hasOwn(copy.state, "__proto__"), "an own __proto__ key stays an own key");
    assertNoPollution();
  });

  test("encodeCheckpoint() falls back to the full codec for what JSON would change", () => {
    const shared = { n: 1 };
    const cases: Record<string, unknown> = {
      "negative zero": -0,
      "NaN": NaN,
      "undefined": undefined,
      "a hole": [1, , 3],
      "a Date": new Date(0),
      "a Map": new Map([[1, 2]]),
      "a null-prototype object": Object.create(null),
      "a repeated reference": [shared, shared],
    };
    for (const [name, value] of Object.entries(cases)) {
      const checkpoint = makeCheckpoint({ state: { value } });
      const text = encodeCheckpoint(checkpoint);
      assert.notEqual(text[0], "{", `${name} must not take the JSON path`);
      const copy = decodeCheckpoint(text, checkpoint.id).state.value;
      if (name === "a repeated reference") {
        const [a, b] = copy as object[];
        assert.strictEqual(a, b, "sharing survives");
      } else if (name === "negative zero" || name === "NaN") {
        assert.ok(Object.is(copy, value), name);
      } else if (name === "a hole") {
        assert.ok(!(1 in (copy as unknown[])), "the hole survives");
      } else if (name === "undefined") {
        assert.ok(Object.hasOwn(decodeCheckpoint(text, checkpoint.id).state, "value"), "the key survives");
      } else if (name === "a null-prototype object") {
        assert.strictEqual(Object.getPrototypeOf(copy), null);
      } else {
        assert.deepStrictEqual(copy, value, name);
      }
    }
  });
});

// Issue 13: every value either round-trips exactly on every runtime or is refused at encode time, naming its
// path, alike on both encode paths (encodeValue is always devalue; encodeCheckpoint tries JSON first).

/** The detail of a CheckpointEncodeError, after "Cannot encode checkpoint value at <path>: ". */
function detailOf(error: CheckpointEncodeError): string {
  return error.message.slice(`Cannot encode checkpoint value at ${error.path || "(root)"}: `.length);
}

/** Assert that both encode paths refuse `value` at `.user.when` alike; the refusal's detail. */
function refusalOnBothPaths(value: unknown): string {
  const valueError = encodeErrorOf(() => encodeValue({ user: { when: value } }));
  const checkpoint = makeCheckpoint({ state: { user: { when: value } } });
  const checkpointError = encodeErrorOf(() => encodeCheckpoint(checkpoint));
  assert.strictEqual(valueError.path, ".user.when");
  assert.strictEqual(checkpointError.path, ".state.user.when");
  assert.strictEqual(detailOf(checkpointError), detailOf(valueError));
  return detailOf(valueError);
}

/** Assert that both encode paths keep `value` exactly; whether encodeCheckpoint took the JSON path. */
function keptOnBothPaths(value: unknown): boolean {
  assertExact(decodeValue(encodeValue(value)), value);
  const checkpoint = makeCheckpoint({ state: { value } });
  const text = encodeCheckpoint(checkpoint);
  assertExact(decodeCheckpoint(text, checkpoint.id).state.value, value);
  return text[0] === "{";
}

const Temporal =
  (globalThis as unknown as { Temporal?: Record<string, { from(text: string): object }> }).Temporal;

describe("codec: Temporal values are refused at encode time (issue 13, defect 4)", () => {
  const samples: [string, string][] = [
    ["Instant", "2024-02-29T12:00:00Z"],
    ["ZonedDateTime", "2024-02-29T12:00:00+01:00[Europe/Paris]"],
    ["PlainDate", "2024-02-29"],
    ["PlainTime", "12:00:00"],
    ["PlainDateTime", "2024-02-29T12:00:00"],
    ["PlainYearMonth", "2024-02"],
    ["PlainMonthDay", "02-29"],
    ["Duration", "PT1H"],
  ];
  const skip = Temporal ? false : "this runtime has no Temporal (tests/runtime/node_codec_temporal_test.ts " +
    "checks that Deno and Bun refuse it and that Node reads what they write)";
  test(
    "encodeCheckpoint() and encodeValue() refuse every real Temporal type, naming its path",
    { skip },
    () => {
      // Regression: Deno and Bun saved these, and every load on Node failed with "Temporal is not defined".
      for (const [type, text] of samples) {
        const value = Temporal![type].from(text);
        const detail = refusalOnBothPaths(value);
        assert.match(detail, new RegExp(`^unsupported Temporal\\.${type}: Node has no Temporal`), type);
        assert.match(detail, new RegExp(`store its ISO string .*Temporal\\.${type}\\.from\\(\\)`), type);
      }
    },
  );

  test("encodeCheckpoint() and encodeValue() refuse a Temporal polyfill's object on every runtime", () => {
    // Regression: devalue wrote it by its tag, and no runtime without a global Temporal could read it back.
    const detail = refusalOnBothPaths(new TemporalLike("Temporal.Instant", "2024-02-29T12:00:00Z"));
    assert.match(detail, /^unsupported Temporal\.Instant: .*store its ISO string/);
  });

  test("a Temporal value stored as its ISO string round-trips", () => {
    assert.ok(
      keptOnBothPaths({ when: new TemporalLike("Temporal.Instant", "2024-02-29T12:00:00Z").toString() }),
    );
  });
});

describe("codec: the three silent changes are refusals on both paths (issue 13, defect 5)", () => {
  test("encodeCheckpoint() refuses an object with a non-enumerable toJSON instead of writing what it returns", () => {
    // Regression: the JSON path wrote "replaced"; encodeValue kept the object but dropped its toJSON.
    const value = Object.defineProperty({ kept: 1 }, "toJSON", { value: () => "replaced" });
    assert.strictEqual(
      refusalOnBothPaths(value),
      'unsupported object with non-enumerable property "toJSON" (it would be lost)',
    );
  });

  test("encodeCheckpoint() and encodeValue() refuse an object inheriting from a null-prototype object", () => {
    // Regression: devalue took it for a plain object, and it came back without its prototype.
    const value = Object.create(Object.create(null));
    value.a = 1;
    assert.match(refusalOnBothPaths(value), /^unsupported object whose prototype is a null-prototype object/);
  });

  test("encodeCheckpoint() and encodeValue() refuse an Array subclass, naming the class", () => {
    // Regression: it came back a plain Array.
    class Row extends Array<number> {}
    const value = Row.from([1, 2]);
    assert.strictEqual(
      refusalOnBothPaths(value),
      "unsupported instance of Row, a subclass of Array (it would come back an Array)",
    );
  });
});

describe("codec: anything else devalue or JSON would change is refused on both paths", () => {
  test("encodeCheckpoint() and encodeValue() refuse non-enumerable properties and symbol keys of objects", () => {
    assert.match(refusalOnBothPaths(Object.defineProperty({}, "hidden", { value: 1 })), /"hidden"/);
    const nullProto = Object.defineProperty(Object.create(null), "hidden", { value: 1, enumerable: false });
    assert.match(refusalOnBothPaths(nullProto), /non-enumerable property "hidden"/);
    const symbol = Object.defineProperty({ a: 1 }, Symbol("meta"), { value: 1, enumerable: false });
    assert.match(refusalOnBothPaths(symbol), /symbol key Symbol\(meta\)/);
    // The shortcut for {} (every checkpoint's metadata) too: it wrote "[{}]".
    const hidden = Object.defineProperty({}, "hidden", { value: 1 });
    assert.strictEqual(encodeErrorOf(() => encodeValue(hidden)).path, "");
  });

  test("encodeCheckpoint() and encodeValue() refuse extra properties on arrays", () => {
    // A RegExp match is an array with `index`, `input` and `groups`.
    assert.strictEqual(
      refusalOnBothPaths("abc".match(/b/)),
      'unsupported array with own property "index" (it would be lost)',
    );
    assert.match(refusalOnBothPaths(Object.assign([1, 2], { note: "x" })), /"note"/);
    assert.match(refusalOnBothPaths(Object.defineProperty([], "hidden", { value: 1 })), /"hidden"/);
    assert.match(refusalOnBothPaths(Object.assign([1], { [Symbol("s")]: 1 })), /Symbol\(s\)/);
    // deno-lint-ignore no-sparse-arrays
    const holes = Object.assign([1, , 3], { x: 1 });
    assert.match(refusalOnBothPaths(holes), /"x"/);
    // A key past the largest array index is not an index.
    assert.match(refusalOnBothPaths(Object.assign([1], { "4294967295": 1 })), /"4294967295"/);
  });

  test("encodeCheckpoint() and encodeValue() refuse own properties on Date, Map, Set, RegExp, buffers and boxes", () => {
    const cases: [string, object][] = [
      ["Date", new Date(0)],
      ["Map", new Map([[1, 2]])],
      ["Set", new Set([1])],
      ["RegExp", /a/g],
      ["ArrayBuffer", new ArrayBuffer(2)],
      ["DataView", new DataView(new ArrayBuffer(2))],
      ["Number", Object(1)],
      ["String", Object("ab")],
      ["Boolean", Object(true)],
      ["BigInt", Object(1n)],
      ["URL", new URL("https://example.com/")],
    ];
    for (const [name, value] of cases) {
      Object.defineProperty(value, "label", { value: "x", enumerable: true });
      assert.strictEqual(
        refusalOnBothPaths(value),
        `unsupported ${name} with own property "label" (it would be lost)`,
        name,
      );
    }
    const tagged = Object.assign(new Uint8Array([1]), { [Symbol("tag")]: 1 });
    assert.match(refusalOnBothPaths(tagged), /^unsupported Uint8Array with own property Symbol\(tag\)/);
  });

  test("encodeCheckpoint() and encodeValue() refuse subclasses of Map, Set, Date, RegExp and typed arrays", () => {
    class Registry extends Map {}
    class Tags extends Set {}
    class Stamp extends Date {}
    class Pattern extends RegExp {}
    class Samples extends Float64Array {}
    const cases: [object, RegExp][] = [
      [new Registry(), /^unsupported instance of Registry, a subclass of Map \(it would come back a Map\)$/],
      [new Tags(), /Tags, a subclass of Set/],
      [new Stamp(0), /Stamp, a subclass of Date/],
      [new Pattern("a"), /Pattern, a subclass of RegExp/],
      [new Samples(2), /Samples, a subclass of Float64Array \(it would come back a Float64Array\)/],
      [Object.setPrototypeOf(new Date(0), null), /^unsupported Date whose prototype is not Date\.prototype/],
      // JSON.stringify would write {} and null for these (a Number with Object.prototype reads as NaN).
      [Object.setPrototypeOf(new Date(0), Object.prototype), /Date whose prototype is not Date\.prototype/],
      [Object.setPrototypeOf(Object(1), Object.prototype), /Number whose prototype is not Number\.prototype/],
    ];
    for (const [value, message] of cases) assert.match(refusalOnBothPaths(value), message);
  });

  test("encodeCheckpoint() and encodeValue() refuse a Node Buffer, saying what to store instead", () => {
    // A Buffer is a Uint8Array subclass workerd has not: it cannot come back a Buffer on every runtime.
    const NodeBuffer = (globalThis as { Buffer?: { from(bytes: number[]): Uint8Array } }).Buffer;
    class Buffer extends Uint8Array {}
    // A bundler may rename the class (workerd's test bundle makes it Buffer2); Node's is always "Buffer".
    Object.defineProperty(Buffer, "name", { value: "Buffer" });
    for (const value of [new Buffer([1, 2]), ...(NodeBuffer ? [NodeBuffer.from([1, 2])] : [])]) {
      assert.match(refusalOnBothPaths(value), /^unsupported Node Buffer .*: store new Uint8Array\(buffer\)$/);
    }
    const copy = new Uint8Array(new Buffer([1, 2]));
    keptOnBothPaths(copy);
  });

  test("encodeCheckpoint() and encodeValue() refuse objects whose prototype is not Object.prototype or null", () => {
    assert.match(
      refusalOnBothPaths(Object.create({ inherited: 1 })),
      /prototype is neither Object\.prototype nor null/,
    );
    assert.match(refusalOnBothPaths(new Point(1)), /instance of Point \(not a plain object\)/);
    const args = (function (..._: number[]) {
      return arguments;
    })(1, 2);
    assert.match(refusalOnBothPaths(args), /^unsupported arguments object/);
  });

  test("encodeCheckpoint() and encodeValue() refuse an object whose Symbol.toStringTag forges a built-in", () => {
    for (const tag of ["Map", "Date", "Uint8Array", "Array", "URL"]) {
      const forged = Object.create(Object.prototype, { [Symbol.toStringTag]: { value: tag } });
      class Forged {
        get [Symbol.toStringTag]() {
          return tag;
        }
      }
      const message = new RegExp(
        `^unsupported object whose Symbol.toStringTag says ${tag} but which is not one$`,
      );
      assert.match(refusalOnBothPaths(forged), message);
      assert.match(refusalOnBothPaths(new Forged()), message);
    }
  });

  test("encodeCheckpoint() and encodeValue() refuse buffers that would not come back the same", () => {
    const Resizable = ArrayBuffer as unknown as new (length: number, options: object) => ArrayBuffer;
    const resizable = new Resizable(4, { maxByteLength: 8 });
    assert.match(refusalOnBothPaths(resizable), /^unsupported resizable ArrayBuffer/);
    assert.match(refusalOnBothPaths(new Uint8Array(resizable)), /^unsupported resizable ArrayBuffer/);
    const detached = new ArrayBuffer(4);
    structuredClone(detached, { transfer: [detached] });
    assert.match(refusalOnBothPaths(detached), /^unsupported detached ArrayBuffer/);
    if (typeof SharedArrayBuffer === "function") {
      assert.match(refusalOnBothPaths(new SharedArrayBuffer(4)), /^unsupported SharedArrayBuffer/);
    }
    keptOnBothPaths(new ArrayBuffer(0));
  });

  test("encodeCheckpoint() and encodeValue() refuse a Float16Array, which Node 20 cannot read", () => {
    const Float16 = (globalThis as { Float16Array?: new (length: number) => object }).Float16Array;
    if (!Float16) return; // Nothing to write it with (Node 20).
    assert.match(refusalOnBothPaths(new Float16(2)), /^unsupported Float16Array: Node 20 has none/);
  });

  test("encodeCheckpoint() and encodeValue() refuse a RegExp whose lastIndex is not 0", () => {
    const sticky = /a/g;
    sticky.test("aa");
    assert.match(refusalOnBothPaths(sticky), /^unsupported RegExp with lastIndex 1 \(it would come back 0\)/);
    sticky.lastIndex = 0;
    keptOnBothPaths(sticky);
  });

  test("encodeCheckpoint() and encodeValue() refuse a raw JSON object where JSON.rawJSON exists", () => {
    const rawJSON = (JSON as { rawJSON?: (text: string) => object }).rawJSON;
    if (!rawJSON) return; // Node 20 has none.
    assert.match(refusalOnBothPaths(rawJSON("1e1000")), /^unsupported raw JSON object/);
  });
});

describe("codec: what it keeps, it keeps exactly", () => {
  test("encodeCheckpoint() and decodeCheckpoint() keep lone surrogates, and the text is well-formed UTF-16", () => {
    const lone = "a\ud800b\udfff\udbff";
    const values = [
      { text: lone, [lone]: [lone, "\udc00\ud800"] },
      { text: lone, map: new Map([[lone, new Set([lone])]]), pattern: new RegExp(lone) },
    ];
    const utf8 = (text: string) =>
      new TextDecoder("utf-8", { fatal: true }).decode(new TextEncoder().encode(text));
    for (const value of values) {
      const checkpoint = makeCheckpoint({ state: { value }, metadata: { note: lone } });
      const text = encodeCheckpoint(checkpoint);
      assert.strictEqual(utf8(text), text, "a UTF-8 store gives the text back unchanged");
      assertExact(decodeCheckpoint(utf8(text), checkpoint.id).state.value, value);
      const valueText = encodeValue(value);
      assert.strictEqual(utf8(valueText), valueText);
      assertExact(decodeValue(valueText), value);
    }
    assert.strictEqual(encodeCheckpoint(makeCheckpoint({ state: values[0] }))[0], "{", "the JSON path");
  });

  test("encodeCheckpoint() keeps plain data exactly, and refuses the rest, when a built-in prototype is polluted", () => {
    const value = { list: [1, "a"], nested: { n: 2 } };
    const hidden = Object.defineProperty({ a: 1 }, "hidden", { value: 2 });
    const pollutions: [object, string, boolean][] = [
      [Object.prototype, "toJSON", false],
      [Array.prototype, "toJSON", false],
      [String.prototype, "toJSON", false],
      [Number.prototype, "toJSON", false],
      // An inherited enumerable key for-in would count in place of an own non-enumerable one.
      [Object.prototype, "extra", true],
    ];
    for (const [proto, key, enumerable] of pollutions) {
      Object.defineProperty(proto, key, {
        value: () => "polluted",
        enumerable,
        configurable: true,
        writable: true,
      });
      try {
        const checkpoint = makeCheckpoint({ state: { value } });
        assertExact(decodeCheckpoint(encodeCheckpoint(checkpoint)).state.value, value);
        assert.match(refusalOnBothPaths(hidden), /non-enumerable property "hidden"/);
      } finally {
        delete (proto as Record<string, unknown>)[key];
      }
    }
  });

  test("encodeCheckpoint() and encodeValue() store values, not property attributes", () => {
    // What structuredClone does too: a getter is read once, frozen and non-writable come back writable.
    const frozen = Object.freeze({ a: Object.freeze([1, 2]) });
    const getter = {
      get computed() {
        return 42;
      },
    };
    assert.ok(keptOnBothPaths(frozen), "the JSON path");
    assert.ok(keptOnBothPaths(getter), "the JSON path");
    const back = decodeValue(encodeValue(getter)) as object;
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(back, "computed"), {
      value: 42,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });

  test("encodeCheckpoint() and encodeValue() keep every supported built-in exactly, with holes and subarrays", () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    // deno-lint-ignore no-sparse-arrays
    const holes = [1, , 3];
    keptOnBothPaths({
      holes,
      date: new Date(0),
      views: [bytes, bytes.subarray(1, 3), new DataView(bytes.buffer, 1, 2), new BigInt64Array([-1n])],
      boxed: [Object("ab"), Object(1), Object(false), Object(1n)],
      url: new URL("https://example.com/a?b#c"),
      params: new URLSearchParams("a=1&a=2"),
      pattern: /a+/gi,
      nullProto: Object.assign(Object.create(null), { a: 1 }),
    });
  });
});
