// HTTP checks of examples/worker.ts inside workerd. scripts/workerd.mjs (`npm run test:workerd`) bundles the
// worker, serves it through Miniflare and runs these in order against it (Node's assert; a check fails on the
// first failed assertion). Each check is self-contained: it creates the sessions it needs.
import assert from "node:assert/strict";
import { parseSse } from "../_hono_helpers.ts";

/** Sends a request to the worker; `path` is relative to its origin. */
export type WorkerFetch = (path: string, init?: RequestInit) => Promise<Response>;

/** Sends the worker a Cron Trigger's event; resolves with its outcome once the handler finished. */
export type WorkerScheduled = () => Promise<{ outcome: string }>;

/** One named check. */
export interface WorkerCheck {
  name: string;
  run(fetch: WorkerFetch, scheduled: WorkerScheduled): Promise<void>;
}

const PROBLEM = "urn:superstep:problem:";

interface RunBody {
  status: string;
  outputs: unknown[];
  pendingRequests: { requestId: string; executorId: string; data: unknown }[];
  checkpointId: string | null;
  sessionId: string;
}

/** A POST of `body` as `application/json` (a string or bytes as they are, anything else as JSON). */
function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: (typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit,
  };
}

async function okJson<T>(res: Response): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return JSON.parse(text) as T;
}

async function expectProblem(res: Response, status: number, slug: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.type, PROBLEM + slug);
  assert.equal(body.status, status);
  assert.equal(typeof body.detail, "string");
  assert.doesNotMatch(text, /\bat .*:\d+:\d+|stack/);
}

/** Start `approval` and check it waits for an answer. */
async function pendingApproval(fetch: WorkerFetch, topic = "v1.0"): Promise<RunBody> {
  const body = await okJson<RunBody>(await fetch("/workflows/approval/runs", post({ input: topic })));
  assert.equal(body.status, "idle-pending-requests");
  assert.equal(body.pendingRequests.length, 1);
  assert.equal(body.pendingRequests[0].executorId, "review");
  assert.equal(typeof body.checkpointId, "string");
  return body;
}

/** Answer the pending request of `pending` with `answer`. */
function answer(pending: RunBody, answer: unknown, extra: Record<string, unknown> = {}): RequestInit {
  return post({ responses: { [pending.pendingRequests[0].requestId]: answer }, ...extra });
}

/** The checks, in the order they run. */
export const checks: WorkerCheck[] = [
  {
    name: "GET /workflows lists the demo workflows with Mermaid graphs",
    async run(fetch) {
      const { workflows } = await okJson<{ workflows: { name: string; mermaid: string }[] }>(
        await fetch("/workflows"),
      );
      assert.deepEqual(workflows.map((w) => w.name).sort(), ["approval", "reminder", "wordlen"]);
      for (const { mermaid } of workflows) assert.match(mermaid, /^flowchart/);
    },
  },
  {
    name: "POST /workflows/wordlen/runs answers the result as JSON",
    async run(fetch) {
      const body = await okJson<RunBody>(
        await fetch("/workflows/wordlen/runs", post({ input: "hello big world" })),
      );
      assert.equal(body.status, "idle");
      assert.deepEqual(body.outputs, [5, 3, 5]);
      assert.deepEqual(body.pendingRequests, []);
      assert.equal(typeof body.checkpointId, "string");
    },
  },
  {
    name: "POST /workflows/wordlen/runs streams SSE events read to the end, then the result",
    async run(fetch) {
      const res = await fetch(
        "/workflows/wordlen/runs",
        post({ input: "hello big world" }, { accept: "text/event-stream" }),
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const events = parseSse(await res.text());
      assert.equal(events[0].event, "started");
      assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1));
      const outputs = events.filter((e) => e.event === "output").map((e) =>
        (e.data as { data: unknown }).data
      );
      assert.deepEqual(outputs, [5, 3, 5]);
      assert.ok(events.some((e) => e.event === "superstep-completed"));
      const last = events.at(-1)!;
      assert.equal(last.event, "result");
      assert.equal((last.data as RunBody).status, "idle");
      assert.deepEqual((last.data as RunBody).outputs, [5, 3, 5]);
    },
  },
  {
    name: "human in the loop: approval waits for an answer, resume with responses finishes it",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      assert.deepEqual(pending.pendingRequests[0].data, {
        question: "Publish this draft? (yes/no)",
        draft: "Release note: v1.0",
      });
      const done = await okJson<RunBody>(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "yes")),
      );
      assert.equal(done.status, "idle");
      assert.equal(done.sessionId, pending.sessionId);
      assert.deepEqual(done.outputs, [{ approved: true, draft: "Release note: v1.0" }]);
      assert.deepEqual(done.pendingRequests, []);
    },
  },
  {
    name: "human in the loop over SSE: the request event, then a streamed resume",
    async run(fetch) {
      const res = await fetch(
        "/workflows/approval/runs",
        post({ input: "v2" }, { accept: "text/event-stream" }),
      );
      const events = parseSse(await res.text());
      const request = events.find((e) => e.event === "request")?.data as { requestId: string } | undefined;
      assert.ok(request, "a request event");
      const result = events.at(-1)!.data as RunBody;
      assert.equal(result.status, "idle-pending-requests");
      const resumed = await fetch(
        `/checkpoints/${result.checkpointId}/resume`,
        post({ responses: { [request.requestId]: "no" } }, { accept: "text/event-stream" }),
      );
      assert.equal(resumed.status, 200);
      const after = parseSse(await resumed.text());
      assert.equal(after.at(-1)!.event, "result");
      assert.deepEqual((after.at(-1)!.data as RunBody).outputs, [{
        approved: false,
        draft: "Release note: v2",
      }]);
    },
  },
  {
    name: "GET /sessions/:id/checkpoints pages newest first, GET /checkpoints/:id and /lineage read them",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      const page = await okJson<
        { checkpoints: { id: string; parentId: string | null }[]; next: string | null }
      >(
        await fetch(`/sessions/${pending.sessionId}/checkpoints?limit=2`),
      );
      assert.equal(page.checkpoints.length, 2);
      assert.equal(page.checkpoints[0].id, pending.checkpointId);
      assert.ok(page.checkpoints[0].id > page.checkpoints[1].id);
      assert.equal(page.next, page.checkpoints[1].id);
      const rest = await okJson<{ checkpoints: { id: string }[] }>(
        await fetch(`/sessions/${pending.sessionId}/checkpoints?before=${page.next}`),
      );
      assert.ok(rest.checkpoints.length >= 1);
      assert.ok(rest.checkpoints.every((c) => c.id < page.next!));
      const checkpoint = await okJson<{ id: string; sessionId: string; workflowName: string }>(
        await fetch(`/checkpoints/${pending.checkpointId}`),
      );
      assert.equal(checkpoint.id, pending.checkpointId);
      assert.equal(checkpoint.workflowName, "approval");
      const { lineage, truncated } = await okJson<
        { lineage: { id: string; parentId: string | null }[]; truncated: boolean }
      >(
        await fetch(`/checkpoints/${pending.checkpointId}/lineage`),
      );
      assert.equal(truncated, false);
      assert.equal(lineage[0].id, pending.checkpointId);
      assert.equal(lineage.at(-1)!.parentId, null);
      for (let i = 0; i + 1 < lineage.length; i++) assert.equal(lineage[i].parentId, lineage[i + 1].id);
    },
  },
  {
    name: "POST /checkpoints/:id/resume with fork branches a non-head checkpoint into a new session",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      await okJson(await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "yes")));
      const fork = await okJson<RunBody>(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "no", { fork: true })),
      );
      assert.notEqual(fork.sessionId, pending.sessionId);
      assert.deepEqual(fork.outputs, [{ approved: false, draft: "Release note: v1.0" }]);
      const { lineage } = await okJson<{ lineage: { id: string }[] }>(
        await fetch(`/checkpoints/${fork.checkpointId}/lineage`),
      );
      assert.ok(lineage.some((s) => s.id === pending.checkpointId), "the fork's lineage reaches its origin");
    },
  },
  {
    name: "DELETE /sessions/:id deletes the session, then its checkpoints are 404",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      const deleted = await okJson<{ sessionId: string; deleted: number }>(
        await fetch(`/sessions/${pending.sessionId}`, { method: "DELETE" }),
      );
      assert.equal(deleted.sessionId, pending.sessionId);
      assert.ok(deleted.deleted >= 3);
      await expectProblem(await fetch(`/checkpoints/${pending.checkpointId}`), 404, "checkpoint-not-found");
      await expectProblem(
        await fetch(`/sessions/${pending.sessionId}/checkpoints`),
        404,
        "session-not-found",
      );
    },
  },
  {
    name: "400 bad-request problems for malformed JSON, a non-object body, bad responses and a bad limit",
    async run(fetch) {
      await expectProblem(await fetch("/workflows/wordlen/runs", post("{not json")), 400, "bad-request");
      await expectProblem(await fetch("/workflows/wordlen/runs", post("[1, 2]")), 400, "bad-request");
      const pending = await pendingApproval(fetch);
      await expectProblem(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, post({ responses: "yes" })),
        400,
        "bad-request",
      );
      await expectProblem(
        await fetch(`/sessions/${pending.sessionId}/checkpoints?limit=0`),
        400,
        "bad-request",
      );
    },
  },
  {
    name: "404 problems for an unknown workflow, checkpoint, session and route",
    async run(fetch) {
      await expectProblem(await fetch("/workflows/nope/runs", post({ input: 1 })), 404, "workflow-not-found");
      await expectProblem(await fetch("/checkpoints/01JNOTHERE"), 404, "checkpoint-not-found");
      await expectProblem(
        await fetch("/checkpoints/01JNOTHERE/resume", post({})),
        404,
        "checkpoint-not-found",
      );
      await expectProblem(await fetch("/sessions/nothere", { method: "DELETE" }), 404, "session-not-found");
      await expectProblem(await fetch("/no/such/route"), 404, "not-found");
    },
  },
  {
    name: "409 problems for an answered request and a non-head checkpoint without fork",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      const done = await okJson<RunBody>(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "yes")),
      );
      await expectProblem(
        await fetch(`/checkpoints/${done.checkpointId}/resume`, answer(pending, "yes")),
        409,
        "request-not-pending",
      );
      await expectProblem(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "yes")),
        409,
        "checkpoint-conflict",
      );
    },
  },
  {
    name:
      "415 unsupported-media-type for a POST that is not application/json (what a cross-site form or fetch sends)",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      const body = JSON.stringify({ input: "cross-site" });
      for (
        const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
      ) {
        const headers: Record<string, string> = type === undefined ? {} : { "content-type": type };
        for (const path of ["/workflows/wordlen/runs", `/checkpoints/${pending.checkpointId}/resume`]) {
          await expectProblem(
            await fetch(path, { method: "POST", headers, body: new TextEncoder().encode(body) }),
            415,
            "unsupported-media-type",
          );
        }
      }
      // An empty resume without a type is refused too; the checkpoint is still the session's head.
      await expectProblem(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, { method: "POST" }),
        415,
        "unsupported-media-type",
      );
      await okJson(await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "yes")));
    },
  },
  {
    name:
      "400 bad-request for a body that is not UTF-8, an id with a lone surrogate, a URL that is not UTF-8",
    async run(fetch) {
      const prefix = new TextEncoder().encode('{"input":"a');
      const body = new Uint8Array([...prefix, 0xed, 0xa0, 0x80, 0x22, 0x7d]);
      await expectProblem(await fetch("/workflows/wordlen/runs", post(body)), 400, "bad-request");
      await expectProblem(
        await fetch("/workflows/wordlen/runs", post({ input: "x", sessionId: "s\ud800" })),
        400,
        "bad-request",
      );
      await expectProblem(await fetch("/sessions/%ED%A0%80/checkpoints"), 400, "bad-request");
      await expectProblem(await fetch("/checkpoints/%C0%AF"), 400, "bad-request");
    },
  },
  {
    name: "POST /checkpoints/:id/resume with a sessionId forks into that new session",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      const target = `worker-fork-${pending.sessionId}`;
      const fork = await okJson<RunBody>(
        await fetch(
          `/checkpoints/${pending.checkpointId}/resume`,
          answer(pending, "no", { sessionId: target }),
        ),
      );
      assert.equal(fork.sessionId, target);
      await expectProblem(
        await fetch(
          `/checkpoints/${pending.checkpointId}/resume`,
          answer(pending, "no", { sessionId: target }),
        ),
        409,
        "checkpoint-conflict",
      );
    },
  },
  {
    name:
      "405 with Allow for another method on a known path; 400 for a run without input, 422 for a refused one",
    async run(fetch) {
      for (
        const [path, method, allow] of [["/workflows", "POST", "GET, HEAD"], ["/sessions/s", "GET", "DELETE"]]
      ) {
        const res = await fetch(path, { method });
        assert.equal(res.headers.get("allow"), allow);
        await expectProblem(res, 405, "method-not-allowed");
      }
      await expectProblem(await fetch("/workflows/wordlen/runs", post({})), 400, "bad-request");
      await expectProblem(await fetch("/workflows/wordlen/runs", post({ input: 42 })), 422, "input-refused");
    },
  },
  {
    name: "paging hands out no cursor to an empty page; a lineage ending at a deleted parent says so",
    async run(fetch) {
      const pending = await pendingApproval(fetch);
      const all = await okJson<{ checkpoints: { id: string }[]; next: string | null }>(
        await fetch(`/sessions/${pending.sessionId}/checkpoints`),
      );
      const exact = await okJson<{ checkpoints: { id: string }[]; next: string | null }>(
        await fetch(`/sessions/${pending.sessionId}/checkpoints?limit=${all.checkpoints.length}`),
      );
      assert.equal(exact.checkpoints.length, all.checkpoints.length);
      assert.equal(exact.next, null);
      const fork = await okJson<RunBody>(
        await fetch(`/checkpoints/${pending.checkpointId}/resume`, answer(pending, "yes", { fork: true })),
      );
      await okJson(await fetch(`/sessions/${pending.sessionId}`, { method: "DELETE" }));
      const lineage = await okJson<
        { lineage: { parentId: string | null }[]; truncated: boolean; parentDeleted: boolean }
      >(
        await fetch(`/checkpoints/${fork.checkpointId}/lineage`),
      );
      assert.equal(lineage.lineage.at(-1)!.parentId, pending.checkpointId);
      assert.deepEqual([lineage.truncated, lineage.parentDeleted], [true, true]);
    },
  },
  {
    name: "413 body-too-large problem for a body over the 1 MiB limit",
    async run(fetch) {
      const big = JSON.stringify({ input: "x".repeat(1024 * 1024) });
      await expectProblem(await fetch("/workflows/wordlen/runs", post(big)), 413, "body-too-large");
      // The limit counts bytes, and the app still answers afterwards.
      await okJson(await fetch("/workflows/wordlen/runs", post({ input: "still here" })));
    },
  },
  {
    name: "a reminder waits on a durable timer; the Cron Trigger's recover pass wakes it once it is due",
    async run(fetch, scheduled) {
      const paused = await okJson<RunBody>(await fetch("/workflows/reminder/runs", post({ input: 0 })));
      assert.equal(paused.status, "idle-pending-requests");
      assert.equal(paused.pendingRequests.length, 1);
      const status = async () => {
        const { sessions } = await okJson<{ sessions: { sessionId: string; status: string }[] }>(
          await fetch("/sessions?workflow=reminder&limit=1000"),
        );
        return sessions.find((session) => session.sessionId === paused.sessionId)?.status;
      };
      assert.equal(await status(), "waiting");
      assert.equal((await scheduled()).outcome, "ok");
      assert.equal(await status(), "completed");
      const { checkpoints } = await okJson<{ checkpoints: { id: string }[] }>(
        await fetch(`/sessions/${paused.sessionId}/checkpoints`),
      );
      const head = await okJson<{ pendingRequests: unknown[] }>(
        await fetch(`/checkpoints/${checkpoints[0].id}`),
      );
      assert.deepEqual(head.pendingRequests, []);
    },
  },
];
