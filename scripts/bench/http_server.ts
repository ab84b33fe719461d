// A server for the HTTP benchmark (`http.ts`), on @hono/node-server at 127.0.0.1 on a free port, printed
// as `PORT <n>` on stdout. `--app=superstep` serves the demo workflows with `createWorkflowApp` (a workflow
// built per request) on `--storage=memory` or `--storage=libsql:<file>` (`npm start`'s store: a libSQL file
// in WAL mode, synchronous FULL); `--app=bare` is a Hono app whose one route answers the same request as
// `POST /workflows/wordlen/runs` would, computed inline: the floor of the same stack.
import process from "node:process";
import { createClient } from "@libsql/client";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createWorkflowApp } from "../../adapters/hono/mod.ts";
import { LibsqlCheckpointStorage } from "../../adapters/libsql/mod.ts";
import { type CheckpointStorage, MemoryCheckpointStorage } from "../../mod.ts";
import { demoWorkflows } from "../../examples/_demo_workflows.ts";

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const appName = option("app", "superstep");
const storageName = option("storage", "memory");

let close = () => Promise.resolve();
function storage(): CheckpointStorage {
  if (storageName === "memory") return new MemoryCheckpointStorage();
  const file = storageName.replace(/^libsql:/, "");
  const client = createClient({ url: `file:${file}` });
  close = () => Promise.resolve(client.close());
  return new LibsqlCheckpointStorage({ client });
}

function bare(): Hono {
  const app = new Hono();
  let runs = 0;
  app.post("/workflows/:name/runs", async (c) => {
    const { input } = await c.req.json<{ input: string }>();
    const outputs = input.split(/\s+/).filter(Boolean).map((word) => word.length);
    runs++;
    return c.json({
      status: "idle",
      outputs,
      pendingRequests: [],
      sessionId: crypto.randomUUID(),
      checkpointId: `01K${String(runs).padStart(23, "0")}`,
    });
  });
  return app;
}

const app = appName === "bare" ? bare() : createWorkflowApp({ workflows: demoWorkflows, storage: storage() });
const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
  console.log(`PORT ${info.port}`);
});
process.on("SIGTERM", () => {
  server.close();
  void close().then(() => process.exit(0));
});
