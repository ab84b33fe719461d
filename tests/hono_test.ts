// The Hono adapter through app.request(): every route, status and problem type, SSE, authorization, body
// limits, per-request instances, human in the loop, forks and lineage (and one case on @hono/node-server,
// which runs on every runtime).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hc } from "hono/client";
import { serve } from "@hono/node-server";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import { createWorkflowApp, type WorkflowApp } from "../adapters/hono/mod.ts";
import {
  approvalWorkflow,
  as,
  authFixture,
  expectProblem,
  json,
  makeFixture,
  parseSse,
  pendingApproval,
  sse,
} from "./_hono_helpers.ts";
import { deferred } from "./_helpers.ts";
import { createBearerTokenApp } from "../examples/auth.ts";
import { retry } from "../plugins/retry.ts";

describe("createWorkflowApp() routes", () => {
  test("GET /workflows lists names and Mermaid graphs", async () => {
    const { app } = makeFixture();
    const res = await app.request("/workflows");
    assert.equal(res.status, 200);
    const { workflows } = await res.json();
    assert.deepEqual(workflows.map((w: { name: string }) => w.name).sort(), [
      "approval",
      "blocker",
      "boom",
      "echo",
      "gate",
      "weird",
    ]);
    assert.match(workflows[0].mermaid, /flowchart|graph/);
  });

  test("POST /workflows/:name/runs answers the result as JSON", async () => {
    const { app } = makeFixture();
    const res = await app.request("/workflows/echo/runs", json({ input: { hello: "world" } }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = await res.json();
    assert.equal(body.status, "idle");
    assert.deepEqual(body.outputs, [{ hello: "world" }]);
    assert.deepEqual(body.pendingRequests, []);
    assert.equal(typeof body.checkpointId, "string");
    assert.equal(typeof body.sessionId, "string");
  });

  test("POST /workflows/:name/runs with sessionId appends to the session", async () => {
    const { app } = makeFixture();
    const first = await (await app.request("/workflows/echo/runs", json({ input: 1 }))).json();
    const second =
      await (await app.request("/workflows/echo/runs", json({ input: 2, sessionId: first.sessionId })))
        .json();
    assert.equal(second.sessionId, first.sessionId);
    const { lineage } = await (await app.request(`/checkpoints/${second.checkpointId}/lineage`)).json();
    assert.ok(lineage.some((s: { id: string }) => s.id === first.checkpointId));
  });

  test("POST /workflows/:name/runs encodes BigInt, Map, Set, Error, cycles (as $ref pointers) and NaN safely", async () => {
    const { app } = makeFixture();
    const body = await (await app.request("/workflows/weird/runs", json({ input: null }))).json();
    assert.deepEqual(body.outputs, [
      "10",
      [["a", 1]],
      [1, 2],
      { name: "Error", message: "oops" },
      { name: "loop", self: { $ref: "#/outputs/4" } },
      null,
    ]);
  });

  test("POST /workflows/:name/runs streams SSE events in order with increasing ids", async () => {
    const { app } = makeFixture();
    const res = await app.request("/workflows/echo/runs", sse({ input: "hi" }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = parseSse(await res.text());
    assert.equal(events[0].event, "started");
    assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1));
    for (const e of events.slice(0, -1)) assert.equal((e.data as { type: string }).type, e.event);
    assert.ok(events.some((e) => e.event === "output" && (e.data as { data: unknown }).data === "hi"));
    const statuses = events.filter((e) => e.event === "status").map((e) =>
      (e.data as { state: string }).state
    );
    assert.equal(statuses.at(-1), "idle");
    const last = events.at(-1)!;
    assert.equal(last.event, "result");
    assert.equal((last.data as { status: string }).status, "idle");
    assert.deepEqual((last.data as { outputs: unknown[] }).outputs, ["hi"]);
  });

  test("POST /workflows/:name/runs over SSE ends a failed run with failed events and a problem, no secrets", async () => {
    const { app } = makeFixture();
    const res = await app.request("/workflows/boom/runs", sse({ input: 1 }));
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|stack/);
    const events = parseSse(text);
    const failed = events.find((e) => e.event === "failed")!.data as { error: unknown };
    assert.deepEqual(failed.error, { name: "ExecutorFailedError", message: 'Executor "boom" failed' });
    const executorFailed = events.find((e) => e.event === "executor-failed")!.data as { error: unknown };
    assert.deepEqual(executorFailed.error, { name: "Error", message: "Internal error" });
    const last = events.at(-1)!;
    assert.equal(last.event, "problem");
    assert.equal((last.data as { status: number }).status, 500);
  });

  test("POST /workflows/:name/runs over SSE hides the error of an executor-retried event", async () => {
    let calls = 0;
    const flaky = defineExecutor({
      id: "flaky",
      handle: async (input: unknown, ctx) => {
        if (calls++ === 0) throw new Error("hunter2 leaked");
        await ctx.yieldOutput(input);
      },
    });
    const workflows = {
      flaky: () =>
        new WorkflowBuilder({ name: "flaky", start: flaky })
          .use(retry({ executors: ["flaky"], sleep: () => Promise.resolve() }))
          .build(),
    };
    const app = createWorkflowApp({ workflows, storage: new MemoryCheckpointStorage() });
    const text = await (await app.request("/workflows/flaky/runs", sse({ input: "ok" }))).text();
    assert.doesNotMatch(text, /hunter2/);
    const retried = parseSse(text).find((e) => e.event === "executor-retried")!.data as { error: unknown };
    assert.deepEqual(retried.error, { name: "Error", message: "Internal error" });
  });

  test("POST /workflows/:name/runs over SSE cancels the run when the client disconnects", async () => {
    const { app, runs, blocker, storage } = makeFixture();
    const res = await app.request("/workflows/blocker/runs", sse({ input: null }));
    const reader = res.body!.getReader();
    await blocker.entered;
    await reader.cancel();
    await blocker.sawAbort;
    const result = await runs[0];
    assert.equal(result.status, "cancelled");
    assert.equal(await storage.head(result.sessionId), result.checkpointId);
    const resumed = await app.request(`/checkpoints/${result.checkpointId}/resume`, json({}));
    assert.equal(resumed.status, 200);
    assert.deepEqual((await resumed.json()).outputs, ["resumed"]);
    assert.equal(runs.length, 2);
  });

  test("POST /checkpoints/:id/resume answers a pending request (human in the loop)", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const [{ requestId }] = pending.pendingRequests;
    const res = await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "yes" } }),
    );
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "idle");
    assert.deepEqual(body.outputs, ["answer: yes"]);
    assert.equal(body.sessionId, pending.sessionId);
    assert.deepEqual(body.pendingRequests, []);
  });

  test("POST /checkpoints/:id/resume streams SSE too", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const [{ requestId }] = pending.pendingRequests;
    const res = await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      sse({ responses: { [requestId]: "ok" } }),
    );
    const events = parseSse(await res.text());
    assert.equal(events.at(-1)!.event, "result");
    assert.deepEqual((events.at(-1)!.data as { outputs: unknown[] }).outputs, ["answer: ok"]);
  });

  test("POST /checkpoints/:id/resume with fork branches a non-head checkpoint into a new session", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const [{ requestId }] = pending.pendingRequests;
    await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "a" } }),
    );
    const stale = await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "b" } }),
    );
    await expectProblem(stale, 409, "checkpoint-conflict");
    const forked = await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "b" }, fork: true }),
    );
    assert.equal(forked.status, 200);
    const body = await forked.json();
    assert.notEqual(body.sessionId, pending.sessionId);
    assert.deepEqual(body.outputs, ["answer: b"]);
    const { lineage, truncated } = await (await app.request(`/checkpoints/${body.checkpointId}/lineage`))
      .json();
    assert.equal(truncated, false);
    assert.equal(lineage[0].id, body.checkpointId);
    assert.ok(lineage.some((s: { id: string }) => s.id === pending.checkpointId));
    assert.equal(lineage.at(-1).parentId, null);
  });

  test("GET /sessions/:id/checkpoints pages newest first", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const all = await (await app.request(`/sessions/${pending.sessionId}/checkpoints`)).json();
    assert.ok(all.checkpoints.length >= 2);
    assert.equal(all.checkpoints[0].id, pending.checkpointId);
    assert.equal(all.next, null);
    const first = await (await app.request(`/sessions/${pending.sessionId}/checkpoints?limit=1`)).json();
    assert.equal(first.checkpoints.length, 1);
    assert.equal(first.next, pending.checkpointId);
    const second =
      await (await app.request(`/sessions/${pending.sessionId}/checkpoints?limit=1&before=${first.next}`))
        .json();
    assert.equal(second.checkpoints[0].id, all.checkpoints[1].id);
  });

  test("GET /checkpoints/:id returns the checkpoint", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const res = await app.request(`/checkpoints/${pending.checkpointId}`);
    assert.equal(res.status, 200);
    const checkpoint = await res.json();
    assert.equal(checkpoint.id, pending.checkpointId);
    assert.equal(checkpoint.sessionId, pending.sessionId);
    assert.equal(checkpoint.workflowName, "approval");
    assert.equal(checkpoint.pendingRequests.length, 1);
  });

  test("DELETE /sessions/:id deletes the session's checkpoints", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const res = await app.request(`/sessions/${pending.sessionId}`, { method: "DELETE" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.sessionId, pending.sessionId);
    assert.ok(body.deleted >= 2);
    await expectProblem(
      await app.request(`/sessions/${pending.sessionId}/checkpoints`),
      404,
      "session-not-found",
    );
    await expectProblem(
      await app.request(`/checkpoints/${pending.checkpointId}`),
      404,
      "checkpoint-not-found",
    );
  });

  test("the app type works with Hono's hc client", async () => {
    const { app } = makeFixture();
    const client = hc<WorkflowApp>("http://localhost", {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => app.request(input, init),
    });
    const list = await client.workflows.$get();
    assert.equal(list.status, 200);
    const res = await client.workflows[":name"].runs.$post({
      param: { name: "echo" },
      json: { input: "typed" },
    });
    if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
    const body = await res.json();
    assert.deepEqual(body.outputs, ["typed"]);
    const lineage = await client.checkpoints[":id"].lineage.$get({ param: { id: body.checkpointId! } });
    assert.equal(lineage.status, 200);
  });
});

describe("createWorkflowApp() problems", () => {
  test("400 for malformed bodies, ids and limits", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const cases: [string, RequestInit | undefined][] = [
      ["/workflows/echo/runs", json("{not json")],
      ["/workflows/echo/runs", json([1, 2])],
      ["/workflows/echo/runs", json("")],
      ["/workflows/echo/runs", json({ input: 1, sessionId: 42 })],
      ["/workflows/echo/runs", json({ input: 1, sessionId: "" })],
      [`/checkpoints/${pending.checkpointId}/resume`, json({ responses: [1] })],
      [`/checkpoints/${pending.checkpointId}/resume`, json({ fork: "yes" })],
      [`/sessions/${pending.sessionId}/checkpoints?limit=0`, undefined],
      [`/sessions/${pending.sessionId}/checkpoints?limit=abc`, undefined],
      [`/sessions/${pending.sessionId}/checkpoints?limit=1001`, undefined],
      [`/sessions/${pending.sessionId}/checkpoints?limit=1.5`, undefined],
      [`/checkpoints/${"x".repeat(300)}`, undefined],
      [`/sessions/a%00b/checkpoints`, undefined],
    ];
    for (const [path, init] of cases) await expectProblem(await app.request(path, init), 400, "bad-request");
  });

  test("400 for a body nested more than 200 levels deep, which could not be checkpointed (not a 500)", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    const resume = `/checkpoints/${pending.checkpointId}/resume`;
    const [{ requestId }] = pending.pendingRequests;
    for (const levels of [200, 5_000, 100_000]) {
      // The body object is the first level.
      const run = `{"input":${nested(levels)}}`;
      const answer = `{"responses":{${JSON.stringify(requestId)}:${nested(levels - 1)}}}`;
      for (const init of [json(run), sse(run)]) {
        await expectProblem(await app.request("/workflows/echo/runs", init), 400, "bad-request");
      }
      await expectProblem(await app.request(resume, json(answer)), 400, "bad-request");
    }
    assert.equal((await app.request("/workflows/echo/runs", json(`{"input":${nested(199)}}`))).status, 200);
    const answered = await app.request(
      resume,
      json(`{"responses":{${JSON.stringify(requestId)}:${nested(198)}}}`),
    );
    assert.equal(answered.status, 200);
  });

  test("400, not 500, for a body that breaks off while it is read (a client gone mid-upload)", async () => {
    const { app } = makeFixture();
    // Without content-length the body limit reads the stream; with it, the route does.
    for (const length of [undefined, "40"]) {
      for (const accept of ["application/json", "text/event-stream"]) {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"input":'));
            controller.error(new Error("aborted"));
          },
        });
        const headers: Record<string, string> = { "content-type": "application/json", accept };
        if (length) headers["content-length"] = length;
        const res = await app.request("/workflows/echo/runs", {
          method: "POST",
          headers,
          body,
          duplex: "half",
        } as RequestInit);
        const problem = await expectProblem(res, 400, "bad-request");
        assert.match(String(problem.detail), /^Cannot read the body/);
      }
    }
  });

  test("a chunked body is read on @hono/node-server without its global Request and Response (overrideGlobalObjects: false)", async () => {
    // Hono's bodyLimit re-created the request with the global Request, which refused @hono/node-server's own
    // request class: every chunked body was a 500.
    const { app } = makeFixture({ bodyLimit: 64 });
    const { port, close } = await new Promise<{ port: number; close(): void }>((resolve) => {
      const options = { fetch: app.fetch, hostname: "127.0.0.1", port: 0, overrideGlobalObjects: false };
      const server = serve(options, (info: AddressInfo) =>
        resolve({
          port: info.port,
          close: () => {
            server.close();
            (server as Server).closeAllConnections?.();
          },
        }));
    });
    try {
      const post = (body: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const request = httpRequest({
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/workflows/echo/runs",
            headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
          }, (response) => {
            let text = "";
            response.setEncoding("utf8").on("data", (chunk) => text += chunk);
            response.on("end", () => resolve({ status: response.statusCode!, text }));
          });
          request.on("error", reject);
          request.write(body.slice(0, 5));
          request.end(body.slice(5));
        });
      const small = await post(JSON.stringify({ input: "chunked" }));
      assert.equal(small.status, 200, small.text);
      assert.deepEqual(JSON.parse(small.text).outputs, ["chunked"]);
      const big = await post(JSON.stringify({ input: "x".repeat(100) }));
      assert.equal(big.status, 413, big.text);
    } finally {
      close();
    }
  });

  test("404 for unknown workflows, checkpoints, sessions and routes", async () => {
    const { app } = makeFixture();
    await expectProblem(await app.request("/workflows/nope/runs", json({})), 404, "workflow-not-found");
    await expectProblem(await app.request("/workflows/__proto__/runs", json({})), 404, "workflow-not-found");
    await expectProblem(await app.request("/checkpoints/nope"), 404, "checkpoint-not-found");
    await expectProblem(await app.request("/checkpoints/nope/lineage"), 404, "checkpoint-not-found");
    await expectProblem(await app.request("/checkpoints/nope/resume", json({})), 404, "checkpoint-not-found");
    await expectProblem(await app.request("/checkpoints/nope/resume", sse({})), 404, "checkpoint-not-found");
    await expectProblem(await app.request("/sessions/nope/checkpoints"), 404, "session-not-found");
    await expectProblem(await app.request("/sessions/nope", { method: "DELETE" }), 404, "session-not-found");
    await expectProblem(await app.request("/nowhere"), 404, "not-found");
  });

  test("409 request-not-pending for an unknown request id (the checkpoint's state conflicts with it)", async () => {
    const { app } = makeFixture();
    const pending = await pendingApproval(app);
    const res = await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { bogus: 1 } }),
    );
    await expectProblem(res, 409, "request-not-pending");
    const sseRes = await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      sse({ responses: { bogus: 1 } }),
    );
    await expectProblem(sseRes, 409, "request-not-pending");
  });

  test("409 workflow-busy when a factory shares one instance (why factories must build a new one)", async () => {
    let release!: () => void;
    const open = new Promise<void>((resolve) => release = resolve);
    let started!: () => void;
    const inside = new Promise<void>((resolve) => started = resolve);
    const instance = new WorkflowBuilder({
      name: "slow",
      start: defineExecutor({
        id: "slow",
        handle: async (_: unknown, ctx) => {
          started();
          await open;
          await ctx.yieldOutput("done");
        },
      }),
    }).build();
    const app = createWorkflowApp({
      workflows: { slow: () => instance },
      storage: new MemoryCheckpointStorage(),
    });
    const first = app.request("/workflows/slow/runs", json({ input: 1 }));
    await inside;
    await expectProblem(await app.request("/workflows/slow/runs", json({ input: 2 })), 409, "workflow-busy");
    release();
    assert.equal((await first).status, 200);
  });

  test("413 for a body over the limit (configurable, 1 MiB by default)", async () => {
    const { app } = makeFixture({ bodyLimit: 100 });
    await expectProblem(
      await app.request("/workflows/echo/runs", json({ input: "x".repeat(200) })),
      413,
      "body-too-large",
    );
    assert.equal((await app.request("/workflows/echo/runs", json({ input: "small" }))).status, 200);
    const big = makeFixture();
    const huge = JSON.stringify({ input: "x".repeat(1024 * 1024) });
    await expectProblem(await big.app.request("/workflows/echo/runs", json(huge)), 413, "body-too-large");
    // A chunked body (no content-length) is counted as it streams in.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(huge));
        controller.close();
      },
    });
    const chunked = await big.app.request("/workflows/echo/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectProblem(chunked, 413, "body-too-large");
  });

  test("422 checkpoint-mismatch when the graph changed", async () => {
    const storage = new MemoryCheckpointStorage();
    const before = makeFixture({ storage });
    const pending = await pendingApproval(before.app);
    const after = createWorkflowApp({ workflows: { approval: () => approvalWorkflow("asker") }, storage });
    const [{ requestId }] = pending.pendingRequests;
    const res = await after.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "x" } }),
    );
    const mismatch = await expectProblem(res, 422, "checkpoint-mismatch");
    const incompatibilities = mismatch.incompatibilities as { kind: string; message: string }[];
    assert.ok(incompatibilities.length > 0, JSON.stringify(mismatch));
    assert.ok(incompatibilities.every((entry) => typeof entry.kind === "string" && entry.message.length > 0));
    const changes = mismatch.changes as { addedExecutors: string[]; removedExecutors: string[] };
    assert.ok(changes.addedExecutors.length + changes.removedExecutors.length > 0, JSON.stringify(changes));
    const onlyEcho = createWorkflowApp({ workflows: {}, storage });
    await expectProblem(
      await onlyEcho.request(`/checkpoints/${pending.checkpointId}/resume`, json({})),
      422,
      "checkpoint-mismatch",
    );
  });

  test("500 executor-failed without stack traces or the executor's message", async () => {
    const { app } = makeFixture();
    const body = await expectProblem(
      await app.request("/workflows/boom/runs", json({ input: 1 })),
      500,
      "executor-failed",
    );
    assert.equal(body.executorId, "boom");
  });

  test("500 internal-error when the storage throws, without its message", async () => {
    const storage = new MemoryCheckpointStorage();
    storage.load = () => Promise.reject(new Error("secret: connection string hunter2"));
    const { app } = makeFixture({ storage });
    await expectProblem(await app.request("/checkpoints/abc"), 500, "internal-error");
  });

  test("createWorkflowApp() throws a TypeError when a factory's workflow is named differently", () => {
    assert.throws(
      () =>
        createWorkflowApp({
          workflows: { other: () => approvalWorkflow() },
          storage: new MemoryCheckpointStorage(),
        }),
      TypeError,
    );
  });
});

describe("createWorkflowApp() per-request instances", () => {
  test("two concurrent runs of one workflow do not collide", async () => {
    const fixture = makeFixture();
    const a = fixture.app.request("/workflows/gate/runs", json({ input: "a" }));
    const b = fixture.app.request("/workflows/gate/runs", json({ input: "b" }));
    await fixture.gateEntered(2);
    fixture.openGate();
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    assert.deepEqual((await ra.json()).outputs, ["a"]);
    assert.deepEqual((await rb.json()).outputs, ["b"]);
  });
});

describe("createWorkflowApp() authorization", () => {
  test("every route is denied with 403 for a foreign session, and nothing happens", async () => {
    const { app, owners, storage } = authFixture();
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    const [{ requestId }] = pending.pendingRequests;
    const bob = as("bob");
    const denied: [string, RequestInit][] = [
      [`/workflows/echo/runs`, json({ input: 1, sessionId: pending.sessionId }, { headers: bob })],
      [
        `/checkpoints/${pending.checkpointId}/resume`,
        json({ responses: { [requestId]: "x" } }, { headers: bob }),
      ],
      [
        `/checkpoints/${pending.checkpointId}/resume`,
        sse({ responses: { [requestId]: "x" } }, { headers: bob }),
      ],
      [`/sessions/${pending.sessionId}/checkpoints`, { headers: bob }],
      [`/checkpoints/${pending.checkpointId}`, { headers: bob }],
      [`/checkpoints/${pending.checkpointId}/lineage`, { headers: bob }],
      [`/sessions/${pending.sessionId}`, { method: "DELETE", headers: bob }],
      [`/workflows`, {}],
    ];
    for (const [path, init] of denied) await expectProblem(await app.request(path, init), 403, "forbidden");
    assert.equal(await storage.head(pending.sessionId), pending.checkpointId);
    const alice = await app.request(`/sessions/${pending.sessionId}/checkpoints`, { headers: as("alice") });
    assert.equal(alice.status, 200);
  });

  test("a denial looks the same for an existing and a nonexistent resource", async () => {
    const { app, owners } = authFixture();
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    const bob = { headers: as("bob") };
    const pairs: [string, string, RequestInit][] = [
      [`/checkpoints/${pending.checkpointId}`, `/checkpoints/01JNOTHERE`, bob],
      [`/checkpoints/${pending.checkpointId}/lineage`, `/checkpoints/01JNOTHERE/lineage`, bob],
      [`/checkpoints/${pending.checkpointId}/resume`, `/checkpoints/01JNOTHERE/resume`, json({}, bob)],
      [`/sessions/${pending.sessionId}/checkpoints`, `/sessions/nothere/checkpoints`, bob],
      [`/sessions/${pending.sessionId}`, `/sessions/nothere`, { ...bob, method: "DELETE" }],
    ];
    for (const [existing, missing, init] of pairs) {
      const a = await app.request(existing, init);
      const b = await app.request(missing, init);
      assert.equal(a.status, 403);
      assert.equal(b.status, 403);
      assert.deepEqual([...a.headers], [...b.headers]);
      assert.equal(await a.text(), await b.text());
    }
  });

  test("authorize is asked with the checkpoint's session and workflow", async () => {
    const { app, owners, asked } = authFixture();
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    asked.length = 0;
    const res = await app.request(`/checkpoints/${pending.checkpointId}`, { headers: as("alice") });
    assert.equal(res.status, 200);
    assert.deepEqual(asked, [{
      action: "read-checkpoint",
      checkpointId: pending.checkpointId,
      sessionId: pending.sessionId,
      workflow: "approval",
    }]);
  });

  test("lineage stops at an ancestor in a session the caller may not read", async () => {
    const { app, owners } = authFixture();
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    const [{ requestId }] = pending.pendingRequests;
    const forked = await (await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "x" }, fork: true }, { headers: as("alice") }),
    )).json();
    owners.set(forked.sessionId, "bob"); // the fork was handed over to bob
    const res = await app.request(`/checkpoints/${forked.checkpointId}/lineage`, { headers: as("bob") });
    const body = await res.json();
    assert.equal(body.truncated, true);
    assert.ok(body.lineage.every((s: { sessionId: string }) => s.sessionId === forked.sessionId));
  });
});

describe("examples/auth.ts createBearerTokenApp()", () => {
  function bearerApp() {
    const owners = new Map<string, string>();
    const entered = deferred();
    const aborted = deferred();
    const hang = () =>
      new WorkflowBuilder({
        name: "hang",
        start: defineExecutor({
          id: "hang",
          handle: async (_: unknown, ctx) => {
            entered.resolve();
            await new Promise<void>((resolve) => {
              if (ctx.signal.aborted) resolve();
              ctx.signal.addEventListener("abort", () => resolve(), { once: true });
            });
            aborted.resolve();
          },
        }),
      }).build();
    const storage = new MemoryCheckpointStorage();
    const app = createBearerTokenApp({
      tokens: ["alice", "bob"],
      owners,
      storage,
      workflows: { approval: () => approvalWorkflow(), hang },
    });
    return { app, owners, storage, entered: entered.promise, aborted: aborted.promise };
  }

  test("a token owns the sessions its runs (JSON or SSE) and forks create; another token gets 403 everywhere", async () => {
    const { app, owners } = bearerApp();
    const pending = await pendingApproval(app, as("alice"));
    assert.equal(owners.get(pending.sessionId), "alice");
    const streamed = parseSse(
      await (await app.request("/workflows/approval/runs", sse({ input: "q" }, { headers: as("alice") })))
        .text(),
    );
    const streamedSession = (streamed[0].data as { sessionId: string }).sessionId;
    assert.equal(owners.get(streamedSession), "alice");
    const [{ requestId }] = pending.pendingRequests;
    const fork = await (await app.request(
      `/checkpoints/${pending.checkpointId}/resume`,
      json({ responses: { [requestId]: "no" }, fork: true }, { headers: as("alice") }),
    )).json();
    assert.equal(owners.get(fork.sessionId), "alice");
    const bob = as("bob");
    for (const session of [pending.sessionId, streamedSession, fork.sessionId]) {
      await expectProblem(
        await app.request(`/sessions/${session}/checkpoints`, { headers: bob }),
        403,
        "forbidden",
      );
      await expectProblem(
        await app.request(
          `/workflows/approval/runs`,
          json({ input: 1, sessionId: session }, { headers: bob }),
        ),
        403,
        "forbidden",
      );
      await expectProblem(
        await app.request(`/sessions/${session}`, { method: "DELETE", headers: bob }),
        403,
        "forbidden",
      );
    }
    for (
      const path of [`/checkpoints/${pending.checkpointId}`, `/checkpoints/${pending.checkpointId}/lineage`]
    ) {
      await expectProblem(await app.request(path, { headers: bob }), 403, "forbidden");
    }
    await expectProblem(
      await app.request(`/checkpoints/${pending.checkpointId}/resume`, json({}, { headers: bob })),
      403,
      "forbidden",
    );
    const alice = await app.request(`/sessions/${fork.sessionId}/checkpoints`, { headers: as("alice") });
    assert.equal(alice.status, 200);
    assert.equal([...owners.values()].filter((token) => token === "bob").length, 0);
  });

  test("no token, or an unknown one, is 401 on every route", async () => {
    const { app } = bearerApp();
    for (const headers of [{}, as("mallory"), { authorization: "Basic YWxpY2U6eA==" }]) {
      const res = await app.request("/workflows", { headers });
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="superstep"');
      await expectProblem(res, 401, "http-401");
      await expectProblem(
        await app.request("/workflows/approval/runs", json({ input: 1 }, { headers })),
        401,
        "http-401",
      );
    }
  });

  test("unknown routes keep the workflow app's 404 problem", async () => {
    const { app } = bearerApp();
    await expectProblem(await app.request("/nope", { headers: as("alice") }), 404, "not-found");
  });

  test("a client disconnect mid-stream still cancels the run through the ownership recorder", async () => {
    const { app, storage, entered, aborted, owners } = bearerApp();
    const res = await app.request("/workflows/hang/runs", sse({ input: null }, { headers: as("alice") }));
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    // The first event (`started`) is the one that names the session; the client has seen it.
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^event: started\n/);
    await entered;
    await reader.cancel();
    await aborted;
    const [sessionId] = [...owners.keys()];
    assert.equal(owners.get(sessionId), "alice");
    assert.ok(await storage.head(sessionId));
    const checkpoints = await app.request(`/sessions/${sessionId}/checkpoints`, { headers: as("alice") });
    assert.equal(checkpoints.status, 200);
  });
});
