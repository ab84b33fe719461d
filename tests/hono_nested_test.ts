// Sub-workflows and custom events over HTTP: SSE streams `custom` events and a sub-workflow's `nested`
// events (errors in them as public as the outer run's), JSON answers carry a nested request's `path`, and
// that request is answered through `POST /checkpoints/:id/resume` on a fresh instance.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowExecutor,
} from "../mod.ts";
import { createWorkflowApp } from "../adapters/hono/mod.ts";
import { expectProblem, json, parseSse, sse, type SseEvent } from "./_hono_helpers.ts";

/**
 * `publishing`: `prepare` emits a custom `progress` event and sends the draft to `review`, a sub-workflow
 * whose `ask` emits its own custom event and asks a person; its verdict goes to `publish`. A draft named
 * "broken" makes the inner `ask` throw a secret.
 */
function publishing(): Workflow {
  const ask = defineExecutor({
    id: "ask",
    handle: async (draft: string, ctx: WorkflowContext<never, string>) => {
      if (draft === "broken") throw new Error("inner secret: hunter2");
      await ctx.emit("asking", { draft });
      await ctx.requestInfo({ question: `publish ${draft}?` });
    },
    onResponse: (answer, request, ctx: WorkflowContext<never, string>) =>
      ctx.yieldOutput(`${(request.data as { question: string }).question} ${answer}`),
  });
  const review = new WorkflowExecutor("review", new WorkflowBuilder({ name: "review", start: ask }).build());
  const prepare = defineExecutor({
    id: "prepare",
    handle: async (draft: string, ctx: WorkflowContext<string, never>) => {
      await ctx.emit("progress", { step: "prepared" });
      await ctx.send(draft);
    },
  });
  const publish = defineExecutor({
    id: "publish",
    handle: (verdict: string, ctx: WorkflowContext<never, string>) =>
      ctx.yieldOutput(`published: ${verdict}`),
  });
  return new WorkflowBuilder({ name: "publishing", start: prepare }).addChain([prepare, review, publish])
    .build();
}

/** A `nested` event as SSE carries it. */
interface NestedData {
  path: string[];
  event: { type: string; [field: string]: unknown };
}

/** The data of every `nested` SSE event. */
function nestedOf(events: SseEvent[]): NestedData[] {
  return events.filter((e) => e.event === "nested").map((e) => e.data as NestedData);
}

function app() {
  return createWorkflowApp({ workflows: { publishing }, storage: new MemoryCheckpointStorage() });
}

describe("createWorkflowApp() with sub-workflows", () => {
  test("SSE streams custom events and nested ones; JSON answers carry the nested request's path", async () => {
    const served = app();
    const res = await served.request("/workflows/publishing/runs", sse({ input: "notes" }));
    assert.equal(res.status, 200);
    const events = parseSse(await res.text());
    const custom = events.find((e) => e.event === "custom")?.data;
    assert.deepEqual(custom, {
      type: "custom",
      name: "progress",
      data: { step: "prepared" },
      executorId: "prepare",
      superstep: 1,
    });
    const nested = nestedOf(events);
    const innerCustom = nested.find((e) => e.event.type === "custom");
    assert.deepEqual(innerCustom?.path, ["review"]);
    assert.deepEqual(innerCustom?.event.data, { draft: "notes" });
    assert.equal(innerCustom?.event.name, "asking");
    assert.ok(nested.some((e) => e.event.type === "request" && e.event.executorId === "ask"));
    const result = events.at(-1)!;
    assert.equal(result.event, "result");
    const [request] = (result.data as { pendingRequests: { path?: string[] }[] }).pendingRequests;
    assert.deepEqual(request.path, ["review", "ask"]);

    const again = await (await served.request("/workflows/publishing/runs", json({ input: "notes" }))).json();
    assert.equal(again.status, "idle-pending-requests");
    assert.deepEqual(again.pendingRequests[0].path, ["review", "ask"]);
    assert.equal(again.pendingRequests[0].executorId, "review");
    assert.deepEqual(again.pendingRequests[0].data, { question: "publish notes?" });
  });

  test("a request inside the sub-workflow is answered through POST /checkpoints/:id/resume, JSON and SSE", async () => {
    const served = app();
    const paused = await (await served.request("/workflows/publishing/runs", json({ input: "notes" })))
      .json();
    const [{ requestId }] = paused.pendingRequests;
    const resumed = await served.request(
      `/checkpoints/${paused.checkpointId}/resume`,
      sse({ responses: { [requestId]: "yes" } }),
    );
    const events = parseSse(await resumed.text());
    const result = events.at(-1)!.data as { status: string; outputs: unknown[]; pendingRequests: unknown[] };
    assert.equal(result.status, "idle");
    assert.deepEqual(result.outputs, ["published: publish notes? yes"]);
    assert.deepEqual(result.pendingRequests, []);
    // The inner output is the sub-workflow's, streamed nested; the outer output is the workflow's.
    assert.ok(nestedOf(events).some((e) => e.event.type === "output"));
    assert.deepEqual(
      events.filter((e) => e.event === "output").map((e) => (e.data as { data: unknown }).data),
      [
        "published: publish notes? yes",
      ],
    );

    // The same answer again, forked from the paused checkpoint, as JSON.
    const forked = await served.request(
      `/checkpoints/${paused.checkpointId}/resume`,
      json({ responses: { [requestId]: "no" }, fork: true }),
    );
    assert.deepEqual((await forked.json()).outputs, ["published: publish notes? no"]);
  });

  test("an executor failing inside the sub-workflow shows no secret in nested events or the problem", async () => {
    const served = app();
    const res = await served.request("/workflows/publishing/runs", sse({ input: "broken" }));
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|inner secret/);
    const events = parseSse(text);
    const failed = nestedOf(events).find((e) => e.event.type === "executor-failed");
    assert.deepEqual(failed?.event.error, { name: "Error", message: "Internal error" });
    const problem = events.at(-1)!;
    assert.equal(problem.event, "problem");
    assert.equal((problem.data as { type: string }).type, "urn:superstep:problem:executor-failed");
    await expectProblem(
      await served.request("/workflows/publishing/runs", json({ input: "broken" })),
      500,
      "executor-failed",
    );
  });
});
