// Runs scripts of tests/fixtures/ in new processes of the runtime running the test: the cross-process tests
// (a resumed checkpoint, racing writers, a child killed mid-run).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type CheckpointStorage, lineage } from "../mod.ts";
import { approvals, type ChildReport, runtimeName } from "./fixtures/hitl_workflow.ts";
import type { StorageKind } from "./fixtures/open_storage.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** How long any child may live before it is killed (so that no test can hang on one). */
const CHILD_TIMEOUT_MS = 120_000;

/** How to run a script on the runtime running this test. */
function childCommand(script: string, args: string[]): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), ["run", "-A", script, ...args]];
  if (runtimeName() === "bun") return [process.execPath, [script, ...args]];
  return [process.execPath, ["--import", "tsx", script, ...args]];
}

/** The path of a script of tests/fixtures/. */
function fixture(name: string): string {
  return join(ROOT, "tests", "fixtures", name);
}

/** Resume `checkpointId` in a new process through a `kind` storage at `location`, answering every request. */
export function runChild(
  kind: StorageKind,
  location: string,
  checkpointId: string,
  answer: string,
): Promise<ChildReport> {
  const [command, args] = childCommand(fixture("hitl_child.ts"), [kind, location, checkpointId, answer]);
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, timeout: CHILD_TIMEOUT_MS }, (error, stdout, stderr) => {
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

/** A fixture script running in a child process, read line by line. */
export interface FixtureProcess {
  /** The child's process id. */
  readonly pid: number;
  /** The next stdout line that `match` accepts (earlier lines are skipped); rejects if the child exits first. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  /** Write one line to the child's stdin, then close it. */
  sendLine(line: string): void;
  /** SIGKILL the child (no cleanup of any kind can run in it). */
  kill(): void;
  /** Resolves when the child has exited, with its stdout lines, stderr text and exit code or signal. */
  readonly exited: Promise<{ lines: string[]; stderr: string; code: number | null; signal: string | null }>;
}

/**
 * Start `tests/fixtures/<name>` with `args` in a new process of this runtime, stdin, stdout and stderr piped.
 * The child is killed if it outlives {@linkcode CHILD_TIMEOUT_MS}.
 */
export function spawnFixture(name: string, args: string[]): FixtureProcess {
  const [command, commandArgs] = childCommand(fixture(name), args);
  const child = spawn(command, commandArgs, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.on("data", (chunk: string) => stderr += chunk);
  // A child killed while we write to it must not crash the test with EPIPE.
  child.stdin!.on("error", () => {});
  const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  const exited = new Promise<{ lines: string[]; stderr: string; code: number | null; signal: string | null }>(
    (resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (partial) lines.push(partial);
        resolve({ lines, stderr, code, signal });
      });
    },
  );
  return {
    pid: child.pid!,
    waitForLine(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve };
        waiters.add(waiter);
        exited.then(({ stderr, code, signal }) => {
          if (!waiters.delete(waiter)) return;
          reject(new Error(`the child exited (${signal ?? code}) before the awaited line:\n${stderr}`));
        }, reject);
      });
    },
    sendLine(line) {
      child.stdin!.end(`${line}\n`);
    },
    kill() {
      child.kill("SIGKILL");
    },
    exited,
  };
}

/** The JSON report a fixture printed as its last stdout line. */
export function lastJson<T>(result: { lines: string[]; stderr: string }): T {
  const last = result.lines.filter((line) => line.trim() !== "").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`the child printed no report:\n${result.lines.join("\n")}\n${result.stderr}`);
  }
}

/**
 * Pause the approvals workflow on `storage` (in this process), let a child process of this runtime answer and
 * finish it through a `kind` storage at `location`, and check that the child's checkpoints chain to ours.
 */
export async function assertFinishedByAnotherProcess(
  storage: CheckpointStorage,
  kind: StorageKind,
  location: string,
): Promise<void> {
  const paused = await approvals(storage).run(["a", "b"]);
  assert.strictEqual(paused.status, "idle-pending-requests");
  assert.strictEqual(paused.pendingRequests.length, 2);
  const ours = await lineage(storage, paused.checkpointId!);

  const report = await runChild(kind, location, paused.checkpointId!, "yes");
  assert.strictEqual(report.runtime, runtimeName(), "the child runs on this test's runtime");
  assert.ok(report.ok, JSON.stringify(report));
  assert.strictEqual(report.status, "idle");
  assert.deepStrictEqual(report.outputs, ["a=yes", "b=yes"]);
  assert.strictEqual(report.sessionId, paused.sessionId);

  // This process's storage, open all along, sees the child's checkpoints chained to its own.
  assert.strictEqual(await storage.head(paused.sessionId), report.checkpointId);
  const theirs = await lineage(storage, report.checkpointId!);
  assert.ok(theirs.length > ours.length, "the child wrote checkpoints");
  assert.deepStrictEqual(theirs.slice(-ours.length), ours, "the child's lineage ends with ours");
  const first = theirs[theirs.length - ours.length - 1];
  assert.strictEqual(first.parentId, paused.checkpointId, "the child's first checkpoint follows ours");
  assert.ok(theirs.every((summary) => summary.sessionId === paused.sessionId));
  assert.deepStrictEqual((await storage.load(report.checkpointId!))?.pendingRequests, []);
}
