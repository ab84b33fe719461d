// The operating routes of the Hono adapter: GET /sessions (the session index), GET /requests (the inbox) and
// POST /requests/:id (answer by request id), JSON and SSE, each behind `authorize` and filtered to what the
// caller may read.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import type { CheckpointStorage, SessionSummary, WaitingRequest } from "../mod.ts";
import { type AuthorizeRequest, createWorkflowApp, type WorkflowAppOptions } from "../adapters/hono/mod.ts";
import { parseSse } from "./_hono_helpers.ts";

/** Asks two questions, yields each answer; `done` once both are answered. */
function twoQuestions() {
  const ask = defineExecutor({
    id: "ask",
    handle: async (topic: string, ctx) => {
      await ctx.requestInfo({ topic, n: 1 });
      await ctx.requestInfo({ topic, n: 2 });
    },
    onResponse: async (answer, _request, ctx) => await ctx.yieldOutput(`answer: ${answer}`),
  });
  return new WorkflowBuilder({ name: "questions", start: ask }).build();
}

function makeApp(storage: CheckpointStorage, authorize?: WorkflowAppOptions["authorize"]) {
  return createWorkflowApp({
    workflows: { questions: twoQuestions },
    storage,
    ...(authorize && { authorize }),
  });
}

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

async function start(app: ReturnType<typeof makeApp>, topic: string, headers: Record<string, string> = {}) {
  const res = await app.request("/workflows/questions/runs", post({ input: topic }, headers));
  assert.equal(res.status, 200);
  return await res.json() as { sessionId: string; checkpointId: string };
}

describe("Hono operating routes", () => {
  test("GET /sessions lists sessions by status; GET /requests lists what waits; POST /requests/:id answers", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = makeApp(storage);
    const run = await start(app, "deploy");
    const sessions = await (await app.request("/sessions?status=waiting&workflow=questions")).json() as {
      sessions: SessionSummary[];
      next: string | null;
    };
    assert.deepEqual(sessions.sessions.map((s) => [s.sessionId, s.status, s.pendingRequests]), [
      [run.sessionId, "waiting", 2],
    ]);
    assert.equal(sessions.next, null);
    const inbox = await (await app.request(`/requests?session=${run.sessionId}`)).json() as {
      requests: WaitingRequest[];
    };
    assert.equal(inbox.requests.length, 2);
    assert.ok(
      inbox.requests.every((r) => r.checkpointId === run.checkpointId && r.workflowName === "questions"),
    );
    const [first, second] = inbox.requests;
    const answered = await app.request(`/requests/${first.requestId}`, post({ response: "yes" }));
    assert.equal(answered.status, 200);
    const body = await answered.json() as { status: string; outputs: string[]; pendingRequests: unknown[] };
    assert.equal(body.status, "idle-pending-requests");
    assert.deepEqual(body.outputs, ["answer: yes"]);
    assert.equal(body.pendingRequests.length, 1);

    const again = await app.request(`/requests/${first.requestId}`, post({ response: "again" }));
    assert.equal(again.status, 409);
    assert.equal((await again.json()).type, "urn:superstep:problem:request-not-pending");

    const sse = await app.request(
      `/requests/${second.requestId}`,
      post({ response: "no" }, { accept: "text/event-stream" }),
    );
    assert.equal(sse.status, 200);
    const events = parseSse(await sse.text());
    assert.equal(events[events.length - 1].event, "result");
    assert.deepEqual((events[events.length - 1].data as { outputs: string[] }).outputs, ["answer: no"]);
    assert.ok(events.some((event) => event.event === "superstep-completed"));
    const done = await (await app.request("/sessions?status=completed")).json() as {
      sessions: SessionSummary[];
    };
    assert.deepEqual(done.sessions.map((s) => s.sessionId), [run.sessionId]);
    assert.deepEqual((await (await app.request("/requests")).json()).requests, []);
  });

  test("GET /sessions and GET /requests page with next, and refuse bad queries with 400", async () => {
    const storage = new MemoryCheckpointStorage();
    const app = makeApp(storage);
    for (const topic of ["a", "b", "c"]) await start(app, topic);
    const first = await (await app.request("/sessions?limit=2")).json() as {
      sessions: SessionSummary[];
      next: string;
    };
    assert.equal(first.sessions.length, 2);
    const rest = await (await app.request(`/sessions?limit=2&before=${first.next}`)).json() as {
      sessions: SessionSummary[];
      next: string | null;
    };
    assert.equal(rest.sessions.length, 1);
    assert.equal(rest.next, null);
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const query: string = next === null ? "" : `&before=${encodeURIComponent(next)}`;
      const page = await (await app.request(`/requests?limit=4${query}`)).json() as {
        requests: WaitingRequest[];
        next: string | null;
      };
      seen.push(...page.requests.map((r) => r.requestId));
      next = page.next;
    } while (next !== null);
    assert.equal(new Set(seen).size, 6);
    for (
      const bad of [
        "/sessions?status=done",
        "/sessions?limit=0",
        "/requests?before=nope",
        "/requests?limit=x",
      ]
    ) {
      const res = await app.request(bad);
      assert.equal(res.status, 400, bad);
    }
    const wrongMethod = await app.request("/requests/abc");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "POST");
  });

  test("a caller sees only its own sessions and requests, and may answer only its own", async () => {
    const storage = new MemoryCheckpointStorage();
    const owners = new Map<string, string>();
    const asked: AuthorizeRequest[] = [];
    // Written as before the listings existed: allow what names no session, else only the owner.
    const app = makeApp(storage, (c, request) => {
      asked.push(request);
      const token = c.req.header("authorization");
      if (token === undefined) return false;
      if (request.action === "run") return true;
      return request.sessionId === undefined || owners.get(request.sessionId) === token;
    });
    const alice = { authorization: "alice" };
    const bob = { authorization: "bob" };
    const mine = await start(app, "alice's", alice);
    owners.set(mine.sessionId, "alice");
    const theirs = await start(app, "bob's", bob);
    owners.set(theirs.sessionId, "bob");

    const sessions = await (await app.request("/sessions", { headers: alice })).json() as {
      sessions: SessionSummary[];
    };
    assert.deepEqual(sessions.sessions.map((s) => s.sessionId), [mine.sessionId]);
    const requests = await (await app.request("/requests", { headers: bob })).json() as {
      requests: WaitingRequest[];
    };
    assert.deepEqual([...new Set(requests.requests.map((r) => r.sessionId))], [theirs.sessionId]);
    assert.ok(asked.some((r) => r.action === "list-sessions" && r.sessionId === undefined));
    assert.equal((await app.request("/sessions")).status, 403);

    const bobsRequest = requests.requests[0].requestId;
    const stolen = await app.request(`/requests/${bobsRequest}`, post({ response: "mine now" }, alice));
    assert.equal(stolen.status, 403);
    const answer = asked.find((r) => r.action === "answer" && r.requestId === bobsRequest)!;
    assert.equal(answer.sessionId, theirs.sessionId);
    assert.equal(answer.checkpointId, theirs.checkpointId);
    const own = await app.request(`/requests/${bobsRequest}`, post({ response: "ok" }, bob));
    assert.equal(own.status, 200);
  });

  test("authorize may return a filter for a listing instead of being asked per session", async () => {
    const storage = new MemoryCheckpointStorage();
    let perSession = 0;
    let keep = "";
    const app = makeApp(storage, (_c, request) => {
      if (request.action === "list-sessions" || request.action === "list-requests") {
        if (request.sessionId !== undefined) perSession++;
        return ({ sessionId }) => sessionId === keep;
      }
      return true;
    });
    const one = await start(app, "one");
    await start(app, "two");
    keep = one.sessionId;
    const listed = await (await app.request("/sessions")).json() as { sessions: SessionSummary[] };
    assert.deepEqual(listed.sessions.map((s) => s.sessionId), [one.sessionId]);
    const inbox = await (await app.request("/requests")).json() as { requests: WaitingRequest[] };
    assert.deepEqual([...new Set(inbox.requests.map((r) => r.sessionId))], [one.sessionId]);
    assert.equal(perSession, 0);
  });

  test("a storage without the session index is a 501 storage-capability-missing", async () => {
    const inner = new MemoryCheckpointStorage();
    const bare: CheckpointStorage = {
      save: (c) => inner.save(c),
      load: (id) => inner.load(id),
      list: (q) => inner.list(q),
      head: (s) => inner.head(s),
      delete: (id) => inner.delete(id),
      deleteSession: (s) => inner.deleteSession(s),
    };
    const app = makeApp(bare);
    for (const path of ["/sessions", "/requests"]) {
      const res = await app.request(path);
      assert.equal(res.status, 501, path);
      assert.equal((await res.json()).type, "urn:superstep:problem:storage-capability-missing");
    }
  });
});
