import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { idGenerator, newId, newSessionId } from "../src/_ulid.ts";

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function timeOf(id: string): number {
  let ms = 0;
  for (const char of id.slice(0, 10)) ms = ms * 32 + ALPHABET.indexOf(char);
  return ms;
}

function withClock<T>(now: () => number, body: () => T): T {
  const original = Date.now;
  Date.now = now;
  try {
    return body();
  } finally {
    Date.now = original;
  }
}

describe("newId()", () => {
  test("newId() returns a 26-character Crockford base32 ULID carrying the current time", () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    assert.match(id, ULID);
    assert.ok(timeOf(id) >= before && timeOf(id) <= after, `time ${timeOf(id)} not in [${before}, ${after}]`);
  });

  test("newId() is strictly increasing within one millisecond", () => {
    const next = idGenerator();
    const ids = withClock(() => 1_700_000_000_000, () => Array.from({ length: 5000 }, () => next()));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} !< ${ids[i]}`);
    assert.ok(ids.every((id) => timeOf(id) === 1_700_000_000_000));
  });

  test("newId() stays increasing when the clock steps back", () => {
    const next = idGenerator();
    const late = withClock(() => 1_800_000_000_000, () => next());
    const early = withClock(() => 1_000_000_000_000, () => next());
    assert.ok(early > late);
    assert.match(early, ULID);
  });

  test("newId() uses the new time and fresh randomness once the clock moves forward", () => {
    const next = idGenerator();
    const first = withClock(() => 1_900_000_000_000, () => next());
    const second = withClock(() => 1_900_000_000_007, () => next());
    assert.strictEqual(timeOf(second), 1_900_000_000_007);
    // 80 random bits: equal random parts would mean none were drawn.
    assert.notStrictEqual(first.slice(10), second.slice(10));
    assert.notStrictEqual(second.slice(10), "0000000000000000");
  });

  test("newId(after) sorts after a parent id from a clock far ahead, and later ids follow", () => {
    const next = idGenerator();
    const parent = withClock(() => 2_500_000_000_000, () => idGenerator()());
    const child = next(parent);
    assert.ok(child > parent);
    assert.ok(
      [2_500_000_000_000, 2_500_000_000_001].includes(timeOf(child)),
      "the parent's time, or 1 ms on",
    );
    assert.match(child, ULID);
    assert.ok(next() > child, "later ids stay after the child");
  });

  test("newId(after) moves to the next millisecond when the parent's random part is at its maximum", () => {
    const next = idGenerator();
    const id = next("7ZZZZZZZZ0ZZZZZZZZZZZZZZZZ");
    assert.match(id, ULID);
    assert.strictEqual(id.slice(0, 10), "7ZZZZZZZZ1");
    assert.notStrictEqual(id.slice(10), "0000000000000000", "fresh random bits, not the parent's + 1");
  });

  test("newId(after) by writers whose clocks lag the parent's gives distinct ids, all after the parent", () => {
    const parent = withClock(() => 2_600_000_000_000, () => idGenerator()());
    // Each generator is another process: its own state, its clock a minute behind the parent's writer.
    const children = withClock(
      () => 2_600_000_000_000 - 60_000,
      () => Array.from({ length: 1000 }, () => idGenerator()(parent)),
    );
    assert.strictEqual(new Set(children).size, children.length, "no two writers derive the same id");
    for (const child of children) {
      assert.ok(child > parent, `${child} > ${parent}`);
      assert.ok(timeOf(child) - timeOf(parent) <= 1, "the parent's millisecond, or the next");
    }
  });

  test("newId(after) throws RangeError when no greater id exists", () => {
    const next = idGenerator();
    assert.throws(() => next("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), RangeError);
    const id = next();
    assert.ok(timeOf(id) <= Date.now(), "a failed call leaves the generator's state unchanged");
  });

  test("newId(after) ignores an after that is not a ULID", () => {
    for (
      const after of ["zzzz", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "", "__proto__"]
    ) {
      const id = newId(after);
      assert.match(id, ULID);
      assert.ok(timeOf(id) <= Date.now(), `${after} moved the clock`);
    }
  });

  test("newId() of the process is strictly increasing across calls", () => {
    const ids = Array.from({ length: 1000 }, () => newId());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i]);
  });
});

describe("newSessionId()", () => {
  test("newSessionId() returns distinct random UUIDs", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSessionId()));
    assert.strictEqual(ids.size, 100);
    for (const id of ids) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});
