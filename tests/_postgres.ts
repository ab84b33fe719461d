// The PostgreSQL server of the tests. `npm test` (scripts/test.mjs) starts one throwaway server for every
// runtime's run and passes its URL in SUPERSTEP_POSTGRES_URL; a test file run alone starts its own through
// `node scripts/postgres.mjs serve`, stopped when the last file of this process that asked for it is done
// (or, if this process dies, when the pipe to it closes). So a Postgres test never skips: with no server
// binaries it fails, naming what to install.
//
// Every test gets its own database (`freshDatabase`), so runtimes, files and trials never see each other's
// rows, and the migrations run on an empty database each time.
import { after } from "node:test";
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { type ChildReport, runtimeName } from "./fixtures/hitl_workflow.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const START_TIMEOUT_MS = 90_000;

let own: Promise<{ url: string; stop(): Promise<void> }> | undefined;
let users = 0;

function startOwn(): Promise<{ url: string; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn("node", [join(ROOT, "scripts", "postgres.mjs"), "serve"], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`scripts/postgres.mjs did not print a URL within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const match = /^url (\S+)$/m.exec(out);
      if (!match) return;
      clearTimeout(timer);
      const exited = new Promise<void>((done) => child.once("close", () => done()));
      resolve({
        url: match[1],
        stop: async () => {
          child.stdin!.end();
          await exited;
        },
      });
    });
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`scripts/postgres.mjs exited (${code}) before printing a URL:\n${out}`));
    });
  });
}

/**
 * Declare that this test file uses the test server: call it once, at the top level of the file. Without
 * SUPERSTEP_POSTGRES_URL, the first file of this process to need the server starts it, and the `after`
 * hook registered here stops it once every file that declared it is done — after `cleanup`, the file's
 * own last use of the server (hooks of one file run in an order the runtimes do not agree on).
 */
export function usePostgres(cleanup?: () => Promise<void>): void {
  const shared = Boolean(process.env.SUPERSTEP_POSTGRES_URL);
  if (!shared) users++;
  after(async () => {
    await cleanup?.();
    if (shared || --users > 0 || own === undefined) return;
    const server = own;
    own = undefined;
    await (await server).stop();
  });
}

/** The URL of the test server (an administrative connection to its `postgres` database). */
export function serverUrl(): Promise<string> {
  const shared = process.env.SUPERSTEP_POSTGRES_URL;
  if (shared) return Promise.resolve(shared);
  if (users === 0) {
    throw new Error("tests/_postgres.ts: call usePostgres() at the top level of the test file");
  }
  own ??= startOwn();
  return own.then((server) => server.url);
}

/** A new, empty database on the test server: its URL, and `drop()`. */
export async function freshDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = await serverUrl();
  const name = `t_${label.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${runtimeName()}_${
    randomUUID().slice(0, 8)
  }`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      const sql = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}

/** How to run a script on `runtime` (another one than this test's, possibly). */
export function commandOn(
  runtime: "deno" | "node" | "bun",
  script: string,
  args: string[],
): [string, string[]] {
  const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
  if (runtime === "deno") return [bin("deno"), ["run", "-A", script, ...args]];
  if (runtime === "bun") return [bin("bun"), [script, ...args]];
  return ["node", ["--import", "tsx", script, ...args]];
}

/** The runtime after this one, in the order deno → node → bun → deno: who answers what this one started. */
export function nextRuntime(): "deno" | "node" | "bun" {
  return ({ deno: "node", node: "bun", bun: "deno" } as const)[runtimeName()];
}

/** Resume `checkpointId` through the Postgres database at `url` in a process of `runtime`, answering all. */
export function answerOn(
  runtime: "deno" | "node" | "bun",
  url: string,
  checkpointId: string,
  answer: string,
): Promise<ChildReport> {
  const [command, args] = commandOn(runtime, join(ROOT, "tests", "fixtures", "hitl_child.ts"), [
    "postgres",
    url,
    checkpointId,
    answer,
  ]);
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      const last = String(stdout).trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as ChildReport);
      } catch {
        reject(
          new Error(
            `the ${runtime} child printed no report (${error?.message ?? "exit 0"}):\n${stdout}\n${stderr}`,
          ),
        );
      }
    });
  });
}
