// The demo command lines as a user runs them (Node only: `npm start` is Node's): examples/approval.ts
// refuses memory storage and bad usage with a usage line and exit code 2, and `npm start`
// (examples/server_node.ts on a libSQL file) closes the database cleanly when Ctrl-C (SIGINT) or SIGTERM
// reaches its whole process group: it exits 0, and the file holds every checkpoint and no write-ahead log
// left to recover.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import { LibsqlCheckpointStorage } from "../../adapters/libsql/mod.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHILD_TIMEOUT_MS = 60_000;

/** A scratch directory, removed after `fn`. */
async function inScratch(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "superstep-cli-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run examples/approval.ts with `args` in `cwd`: its exit code and output. */
function approval(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), join(ROOT, "examples", "approval.ts"), ...args],
      { cwd, timeout: CHILD_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

const USAGE = "usage: approval.ts <libsql|kv> start | answer <checkpoint id> [yes|no]";

describe("examples/approval.ts", () => {
  test("refuses memory storage and bad usage with the usage line and exit code 2, writing nothing", async () => {
    await inScratch(async (dir) => {
      const memory = await approval(["memory", "start"], dir);
      assert.equal(memory.code, 2);
      assert.match(memory.stderr, /memory storage does not outlive this process/);
      assert.ok(memory.stderr.includes(USAGE));
      for (
        const args of [[], ["libsql"], ["libsql", "stop"], ["libsql", "answer"], [
          "kv",
          "answer",
          "x",
          "maybe",
        ], [
          "sqlite",
          "start",
        ], ["libsql", "start", "extra"]]
      ) {
        const bad = await approval(args, dir);
        assert.equal(bad.code, 2, `approval.ts ${args.join(" ")}`);
        assert.equal(bad.stderr.trim(), USAGE, `approval.ts ${args.join(" ")}`);
      }
      assert.deepEqual(readdirSync(dir), [], "bad usage opens no storage");
    });
  });

  test("starts in one process and is answered in another through libSQL; an unknown checkpoint exits 1", async () => {
    await inScratch(async (dir) => {
      const started = await approval(["libsql", "start"], dir);
      assert.equal(started.code, 0, started.stderr);
      const checkpoint = /answer (\S+) yes$/m.exec(started.stdout)?.[1];
      assert.ok(checkpoint, started.stdout);
      const answered = await approval(["libsql", "answer", checkpoint, "no"], dir);
      assert.equal(answered.code, 0, answered.stderr);
      assert.match(answered.stdout, /^status: idle, outputs: \["cancelled"\]$/m);
      const unknown = await approval(["libsql", "answer", "01JNOTHERE"], dir);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no checkpoint 01JNOTHERE in libsql/);
    });
  });
});

/** How a process ended, and what it printed. */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Start `command` in `dir` as the leader of a new process group (as a terminal runs a foreground job), wait
 * until the demo server listens, start an `approval` run and read its session's checkpoints, then send
 * `signal` to the whole group, as Ctrl-C does. Resolves when the job's output has ended (every process of
 * it that held the pipes has exited).
 */
function serveThenSignal(
  command: string,
  args: string[],
  dir: string,
  signal: NodeJS.Signals,
): Promise<Ended & { sessionId: string; checkpoints: number }> {
  const bin = join(ROOT, "node_modules", ".bin");
  const child = spawn(command, args, {
    cwd: dir,
    detached: true,
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), CHILD_TIMEOUT_MS);
  const ended = new Promise<Ended>((resolve) => {
    // "close", not "exit": npm may end before its script does, and the script's output (and its end) comes
    // through the same pipes, closed once every process of the job has let go of them.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
  return new Promise((resolve, reject) => {
    let asked = false;
    const onOutput = (chunk: Buffer) => {
      output += chunk;
      const port = /Superstep demo on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (port === undefined || asked) return;
      asked = true;
      (async () => {
        const url = `http://127.0.0.1:${port}`;
        const run = await fetch(`${url}/workflows/approval/runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "v1.0" }),
        });
        const { sessionId } = await run.json();
        const page = await (await fetch(`${url}/sessions/${sessionId}/checkpoints`)).json();
        process.kill(-child.pid!, signal);
        resolve({ ...(await ended), sessionId, checkpoints: page.checkpoints.length });
      })().catch(reject);
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    ended.then((end) => {
      if (!asked) reject(new Error(`the server ended before it listened: ${end.output}`));
    });
  });
}

/** Check the database the server left in `dir`: intact, holding `checkpoints` of `sessionId`, no log to recover. */
async function assertClosedCleanly(dir: string, sessionId: string, checkpoints: number): Promise<void> {
  const wal = join(dir, "superstep.db-wal");
  assert.ok(!existsSync(wal) || statSync(wal).size === 0, "no write-ahead log is left to recover");
  const client = createClient({ url: `file:${join(dir, "superstep.db")}` });
  try {
    const check = await client.execute("PRAGMA integrity_check");
    assert.equal(check.rows[0][0], "ok");
    const storage = new LibsqlCheckpointStorage({ client });
    const stored = await storage.list({ sessionId });
    assert.equal(stored.length, checkpoints, "every checkpoint the run wrote is in the file");
    const head = await storage.head(sessionId);
    assert.equal(head, stored[0].id);
    assert.equal((await storage.load(head!))?.sessionId, sessionId);
    await storage.close();
  } finally {
    client.close();
  }
}

describe("npm start (examples/server_node.ts on a libSQL file)", () => {
  // `npm start` runs the script of package.json (`tsx examples/server_node.ts`) with the repository's
  // tools on the PATH; here in a scratch directory (the database file is ./superstep.db), with the same script.
  const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const scratchPackage = (dir: string) => {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module", scripts }));
    symlinkSync(join(ROOT, "examples"), join(dir, "examples"));
  };

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal} to the process group of npm start closes the database cleanly`, async () => {
      await inScratch(async (dir) => {
        scratchPackage(dir);
        const end = await serveThenSignal("npm", ["start", "--", "--port=0"], dir, signal);
        assert.match(end.output, /closed file:\.\/superstep\.db/, end.output);
        assert.doesNotMatch(end.output, /could not close/);
        // npm ends as the signal it got tells it to, once its script has exited.
        assert.ok(
          end.code === 0 || end.signal === signal,
          `npm ended ${end.code ?? end.signal}: ${end.output}`,
        );
        await assertClosedCleanly(dir, end.sessionId, end.checkpoints);
      });
    });

    test(`${signal} to the process group of npm start's own command (tsx) exits 0`, async () => {
      await inScratch(async (dir) => {
        scratchPackage(dir);
        const [command, ...args] = String(scripts.start).split(" ");
        const end = await serveThenSignal(command, [...args, "--port=0"], dir, signal);
        assert.deepEqual([end.code, end.signal], [0, null], end.output);
        await assertClosedCleanly(dir, end.sessionId, end.checkpoints);
      });
    });
  }
});
