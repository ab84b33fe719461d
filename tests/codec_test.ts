import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeCheckpoint, decodeValue, encodeCheckpoint, encodeValue } from "../src/codec.ts";
import type { Checkpoint } from "../src/checkpoint.ts";
import { CheckpointCorruptError, CheckpointEncodeError } from "../src/errors.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { assertCodecSamples, assertNoPollution, codecSamples } from "../testing/_samples.ts";

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
    assert.match(keyed.message, /symbol keys/);
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
