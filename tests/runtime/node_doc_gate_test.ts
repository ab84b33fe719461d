// The doc gate (`deno test --doc`, the `check` part of `npm test`) proven on fixtures: it runs through the
// same function the gate uses, so a gate that stopped running examples, or stopped failing on a false
// assertion, fails here. Node only (tests/runtime/): it spawns Deno, which Deno's own run need not repeat.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { docTest } from "../../scripts/check.mjs";

describe("the doc gate (scripts/check.mjs docTest)", () => {
  test("docTest() fails on a JSDoc example whose node:assert/strict assertion is false", async () => {
    const result = await docTest(["tests/fixtures/doc_gate/false_example.ts"]);
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /AssertionError/);
    assert.match(result.output, /false_example\.ts#\d+-\d+\.ts/);
  });

  test("docTest() passes on a JSDoc example whose assertion holds", async () => {
    const result = await docTest(["tests/fixtures/doc_gate/true_example.ts"]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /true_example\.ts#\d+-\d+\.ts.*\.\.\. ok/);
  });
});
