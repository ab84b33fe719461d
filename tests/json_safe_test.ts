// The one JSON-safe walker (src/_json_safe.ts) under the HTTP adapter's policy and the logger's: an object
// reached again is written once and then by an RFC 6901 `$ref` pointer, so the copy stays linear in the size
// of the value (issue 13, defect 9); a conversion that throws forgets what it wrote; `maxLength` stops a
// copy that would be too long, and never one that fits.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { defineExecutor, WorkflowBuilder } from "../mod.ts";
import { type JsonPolicy, JsonTooLongError, toJsonSafe } from "../src/_json_safe.ts";
import { logger } from "../plugins/logger.ts";
import { dagOf, resolveRefs } from "./_hono_hostile.ts";

/** A policy like the logger's, with shallow depth for the depth cases. */
const POLICY: JsonPolicy = {
  maxDepth: 8,
  unrepresentable: (value) => String(value),
  bytes: (value, convert) => Array.from(value as Uint8Array, convert),
  error: (error, convert) => ({
    name: error.name,
    message: error.message,
    cause: convert(error.cause, "cause"),
  }),
  invalidDate: "Invalid Date",
  unreadable: "[Unserializable]",
  throwingGetter: "[Throwing getter]",
};

describe("toJsonSafe() shared and cyclic references", () => {
  test("toJsonSafe() writes a shared object once, then a $ref pointer to where it was written", () => {
    const shared = { n: 1 };
    assert.deepEqual(toJsonSafe({ a: shared, b: [shared, shared] }, POLICY), {
      a: { n: 1 },
      b: [{ $ref: "#/a" }, { $ref: "#/a" }],
    });
  });

  test("toJsonSafe() writes a 60-level DAG (2^60 paths) in 5 KB, and the pointers resolve to it", () => {
    // One object and one pointer per level; a pointer is as long as the path it names (here 2 per level).
    const text = JSON.stringify(toJsonSafe(dagOf(60), { ...POLICY, maxDepth: 100 }));
    assert.ok(text.length < 6_000, `${text.length} characters`);
    const small = toJsonSafe(dagOf(5), POLICY);
    assert.deepEqual(resolveRefs(small), structuredClone(dagOf(5)));
  });

  test("toJsonSafe() writes a cycle as a pointer to the object it closes on, the root being #", () => {
    const root: Record<string, unknown> = { name: "root" };
    root.self = root;
    root.child = { parent: root, list: [] as unknown[] };
    (root.child as { list: unknown[] }).list.push(root.child);
    assert.deepEqual(toJsonSafe(root, POLICY), {
      name: "root",
      self: { $ref: "#" },
      child: { parent: { $ref: "#" }, list: [{ $ref: "#/child" }] },
    });
  });

  test("toJsonSafe() escapes pointer tokens (RFC 6901 ~0, ~1), points into Map pairs, and starts at `at`", () => {
    const shared = [1];
    const value = { "a/b~c": shared, map: new Map([[shared, shared]]), again: shared };
    assert.deepEqual(toJsonSafe(value, POLICY, { at: ["data", "x/y"] }), {
      "a/b~c": [1],
      map: [[{ $ref: "#/data/x~1y/a~1b~0c" }, { $ref: "#/data/x~1y/a~1b~0c" }]],
      again: { $ref: "#/data/x~1y/a~1b~0c" },
    });
    const key = { k: 1 };
    assert.deepEqual(toJsonSafe([new Map([[key, 2]]), key], POLICY), [[[{ k: 1 }, 2]], { $ref: "#/0/0/0" }]);
  });

  test("toJsonSafe() forgets what a conversion that threw had written: no pointer into a dropped part", () => {
    const shared = { n: 1 };
    // Index 0 converts, then reading index 1 throws: the whole list is unreadable.
    const list = new Proxy([shared, 2], {
      get(target, key, receiver) {
        if (key === "1") throw new Error("revoked");
        return Reflect.get(target, key, receiver);
      },
    });
    assert.deepEqual(toJsonSafe({ list, again: shared }, POLICY), {
      list: "[Unserializable]",
      again: { n: 1 },
    });
  });

  test("toJsonSafe() points only to objects written in full: not to a part cut as too deep, nor a Date's string", () => {
    const shared = { n: 1 };
    let deep: unknown = shared;
    for (let i = 0; i < 10; i++) deep = [deep];
    assert.deepEqual(toJsonSafe({ deep, shallow: shared, third: shared }, POLICY), {
      deep: [[[[[[["[Too deep]"]]]]]]],
      shallow: { n: 1 },
      third: { $ref: "#/shallow" },
    });
    const date = new Date(0);
    assert.deepEqual(toJsonSafe([date, date], POLICY), [
      "1970-01-01T00:00:00.000Z",
      "1970-01-01T00:00:00.000Z",
    ]);
    const replaced = { toJSON: () => "x" };
    assert.deepEqual(toJsonSafe([replaced, replaced], POLICY), ["x", "x"]);
  });
});

describe("toJsonSafe() maxLength", () => {
  test("toJsonSafe() throws JsonTooLongError once the copy is known to be longer, while walking", () => {
    const line = "x".repeat(1_000);
    // A small value (one string, shared) whose JSON is 10 MB.
    const value = new Array(10_000).fill(line);
    assert.throws(() => toJsonSafe(value, POLICY, { maxLength: 100_000 }), JsonTooLongError);
    assert.equal((toJsonSafe(value.slice(0, 10), POLICY, { maxLength: 100_000 }) as unknown[]).length, 10);
  });

  test("toJsonSafe() never refuses a copy whose JSON fits in maxLength (the count is a lower bound)", () => {
    const anything = fc.anything({
      withBigInt: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
      withNullPrototype: true,
      withObjectString: true,
      withBoxedValues: true,
      withUnicodeString: true,
    });
    fc.assert(
      fc.property(anything, fc.boolean(), (value, share) => {
        const input = share ? [value, { again: value }, [value]] : value;
        const text = JSON.stringify(toJsonSafe(input, POLICY)) ?? "";
        toJsonSafe(input, POLICY, { maxLength: text.length });
      }),
      { numRuns: 500, seed: 13 },
    );
  });
});

describe("logger() and shared references", () => {
  test("logger() writes a DAG output once per object, with $ref pointers into the line", async () => {
    const lines: string[] = [];
    const dag = defineExecutor({
      id: "dag",
      handle: (levels: number, ctx) => ctx.yieldOutput(dagOf(levels)),
    });
    await new WorkflowBuilder({ name: "dag", start: dag })
      .use(logger({ sink: (line) => void lines.push(line) }))
      .build()
      .run(30);
    const output = lines.map((line) => JSON.parse(line)).find((record) => record.event === "output");
    assert.ok(JSON.stringify(output).length < 3_000);
    assert.deepEqual(output.data.r, { $ref: "#/data/l" });
  });
});
