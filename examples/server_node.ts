/**
 * The demo server on Node: the demo workflows (examples/_demo_workflows.ts) over HTTP with
 * `@hono/node-server`, checkpoints in the libSQL file `./superstep.db`, on http://127.0.0.1:8787.
 *
 * ```sh
 * npm start                                            # = npx tsx examples/server_node.ts
 * npx tsx examples/server_node.ts --memory             # checkpoints in memory (gone on exit)
 * npx tsx examples/server_node.ts --tokens=alice,bob   # bearer tokens, each touching only its own sessions
 * ```
 *
 * Flags: `--memory`, `--port=8787`, `--tokens=a,b`. Ctrl-C (SIGINT) or SIGTERM, to this process or its whole
 * process group (`npm start` in a terminal), stops it: open SSE streams end, the database is checkpointed
 * and closed, and the process exits 0 (examples/_demo_server.ts).
 *
 * @module
 */
import process from "node:process";
import { serve } from "@hono/node-server";
import { demoApp, parseDemoFlags } from "./_demo_app.ts";
import { openDemoStorage, stopOnSignals } from "./_demo_server.ts";

const flags = parseDemoFlags(process.argv.slice(2));
const demo = openDemoStorage(flags.memory);
const app = demoApp(demo.storage, flags.tokens, flags.inspector);

const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: flags.port }, (info) => {
  console.log(
    `Superstep demo on http://127.0.0.1:${info.port} (checkpoints: ${demo.where}); try GET /workflows`,
  );
});
stopOnSignals(() =>
  new Promise<void>((resolve) => {
    // Open SSE streams would keep the server open: end them.
    server.close(() => resolve());
    (server as { closeAllConnections?(): void }).closeAllConnections?.();
  }), demo);
