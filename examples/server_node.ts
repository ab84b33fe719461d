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
 * Flags: `--memory`, `--port=8787`, `--tokens=a,b`. Ctrl-C stops it and closes the database.
 *
 * @module
 */
import process from "node:process";
import { serve } from "@hono/node-server";
import { type CheckpointStorage, MemoryCheckpointStorage } from "../mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { demoApp, parseDemoFlags } from "./_demo_app.ts";

const DATABASE_URL = "file:./superstep.db";

const flags = parseDemoFlags(process.argv.slice(2));
const storage: CheckpointStorage & { close?(): Promise<void> } = flags.memory
  ? new MemoryCheckpointStorage()
  : new LibsqlCheckpointStorage({ url: DATABASE_URL });
const app = demoApp(storage, flags.tokens);

const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: flags.port }, (info) => {
  const where = flags.memory ? "memory" : DATABASE_URL;
  console.log(`Superstep demo on http://127.0.0.1:${info.port} (checkpoints: ${where}); try GET /workflows`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // A second Ctrl-C finds no listener and stops the process at once.
  process.once(signal, () => {
    // Open SSE streams would keep close() waiting: end them, then the database.
    server.close(() => void storage.close?.().finally(() => process.exit(0)));
    (server as { closeAllConnections?(): void }).closeAllConnections?.();
  });
}
