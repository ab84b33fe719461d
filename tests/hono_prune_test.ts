// The retention routes of the Hono adapter: POST /sessions/:id/prune and POST /workflows/:name/prune run
// prune() behind authorize (action "prune"), refuse bad rules with 400, and keep heads and waiting checkpoints.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import type { CheckpointStorage } from "../mod.ts";
import {
  type AuthorizeRequest,
  createWorkflowApp,
  type PruneResponseBody,
  type WorkflowAppOptions,
} from "../adapters/hono/mod.ts";

/** Counts down from its input, a superstep (and a checkpoint) per number. */
function countdown() {
  const count = defineExecutor({
    id: "count",
    handle: async (n: number, ctx) => {
      if (n > 0) await ctx.send(n - 1);
      else await ctx.yieldOutput("done");
    },
  });
  return new WorkflowBuilder({ name: "countdown", start: count }).addEdge(count, count).build();
}

function makeApp(storage: CheckpointStorage, authorize?: WorkflowAppOptions["authorize"]) {
  return createWorkflowApp({ workflows: { countdown }, storage, ...(authorize && { authorize }) });
}

const post = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function run(
  app: ReturnType<typeof makeApp>,
  n: number,
): Promise<{ sessionId: string; checkpointId: string }> {
  const res = await app.request("/workflows/countdown/runs", post({ input: n }));
  assert.equal(res.status, 200);
  return await res.json() as { sessionId: string; checkpointId: string };
}

describe("Hono prune routes", () => {
  test("POST /sessions/:id/prune keeps the newest keepLast and the head, and answers what it removed", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = makeApp(storage);
    const { sessionId, checkpointId } = await run(app, 6);
    const before = await storage.list({ sessionId });
    const res = await app.request(`/sessions/${sessionId}/prune`, post({ keepLast: 2 }));
    assert.equal(res.status, 200);
    const body = await res.json() as PruneResponseBody;
    assert.deepEqual(body.removed.map((summary) => summary.id), before.slice(2).map((summary) => summary.id));
    assert.equal(body.protected, 0);
    assert.deepEqual((await storage.list({ sessionId })).map((summary) => summary.id), [
      checkpointId,
      before[1].id,
    ]);
    assert.deepEqual(await storage.load(checkpointId).then((cp) => cp?.id), checkpointId);
  });

  test("POST /workflows/:name/prune prunes every session of the workflow by age, heads kept", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = makeApp(storage);
    const runs = [await run(app, 3), await run(app, 2)];
    const future = new Date(Date.now() + 60_000).toISOString();
    const res = await app.request("/workflows/countdown/prune", post({ olderThan: future }));
    assert.equal(res.status, 200);
    const body = await res.json() as PruneResponseBody;
    assert.equal(body.protected, 2);
    for (const { sessionId, checkpointId } of runs) {
      assert.deepEqual((await storage.list({ sessionId })).map((summary) => summary.id), [checkpointId]);
    }
    assert.equal(body.removed.length, 5 + 4 - 2);
  });

  test("the prune routes ask authorize with action prune, and a denial removes nothing", async () => {
    const storage = new MemoryCheckpointStorage();
    const asked: AuthorizeRequest[] = [];
    let allow = true;
    const app = makeApp(storage, (_c, request) => {
      asked.push(request);
      return request.action !== "prune" || allow;
    });
    const { sessionId } = await run(app, 3);
    allow = false;
    const count = (await storage.list({ sessionId })).length;
    assert.equal((await app.request(`/sessions/${sessionId}/prune`, post({ keepLast: 0 }))).status, 403);
    assert.equal((await app.request("/workflows/countdown/prune", post({ keepLast: 0 }))).status, 403);
    assert.equal((await storage.list({ sessionId })).length, count);
    assert.deepEqual(asked.filter((request) => request.action === "prune"), [
      { action: "prune", sessionId },
      { action: "prune", workflow: "countdown" },
    ]);
  });

  test("bad rules are 400 before anything is asked or removed; an unknown session is 404", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = makeApp(storage);
    const { sessionId } = await run(app, 2);
    const count = (await storage.list({ sessionId })).length;
    for (
      const body of [{}, { keepLast: -1 }, { keepLast: 1.5 }, { keepLast: "2" }, { olderThan: "soon" }, {
        keepLast: 1,
        extra: true,
      }]
    ) {
      const res = await app.request(`/sessions/${sessionId}/prune`, post(body));
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await res.json() as { type: string }).type.endsWith("bad-request"), true);
    }
    assert.equal((await storage.list({ sessionId })).length, count);
    const missing = await app.request("/sessions/nobody/prune", post({ keepLast: 1 }));
    assert.equal(missing.status, 404);
    assert.equal((await app.request(`/sessions/${sessionId}/prune`, { method: "GET" })).status, 405);
  });
});
