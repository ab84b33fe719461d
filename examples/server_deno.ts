/**
 * The demo server on Deno: the demo workflows (examples/_demo_workflows.ts) over HTTP with `Deno.serve`,
 * checkpoints in Deno KV (the file `./superstep-kv.db`), on http://127.0.0.1:8787.
 *
 * ```sh
 * npx deno run --allow-net=127.0.0.1 --allow-read=. --allow-write=. examples/server_deno.ts
 * npx deno run --allow-net=127.0.0.1 examples/server_deno.ts --memory            # KV in memory (:memory:)
 * npx deno run --allow-net=127.0.0.1 --allow-read=. --allow-write=. examples/server_deno.ts --tokens=alice,bob
 * ```
 *
 * KV needs `--unstable-kv` (this repository's deno.json turns it on). On Deno Deploy, `Deno.openKv()` with no
 * path opens the deployment's KV. Flags: `--memory`, `--port=8787`, `--tokens=a,b`. Ctrl-C stops it.
 *
 * @module
 */
import { KvCheckpointStorage } from "../adapters/kv/mod.ts";
import { demoApp, parseDemoFlags } from "./_demo_app.ts";

const KV_PATH = "./superstep-kv.db";

const flags = parseDemoFlags(Deno.args);
const kv = await Deno.openKv(flags.memory ? ":memory:" : KV_PATH);
const app = demoApp(new KvCheckpointStorage({ kv }), flags.tokens, flags.inspector);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: flags.port,
  onListen: ({ port }) => {
    const where = flags.memory ? "KV :memory:" : `KV ${KV_PATH}`;
    console.log(`Superstep demo on http://127.0.0.1:${port} (checkpoints: ${where}); try GET /workflows`);
  },
}, app.fetch);

const stop = () => {
  // shutdown() waits for open responses; SSE runs end (or their clients leave) on their own.
  server.shutdown().finally(() => kv.close());
};
Deno.addSignalListener("SIGINT", stop);
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
await server.finished;
