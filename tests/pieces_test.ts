// Texts in pieces (src/_pieces.ts), which a delta chain's load builds its values from: every splice of a
// text in pieces gives what the same splice of the flat string gives, across chains long and short, of
// texts small and large, with surrogate pairs cut between pieces.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { flat, splice, type Text } from "../src/_pieces.ts";
import { scale, SEED, TIME_LIMIT_MS } from "./_stress.ts";

/** One splice: keep a share of the prefix and of the suffix, put `middle` between. */
const step = fc.record({
  keep: fc.double({ min: 0, max: 1, noNaN: true }),
  tail: fc.double({ min: 0, max: 1, noNaN: true }),
  middle: fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ minLength: 900, maxLength: 2000 }),
  ),
});

describe("splice()", () => {
  test("a text that grew at its end 40 times is the flat text, in pieces of the stored slices", () => {
    let flatText = `[${"x".repeat(2000)}]`;
    let text: Text = flatText;
    for (let i = 0; i < 40; i++) {
      const record = `,{"id":${i}}`;
      text = splice(text, text.length - 1, record, 1);
      flatText = flatText.slice(0, -1) + record + "]";
      assert.equal(text.length, flatText.length);
    }
    assert.equal(typeof text, "object", "a large text is kept in pieces");
    assert.equal(flat(text), flatText);
  });

  test("a small text is spliced flat", () => {
    assert.equal(splice("[1,2]", 4, ",3", 1), "[1,2,3]");
    assert.equal(splice("abc", 0, "", 0), "");
    assert.equal(splice("abc", 3, "", 0), "abc");
  });

  const runs = scale(200, 3000);
  test(`random splices of texts in pieces give what splices of flat strings give (${runs} chains)`, () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", minLength: 0, maxLength: 3000 }),
        fc.array(step, { maxLength: 30 }),
        (start, steps) => {
          let expected = start;
          let text: Text = start;
          for (const { keep, tail, middle } of steps) {
            const p = Math.floor(keep * expected.length);
            const q = Math.floor(tail * (expected.length - p));
            expected = expected.slice(0, p) + middle + expected.slice(expected.length - q);
            text = splice(text, p, middle, q);
            assert.equal(text.length, expected.length);
          }
          assert.equal(flat(text), expected);
        },
      ),
      { seed: SEED, numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
  });
});
