import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type CheckpointSummary,
  defineExecutor,
  Executor,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  PluginError,
  type RunInfo,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
  type WorkflowPlugin,
  type WorkflowResult,
} from "../mod.ts";
import { approvals, Tally } from "./_fixtures.ts";
import { deferred } from "./_helpers.ts";

/** split → len: one output per word. */
function wordLength(storage = new MemoryCheckpointStorage()) {
  const split = defineExecutor({
    id: "split",
    handle: async (text: string, ctx) => {
      for (const word of text.split(" ")) await ctx.send(word);
    },
  });
  const len = defineExecutor({ id: "len", handle: (word: string, ctx) => ctx.yieldOutput(word.length) });
  return new WorkflowBuilder({ name: "wordlen", start: split }).addEdge(split, len).withCheckpointing(
    storage,
  );
}

/** A plugin that records every hook call as a line, and the events it received. */
function recorder(name: string, lines: string[] = []) {
  const events: WorkflowEvent[] = [];
  const infos: RunInfo[] = [];
  const checkpoints: CheckpointSummary[] = [];
  const results: WorkflowResult[] = [];
  const plugin: WorkflowPlugin = {
    name,
    onRunStart: (info) => {
      infos.push(info);
      lines.push(`${name}:start`);
    },
    onEvent: (event, info) => {
      infos.push(info);
      events.push(event);
      lines.push(`${name}:${event.type}`);
    },
    onCheckpoint: (summary, info) => {
      infos.push(info);
      checkpoints.push(summary);
      lines.push(`${name}:checkpoint`);
    },
    onRunEnd: (result, info) => {
      infos.push(info);
      results.push(result);
      lines.push(`${name}:end`);
    },
  };
  return { plugin, lines, events, infos, checkpoints, results };
}

function failWith(message: string): never {
  throw new Error(message);
}

describe("WorkflowPlugin hooks", () => {
  test("onEvent sees exactly the events of result.events, in order, between onRunStart and onRunEnd", async () => {
    const rec = recorder("rec");
    const result = await wordLength().use(rec.plugin).build().run("hello big world");
    assert.deepEqual(rec.events, result.events);
    assert.equal(rec.lines[0], "rec:start");
    assert.equal(rec.lines.at(-1), "rec:end");
    assert.equal(rec.results.length, 1);
    assert.equal(rec.results[0], result);
  });

  test("every hook of one call gets the same frozen RunInfo; each call gets its own runId", async () => {
    const rec = recorder("rec");
    const workflow = wordLength().use(rec.plugin).build();
    const first = await workflow.run("a b");
    const infosOfFirst = rec.infos.length;
    await workflow.run("c");
    const [info] = rec.infos;
    assert.ok(rec.infos.slice(0, infosOfFirst).every((i) => i === info));
    assert.ok(Object.isFrozen(info));
    assert.equal(info.workflowName, "wordlen");
    assert.equal(info.sessionId, first.sessionId);
    assert.equal(info.kind, "run");
    assert.equal(info.parentCheckpointId, undefined, "a fresh session has no parent checkpoint");
    assert.ok(info.signal instanceof AbortSignal);
    const second = rec.infos[infosOfFirst];
    assert.notEqual(second, info);
    assert.notEqual(second.runId, info.runId);
  });

  test("onCheckpoint gets the summary of every checkpoint written, before its superstep-completed", async () => {
    const storage = new MemoryCheckpointStorage();
    const rec = recorder("rec");
    const result = await wordLength(storage).use(rec.plugin).build().run("a b");
    const completed = result.events.flatMap((e) => e.type === "superstep-completed" ? [e.checkpointId] : []);
    assert.deepEqual(rec.checkpoints.map((c) => c.id), completed);
    assert.deepEqual(rec.checkpoints.map((c) => c.superstep), [0, 1, 2]);
    assert.equal(rec.checkpoints[1].parentId, rec.checkpoints[0].id);
    const listed = await storage.list({ sessionId: result.sessionId });
    assert.deepEqual(rec.checkpoints.map((c) => c.id).reverse(), listed.map((c) => c.id));
    const order = rec.lines.filter((l) => l === "rec:checkpoint" || l === "rec:superstep-completed");
    assert.deepEqual(order, Array(3).fill(["rec:checkpoint", "rec:superstep-completed"]).flat());
  });

  test("builder plugins run before per-run plugins, each hook in registration order", async () => {
    const lines: string[] = [];
    const a = recorder("a", lines);
    const b = recorder("b", lines);
    const c = recorder("c", lines);
    const workflow = wordLength().use(a.plugin).use(b.plugin).build();
    await workflow.run("x", { plugins: [c.plugin] });
    assert.deepEqual(lines.slice(0, 6), [
      "a:start",
      "b:start",
      "c:start",
      "a:started",
      "b:started",
      "c:started",
    ]);
    assert.deepEqual(lines.slice(-3), ["a:end", "b:end", "c:end"]);
  });

  test("run({ plugins }) applies to that call only", async () => {
    const rec = recorder("once");
    const workflow = wordLength().build();
    await workflow.run("x", { plugins: [rec.plugin] });
    const seen = rec.lines.length;
    await workflow.run("y");
    assert.equal(rec.lines.length, seen);
  });

  test("a synchronous onEvent receives an event while it is emitted", async () => {
    const seen: string[] = [];
    const echo = defineExecutor({
      id: "echo",
      handle: async (text: string, ctx) => {
        await ctx.yieldOutput(text);
        seen.push(`handler after ${text}`);
      },
    });
    const workflow = new WorkflowBuilder({ name: "echo", start: echo })
      .use({ name: "sync", onEvent: (e) => void (e.type === "output" && seen.push(`plugin ${e.data}`)) })
      .build();
    await workflow.run("hi");
    assert.deepEqual(seen, ["plugin hi", "handler after hi"]);
  });

  test("an async onEvent is awaited: events arrive in order and the next superstep waits for it", async () => {
    const gate = deferred();
    const waiting = deferred();
    const delivered: string[] = [];
    let lenInvoked = false;
    const slow: WorkflowPlugin = {
      name: "slow",
      onEvent: async (event) => {
        if (event.type === "superstep-completed" && event.superstep === 1) {
          waiting.resolve();
          await gate.promise;
        }
        delivered.push(event.type);
      },
    };
    const split = defineExecutor({ id: "split", handle: (text: string, ctx) => ctx.send(text) });
    const len = defineExecutor({
      id: "len",
      handle: () => {
        lenInvoked = true;
      },
    });
    const workflow = new WorkflowBuilder({ name: "gated", start: split }).addEdge(split, len).use(slow)
      .build();
    const run = workflow.run("x").then((r) => r);
    await waiting.promise;
    // One macrotask turn: a runner that did not wait would start superstep 2 within it (all in memory).
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(lenInvoked, false, "superstep 2 must not start before the plugin took superstep 1");
    gate.resolve();
    const result = await run;
    assert.equal(lenInvoked, true);
    assert.deepEqual(delivered, result.events.map((e) => e.type));
  });

  test("plugins see the events of a resumed run, with kind resume and the resumed checkpoint as parent", async () => {
    const storage = new MemoryCheckpointStorage();
    const first = await approvals(storage).run(["a"]);
    assert.equal(first.status, "idle-pending-requests");
    const rec = recorder("rec");
    const [request] = first.pendingRequests;
    const resumed = await approvals(storage).resume(first.checkpointId!, {
      responses: { [request.requestId]: "yes" },
      plugins: [rec.plugin],
    });
    assert.deepEqual(resumed.outputs, ["a=yes"]);
    assert.deepEqual(rec.events, resumed.events);
    assert.equal(rec.infos[0].kind, "resume");
    assert.equal(rec.infos[0].parentCheckpointId, first.checkpointId);
    assert.equal(rec.infos[0].sessionId, first.sessionId);
  });

  test("respond() calls get kind respond; builder plugins apply to them too", async () => {
    const rec = recorder("rec");
    const storage = new MemoryCheckpointStorage();
    const ask = defineExecutor({
      id: "ask",
      handle: async (_: unknown, ctx) => void await ctx.requestInfo("ok?"),
      onResponse: (answer: unknown, _request, ctx) => ctx.yieldOutput(answer),
    });
    const workflow = new WorkflowBuilder({ name: "ask", start: ask }).withCheckpointing(storage)
      .use(rec.plugin).build();
    const first = await workflow.run(null);
    const kinds = () => [...new Set(rec.infos.map((i) => i.kind))];
    assert.deepEqual(kinds(), ["run"]);
    const answered = await workflow.respond({ [first.pendingRequests[0].requestId]: "yes" });
    assert.deepEqual(answered.outputs, ["yes"]);
    assert.deepEqual(kinds(), ["run", "respond"]);
    assert.equal(rec.infos.at(-1)!.parentCheckpointId, first.checkpointId);
  });

  test("onRunEnd gets a cancelled run's result with status cancelled", async () => {
    const rec = recorder("rec");
    const result = await wordLength().use(rec.plugin).build().run("x", { signal: AbortSignal.abort() });
    assert.equal(result.status, "cancelled");
    assert.equal(rec.results[0].status, "cancelled");
  });

  test("a run that fails before it starts (unknown checkpoint) reaches no plugin", async () => {
    const rec = recorder("rec");
    const workflow = wordLength().use(rec.plugin).build();
    await assert.rejects(workflow.resume("01NOPE"), /Checkpoint not found/);
    assert.deepEqual(rec.lines, []);
  });
});

describe("WorkflowPlugin.wrapExecutor", () => {
  test("composes like middleware: the first registered plugin is the outermost", async () => {
    const order: string[] = [];
    const layer = (name: string): WorkflowPlugin => ({
      name,
      wrapExecutor: (next, executorId) => async (message, ctx) => {
        order.push(`${name}>${executorId}`);
        await next(message, ctx);
        order.push(`${name}<${executorId}`);
      },
    });
    const echo = defineExecutor({
      id: "echo",
      handle: (text: string, ctx) => {
        order.push("handle");
        return ctx.yieldOutput(text);
      },
    });
    const workflow = new WorkflowBuilder({ name: "echo", start: echo }).use(layer("a")).build();
    const result = await workflow.run("hi", { plugins: [layer("b")] });
    assert.deepEqual(result.outputs, ["hi"]);
    assert.deepEqual(order, ["a>echo", "b>echo", "handle", "b<echo", "a<echo"]);
  });

  test("wraps onResponse calls too, with the response as the message, and gets the RunInfo", async () => {
    const seen: unknown[] = [];
    const infos: RunInfo[] = [];
    const spy: WorkflowPlugin = {
      name: "spy",
      wrapExecutor: (next, _id, info) => (message, ctx) => {
        infos.push(info);
        seen.push(message);
        return next(message, ctx);
      },
    };
    const storage = new MemoryCheckpointStorage();
    const first = await approvals(storage).run(["a"], { plugins: [spy] });
    await approvals(storage).resume(first.checkpointId!, {
      responses: { [first.pendingRequests[0].requestId]: "yes" },
      plugins: [spy],
    });
    assert.deepEqual(seen, [["a"], "yes", "a=yes"]);
    assert.equal(infos[0].kind, "run");
    assert.equal(infos[1].kind, "resume");
  });

  test("a wrapper may decorate the context it passes to next", async () => {
    const prefix: WorkflowPlugin = {
      name: "prefix",
      wrapExecutor: (next) => (message, ctx) =>
        next(message, {
          executorId: ctx.executorId,
          superstep: ctx.superstep,
          signal: ctx.signal,
          state: ctx.state,
          send: (value, options) => ctx.send(value, options),
          requestInfo: (data) => ctx.requestInfo(data),
          yieldOutput: (value) => ctx.yieldOutput(`>${value}`),
          emit: (name, data) => ctx.emit(name, data),
        }),
    };
    const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
    const result = await new WorkflowBuilder({ name: "echo", start: echo }).use(prefix).build().run("hi");
    assert.deepEqual(result.outputs, [">hi"]);
  });

  test("returning next itself leaves the executor alone: no attempt bookkeeping (no extra snapshot)", async () => {
    let snapshots = 0;
    class Counted extends Tally {
      override snapshot() {
        snapshots++;
        return super.snapshot();
      }
    }
    const passthrough: WorkflowPlugin = { name: "passthrough", wrapExecutor: (next) => next };
    const tally = new Counted();
    const workflow = new WorkflowBuilder({ name: "tally", start: tally }).use(passthrough).build();
    const before = snapshots;
    await workflow.run(1);
    assert.equal(snapshots, before, "without storage only an attempt mark would snapshot");
    const wrapping: WorkflowPlugin = { name: "wrapping", wrapExecutor: (next) => (m, c) => next(m, c) };
    await workflow.run(1, { plugins: [wrapping] });
    assert.equal(snapshots, before + 1, "a wrapped call marks its attempt");
  });

  test("a handler error passing through a wrapper fails the run with ExecutorFailedError, not PluginError", async () => {
    const cause = new Error("handler broke");
    const boom = defineExecutor({ id: "boom", handle: () => failWith("handler broke") });
    const spy: WorkflowPlugin = { name: "spy", wrapExecutor: (next) => (m, c) => next(m, c) };
    const workflow = new WorkflowBuilder({ name: "boom", start: boom }).use(spy).build();
    await assert.rejects(
      workflow.run(null),
      (error: unknown) =>
        error instanceof ExecutorFailedError && error.executorId === "boom" &&
        (error.cause as Error).message === cause.message,
    );
  });

  test("a wrapper throwing its own error fails the run with PluginError, after executor-failed", async () => {
    const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
    const broken: WorkflowPlugin = {
      name: "broken",
      wrapExecutor: (next) => async (m, c) => {
        await next(m, c);
        failWith("wrapper broke");
      },
    };
    const workflow = new WorkflowBuilder({ name: "echo", start: echo }).use(broken).build();
    const run = workflow.run("hi");
    await assert.rejects(
      run,
      (error: unknown) =>
        error instanceof PluginError && error.pluginName === "broken" && error.hook === "wrapExecutor" &&
        (error.cause as Error).message === "wrapper broke",
    );
    const events: WorkflowEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of run) events.push(event);
    });
    assert.deepEqual(events.slice(-3).map((e) => e.type), ["executor-failed", "failed", "status"]);
  });

  test("wrapExecutor throwing or returning a non-function fails the run with PluginError", async () => {
    const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
    const workflow = new WorkflowBuilder({ name: "echo", start: echo }).build();
    const throwing: WorkflowPlugin = { name: "throwing", wrapExecutor: () => failWith("no wrapper") };
    await assert.rejects(workflow.run("x", { plugins: [throwing] }), (e: unknown) => {
      return e instanceof PluginError && e.pluginName === "throwing" && e.hook === "wrapExecutor";
    });
    const wrong = { name: "wrong", wrapExecutor: () => 42 } as unknown as WorkflowPlugin;
    await assert.rejects(
      workflow.run("x", { plugins: [wrong] }),
      (e: unknown) => e instanceof PluginError && e.pluginName === "wrong" && e.cause instanceof TypeError,
    );
  });

  test("calling next again discards the earlier attempt's sends, outputs, requests and state writes", async () => {
    const received: unknown[] = [];
    let attempt = 0;
    const work = defineExecutor({
      id: "work",
      handle: async (_: unknown, ctx) => {
        attempt++;
        ctx.state.set("attempt", attempt);
        if (attempt === 1) ctx.state.set("only-first", true);
        await ctx.send(`sent by ${attempt}`);
        await ctx.yieldOutput(`output of ${attempt}`);
        await ctx.requestInfo(`request of ${attempt}`);
        if (attempt === 1) failWith("first attempt fails");
      },
      onResponse: () => {},
    });
    const sink = defineExecutor({
      id: "sink",
      handle: (message: string, ctx) => {
        received.push([message, ctx.state.get("attempt"), ctx.state.has("only-first")]);
      },
    });
    const twice: WorkflowPlugin = {
      name: "twice",
      wrapExecutor: (next, id) =>
        id !== "work" ? next : async (m, c) => {
          try {
            await next(m, c);
          } catch {
            await next(m, c);
          }
        },
    };
    const storage = new MemoryCheckpointStorage();
    const workflow = new WorkflowBuilder({ name: "twice", start: work }).addEdge(work, sink)
      .withCheckpointing(storage).use(twice).build();
    const result = await workflow.run(null);
    assert.deepEqual(received, [["sent by 2", 2, false]]);
    assert.deepEqual(result.outputs, ["output of 2"]);
    assert.deepEqual(result.pendingRequests.map((r) => r.data), ["request of 2"]);
    const retried = result.events.filter((e) => e.type === "executor-retried");
    assert.equal(retried.length, 1);
    assert.ok(retried[0].type === "executor-retried");
    assert.equal(retried[0].executorId, "work");
    assert.equal(retried[0].attempt, 2);
    assert.equal((retried[0].error as Error).message, "first attempt fails");
    // The checkpoint after superstep 1 holds one message and one request.
    const checkpoint = await storage.load(
      result.events.flatMap((e) =>
        e.type === "superstep-completed" && e.superstep === 1 ? [e.checkpointId!] : []
      )[0],
    );
    assert.deepEqual(checkpoint!.messages.map((m) => m.data), ["sent by 2"]);
    assert.deepEqual(checkpoint!.pendingRequests.map((r) => r.data), ["request of 2"]);
    assert.deepEqual(checkpoint!.state, { attempt: 2 });
  });

  test("calling next again after a success keeps only the last attempt's effects", async () => {
    const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
    const twice: WorkflowPlugin = {
      name: "twice",
      wrapExecutor: (next) => async (m, c) => {
        await next(m, c);
        await next(m, c);
      },
    };
    const result = await new WorkflowBuilder({ name: "echo", start: echo }).use(twice).build().run("hi");
    assert.deepEqual(result.outputs, ["hi"]);
    const retried = result.events.find((e) => e.type === "executor-retried");
    assert.ok(retried?.type === "executor-retried" && retried.attempt === 2 && retried.error === undefined);
  });

  test("a retried class executor starts each attempt from the snapshot() state the call started with", async () => {
    let failures = 1;
    class Flaky extends Executor<number, number> {
      total = 0;
      constructor() {
        super("flaky");
      }
      async handle(n: number, ctx: WorkflowContext<number>): Promise<void> {
        this.total += n;
        if (failures-- > 0) failWith("once");
        await ctx.yieldOutput(this.total);
      }
      override snapshot() {
        return { total: this.total };
      }
      override restore(state: { total: number }) {
        this.total = state.total;
      }
    }
    const again: WorkflowPlugin = {
      name: "again",
      wrapExecutor: (next) => (m, c) => next(m, c).catch(() => next(m, c)),
    };
    const result = await new WorkflowBuilder({ name: "flaky", start: new Flaky() }).use(again).build().run(5);
    assert.deepEqual(result.outputs, [5]);
  });

  test("calling next while its previous attempt still runs is refused", async () => {
    const slow = defineExecutor({ id: "slow", handle: () => new Promise<void>((r) => setTimeout(r, 0)) });
    const hedging: WorkflowPlugin = {
      name: "hedging",
      wrapExecutor: (next) => async (m, c) => void await Promise.all([next(m, c), next(m, c)]),
    };
    const workflow = new WorkflowBuilder({ name: "slow", start: slow }).use(hedging).build();
    await assert.rejects(workflow.run(null), (error: unknown) => {
      return error instanceof ExecutorFailedError && error.cause instanceof TypeError &&
        /previous attempt has not settled/.test(error.cause.message);
    });
  });
});

describe("A failing plugin", () => {
  test("onEvent throwing fails the run with PluginError; the superstep it threw in is not checkpointed", async () => {
    const storage = new MemoryCheckpointStorage();
    const bad: WorkflowPlugin = {
      name: "bad",
      onEvent: (event) => {
        if (event.type === "executor-invoked" && event.executorId === "len") failWith("cannot log");
      },
    };
    const rec = recorder("rec");
    const run = wordLength(storage).use(bad).use(rec.plugin).build().run("a b");
    await assert.rejects(
      run,
      (e: unknown) =>
        e instanceof PluginError && e.pluginName === "bad" && e.hook === "onEvent" &&
        e.message === 'Plugin "bad" failed in onEvent: cannot log',
    );
    const supersteps = (await storage.list()).map((c) => c.superstep).sort();
    assert.deepEqual(supersteps, [0, 1], "superstep 2 (len) was not checkpointed");
    // The other plugin still sees the failure and its end.
    assert.deepEqual(rec.events.slice(-2).map((e) => e.type), ["failed", "status"]);
    assert.equal(rec.results[0].status, "failed");
    assert.ok(rec.results[0].error instanceof PluginError);
    assert.deepEqual(rec.results[0].outputs, [], "outputs of the uncommitted superstep are not reported");
  });

  test("an async onEvent rejecting after its superstep's executors finished keeps that superstep uncheckpointed", async () => {
    const storage = new MemoryCheckpointStorage();
    const late: WorkflowPlugin = {
      name: "late",
      onEvent: async (event) => {
        if (event.type === "output") {
          await new Promise((resolve) => setTimeout(resolve, 0));
          throw new Error("late");
        }
      },
    };
    await assert.rejects(wordLength(storage).use(late).build().run("a"), PluginError);
    assert.deepEqual((await storage.list()).map((c) => c.superstep).sort(), [0, 1]);
  });

  test("a plugin that threw is not called again in that call", async () => {
    let calls = 0;
    const bad: WorkflowPlugin = {
      name: "bad",
      onEvent: () => {
        calls++;
        failWith("first event");
      },
      onRunEnd: () => {
        calls++;
      },
    };
    await assert.rejects(wordLength().use(bad).build().run("a"), PluginError);
    assert.equal(calls, 1);
  });

  test("a plugin failing mid-superstep aborts the running executors' signal with the PluginError", async () => {
    const started = deferred();
    const aborted = deferred<unknown>();
    const waiting = defineExecutor({
      id: "waiting",
      handle: async (_: unknown, ctx) => {
        started.resolve();
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        aborted.resolve(ctx.signal.reason);
      },
    });
    const gate = deferred();
    const bad: WorkflowPlugin = {
      name: "bad",
      onEvent: async (event) => {
        if (event.type === "executor-invoked") {
          await gate.promise;
          failWith("late failure");
        }
      },
    };
    const run = new WorkflowBuilder({ name: "waiting", start: waiting }).use(bad).build().run(null).then((
      r,
    ) => r);
    await started.promise;
    gate.resolve();
    await assert.rejects(run, (e: unknown) => e instanceof PluginError && e.pluginName === "bad");
    assert.ok(await aborted.promise instanceof PluginError);
  });

  test("onRunStart throwing fails the run before any executor runs", async () => {
    let invoked = false;
    const echo = defineExecutor({
      id: "echo",
      handle: () => {
        invoked = true;
      },
    });
    const rec = recorder("rec");
    const bad: WorkflowPlugin = { name: "bad", onRunStart: () => Promise.reject(new Error("no collector")) };
    const run = new WorkflowBuilder({ name: "echo", start: echo }).use(rec.plugin).use(bad).build().run(null);
    await assert.rejects(run, (e: unknown) => e instanceof PluginError && e.hook === "onRunStart");
    assert.equal(invoked, false);
    assert.deepEqual(rec.events.map((e) => e.type), ["failed", "status"]);
    assert.equal(rec.results[0].status, "failed");
  });

  test("onCheckpoint throwing fails the run; the checkpoint it was told of stays resumable", async () => {
    const storage = new MemoryCheckpointStorage();
    let told: string | undefined;
    const bad: WorkflowPlugin = {
      name: "bad",
      onCheckpoint: (summary) => {
        if (summary.superstep === 1) {
          told = summary.id;
          failWith("index down");
        }
      },
    };
    const workflow = wordLength(storage).use(bad).build();
    await assert.rejects(
      workflow.run("a b"),
      (e: unknown) => e instanceof PluginError && e.hook === "onCheckpoint",
    );
    assert.ok(told);
    const resumed = await wordLength(storage).build().resume(told);
    assert.deepEqual(resumed.outputs, [1, 1]);
  });

  test("onRunEnd throwing after a converged run makes it reject; the stream ends failed", async () => {
    const bad: WorkflowPlugin = { name: "bad", onRunEnd: () => failWith("cannot flush") };
    const run = wordLength().use(bad).build().run("a");
    const events: WorkflowEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of run) events.push(event);
    }, (e: unknown) => e instanceof PluginError && e.hook === "onRunEnd");
    assert.deepEqual(events.slice(-3).map((e) => e.type === "status" ? e.state : e.type), [
      "idle",
      "failed",
      "failed",
    ]);
  });

  test("the failure is awaited: a rejected async onEvent fails the run at the superstep boundary", async () => {
    const bad: WorkflowPlugin = {
      name: "bad",
      onEvent: async (event) => {
        await Promise.resolve();
        if (event.type === "superstep-completed" && event.superstep === 0) throw new Error("async");
      },
    };
    let invoked = false;
    const echo = defineExecutor({
      id: "echo",
      handle: () => {
        invoked = true;
      },
    });
    const workflow = new WorkflowBuilder({ name: "echo", start: echo })
      .withCheckpointing(new MemoryCheckpointStorage()).use(bad).build();
    await assert.rejects(workflow.run(null), PluginError);
    assert.equal(invoked, false, "superstep 1 never started");
  });
});

describe("Plugin registration", () => {
  test("WorkflowBuilder.use() rejects a plugin without a name or with a hook that is not a function", () => {
    const builder = wordLength();
    assert.throws(() => builder.use(null as unknown as WorkflowPlugin), TypeError);
    assert.throws(() => builder.use({} as WorkflowPlugin), /non-empty name/);
    assert.throws(
      () => builder.use({ name: "x", onEvent: "log" } as unknown as WorkflowPlugin),
      /Plugin "x": onEvent must be a function, got string/,
    );
  });

  test("run(), resume() and respond() reject a plugins option that is not an array of plugins, synchronously", () => {
    const workflow = wordLength().build();
    assert.throws(() => workflow.run("x", { plugins: {} as unknown as WorkflowPlugin[] }), TypeError);
    assert.throws(() => workflow.resume("01X", { plugins: [{ name: "" }] }), /non-empty name/);
    assert.throws(
      () =>
        workflow.respond({ r: 1 }, { plugins: [{ name: "x", onRunEnd: 1 } as unknown as WorkflowPlugin] }),
      TypeError,
    );
    assert.equal(workflow.isRunning, false);
  });

  test("PluginError names the plugin and hook, keeps the cause, and has its name set", () => {
    const cause = new Error("sink closed");
    const error = new PluginError("audit", "onEvent", cause);
    assert.equal(error.name, "PluginError");
    assert.equal(error.pluginName, "audit");
    assert.equal(error.hook, "onEvent");
    assert.equal(error.cause, cause);
    assert.equal(error.message, 'Plugin "audit" failed in onEvent: sink closed');
    assert.ok(error instanceof Error);
  });
});
