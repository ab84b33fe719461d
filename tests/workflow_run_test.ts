import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  Executor,
  ExecutorFailedError,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
} from "../mod.ts";
import { deferred } from "./_helpers.ts";

function wordLength() {
  let invoked = 0;
  const split = defineExecutor({
    id: "split",
    handle: async (text: string, ctx) => {
      invoked++;
      for (const word of text.split(" ")) await ctx.send(word);
    },
  });
  const len = defineExecutor({
    id: "len",
    handle: async (word: string, ctx) => await ctx.yieldOutput(word.length),
  });
  const workflow = new WorkflowBuilder({ name: "wordlen", start: split }).addEdge(split, len).build();
  return { workflow, invoked: () => invoked };
}

describe("WorkflowRun", () => {
  test("is lazy: nothing runs until it is awaited or iterated", async () => {
    const { workflow, invoked } = wordLength();
    const run = workflow.run("a b");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(invoked(), 0);
    const result = await run;
    assert.equal(invoked(), 1);
    assert.deepEqual(result.outputs, [1, 1]);
  });

  test("resolves to the result with status, outputs in send order, events and a session id", async () => {
    const { workflow } = wordLength();
    const result = await workflow.run("hello big world");
    assert.equal(result.status, "idle");
    assert.deepEqual(result.outputs, [5, 3, 5]);
    assert.deepEqual(result.pendingRequests, []);
    assert.equal(typeof result.sessionId, "string");
    assert.equal(result.checkpointId, undefined, "no storage, no checkpoint");
    assert.deepEqual(result.events.map((e) => e.type), [
      "started",
      "status",
      "superstep-started",
      "superstep-completed",
      "superstep-started",
      "executor-invoked",
      "executor-completed",
      "superstep-completed",
      "superstep-started",
      ...["executor-invoked", "output", "executor-completed"],
      ...["executor-invoked", "output", "executor-completed"],
      ...["executor-invoked", "output", "executor-completed"],
      "superstep-completed",
      "status",
    ]);
    assert.deepEqual(result.events.filter((e) => e.type === "status").map((e) => e.state), [
      "in-progress",
      "idle",
    ]);
  });

  test("iterating yields the same events the result reports, and a second reader sees them all", async () => {
    const { workflow } = wordLength();
    const run = workflow.run("x yy");
    const seen: WorkflowEvent[] = [];
    for await (const event of run) seen.push(event);
    const again: WorkflowEvent[] = [];
    for await (const event of run) again.push(event);
    const result = await run;
    assert.deepEqual(seen, result.events);
    assert.deepEqual(again, result.events);
  });

  test("streams events live while a superstep is still running", async () => {
    const gate = deferred();
    const slow = defineExecutor({
      id: "slow",
      handle: async (_: unknown, ctx) => {
        await ctx.yieldOutput("early");
        await gate.promise;
        await ctx.yieldOutput("late");
      },
    });
    const workflow = new WorkflowBuilder({ name: "live", start: slow }).build();
    const iterator = workflow.run(null)[Symbol.asyncIterator]();
    let event = await iterator.next();
    while (!(event.value?.type === "output")) event = await iterator.next();
    assert.equal(event.value.data, "early");
    gate.resolve();
    const rest: WorkflowEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    assert.deepEqual(rest.filter((e) => e.type === "output").map((e) => e.type === "output" && e.data), [
      "late",
    ]);
  });

  test("an executor failure emits executor-failed, failed, status failed, then rejects with the cause", async () => {
    const cause = new Error("bad word");
    const split = defineExecutor({ id: "split", handle: (text: string, ctx) => ctx.send(text) });
    const check = defineExecutor({
      id: "check",
      handle: () => {
        throw cause;
      },
    });
    const workflow = new WorkflowBuilder({ name: "fails", start: split }).addEdge(split, check).build();
    const run = workflow.run("x");
    const events: WorkflowEvent[] = [];
    await assert.rejects(
      async () => {
        for await (const event of run) events.push(event);
      },
      (error: unknown) =>
        error instanceof ExecutorFailedError && error.cause === cause && error.executorId === "check",
    );
    assert.deepEqual(events.slice(-4).map((e) => e.type), [
      "executor-invoked",
      "executor-failed",
      "failed",
      "status",
    ]);
    const last = events.at(-1)!;
    assert.ok(last.type === "status" && last.state === "failed");
    await assert.rejects(run, ExecutorFailedError);
  });

  test("a failing executor aborts the signal of its siblings in the same superstep", async () => {
    let siblingSawAbort = false;
    const start = defineExecutor({ id: "start", handle: (_: unknown, ctx) => ctx.send(1) });
    const failing = defineExecutor({
      id: "failing",
      handle: async () => {
        await Promise.resolve();
        throw new Error("nope");
      },
    });
    const waiting = defineExecutor({
      id: "waiting",
      handle: async (_: unknown, ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        siblingSawAbort = ctx.signal.aborted;
      },
    });
    const workflow = new WorkflowBuilder({ name: "siblings", start })
      .addFanOut(start, [failing, waiting])
      .build();
    await assert.rejects(workflow.run(0), /nope/);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(siblingSawAbort, true);
  });

  test("an AbortSignal cancels the run: status cancelled, executors see ctx.signal, later sends are inert", async () => {
    const controller = new AbortController();
    const started = deferred();
    let sendAfterCancel: unknown;
    const loop = defineExecutor({
      id: "loop",
      handle: async (n: number, ctx) => {
        if (n === 2) {
          started.resolve();
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
          try {
            await ctx.send(n + 1);
          } catch (error) {
            sendAfterCancel = error;
          }
          return;
        }
        await ctx.send(n + 1);
      },
    });
    const workflow = new WorkflowBuilder({ name: "loop", start: loop }).addEdge(loop, loop).build();
    const run = workflow.run(0, { signal: controller.signal }).then((r) => r);
    await started.promise;
    controller.abort();
    const result = await run;
    assert.equal(result.status, "cancelled");
    assert.equal(result.events.at(-1)?.type, "status");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(sendAfterCancel, "send() after cancellation throws instead of queueing");
  });

  test("a signal aborted before the start cancels without invoking any executor", async () => {
    const { workflow, invoked } = wordLength();
    const result = await workflow.run("a", { signal: AbortSignal.abort() });
    assert.equal(result.status, "cancelled");
    assert.equal(invoked(), 0);
  });

  test("status reports in-progress-pending-requests while a request is open, then idle-pending-requests", async () => {
    class Ask extends Executor<string> {
      constructor() {
        super("ask");
      }
      async handle(question: string, ctx: WorkflowContext): Promise<void> {
        await ctx.requestInfo(question);
      }
      override onResponse(): void {}
    }
    const workflow = new WorkflowBuilder({ name: "ask", start: new Ask() }).build();
    const result = await workflow.run("why?");
    assert.deepEqual(
      result.events.filter((e) => e.type === "status").map((e) => e.state),
      ["in-progress", "in-progress-pending-requests", "idle-pending-requests"],
    );
    assert.equal(result.status, "idle-pending-requests");
    assert.equal(result.pendingRequests[0].data, "why?");
    assert.deepEqual(workflow.pendingRequests, result.pendingRequests);
    const request = result.events.find((e) => e.type === "request");
    assert.ok(request?.type === "request" && request.requestId === result.pendingRequests[0].requestId);
  });

  test("executors of one superstep run concurrently, one message at a time each, in send order", async () => {
    const log: string[] = [];
    const gateA = deferred();
    const fan = defineExecutor({
      id: "fan",
      handle: async (_: unknown, ctx) => {
        await ctx.send("m1");
        await ctx.send("m2");
      },
    });
    const a = defineExecutor({
      id: "a",
      handle: async (m: string) => {
        log.push(`a:${m}:start`);
        if (m === "m1") await gateA.promise;
        log.push(`a:${m}:end`);
      },
    });
    const b = defineExecutor({
      id: "b",
      handle: (m: string) => {
        log.push(`b:${m}`);
        if (m === "m2") gateA.resolve();
      },
    });
    const workflow = new WorkflowBuilder({ name: "concurrent", start: fan }).addFanOut(fan, [a, b]).build();
    await workflow.run(null);
    // b ran both messages while a was still blocked on its first: concurrent targets, sequential per target.
    assert.deepEqual(log, ["a:m1:start", "b:m1", "b:m2", "a:m1:end", "a:m2:start", "a:m2:end"]);
  });
});
