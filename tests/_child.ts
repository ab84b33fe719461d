// Runs tests/fixtures/hitl_child.ts in a new process of the runtime running the test.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type ChildReport, runtimeName } from "./fixtures/hitl_workflow.ts";
import type { StorageKind } from "./fixtures/open_storage.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHILD = join(ROOT, "tests", "fixtures", "hitl_child.ts");

/** How to run a script on the runtime running this test. */
function childCommand(script: string, args: string[]): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), ["run", "-A", script, ...args]];
  if (runtimeName() === "bun") return [process.execPath, [script, ...args]];
  return [process.execPath, ["--import", "tsx", script, ...args]];
}

/** Resume `checkpointId` in a new process through a `kind` storage at `location`, answering every request. */
export function runChild(
  kind: StorageKind,
  location: string,
  checkpointId: string,
  answer: string,
): Promise<ChildReport> {
  const [command, args] = childCommand(CHILD, [kind, location, checkpointId, answer]);
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      const last = String(stdout).trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as ChildReport);
      } catch {
        reject(
          new Error(`the child printed no report (${error?.message ?? "exit 0"}):\n${stdout}\n${stderr}`),
        );
      }
    });
  });
}
