// The import-cycle gate: the project's own modules import each other without a cycle, and the gate finds
// one when there is one (so it cannot pass by finding nothing).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
// @ts-types="../../scripts/import_cycles.d.mts"
import { findImportCycles } from "../../scripts/import_cycles.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("import cycles", () => {
  test("mod.ts, src, adapters, plugins and testing have no import cycle", () => {
    assert.deepEqual(findImportCycles(ROOT, ["mod.ts", "src", "adapters", "plugins", "testing"]), []);
  });

  test("findImportCycles() reports a type-only cycle across a multi-line import, and nothing else", () => {
    assert.deepEqual(findImportCycles(ROOT, ["tests/fixtures/import_cycle"]), [[
      "tests/fixtures/import_cycle/a.ts",
      "tests/fixtures/import_cycle/b.ts",
    ]]);
  });
});
