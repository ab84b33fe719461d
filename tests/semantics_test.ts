// Core semantics that Agent Framework's own tests and a new user's trial asked for: requests re-streamed on
// resume, every way of cancelling leaves the instance answerable, stranded fan-in messages reported, every
// build problem at once, a refused input fails loudly, checkpoint metadata, conflicts that say what to do,
// and signals that do not pile up listeners.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  CheckpointConflictError,
  defineExecutor,
  lineage,
  MemoryCheckpointStorage,
  type PendingRequest,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
  WorkflowInputError,
  WorkflowValidationError,
} from "../mod.ts";

/**
 * ask → done: `ask` requests an approval per message, `done` yields what the answer was. With `hold`, the
 * first answer's handler runs until the call is cancelled.
 */
function approvals(storage = new MemoryCheckpointStorage(), hold = false) {
  const ask = defineExecutor({
    id: "ask",
    handle: async (item: string, ctx: WorkflowContext<string, never>) => {
      await ctx.requestInfo({ approve: item });
    },
    onResponse: async (answer: unknown, request: PendingRequest, ctx: WorkflowContext<string, never>) => {
      if (hold) {
        hold = false;
        return await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      }
      await ctx.send(`${(request.data as { approve: string }).approve}=${String(answer)}`);
    },
  });
  const done = defineExecutor({
    id: "done",
    handle: (text: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(text),
  });
  return new WorkflowBuilder({ name: "approvals", start: ask }).addEdge(ask, done).withCheckpointing(storage)
    .build();
}

/**
 * split → ask: one request per item; an answer yields `item=answer` — with `hold`, only once the call is
 * cancelled (its handler is still running when the test cancels).
 */
function twoRequests(storage: MemoryCheckpointStorage, hold = false) {
  const split = defineExecutor({
    id: "split",
    handle: async (items: string[], ctx: WorkflowContext<string, never>) => {
      for (const item of items) await ctx.send(item);
    },
  });
  const ask = defineExecutor({
    id: "ask",
    handle: async (item: string, ctx) => void await ctx.requestInfo(item),
    onResponse: async (answer: unknown, request: PendingRequest, ctx: WorkflowContext<never, string>) => {
      if (hold) await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      await ctx.yieldOutput(`${request.data}=${answer}`);
    },
  });
  return new WorkflowBuilder({ name: "two-requests", start: split }).addEdge(split, ask).withCheckpointing(
    storage,
  )
    .build();
}

async function events<T>(run: AsyncIterable<WorkflowEvent<T>>): Promise<WorkflowEvent<T>[]> {
  const out: WorkflowEvent<T>[] = [];
  for await (const event of run) out.push(event);
  return out;
}

describe("resume re-streams what is waiting", () => {
  test("Workflow.resume() emits a request event for every request still pending, not for those it answers", async () => {
    const workflow = twoRequests(new MemoryCheckpointStorage());
    const paused = await workflow.run(["a", "b"]);
    const [first, second] = paused.pendingRequests;
    const streamed = await events(
      workflow.resume(paused.checkpointId!, { responses: { [first.requestId]: "yes" } }),
    );
    const requests = streamed.filter((event) => event.type === "request");
    assert.deepEqual(requests, [{ type: "request", ...second }], "only the one still waiting");
    const index = streamed.findIndex((event) => event.type === "request");
    assert.deepEqual(streamed.slice(0, index).map((event) => event.type), ["started", "status"]);
  });
});

describe("answers are recorded before their handlers run", () => {
  test("respond() first writes a checkpoint of the answers, chained to the paused one; a fresh instance resumes it to the same end", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage);
    const paused = await workflow.run("doc");
    const [request] = paused.pendingRequests;
    const streamed = await events(workflow.respond({ [request.requestId]: "yes" }));
    const completed = streamed.filter((event) => event.type === "superstep-completed");
    const firstStarted = streamed.findIndex((event) => event.type === "superstep-started");
    assert.ok(streamed.indexOf(completed[0]) < firstStarted, "recorded before any handler runs");
    const recorded = (await storage.load(completed[0].checkpointId!))!;
    assert.equal(recorded.parentId, paused.checkpointId);
    assert.equal(recorded.superstep, (await storage.load(paused.checkpointId!))!.superstep);
    assert.deepEqual(recorded.pendingRequests, []);
    assert.deepEqual(recorded.answers, [{ request, response: "yes" }]);

    const again = await approvals(storage).resume(recorded.id, { fork: true });
    assert.deepEqual(again.outputs, ["doc=yes"]);
    const onward = await approvals(storage).resume(recorded.id, { fork: true, responses: {} });
    assert.deepEqual(onward.outputs, ["doc=yes"]);
  });

  test("resume() with more answers to a checkpoint holding recorded ones delivers all of them, each once", async () => {
    const storage = new MemoryCheckpointStorage();
    const build = () => twoRequests(storage);
    const paused = await build().run(["a", "b"]);
    const [a, b] = paused.pendingRequests;
    // The handler of the first answer never ran (the call is cancelled as it starts): its checkpoint holds it.
    const first = twoRequests(storage, true).resume(paused.checkpointId!, {
      responses: { [a.requestId]: "1" },
    });
    for await (const event of first) if (event.type === "superstep-started") first.cancel();
    const cancelled = await first;
    assert.equal(cancelled.status, "cancelled");
    const recorded = (await storage.load(cancelled.checkpointId!))!;
    assert.deepEqual(recorded.answers?.map((answer) => answer.request.requestId), [a.requestId]);
    assert.deepEqual(recorded.pendingRequests, [b]);

    const both = await build().resume(recorded.id, { responses: { [b.requestId]: "2" } });
    assert.deepEqual(both.outputs.toSorted(), ["a=1", "b=2"]);
    assert.deepEqual(both.pendingRequests, []);
    const [second] = (await storage.list({ sessionId: paused.sessionId })).filter((c) =>
      c.parentId === recorded.id
    );
    assert.deepEqual((await storage.load(second.id))!.answers?.map((answer) => answer.response), ["1", "2"]);
  });

  test("a respond() cancelled before its handlers finish leaves the request waiting on the instance, answerable anew", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage, true);
    const paused = await workflow.run("doc");
    const [request] = paused.pendingRequests;
    const answering = workflow.respond({ [request.requestId]: "no" });
    for await (const event of answering) if (event.type === "superstep-started") answering.cancel();
    const cancelled = await answering;
    assert.equal(cancelled.status, "cancelled");
    assert.deepEqual(cancelled.pendingRequests, [request]);
    assert.deepEqual(workflow.pendingRequests, [request]);
    const answered = await workflow.respond({ [request.requestId]: "yes" });
    assert.deepEqual(answered.outputs, ["doc=yes"]);
    // The checkpoint of the cancelled answer stays in the chain; the later answer replaced it.
    const chain = await Promise.all(
      (await lineage(storage, answered.checkpointId!)).reverse().map(async (c) =>
        (await storage.load(c.id))!
      ),
    );
    const recorded = chain.filter((c) => c.answers !== undefined).map((c) => c.answers![0].response);
    assert.deepEqual(recorded, ["no", "yes"]);
  });
});

describe("cancelling leaves the instance answerable", () => {
  /** ask requests an approval and starts slow work, which waits until the test lets it go (or is cancelled). */
  function approvalWithWork() {
    const ask = defineExecutor({
      id: "ask",
      handle: async (item: string, ctx: WorkflowContext<string, never>) => {
        await ctx.requestInfo({ approve: item });
        await ctx.send(item);
      },
      onResponse: (answer: unknown, request: PendingRequest, ctx: WorkflowContext<string, string>) =>
        ctx.yieldOutput(`${(request.data as { approve: string }).approve}=${String(answer)}`),
    });
    let first = true;
    const slow = defineExecutor({
      id: "slow",
      // The first call waits to be cancelled; its message is delivered again when the run goes on.
      handle: (_item: string, ctx) => {
        if (!first) return;
        first = false;
        return new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      },
    });
    return new WorkflowBuilder({ name: "approvals", start: ask }).addEdge(ask, slow).build();
  }

  for (const how of ["cancel", "break", "signal"] as const) {
    test(`after ${how === "cancel" ? "run.cancel()" : how === "break" ? "a break out of the stream" : "a signal abort"}, respond() answers the request the result lists`, async () => {
      const workflow = approvalWithWork();
      const controller = new AbortController();
      const run = workflow.run("doc", { signal: controller.signal });
      for await (const event of run) {
        // The request is pending from the end of superstep 1; superstep 2's slow work is then cancelled.
        if (event.type !== "executor-invoked" || event.executorId !== "slow") continue;
        if (how === "cancel") run.cancel();
        if (how === "signal") controller.abort();
        break;
      }
      const result = await run;
      assert.equal(result.status, "cancelled");
      assert.equal(result.pendingRequests.length, 1);
      assert.deepEqual(workflow.pendingRequests, result.pendingRequests);
      const answered = await workflow.respond({ [result.pendingRequests[0].requestId]: "yes" });
      assert.deepEqual(answered.outputs, ["doc=yes"]);
    });
  }
});

describe("stranded fan-in messages", () => {
  test("a run converging with a fan-in still waiting warns, naming the fan-in and its missing sources, and says so in the result", async () => {
    const src = defineExecutor({
      id: "src",
      handle: (n: number, ctx: WorkflowContext<number, never>) => ctx.send(n),
    });
    const left = defineExecutor({
      id: "left",
      handle: (n: number, ctx: WorkflowContext<number, never>) => ctx.send(n),
    });
    const right = defineExecutor({
      id: "right",
      handle: (n: number, ctx: WorkflowContext<number, never>) => ctx.send(n),
    });
    const join = defineExecutor({
      id: "join",
      handle: (ns: number[], ctx: WorkflowContext<never, number>) => ctx.yieldOutput(ns.length),
    });
    const workflow = new WorkflowBuilder({ name: "stranded", start: src })
      .addFanOut(src, [left, right], { select: (_n, ids) => [ids[0]] })
      .addFanIn([left, right], join)
      .build();
    const result = await workflow.run(1);
    assert.equal(result.status, "idle");
    assert.deepEqual(result.outputs, []);
    assert.equal(result.stranded.length, 1);
    const [stranded] = result.stranded;
    assert.deepEqual({ ...stranded, edgeId: undefined }, {
      edgeId: undefined,
      target: "join",
      waitingFor: ["right"],
      messages: 1,
    });
    const warnings = result.events.filter((event) => event.type === "warning");
    assert.equal(warnings.length, 1);
    assert.match(
      (warnings[0] as { message: string }).message,
      /1 message\(s\) stranded in the fan-in .* into "join": it still waits for "right"/,
    );
    const clean = await new WorkflowBuilder({ name: "clean", start: src }).addEdge(src, left).build().run(1);
    assert.deepEqual(clean.stranded, []);
  });
});

describe("build() and input refusal", () => {
  test("WorkflowBuilder.build() reports every problem at once, unreachable executors too", () => {
    const a = defineExecutor({ id: "a", handle: () => {} });
    const orphan = defineExecutor({ id: "orphan", handle: () => {} });
    const builder = new WorkflowBuilder({ name: "broken", start: a }).addEdge(a, "ghost").addExecutor(orphan);
    assert.throws(() => builder.build(), (error: unknown) => {
      assert.ok(error instanceof WorkflowValidationError);
      assert.match(error.message, /Unknown executor "ghost"/);
      assert.match(error.message, /"orphan" is unreachable/);
      return true;
    });
  });

  test("a start executor refusing the input fails the run with WorkflowInputError before anything is written", async () => {
    const storage = new MemoryCheckpointStorage();
    const start = defineExecutor({
      id: "positive",
      accepts: (n) => typeof n === "number" && n > 0,
      handle: (n: number, ctx: WorkflowContext<never, number>) => ctx.yieldOutput(n),
    });
    const workflow = new WorkflowBuilder({ name: "input", start }).withCheckpointing(storage).build();
    const streamed: WorkflowEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of workflow.run(-1, { sessionId: "refused" })) streamed.push(event);
    }, (error: unknown) => {
      assert.ok(error instanceof WorkflowInputError);
      assert.equal(error.executorId, "positive");
      assert.equal(error.reason, "accepts() returned false");
      return true;
    });
    assert.deepEqual(streamed.map((event) => event.type).slice(-2), ["failed", "status"]);
    assert.equal(await storage.head("refused"), undefined, "nothing written");
    assert.deepEqual((await workflow.run(2)).outputs, [2]);
  });

  test("a refused message's warning names the executor that refused it, and its sender", async () => {
    const src = defineExecutor({ id: "src", handle: (_: unknown, ctx) => ctx.send("not a number") });
    const numbers = defineExecutor({
      id: "numbers",
      accepts: (m) => typeof m === "number",
      handle: () => {},
    });
    const result = await new WorkflowBuilder({ name: "warn", start: src }).addEdge(src, numbers).build().run(
      null,
    );
    const [warning] = result.events.filter((event) => event.type === "warning");
    assert.deepEqual({ ...warning, message: undefined }, {
      type: "warning",
      message: undefined,
      executorId: "src",
      refusedBy: "numbers",
    });
  });
});

describe("metadata and conflicts", () => {
  test("run(), resume() and respond() store their metadata on every checkpoint they write", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage);
    const paused = await workflow.run("doc", { metadata: { by: "ana", trace: "t1" } });
    const answered = await workflow.respond({ [paused.pendingRequests[0].requestId]: "yes" }, {
      metadata: { by: "bo" },
    });
    const summaries = await storage.list({ sessionId: paused.sessionId });
    const byCall = summaries.map((summary) => summary.metadata).reverse();
    assert.deepEqual(byCall.slice(0, 2), [{ by: "ana", trace: "t1" }, { by: "ana", trace: "t1" }]);
    assert.ok(byCall.slice(2).every((metadata) => metadata.by === "bo"), JSON.stringify(byCall));
    assert.deepEqual((await storage.load(answered.checkpointId!))!.metadata, { by: "bo" });
    assert.throws(() => workflow.run("x", { metadata: [] as unknown as Record<string, unknown> }), TypeError);
  });

  test("a resume that lost the session to another writer says to resume the head instead, and names it", async () => {
    const storage = new MemoryCheckpointStorage();
    const paused = await approvals(storage).run("doc");
    const [request] = paused.pendingRequests;
    const winner = await approvals(storage).resume(paused.checkpointId!, {
      responses: { [request.requestId]: "yes" },
    });
    await assert.rejects(
      approvals(storage).resume(paused.checkpointId!, { responses: { [request.requestId]: "no" } }),
      (error: unknown) => {
        assert.ok(error instanceof CheckpointConflictError);
        assert.equal(error.actualHead, winner.checkpointId);
        assert.match(error.message, /Resume the head to continue the session/);
        assert.match(error.message, /a fork leaves out what the other writer did/);
        return true;
      },
    );
  });
});

describe("ctx.signal", () => {
  test("each handler call gets its own signal, which aborts with the run", async () => {
    const signals: AbortSignal[] = [];
    const control = { cancel: () => {} };
    const loop = defineExecutor({
      id: "loop",
      handle: async (n: number, ctx: WorkflowContext<number, never>) => {
        signals.push(ctx.signal);
        if (n < 3) return ctx.send(n + 1);
        control.cancel();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      },
    });
    const workflow = new WorkflowBuilder({ name: "signals", start: loop }).addEdge(loop, loop).build();
    const run = workflow.run(0);
    control.cancel = () => run.cancel();
    assert.equal((await run).status, "cancelled");
    assert.equal(new Set(signals).size, signals.length, "a new signal per call");
    assert.ok(signals.at(-1)!.aborted, "the running call's signal aborted");
  });

  test("many supersteps whose handlers listen on ctx.signal raise no MaxListenersExceededWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning.name);
    process.on?.("warning", onWarning);
    try {
      const loop = defineExecutor({
        id: "loop",
        handle: (n: number, ctx: WorkflowContext<number, never>) => {
          // What fetch(url, { signal }) and timers do: a listener each, never removed here.
          for (let i = 0; i < 3; i++) ctx.signal.addEventListener("abort", () => {});
          return n < 50 ? ctx.send(n + 1) : undefined;
        },
      });
      const result = await new WorkflowBuilder({ name: "listeners", start: loop, maxSupersteps: 100 })
        .addEdge(loop, loop)
        .build()
        .run(0);
      assert.equal(result.status, "idle");
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.deepEqual(warnings.filter((name) => name === "MaxListenersExceededWarning"), []);
    } finally {
      process.off?.("warning", onWarning);
    }
  });
});
