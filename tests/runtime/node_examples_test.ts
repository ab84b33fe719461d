// The README's runnable examples, run as a user would (one command each) and checked by what they print.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Run `examples/<name>` with `args` on Node (tsx) in `cwd`; its exit code and stdout lines. */
function example(name: string, args: string[], cwd: string): Promise<{ code: number; lines: string[] }> {
  const loader = import.meta.resolve("tsx");
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", loader, join(ROOT, "examples", name), ...args],
      { cwd, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, lines: `${stdout}${stderr}`.trim().split("\n") });
      },
    );
  });
}

describe("examples", () => {
  test("examples/map_reduce.ts: 200 documents counted 8 at a time equal the sequential count, also after a resume", async () => {
    const { code, lines } = await example("map_reduce.ts", ["memory", "200"], ROOT);
    assert.equal(code, 0, lines.join("\n"));
    const expected = Number(/sequential check: (\d+) words/.exec(lines.join("\n"))?.[1]);
    assert.ok(expected > 200);
    assert.ok(lines.includes(`200 documents, ${expected} words; longest: document 16`), lines.join("\n"));
    assert.ok(
      lines.includes(
        `resumed between map and collect: 200 documents, ${expected} words; longest: document 16`,
      ),
    );
  });

  test("examples/sub_workflow.ts: in one go, and started in one process and answered in another through libSQL", async () => {
    const all = await example("sub_workflow.ts", [], ROOT);
    assert.equal(all.code, 0, all.lines.join("\n"));
    assert.ok(
      all.lines.includes('waiting: publish "Supersteps explained" (1200 words)?  [path review → editor]'),
    );
    assert.ok(all.lines.includes("output: published Supersteps explained"), all.lines.join("\n"));

    const dir = mkdtempSync(join(tmpdir(), "superstep-example-"));
    try {
      const started = await example("sub_workflow.ts", ["libsql", "start"], dir);
      assert.equal(started.code, 0, started.lines.join("\n"));
      const checkpoint = started.lines.find((line) => line.startsWith("checkpoint: "))!.slice(
        "checkpoint: ".length,
      );
      const answered = await example("sub_workflow.ts", ["libsql", "answer", checkpoint, "no"], dir);
      assert.equal(answered.code, 0, answered.lines.join("\n"));
      assert.deepEqual(answered.lines, ["output: Supersteps explained: rejected"]);
      const refused = await example("sub_workflow.ts", ["memory", "start"], dir);
      assert.equal(refused.code, 2);
      assert.match(refused.lines.join("\n"), /does not outlive this process/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
