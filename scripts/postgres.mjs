// A throwaway PostgreSQL server for the tests and the benchmarks: a new cluster in a temporary directory,
// on 127.0.0.1 and a free port, with a random password, removed when it stops.
//
// PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged user (`postgres` if
// it exists, else `nobody`) and initdb and the server run as that user (node's spawn `uid`/`gid`); as
// anyone else they run as the caller. The binaries are `initdb` and `postgres` on PATH, else the newest
// /usr/lib/postgresql/<version>/bin (Debian's `postgresql` package; .ci/run installs it when neither
// exists). Only the server this module started is ever stopped, by its process id.
//
//   import { startPostgres } from "./postgres.mjs";
//   const server = await startPostgres();   // { url, version, pid, stop() }
//
// Usage: node scripts/postgres.mjs serve [--durable]   prints `url <url>`, stops when stdin closes (or on
//          SIGINT/SIGTERM), prints `stopped`
//        node scripts/postgres.mjs bin                 prints the directory of the binaries (exit 1: none)
//
// `--durable` (`{ durable: true }`) keeps PostgreSQL's defaults (fsync on) for benchmarks; the tests turn
// fsync off: they kill clients, never the server, so its durability across power loss is not under test.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { isMain } from "./_shared.mjs";

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
/** The superuser of a throwaway cluster. */
const USER = "superstep";

/** The directory holding `initdb` and `postgres`, or undefined. */
export function postgresBin() {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"))) return dir;
  }
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))
    : [];
  return versions.map((version) => join(root, version, "bin")).find((dir) => existsSync(join(dir, "initdb")));
}

/** As root: the unprivileged user that owns the cluster. */
function clusterUser() {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }));
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }));
      return { name, uid, gid };
    } catch {
      // no such user
    }
  }
  throw new Error("postgres: running as root, but there is no `postgres` or `nobody` user to run the server");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a binary as the cluster's user, to completion. */
function runAs(user, command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(user && { uid: user.uid, gid: user.gid }),
      env: { PATH: process.env.PATH, LANG: "C", LC_ALL: "C" },
    });
    let output = "";
    child.stdout.on("data", (chunk) => output += chunk);
    child.stderr.on("data", (chunk) => output += chunk);
    child.once("error", reject);
    child.once(
      "close",
      (code) => code === 0 ? resolve() : reject(new Error(`${command} exit ${code}:\n${output}`)),
    );
  });
}

/**
 * Start a throwaway server.
 * @param {{ durable?: boolean, maxConnections?: number }} [options]
 * @returns {Promise<{ url: string, version: string, pid: number, stop(): Promise<void> }>}
 */
export async function startPostgres({ durable = false, maxConnections = 300 } = {}) {
  const bin = postgresBin();
  if (bin === undefined) {
    throw new Error(
      "postgres: no initdb/postgres on PATH or in /usr/lib/postgresql/*/bin; install Debian's `postgresql` " +
        "package (apt-get install postgresql), as .ci/run does",
    );
  }
  const user = clusterUser();
  const dir = mkdtempSync(join(tmpdir(), "superstep-pg-"));
  const data = join(dir, "data");
  const password = randomBytes(18).toString("hex");
  const own = (path) => user && chownSync(path, user.uid, user.gid);
  let server;
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    own(dir);
    mkdirSync(data, { mode: 0o700 });
    own(data);
    const pwfile = join(dir, "pwfile");
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    own(pwfile);
    await runAs(user, join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      USER,
      `--pwfile=${pwfile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--no-locale",
      "--no-sync",
      "--no-instructions",
    ]);
    rmSync(pwfile);
    const settings = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: dir,
      max_connections: maxConnections,
      ...(!durable && { fsync: "off", full_page_writes: "off", synchronous_commit: "off" }),
    };
    for (let attempt = 1;; attempt++) {
      const port = await freePort();
      const args = ["-D", data, "-p", String(port)];
      for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${value}`);
      try {
        server = await launch(user, join(bin, "postgres"), args);
        const url = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`;
        const version = execFileSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).trim();
        return { url, version, pid: server.pid, stop: () => stop(server, removeDir) };
      } catch (error) {
        // Another process took the port between freePort() and the bind: try another.
        if (attempt < 3 && /could not bind|Address already in use/.test(String(error.message))) continue;
        throw error;
      }
    }
  } catch (error) {
    removeDir();
    throw error;
  }
}

/** Starts the server; resolves once it accepts connections. */
function launch(user, command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(user && { uid: user.uid, gid: user.gid }),
      env: { PATH: process.env.PATH, LANG: "C", LC_ALL: "C" },
    });
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`postgres did not start within ${START_TIMEOUT_MS / 1000} s:\n${log}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk) => {
      log = (log + chunk).slice(-64 * 1024);
      if (/database system is ready to accept connections/.test(log)) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        child.stderr.off("data", onData);
        // Keep draining the server's log so that it never blocks on a full pipe.
        child.stdout.resume();
        child.stderr.resume();
        const exitHandler = () => {
          try {
            process.kill(child.pid, "SIGQUIT");
          } catch {
            // gone already
          }
        };
        process.once("exit", exitHandler);
        child.exitHandler = exitHandler;
        resolve(child);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`postgres exited (${signal ?? code}) before it was ready:\n${log}`));
    });
  });
}

/** Fast shutdown (SIGINT: disconnect clients, no checkpoint wait), SIGKILL if it lingers; remove the files. */
function stop(child, removeDir) {
  if (child.exitCode !== null || child.signalCode !== null) {
    removeDir();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      process.off("exit", child.exitHandler);
      removeDir();
      resolve();
    });
    child.kill("SIGINT");
  });
}

if (isMain(import.meta.url)) {
  const [command, ...flags] = process.argv.slice(2);
  if (command === "bin") {
    const bin = postgresBin();
    if (bin === undefined) process.exit(1);
    console.log(bin);
  } else if (command === "serve") {
    const server = await startPostgres({ durable: flags.includes("--durable") });
    let stopping;
    const shutdown = () => {
      stopping ??= server.stop().then(() => process.stdout.write("stopped\n", () => process.exit(0)));
    };
    for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, shutdown);
    process.stdin.on("end", shutdown).on("close", shutdown).resume();
    console.log(`url ${server.url}`);
  } else {
    console.error("usage: node scripts/postgres.mjs serve [--durable] | bin");
    process.exit(2);
  }
}
