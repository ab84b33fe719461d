// The HTTP protocol of the Hono adapter where issue 14 found it loose: a known path with another method
// (405 and `Allow`), a run body without `input` (400 unless the workflow takes none), an input the start
// executor refuses (422 `input-refused`, before the run starts), paging that never hands out a cursor to an
// empty page, and a lineage that ends at a deleted parent.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  defineExecutor,
  MemoryCheckpointStorage,
  type StandardSchema,
  type Workflow,
  WorkflowBuilder,
} from "../mod.ts";
import { createWorkflowApp, type LineageBody } from "../adapters/hono/mod.ts";
import { authFixture, expectProblem, json, makeFixture, pendingApproval, sse } from "./_hono_helpers.ts";

/** A schema taking strings only (a Standard Schema, as zod or valibot make them). */
const text: StandardSchema<string> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof value === "string" ? { value } : { issues: [{ message: "expected a string" }] },
  },
};

/** A workflow whose start executor is `start`, yielding what it gets. */
function yielding(name: string, start: Parameters<typeof defineExecutor>[0]): () => Workflow {
  return () => new WorkflowBuilder({ name, start: defineExecutor(start) }).build();
}

const echo = (value: unknown, ctx: { yieldOutput(value: unknown): Promise<void> }) => ctx.yieldOutput(value);

describe("createWorkflowApp() methods", () => {
  test("a known path with another method is 405 with Allow, on every route, before authorize", async () => {
    const { app, asked } = authFixture();
    const cases: [path: string, allow: string, wrong: string[]][] = [
      ["/workflows", "GET, HEAD", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]],
      ["/workflows/echo/runs", "POST", ["GET", "HEAD", "PUT", "DELETE", "PATCH"]],
      ["/checkpoints/01JCHECKPOINT/resume", "POST", ["GET", "PUT", "DELETE"]],
      ["/sessions/s/checkpoints", "GET, HEAD", ["POST", "DELETE"]],
      ["/checkpoints/01JCHECKPOINT", "GET, HEAD", ["POST", "PUT", "DELETE"]],
      ["/checkpoints/01JCHECKPOINT/lineage", "GET, HEAD", ["POST", "DELETE"]],
      ["/sessions/s", "DELETE", ["GET", "HEAD", "POST", "PUT"]],
    ];
    for (const [path, allow, wrong] of cases) {
      for (const method of wrong) {
        const res = await app.request(path, { method });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
        if (method === "HEAD") continue; // no body
        const problem = await expectProblem(res, 405, "method-not-allowed");
        assert.match(String(problem.detail), new RegExp(`^${method} is not allowed`));
      }
    }
    assert.deepEqual(asked, [], "a wrong method is answered before authorize");
    // Other paths stay 404; the routes' own methods are served.
    await expectProblem(await app.request("/workflows/echo", { method: "POST" }), 404, "not-found");
    assert.equal((await app.request("/workflows", { method: "HEAD" })).status, 403);
  });

  test("405 and Allow hold when the app is mounted under a prefix", async () => {
    const { app } = makeFixture();
    const outer = new Hono().route("/api", app);
    const res = await outer.request("/api/sessions/s", { method: "GET" });
    assert.equal(res.headers.get("allow"), "DELETE");
    const problem = await expectProblem(res, 405, "method-not-allowed");
    assert.equal(problem.detail, "GET is not allowed on /api/sessions/:id: use DELETE");
    assert.equal((await outer.request("/api/workflows")).status, 200);
  });
});

describe("createWorkflowApp() run input", () => {
  test("a body without input is 400 when the start executor declares nothing, and nothing runs", async () => {
    const storage = new MemoryCheckpointStorage();
    const { app, runs } = makeFixture({ storage });
    for (const body of [{}, { sessionId: "s1" }]) {
      const problem = await expectProblem(
        await app.request("/workflows/echo/runs", json(body)),
        400,
        "bad-request",
      );
      assert.match(String(problem.detail), /^The body has no input, and the workflow "echo" takes one/);
    }
    await expectProblem(await app.request("/workflows/echo/runs", sse({})), 400, "bad-request");
    assert.equal(runs.length, 0);
    assert.deepEqual(await storage.list(), []);
    // An explicit null is an input.
    const res = await app.request("/workflows/echo/runs", json({ input: null }));
    assert.deepEqual((await res.json()).outputs, [null]);
  });

  test("a body without input runs the workflow when its start executor admits undefined", async () => {
    const app = createWorkflowApp({
      storage: new MemoryCheckpointStorage(),
      workflows: {
        tick: yielding("tick", { id: "tick", accepts: (m) => m === undefined, handle: () => {} }),
        greet: yielding("greet", {
          id: "greet",
          input: {
            "~standard": { version: 1, vendor: "test", validate: (value) => ({ value: value ?? "world" }) },
          },
          handle: echo,
        }),
        named: yielding("named", { id: "named", input: text, handle: echo }),
      },
    });
    const tick = await app.request("/workflows/tick/runs", json({}));
    assert.equal(tick.status, 200);
    assert.equal((await tick.json()).status, "idle");
    assert.equal((await app.request("/workflows/greet/runs", json({}))).status, 200);
    // A schema that refuses undefined: the workflow takes an input, and the schema says which.
    const named = await expectProblem(
      await app.request("/workflows/named/runs", json({})),
      400,
      "bad-request",
    );
    assert.match(
      String(named.detail),
      /start executor "named" refuses none: input schema: expected a string$/,
    );
  });

  test("an input the start executor refuses is 422 input-refused, JSON and SSE, before the run starts", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = createWorkflowApp({
      storage,
      workflows: {
        named: yielding("named", { id: "named", input: text, handle: echo }),
        even: yielding("even", {
          id: "even",
          accepts: (m) => typeof m === "number" && m % 2 === 0,
          handle: echo,
        }),
      },
    });
    for (const init of [json({ input: 42 }), sse({ input: 42 })]) {
      const problem = await expectProblem(
        await app.request("/workflows/named/runs", init),
        422,
        "input-refused",
      );
      assert.equal(
        problem.detail,
        'Cannot run workflow "named": its start executor "named" refused the input: input schema: expected a string',
      );
      assert.equal(problem.executorId, "named");
      assert.equal(problem.sessionId, undefined, "no run started: no session to name");
    }
    const odd = await expectProblem(
      await app.request("/workflows/even/runs", json({ input: 3 })),
      422,
      "input-refused",
    );
    assert.match(String(odd.detail), /refused the input: accepts\(\) returned false$/);
    assert.deepEqual(await storage.list(), []);
    assert.deepEqual((await (await app.request("/workflows/even/runs", json({ input: 4 }))).json()).outputs, [
      4,
    ]);
  });
});

describe("createWorkflowApp() paging and lineage", () => {
  test("GET /sessions/:id/checkpoints hands out next only when a page follows, never to an empty page", async () => {
    const { app, storage } = makeFixture();
    const { sessionId } = await pendingApproval(app);
    const all = await storage.list({ sessionId });
    assert.ok(all.length >= 2);
    const whole = await (await app.request(`/sessions/${sessionId}/checkpoints?limit=${all.length}`)).json();
    assert.equal(whole.checkpoints.length, all.length);
    assert.equal(whole.next, null, "a page holding the last checkpoint has no next");
    for (const limit of [1, all.length - 1]) {
      const seen: string[] = [];
      let query = `limit=${limit}`;
      for (;;) {
        const page = await (await app.request(`/sessions/${sessionId}/checkpoints?${query}`)).json();
        assert.ok(page.checkpoints.length > 0, "a cursor never leads to an empty page");
        seen.push(...page.checkpoints.map((c: { id: string }) => c.id));
        if (page.next === null) break;
        assert.equal(page.next, seen.at(-1));
        query = `limit=${limit}&before=${page.next}`;
      }
      assert.deepEqual(seen, all.map((c) => c.id));
    }
  });

  test("?before= must be a valid id: empty, too long or with control characters is 400", async () => {
    const { app } = makeFixture();
    const { sessionId } = await pendingApproval(app);
    for (const before of ["", "x".repeat(257), "a%01b"]) {
      const res = await app.request(`/sessions/${sessionId}/checkpoints?before=${before}`);
      await expectProblem(res, 400, "bad-request");
    }
  });

  test("a lineage that ends at a deleted parent says so: truncated and parentDeleted", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const [{ requestId }] = pending.pendingRequests;
    const forked = await (await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "yes" }, fork: true }),
    )).json();
    assert.notEqual(forked.sessionId, pending.sessionId);
    const before: LineageBody = await (await app.request(`/checkpoints/${forked.checkpointId}/lineage`))
      .json();
    assert.equal(before.lineage.at(-1)!.parentId, null);
    assert.deepEqual([before.truncated, before.parentDeleted], [false, false]);

    assert.equal((await app.request(`/sessions/${pending.sessionId}`, { method: "DELETE" })).status, 200);
    const after: LineageBody = await (await app.request(`/checkpoints/${forked.checkpointId}/lineage`))
      .json();
    assert.ok(after.lineage.every((summary) => summary.sessionId === forked.sessionId));
    assert.equal(
      after.lineage.at(-1)!.parentId,
      pending.checkpointId,
      "it ends where the parent was deleted",
    );
    assert.deepEqual([after.truncated, after.parentDeleted], [true, true]);
  });

  test("a lineage cut at a session the caller may not read is truncated, not parentDeleted", async () => {
    const { app, owners } = authFixture();
    const alice = { authorization: "Bearer alice" };
    const pending = await pendingApproval(app, alice);
    owners.set(pending.sessionId, "alice");
    const forked = await (await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ fork: true, sessionId: "bob-copy" }, { headers: alice }),
    )).json();
    owners.set(forked.sessionId, "bob");
    const res = await app.request(`/checkpoints/${forked.checkpointId}/lineage`, {
      headers: { authorization: "Bearer bob" },
    });
    const body: LineageBody = await res.json();
    assert.ok(body.lineage.length > 0 && body.lineage.every((s) => s.sessionId === "bob-copy"));
    assert.deepEqual([body.truncated, body.parentDeleted], [true, false]);
  });
});
