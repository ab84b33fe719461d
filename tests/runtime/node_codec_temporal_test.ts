// Issue 13, defect 4: a checkpoint written on Deno or Bun must load on Node. Deno and Bun (which have a
// global Temporal) refuse a Temporal value at encode time, naming its path, and what they do write, Node
// decodes exactly. Runs on Node only; starts one Deno and one Bun process.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeCheckpoint } from "../../mod.ts";
import { assertExact } from "../_exact.ts";
import { portableCheckpoints } from "../fixtures/codec_portable.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRITER = join(ROOT, "tests", "fixtures", "codec_writer.ts");
const TIMEOUT_MS = 60_000;

interface WriterReport {
  runtime: string;
  temporal: boolean;
  refusals: ({ path: string; message: string } | { text: string })[];
  texts: string[];
}

function write(runtime: "deno" | "bun"): Promise<WriterReport> {
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  const args = runtime === "deno" ? ["run", "-A", WRITER] : [WRITER];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: ROOT, timeout: TIMEOUT_MS }, (error, stdout, stderr) => {
      try {
        resolve(JSON.parse(String(stdout).trim().split("\n").pop() ?? "") as WriterReport);
      } catch {
        reject(
          new Error(`${runtime} printed no report (${error?.message ?? "exit 0"}):\n${stdout}\n${stderr}`),
        );
      }
    });
  });
}

describe("codec across runtimes: Temporal", () => {
  for (const runtime of ["deno", "bun"] as const) {
    test(`encodeCheckpoint() on ${runtime} refuses a Temporal value, and Node decodes what it writes exactly`, async () => {
      const report = await write(runtime);
      assert.strictEqual(report.runtime, runtime);
      // Deno 2.9 and Bun 1.4 have Temporal by default; if a version drops it, this says so.
      assert.ok(report.temporal, `${runtime} has a global Temporal`);
      // Regression: these were written, and every load on Node failed with "Temporal is not defined".
      const [checkpoint, value] = report.refusals as { path: string; message: string }[];
      assert.strictEqual(checkpoint.path, ".state.user.when");
      assert.match(checkpoint.message, /: unsupported Temporal\.Instant: Node has no Temporal.*ISO string/);
      assert.strictEqual(value.path, ".user.when");
      const expected = portableCheckpoints();
      assert.strictEqual(report.texts.length, expected.length);
      assert.strictEqual(report.texts[0][0], "{", "plain data took the JSON path");
      assert.notStrictEqual(report.texts[1][0], "{", "the rich checkpoint took the devalue path");
      report.texts.forEach((text, i) => assertExact(decodeCheckpoint(text, expected[i].id), expected[i]));
    });
  }
});
