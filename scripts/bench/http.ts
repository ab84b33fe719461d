// The HTTP benchmark (Node): requests per second of `POST /workflows/wordlen/runs` (a two-superstep run:
// a workflow built per request, its checkpoints saved) at 20 connections with autocannon, against a server
// in a child process (`http_server.ts`): the demo app on memory storage, the demo app on a libSQL file as
// `npm start` serves it, and a bare Hono route answering the same request on the same stack. The servers
// take turns, `ROUNDS` rounds of `SECONDS` each; each figure is the median of its rounds. Beside them, the
// disk's own fsyncs per second (a write and an fdatasync of one page of a file, in a loop): the physical
// limit of one durable commit at a time. Requests per second depend on what else the 2 cores run (autocannon
// itself takes one); the server's own CPU time per request (from /proc) much less so.
import { spawn } from "node:child_process";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannonUntyped from "autocannon";
import { args, log, quick, Report, stats } from "./_harness.ts";

interface LoadResult {
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
const autocannon = autocannonUntyped as unknown as (options: {
  url: string;
  connections: number;
  duration: number;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
}) => Promise<LoadResult>;

const QUICK = quick(args());
const ROUNDS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 1 : 4;
const CONNECTIONS = 20;
const HERE = fileURLToPath(new URL(".", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "superstep-http-"));

interface Server {
  port: number;
  /** The CPU time the server process has used so far, in microseconds (Linux: /proc). */
  cpu(): number;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc's CPU times (100 on Linux). */
const TICKS = 100;

function start(serverArgs: string[]): Promise<Server> {
  const child = spawn(process.execPath, [join(HERE, "http_server.mjs"), ...serverArgs], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const port = /PORT (\d+)/.exec(out)?.[1];
      if (port !== undefined) {
        resolve({
          port: Number(port),
          cpu: () => {
            const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
            return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS;
          },
          stop: () =>
            new Promise((done) => {
              child.on("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.on("exit", (code) => reject(new Error(`http_server ${serverArgs.join(" ")} exited ${code}`)));
  });
}

async function load(port: number): Promise<{ rate: number; total: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [{
      method: "POST",
      path: "/workflows/wordlen/runs",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "checkpoint superstep resume lineage" }),
    }],
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`load: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`);
  }
  return { rate: result.requests.total / SECONDS, total: result.requests.total };
}

/** fdatasyncs per second of one 4 KiB page rewritten in place, for `ms`. */
function fsyncsPerSecond(ms: number): number {
  const file = join(dir, "fsync.bin");
  const fd = openSync(file, "w");
  const page = new Uint8Array(4096);
  let count = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    page[0] = count & 255;
    writeSync(fd, page, 0, page.length, 0);
    fdatasyncSync(fd);
    count++;
  }
  const elapsed = performance.now() - t0;
  closeSync(fd);
  return (count * 1000) / elapsed;
}

const SERVERS: [string, string[]][] = [
  ["bare hono", ["--app=bare"]],
  ["superstep memory", ["--app=superstep", "--storage=memory"]],
  ["superstep libsql", ["--app=superstep", `--storage=libsql:${join(dir, "bench.db")}`]],
];

const report = new Report();
const rates = new Map<string, number[]>(SERVERS.map(([name]) => [name, []]));
const costs = new Map<string, number[]>(SERVERS.map(([name]) => [name, []]));
const fsyncs: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    fsyncs.push(fsyncsPerSecond(QUICK ? 300 : 1000));
    for (const [name, serverArgs] of SERVERS) {
      const server = await start(serverArgs);
      try {
        // An untimed second first: connections opened, the server's code compiled.
        if (!QUICK) await load(server.port).catch(() => undefined);
        const cpu0 = server.cpu();
        const { rate, total } = await load(server.port);
        const cost = (server.cpu() - cpu0) / total;
        rates.get(name)!.push(rate);
        costs.get(name)!.push(cost);
        log(`http ${name}: ${Math.round(rate)} req/s, ${Math.round(cost)} µs of server CPU per request`);
      } finally {
        await server.stop();
      }
    }
  }
  for (const [name, values] of costs) {
    report.add({
      bench: "H",
      name: "server CPU per request",
      subject: name,
      unit: "µs",
      ...stats(values),
      reps: values.length,
    });
  }
  for (const [name, values] of rates) {
    report.add({
      bench: "H",
      name: `POST /workflows/wordlen/runs · ${CONNECTIONS} connections`,
      subject: name,
      unit: "req/s",
      ...stats(values),
      reps: values.length,
    });
  }
  report.add({
    bench: "H",
    name: "fsyncs per second of the disk (4 KiB page, fdatasync)",
    subject: "disk",
    unit: "/s",
    ...stats(fsyncs),
    reps: fsyncs.length,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
report.print();
