// The Postgres adapter inside workerd (Cloudflare's runtime, through Miniflare, with `nodejs_compat`):
// tests/fixtures/postgres_worker.ts is bundled as a worker bundler does (conditions `workerd`, `worker`,
// `browser`: Postgres.js's build over `cloudflare:sockets`) and talks TCP to the test server on 127.0.0.1.
// A run paused in the worker is answered by Node, one paused by Node is answered in the worker, and 8
// concurrent saves in the worker have exactly one winner. (Node only: it drives Miniflare.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { PostgresCheckpointStorage } from "../../adapters/postgres/mod.ts";
import { lineage } from "../../mod.ts";
import { freshDatabase, usePostgres } from "../_postgres.ts";
import { approvals } from "../fixtures/hitl_workflow.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
usePostgres();

async function withWorker(
  body: (
    call: (path: string, query: Record<string, string>) => Promise<Record<string, unknown>>,
  ) => Promise<void>,
) {
  const bundled = await build({
    entryPoints: [join(ROOT, "tests", "fixtures", "postgres_worker.ts")],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"],
    logLevel: "silent",
  });
  // Miniflare's bundled workerd supports compatibility dates up to 2026-05-03.
  const mf = new Miniflare({
    modules: true,
    script: bundled.outputFiles[0].text,
    compatibilityDate: "2026-05-01",
    compatibilityFlags: ["nodejs_compat"],
  });
  try {
    await mf.ready;
    await body(async (path, query) => {
      const response = await mf.dispatchFetch(`http://worker${path}?${new URLSearchParams(query)}`, {
        method: "POST",
      });
      const body = await response.json() as Record<string, unknown>;
      assert.equal(response.status, 200, JSON.stringify(body));
      return body;
    });
  } finally {
    await mf.dispose();
  }
}

describe("PostgresCheckpointStorage inside workerd (Postgres.js over cloudflare:sockets)", () => {
  test("a run paused in workerd is answered on Node, one paused on Node is answered in workerd, and 8 concurrent saves in workerd have one winner", async () => {
    const database = await freshDatabase("workerd");
    const storage = new PostgresCheckpointStorage({ url: database.url });
    try {
      await withWorker(async (call) => {
        const db = database.url;
        // Paused in workerd, finished on Node.
        const paused = await call("/start", { db });
        assert.equal(paused.status, "idle-pending-requests");
        const checkpoint = (await storage.load(paused.checkpointId as string))!;
        const responses = Object.fromEntries(checkpoint.pendingRequests.map((r) => [r.requestId, "node"]));
        const done = await approvals(storage).resume(checkpoint.id, { responses });
        assert.deepEqual(done.outputs, ["w1=node", "w2=node"]);
        const chain = await lineage(storage, done.checkpointId!);
        assert.ok(
          chain.some((summary) => summary.id === checkpoint.id),
          "Node's checkpoints follow workerd's",
        );

        // Paused on Node, finished in workerd.
        const ours = await approvals(storage).run(["n1"]);
        const answered = await call("/answer", { db, checkpoint: ours.checkpointId!, answer: "workerd" });
        assert.deepEqual(answered.outputs, ["n1=workerd"]);
        assert.equal(await storage.head(ours.sessionId), answered.checkpointId);

        // Concurrent saves from the worker: the head compare-and-set holds there too.
        const race = await call("/race", { db }) as {
          winners: string[];
          losers: string[];
          head: string;
          sessionId: string;
        };
        assert.equal(race.winners.length, 1, JSON.stringify(race));
        assert.deepEqual(race.losers, Array(7).fill("CheckpointConflictError: head-moved"));
        assert.equal(race.head, race.winners[0]);
        assert.equal(await storage.head(race.sessionId), race.winners[0]);
      });
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
