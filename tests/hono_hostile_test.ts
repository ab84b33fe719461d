// The Hono adapter against the attacks of issue 13, one regression test (or more) per defect, through
// app.request() on the memory adapter, so that it runs on Deno, Node, Bun and inside workerd: authorization
// before a damaged checkpoint is revealed; forks told from resumes; failed runs' problems naming their
// session (and the bearer-token example recording it); shared references and the response limit; JSON-only
// bodies; invalid UTF-8; ill-formed ids. The libSQL cases and the fuzz are in tests/http_fuzz_test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import type { AuthorizeRequest, WorkflowApp } from "../adapters/hono/mod.ts";
import { createWorkflowApp } from "../adapters/hono/mod.ts";
import { createBearerTokenApp } from "../examples/auth.ts";
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
  TOKENS,
} from "./_hono_helpers.ts";
import { deferred } from "./_helpers.ts";
import {
  dagOf,
  damageCheckpoint,
  failingOnceWorkflow,
  loopingWorkflow,
  resolveRefs,
} from "./_hono_hostile.ts";

/** Assert two answers are the same bytes, status and headers: a denial that tells nothing apart. */
async function assertSameAnswer(a: Response, b: Response, context: string): Promise<void> {
  assert.equal(a.status, b.status, context);
  assert.deepEqual([...a.headers], [...b.headers], context);
  assert.equal(await a.text(), await b.text(), context);
}

/** The checkpoint routes, each as (path, init) for a checkpoint id and a caller's headers. */
function checkpointRoutes(
  headers: Record<string, string>,
): [string, (id: string) => [string, RequestInit]][] {
  return [
    ["GET /checkpoints/:id", (id) => [`/checkpoints/${id}`, { headers }]],
    ["GET /checkpoints/:id/lineage", (id) => [`/checkpoints/${id}/lineage`, { headers }]],
    ["POST /checkpoints/:id/resume", (id) => [`/checkpoints/${id}/resume`, json({}, { headers })]],
    ["POST /checkpoints/:id/resume (SSE)", (id) => [`/checkpoints/${id}/resume`, sse({}, { headers })]],
    [
      "POST /checkpoints/:id/resume (fork)",
      (id) => [`/checkpoints/${id}/resume`, json({ fork: true }, { headers })],
    ],
  ];
}

describe("createWorkflowApp() and a damaged checkpoint (issue 13, defect 6)", () => {
  test("authorize runs first: a denied caller gets the 403 of a nonexistent checkpoint, an allowed one 500 checkpoint-corrupt", async () => {
    const storage = new MemoryCheckpointStorage();
    const { app, owners, asked } = authFixture({ storage });
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    damageCheckpoint(storage, pending.checkpointId, { known: true });
    for (const [route, request] of checkpointRoutes({})) {
      for (const headers of [{}, as("bob"), as("mallory")]) {
        const [path, init] = request(pending.checkpointId);
        const [missingPath, missingInit] = request("01JNOTHERE");
        const denied = await app.request(path, { ...init, headers: { ...init.headers, ...headers } });
        const missing = await app.request(missingPath, {
          ...missingInit,
          headers: { ...missingInit.headers, ...headers },
        });
        assert.equal(denied.status, 403, `${route} as ${JSON.stringify(headers)}`);
        await assertSameAnswer(denied, missing, `${route} as ${JSON.stringify(headers)}`);
      }
      const [path, init] = request(pending.checkpointId);
      asked.length = 0;
      const allowed = await app.request(path, { ...init, headers: { ...init.headers, ...as("alice") } });
      const problem = await expectProblem(allowed, 500, "checkpoint-corrupt");
      assert.equal(problem.checkpointId, pending.checkpointId, route);
      assert.doesNotMatch(JSON.stringify(problem), /damaged on purpose/);
      assert.equal(asked[0].sessionId, pending.sessionId, route);
      assert.equal(asked[0].workflow, "approval", route);
      assert.equal(asked[0].checkpointId, pending.checkpointId, route);
    }
  });

  test("a damaged checkpoint whose session cannot be read is answered as one that does not exist, to everyone", async () => {
    const storage = new MemoryCheckpointStorage();
    const guarded = authFixture({ storage });
    const pending = await pendingApproval(guarded.app, as("alice"));
    guarded.owners.set(pending.sessionId, "alice");
    damageCheckpoint(storage, pending.checkpointId, { known: false });
    const open = createWorkflowApp({ workflows: { approval: () => approvalWorkflow() }, storage });
    for (const [app, token] of [[guarded.app, "alice"], [guarded.app, "bob"], [open, "alice"]] as const) {
      for (const [route, request] of checkpointRoutes(as(token))) {
        guarded.asked.length = 0;
        const damaged = await app.request(...request(pending.checkpointId));
        const askedDamaged = guarded.asked.map(({ checkpointId: _, ...rest }) => rest);
        guarded.asked.length = 0;
        const missing = await app.request(...request("01JNOTHERE"));
        const askedMissing = guarded.asked.map(({ checkpointId: _, ...rest }) => rest);
        const context = `${route} as ${token}${app === open ? " (open app)" : ""}`;
        assert.equal(damaged.status, app === open ? 404 : 403, context);
        assert.deepEqual(askedDamaged, askedMissing, context);
        const [a, b] = [await damaged.text(), await missing.text()];
        assert.equal(a.replaceAll(pending.checkpointId, "01JNOTHERE"), b, context);
      }
    }
  });

  test("examples/auth.ts: no token is 401, another token 403, as for a nonexistent checkpoint; the owner 500", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = createBearerTokenApp({
      tokens: TOKENS,
      storage,
      workflows: { approval: () => approvalWorkflow() },
    });
    const pending = await pendingApproval(app, as("alice"));
    damageCheckpoint(storage, pending.checkpointId, { known: true });
    for (const [route, request] of checkpointRoutes({})) {
      for (const [headers, status] of [[{}, 401], [as("bob"), 403]] as const) {
        const [path, init] = request(pending.checkpointId);
        const [missingPath, missingInit] = request("01JNOTHERE");
        const with_ = (i: RequestInit) => ({ ...i, headers: { ...i.headers, ...headers } });
        const denied = await app.request(path, with_(init));
        assert.equal(denied.status, status, route);
        await assertSameAnswer(denied, await app.request(missingPath, with_(missingInit)), route);
      }
      const [path, init] = request(pending.checkpointId);
      const owner = await app.request(path, { ...init, headers: { ...init.headers, ...as("alice") } });
      await expectProblem(owner, 500, "checkpoint-corrupt");
    }
  });
});

describe("createWorkflowApp() forks and resumes (issue 13, defect 7)", () => {
  test("authorize is asked for resume with the checkpoint's session as target, for fork with the target the body names (or none)", async () => {
    const { app, owners, asked } = authFixture();
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    owners.set("alice-branch", "alice");
    const base = { checkpointId: pending.checkpointId, sessionId: pending.sessionId, workflow: "approval" };
    const cases: [Record<string, unknown>, AuthorizeRequest][] = [
      [{}, { action: "resume", ...base, targetSessionId: pending.sessionId }],
      [{ sessionId: pending.sessionId }, { action: "resume", ...base, targetSessionId: pending.sessionId }],
      [{ fork: true }, { action: "fork", ...base }],
      [{ fork: true, sessionId: "alice-branch" }, {
        action: "fork",
        ...base,
        targetSessionId: "alice-branch",
      }],
      [{ sessionId: "alice-branch" }, { action: "fork", ...base, targetSessionId: "alice-branch" }],
    ];
    for (const [body, expected] of cases) {
      asked.length = 0;
      // Denied by the request's missing token: only what authorize is asked matters here.
      await app.request(`/checkpoints/${pending.checkpointId}/resume`, json(body));
      assert.deepEqual(asked, [expected], JSON.stringify(body));
    }
  });

  test("a policy can let others copy a checkpoint into a new session of theirs but not write into the owner's", async () => {
    const shared = new Set<string>();
    const owners = new Map<string, string>();
    const { app, storage } = makeFixture({
      authorize: (c, { action, sessionId, targetSessionId }) => {
        const token = c.req.header("authorization")?.replace(/^Bearer /, "");
        if (token === undefined) return false;
        if (sessionId === undefined) return action === "run" || action === "list-workflows";
        const mine = owners.get(sessionId) === token;
        if (action === "fork") {
          const readable = mine || shared.has(sessionId);
          return readable && (targetSessionId === undefined || owners.get(targetSessionId) === token);
        }
        return mine || (action === "read-checkpoint" && shared.has(sessionId));
      },
    });
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    shared.add(pending.sessionId);
    const [{ requestId }] = pending.pendingRequests;
    const answer = { responses: { [requestId]: "from bob" } };
    const resume = `/checkpoints/${pending.checkpointId}/resume`;
    await expectProblem(await app.request(resume, json(answer, { headers: as("bob") })), 403, "forbidden");
    await expectProblem(
      await app.request(resume, json({ ...answer, sessionId: pending.sessionId }, { headers: as("bob") })),
      403,
      "forbidden",
    );
    assert.equal(await storage.head(pending.sessionId), pending.checkpointId, "alice's session is untouched");
    const fork = await app.request(resume, json({ ...answer, fork: true }, { headers: as("bob") }));
    assert.equal(fork.status, 200);
    const forked = await fork.json();
    assert.notEqual(forked.sessionId, pending.sessionId);
    assert.deepEqual(forked.outputs, ["answer: from bob"]);
    assert.equal(await storage.head(pending.sessionId), pending.checkpointId, "alice's session is untouched");
  });

  test("POST /checkpoints/:id/resume forks into the session its body names; an existing one is a 409", async () => {
    const { app, storage } = makeFixture();
    const pending = await pendingApproval(app);
    const [{ requestId }] = pending.pendingRequests;
    const resume = `/checkpoints/${pending.checkpointId}/resume`;
    const res = await app.request(resume, json({ responses: { [requestId]: "x" }, sessionId: "named-fork" }));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.sessionId, "named-fork");
    assert.equal(await storage.head(pending.sessionId), pending.checkpointId);
    const lineage = await (await app.request(`/checkpoints/${body.checkpointId}/lineage`)).json();
    assert.ok(lineage.lineage.some((s: { id: string }) => s.id === pending.checkpointId));
    await expectProblem(
      await app.request(resume, json({ responses: { [requestId]: "y" }, sessionId: "named-fork" })),
      409,
      "checkpoint-conflict",
    );
    await expectProblem(await app.request(resume, json({ sessionId: 7 })), 400, "bad-request");
    await expectProblem(await app.request(resume, json({ sessionId: "" })), 400, "bad-request");
  });

  test("examples/auth.ts: GET /sessions and GET /requests list only the token's own sessions and requests", async () => {
    const app = createBearerTokenApp({
      tokens: TOKENS,
      storage: new MemoryCheckpointStorage(),
      workflows: { approval: () => approvalWorkflow() },
    });
    const alice = await pendingApproval(app, as("alice"));
    const bob = await pendingApproval(app, as("bob"));
    for (const [token, own] of [["alice", alice], ["bob", bob]] as const) {
      const sessions = await (await app.request("/sessions", { headers: as(token) })).json() as {
        sessions: { sessionId: string }[];
      };
      assert.deepEqual(sessions.sessions.map((session) => session.sessionId), [own.sessionId]);
      const requests = await (await app.request("/requests", { headers: as(token) })).json() as {
        requests: { sessionId: string; requestId: string }[];
      };
      assert.deepEqual(requests.requests.map((request) => [request.sessionId, request.requestId]), [
        [own.sessionId, own.pendingRequests[0].requestId],
      ]);
    }
    assert.equal((await app.request("/sessions")).status, 401);
    // Answering the other token's request by its id is refused like any foreign session.
    const foreign = await app.request(
      `/requests/${bob.pendingRequests[0].requestId}`,
      json({ response: "yes" }, { headers: as("alice") }),
    );
    assert.equal(foreign.status, 403);
  });

  test("examples/auth.ts: a fork writes only a new session or one of the token's own", async () => {
    const owners = new Map<string, string>();
    const storage = new MemoryCheckpointStorage();
    const app = createBearerTokenApp({
      tokens: TOKENS,
      owners,
      storage,
      workflows: { approval: () => approvalWorkflow() },
    });
    const alice = await pendingApproval(app, as("alice"));
    const bob = await pendingApproval(app, as("bob"));
    const [{ requestId }] = alice.pendingRequests;
    const resume = `/checkpoints/${alice.checkpointId}/resume`;
    const answer = (extra: Record<string, unknown>) =>
      json({ responses: { [requestId]: "x" }, ...extra }, { headers: as("alice") });
    for (const target of [bob.sessionId, "nobody-owns-this"]) {
      await expectProblem(await app.request(resume, answer({ sessionId: target })), 403, "forbidden");
      await expectProblem(
        await app.request(resume, answer({ fork: true, sessionId: target })),
        403,
        "forbidden",
      );
    }
    assert.equal(await storage.head(bob.sessionId), bob.checkpointId);
    assert.equal(owners.has("nobody-owns-this"), false);
    const fork = await app.request(resume, answer({ fork: true }));
    assert.equal(fork.status, 200);
    assert.equal(owners.get((await fork.json()).sessionId), "alice");
  });
});

describe("createWorkflowApp() problems of runs that started (issue 13, defect 8)", () => {
  test("an executor-failed problem carries the run's sessionId and last checkpointId, JSON and SSE; a run that never started has none", async () => {
    const { app, storage } = makeFixture({ workflows: { failing: failingOnceWorkflow(2) } });
    const problem = await expectProblem(
      await app.request("/workflows/failing/runs", json({ input: 1 })),
      500,
      "executor-failed",
    );
    assert.equal(typeof problem.sessionId, "string");
    assert.equal(problem.checkpointId, await storage.head(problem.sessionId as string));
    assert.equal((await storage.list({ sessionId: problem.sessionId as string })).length, 2);
    const events = parseSse(await (await app.request("/workflows/failing/runs", sse({ input: 1 }))).text());
    const last = events.at(-1)!;
    assert.equal(last.event, "problem");
    const streamed = last.data as Record<string, unknown>;
    assert.equal(streamed.type, "urn:superstep:problem:executor-failed");
    assert.equal(streamed.sessionId, (events[0].data as { sessionId: string }).sessionId);
    assert.equal(streamed.checkpointId, await storage.head(streamed.sessionId as string));
    const notStarted = await expectProblem(
      await app.request("/checkpoints/01JNOTHERE/resume", json({})),
      404,
      "checkpoint-not-found",
    );
    assert.equal("sessionId" in notStarted, false);
  });

  test("a workflow-did-not-converge problem carries the session and its resumable checkpoint", async () => {
    const { app, storage } = makeFixture({ workflows: { looping: loopingWorkflow } });
    const problem = await expectProblem(
      await app.request("/workflows/looping/runs", json({ input: 0 })),
      500,
      "workflow-did-not-converge",
    );
    assert.equal(problem.checkpointId, await storage.head(problem.sessionId as string));
    const resumed = await app.request(`/checkpoints/${problem.checkpointId}/resume`, json({}));
    assert.equal(resumed.status, 200);
    assert.deepEqual((await resumed.json()).outputs, [5]);
  });

  for (
    const [name, workflow, slug] of [
      ["executor-failed", failingOnceWorkflow(2), "executor-failed"],
      ["workflow-did-not-converge", loopingWorkflow, "workflow-did-not-converge"],
    ] as const
  ) {
    test(`examples/auth.ts: the creator of a run ending ${name} owns its session (JSON and SSE); another token gets 403`, async () => {
      const owners = new Map<string, string>();
      const app = createBearerTokenApp({
        tokens: TOKENS,
        owners,
        storage: new MemoryCheckpointStorage(),
        workflows: { [workflow().name]: workflow },
      });
      const runs = `/workflows/${workflow().name}/runs`;
      const problem = await expectProblem(
        await app.request(runs, json({ input: 0 }, { headers: as("alice") })),
        500,
        slug,
      );
      const streamed = parseSse(
        await (await app.request(runs, sse({ input: 0 }, { headers: as("alice") }))).text(),
      ).at(-1)!.data as Record<string, string>;
      for (const { sessionId, checkpointId } of [problem as Record<string, string>, streamed]) {
        assert.equal(owners.get(sessionId), "alice");
        for (const token of ["bob", "alice"]) {
          const headers = as(token);
          const status = token === "alice" ? 200 : 403;
          const list = await app.request(`/sessions/${sessionId}/checkpoints`, { headers });
          assert.equal(list.status, status, `${token} lists`);
          const read = await app.request(`/checkpoints/${checkpointId}`, { headers });
          assert.equal(read.status, status, `${token} reads`);
          const resumed = await app.request(`/checkpoints/${checkpointId}/resume`, json({}, { headers }));
          assert.equal(resumed.status, status, `${token} resumes: ${await resumed.clone().text()}`);
        }
      }
    });
  }
});

describe("createWorkflowApp() and shared references (issue 13, defect 9)", () => {
  const dagWorkflows = {
    dag: () =>
      new WorkflowBuilder({
        name: "dag",
        start: defineExecutor({
          id: "dag",
          handle: (levels: number, ctx) => ctx.yieldOutput(dagOf(levels)),
        }),
      }).build(),
    "dag-state": () =>
      new WorkflowBuilder({
        name: "dag-state",
        start: defineExecutor({
          id: "dag-state",
          handle: (levels: number, ctx) => ctx.state.set("dag", dagOf(levels)),
        }),
      }).build(),
  };

  test("a 23-level DAG output is answered once per object, with $ref pointers, in under 2 KB", async () => {
    const { app } = makeFixture({ workflows: dagWorkflows });
    const res = await app.request("/workflows/dag/runs", json({ input: 23 }));
    const text = await res.text();
    assert.equal(res.status, 200, text.slice(0, 200));
    assert.ok(text.length < 2_000, `${text.length} bytes`);
    const body = JSON.parse(text);
    assert.deepEqual(body.outputs[0].r, { $ref: "#/outputs/0/l" });
    assert.deepEqual(body.outputs[0].l.l.r, { $ref: "#/outputs/0/l/l/l" });
    // Resolved, it is the DAG again (compared on a small one: 23 levels are 8 million paths).
    const small = await (await app.request("/workflows/dag/runs", json({ input: 4 }))).json();
    assert.deepEqual(resolveRefs(small).outputs[0], structuredClone(dagOf(4)));
  });

  test("a 22-level DAG in state makes GET /checkpoints/:id small too", async () => {
    const { app } = makeFixture({ workflows: dagWorkflows });
    const run = await (await app.request("/workflows/dag-state/runs", json({ input: 22 }))).json();
    const res = await app.request(`/checkpoints/${run.checkpointId}`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(text.length < 4_000, `${text.length} bytes`);
    assert.deepEqual(JSON.parse(text).state.dag.r, { $ref: "#/state/dag/l" });
  });

  test("over SSE, the DAG output event is small and GET /workflows is answered while the run is open", async () => {
    const gate = deferred();
    const produced = deferred();
    const workflows = {
      "dag-gate": () =>
        new WorkflowBuilder({
          name: "dag-gate",
          start: defineExecutor({
            id: "dag-gate",
            handle: async (levels: number, ctx) => {
              await ctx.yieldOutput(dagOf(levels));
              produced.resolve();
              await gate.promise;
            },
          }),
        }).build(),
    };
    const { app } = makeFixture({ workflows });
    const res = await app.request("/workflows/dag-gate/runs", sse({ input: 23 }));
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("event: output")) text += (await reader.read()).value ?? "";
    await produced.promise;
    const list = await app.request("/workflows");
    assert.equal(list.status, 200);
    assert.ok((await list.json()).workflows.some((w: { name: string }) => w.name === "dag-gate"));
    gate.resolve();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    const events = parseSse(text);
    assert.ok(text.length < 6_000, `${text.length} bytes`);
    const output = events.find((e) => e.event === "output")!.data as { data: { r: unknown } };
    assert.deepEqual(output.data.r, { $ref: "#/data/l" });
    assert.equal(events.at(-1)!.event, "result");
  });

  test("an answer over responseLimit is a 500 response-too-large naming the run's session and checkpoint, JSON and SSE", async () => {
    const big = () =>
      new WorkflowBuilder({
        name: "big",
        start: defineExecutor({
          id: "big",
          // 4,000 references to one 1,000-character string: a small value, a 4 MB answer.
          handle: (size: number, ctx) => ctx.yieldOutput(new Array(size).fill("x".repeat(1_000))),
        }),
      }).build();
    const { app, storage, runs } = makeFixture({ workflows: { big }, responseLimit: 64 * 1024 });
    const problem = await expectProblem(
      await app.request("/workflows/big/runs", json({ input: 4_000 })),
      500,
      "response-too-large",
    );
    assert.equal(problem.checkpointId, await storage.head(problem.sessionId as string));
    assert.equal((await app.request("/workflows/big/runs", json({ input: 10 }))).status, 200);
    const res = await app.request("/workflows/big/runs", sse({ input: 4_000 }));
    const text = await res.text();
    assert.ok(text.length < 64 * 1024, `${text.length} bytes`);
    const events = parseSse(text);
    assert.equal(events.some((e) => e.event === "output"), false);
    const last = events.at(-1)!.data as Record<string, unknown>;
    assert.equal(last.type, "urn:superstep:problem:response-too-large");
    assert.equal(last.sessionId, (events[0].data as { sessionId: string }).sessionId);
    assert.equal(typeof last.checkpointId, "string");
    await runs.at(-1)!.catch(() => {});
  });

  test("GET /checkpoints/:id over responseLimit is a 500 response-too-large naming it", async () => {
    // The answer of the run (700 characters of output) fits; the entry checkpoint (its input, ids …) does not.
    const { app } = makeFixture({ responseLimit: 1_000 });
    const res = await app.request("/workflows/echo/runs", json({ input: "y".repeat(700) }));
    assert.equal(res.status, 200);
    const run = await res.json();
    const root = (await (await app.request(`/sessions/${run.sessionId}/checkpoints`)).json()).checkpoints.at(
      -1,
    );
    const problem = await expectProblem(
      await app.request(`/checkpoints/${root.id}`),
      500,
      "response-too-large",
    );
    assert.equal(problem.checkpointId, root.id);
  });

  test("createWorkflowApp() throws a RangeError for a responseLimit that is not a non-negative integer", () => {
    for (const responseLimit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => createWorkflowApp({ workflows: {}, storage: new MemoryCheckpointStorage(), responseLimit }),
        RangeError,
      );
    }
  });
});

describe("createWorkflowApp() request bodies (issue 13, defects 10 and 11)", () => {
  const resumeOf = async (app: WorkflowApp) =>
    `/checkpoints/${(await pendingApproval(app)).checkpointId}/resume`;
  const bytes = (text: string) => new TextEncoder().encode(text);

  test("415 unsupported-media-type for a POST that is not application/json (CORS simple requests included), before authorize", async () => {
    const { app, asked, runs } = authFixture();
    const open = makeFixture();
    const resume = await resumeOf(open.app);
    open.runs.length = 0;
    const body = bytes(JSON.stringify({ input: "x" }));
    const types = [
      undefined,
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=utf-16",
      "application/json; charset=latin1",
      "application/merge-patch+json",
      "application/jsonx",
      "json",
      "",
    ];
    for (const type of types) {
      const headers: Record<string, string> = type === undefined ? {} : { "content-type": type };
      for (const init of [{ method: "POST", headers, body }, { method: "POST", headers }]) {
        for (const [target, path] of [[app, "/workflows/echo/runs"], [open.app, resume]] as const) {
          await expectProblem(await target.request(path, init), 415, "unsupported-media-type");
        }
      }
    }
    // fetch gives a string body `text/plain;charset=UTF-8`: what a page may send any site without preflight.
    const simple = await app.request("/workflows/echo/runs", { method: "POST", body: '{"input":1}' });
    await expectProblem(simple, 415, "unsupported-media-type");
    assert.equal(asked.length, 0);
    assert.equal(runs.length + open.runs.length, 0);
  });

  test("application/json is accepted in any case, with charset=utf-8 (quoted or not) or other parameters", async () => {
    const { app } = makeFixture();
    for (
      const type of [
        "application/json",
        "Application/JSON; Charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json; v=1",
      ]
    ) {
      const res = await app.request("/workflows/echo/runs", {
        method: "POST",
        headers: { "content-type": type },
        body: '{"input":1}',
      });
      assert.equal(res.status, 200, type);
    }
  });

  test("400 for a body that is not UTF-8 (no silent U+FFFD), framed or chunked, for runs and resumes", async () => {
    const { app, runs } = makeFixture();
    const resume = await resumeOf(app);
    runs.length = 0;
    const invalid = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
    for (const sequence of invalid) {
      for (
        const [path, prefix, suffix] of [
          ["/workflows/echo/runs", '{"input":"a', '"}'],
          [resume, '{"responses":{"r":"', '"}}'],
          ["/workflows/echo/runs", '{"input":"a"}', ""],
        ]
      ) {
        const body = new Uint8Array([...bytes(prefix), ...sequence, ...bytes(suffix)]);
        for (const chunked of [false, true]) {
          const res = await app.request(path, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: chunked ? new Blob([body]).stream() : body,
            ...(chunked ? { duplex: "half" } : {}),
          } as RequestInit);
          const problem = await expectProblem(res, 400, "bad-request");
          assert.match(String(problem.detail), /UTF-8/, `${sequence} ${chunked}`);
        }
      }
    }
    assert.equal(runs.length, 0);
    const bom = await app.request("/workflows/echo/runs", json('\ufeff{"input":"bom"}'));
    assert.equal(bom.status, 200, "a leading byte-order mark is still ignored");
  });
});

describe("createWorkflowApp() ids (issue 13, defect 1)", () => {
  test("400 bad-request for ids that are not well-formed Unicode, before authorize: body sessionId, responses keys", async () => {
    const { app, asked, owners } = authFixture();
    const pending = await pendingApproval(app, as("alice"));
    owners.set(pending.sessionId, "alice");
    asked.length = 0;
    const resume = `/checkpoints/${pending.checkpointId}/resume`;
    for (const bad of ["a\ud800", "\udc00b", "\ud800\ud800", "\udbff"]) {
      const cases: [string, RequestInit][] = [
        ["/workflows/echo/runs", json({ input: 1, sessionId: bad }, { headers: as("alice") })],
        [resume, json({ responses: { [bad]: "yes" } }, { headers: as("alice") })],
        [resume, json({ fork: true, sessionId: bad }, { headers: as("alice") })],
      ];
      for (const [path, init] of cases) {
        const problem = await expectProblem(await app.request(path, init), 400, "bad-request");
        assert.match(String(problem.detail), /well-formed/);
      }
    }
    assert.equal(asked.length, 0);
    const emoji = await app.request(
      "/workflows/echo/runs",
      json({ input: 1, sessionId: "ok-\u{1f600}" }, {
        headers: as("alice"),
      }),
    );
    assert.equal(emoji.status, 403, "a well-formed id reaches authorize (and a run needs to own it)");
  });

  test("400 bad-request for a URL whose percent-encoding is not UTF-8 (a lone surrogate, overlong, truncated, bare %)", async () => {
    const { app, asked } = authFixture();
    const paths: [string, RequestInit?][] = [];
    for (const bad of ["%ED%A0%80", "a%ED%B0%80", "%C0%AF", "%F0%9F", "%", "%zz"]) {
      paths.push(
        [`/sessions/${bad}/checkpoints`],
        [`/sessions/x/checkpoints?before=${bad}`],
        [`/checkpoints/${bad}`],
        [`/checkpoints/${bad}/lineage`],
        [`/checkpoints/${bad}/resume`, json({}, { headers: as("alice") })],
        [`/sessions/${bad}`, { method: "DELETE" }],
        [`/workflows/${bad}/runs`, json({ input: 1 }, { headers: as("alice") })],
      );
    }
    for (const [path, init] of paths) {
      await expectProblem(await app.request(path, { headers: as("alice"), ...init }), 400, "bad-request");
    }
    assert.equal(asked.length, 0);
    // What the percent-encoding spells is the id: a literal "%ED" is "%25ED".
    const literal = await app.request("/sessions/%25ED%25A0%2580/checkpoints", { headers: as("alice") });
    assert.equal(literal.status, 403);
    assert.deepEqual(asked.map((a) => a.sessionId), ["%ED%A0%80"]);
  });
});
