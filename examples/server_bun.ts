/**
 * The demo server on Bun: the demo workflows (examples/_demo_workflows.ts) over HTTP with `Bun.serve`,
 * checkpoints in the libSQL file `./superstep.db`, on http://127.0.0.1:8787.
 *
 * ```sh
 * npx bun examples/server_bun.ts
 * npx bun examples/server_bun.ts --memory             # checkpoints in memory (gone on exit)
 * npx bun examples/server_bun.ts --tokens=alice,bob   # bearer tokens, each touching only its own sessions
 * ```
 *
 * Flags: `--memory`, `--port=8787`, `--tokens=a,b`. Ctrl-C (SIGINT) or SIGTERM, to this process or its whole
 * process group, stops it: open SSE streams end, the database is checkpointed and closed, and the process
 * exits 0 (examples/_demo_server.ts).
 *
 * @module
 */
import process from "node:process";
import { demoApp, parseDemoFlags } from "./_demo_app.ts";
import { openDemoStorage, stopOnSignals } from "./_demo_server.ts";

/** The part of Bun's API this file uses (so Deno type-checks it without Bun's types). */
interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout?: number;
    fetch: (request: Request) => Response | Promise<Response>;
  }): { port: number; stop(closeActiveConnections?: boolean): Promise<void> | void };
}

const flags = parseDemoFlags(process.argv.slice(2));
const demo = openDemoStorage(flags.memory);
const app = demoApp(demo.storage, flags.tokens, flags.inspector);

const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
const server = bun.serve({
  hostname: "127.0.0.1",
  port: flags.port,
  // Bun closes a connection idle for 10 s by default, an SSE stream included: allow slow executors (max 255).
  idleTimeout: 255,
  fetch: (request) => app.fetch(request),
});
console.log(
  `Superstep demo on http://127.0.0.1:${server.port} (checkpoints: ${demo.where}); try GET /workflows`,
);
stopOnSignals(async () => await server.stop(true), demo);
