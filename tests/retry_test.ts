import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  Executor,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
} from "../mod.ts";
import { retry, type RetryOptions } from "../plugins/retry.ts";
import { deferred } from "./_helpers.ts";

/** A sleep that records the delays asked for and never waits. */
function instantSleep() {
  const delays: number[] = [];
  return { delays, sleep: (ms: number) => (delays.push(ms), Promise.resolve()) };
}

/** `flaky` throws `failures` times, then sends its message to `sink` and yields it. */
function flakyWorkflow(
  failures: number,
  options: Omit<RetryOptions, "executors"> & Partial<RetryOptions> = {},
) {
  let calls = 0;
  const received: unknown[] = [];
  const flaky = defineExecutor({
    id: "flaky",
    handle: async (text: string, ctx) => {
      calls++;
      ctx.state.set("calls", calls);
      await ctx.send(`${text} #${calls}`);
      await ctx.yieldOutput(`${text} #${calls}`);
      if (calls <= failures) throw new Error(`failure ${calls}`);
    },
  });
  const sink = defineExecutor({ id: "sink", handle: (message: string) => void received.push(message) });
  const storage = new MemoryCheckpointStorage();
  const { delays, sleep } = instantSleep();
  const workflow = new WorkflowBuilder({ name: "flaky", start: flaky })
    .addEdge(flaky, sink)
    .withCheckpointing(storage)
    .use(retry({ executors: ["flaky"], sleep, random: () => 0.5, ...options }))
    .build();
  return { workflow, storage, delays, received, calls: () => calls };
}

const retriedEvents = (events: WorkflowEvent[]) =>
  events.flatMap((e) => e.type === "executor-retried" ? [e] : []);

describe("retry()", () => {
  test("retries a chosen executor until it succeeds, emitting executor-retried per retry", async () => {
    const { workflow, calls } = flakyWorkflow(2, { attempts: 3 });
    const result = await workflow.run("go");
    assert.equal(result.status, "idle");
    assert.equal(calls(), 3);
    const retried = retriedEvents(result.events);
    assert.deepEqual(retried.map((e) => [e.executorId, e.attempt, (e.error as Error).message]), [
      ["flaky", 2, "failure 1"],
      ["flaky", 3, "failure 2"],
    ]);
    assert.equal(
      result.events.filter((e) => e.type === "executor-invoked" && e.executorId === "flaky").length,
      1,
    );
  });

  test("discards the failed attempts' sends, outputs and state writes: no duplicates anywhere", async () => {
    const { workflow, storage, received } = flakyWorkflow(2);
    const result = await workflow.run("go");
    assert.deepEqual(received, ["go #3"], "the next superstep got one message");
    assert.deepEqual(result.outputs, ["go #3"]);
    const afterFlaky = result.events.flatMap((e) =>
      e.type === "superstep-completed" && e.superstep === 1 ? [e.checkpointId!] : []
    );
    const checkpoint = await storage.load(afterFlaky[0]);
    assert.deepEqual(checkpoint!.messages.map((m) => m.data), ["go #3"]);
    assert.deepEqual(checkpoint!.state, { calls: 3 });
    // The failed attempts' output events were streamed live; executor-retried follows each.
    const flakyEvents = result.events.filter((e) => "executorId" in e && e.executorId === "flaky");
    assert.deepEqual(flakyEvents.map((e) => e.type), [
      "executor-invoked",
      "output",
      "executor-retried",
      "output",
      "executor-retried",
      "output",
      "executor-completed",
    ]);
  });

  test("discards a failed attempt's requests: only the successful attempt's are pending", async () => {
    let calls = 0;
    const ask = defineExecutor({
      id: "ask",
      handle: async (_: unknown, ctx) => {
        calls++;
        await ctx.requestInfo(`question ${calls}`);
        if (calls === 1) throw new Error("flaky");
      },
      onResponse: () => {},
    });
    const { sleep } = instantSleep();
    const workflow = new WorkflowBuilder({ name: "ask", start: ask })
      .use(retry({ executors: ["ask"], sleep })).build();
    const result = await workflow.run(null);
    assert.equal(result.status, "idle-pending-requests");
    assert.deepEqual(result.pendingRequests.map((r) => r.data), ["question 2"]);
  });

  test("puts a class executor's snapshot() state back before each retry", async () => {
    let failures = 2;
    class Sum extends Executor<number, number> {
      total = 0;
      constructor() {
        super("sum");
      }
      async handle(n: number, ctx: WorkflowContext<number>): Promise<void> {
        this.total += n;
        if (failures-- > 0) throw new Error("flaky");
        await ctx.yieldOutput(this.total);
      }
      override snapshot(): { total: number } {
        return { total: this.total };
      }
      override restore(state: { total: number }): void {
        this.total = state.total;
      }
    }
    const { sleep } = instantSleep();
    const workflow = new WorkflowBuilder({ name: "sum", start: new Sum() })
      .use(retry({ executors: ["sum"], sleep })).build();
    assert.deepEqual((await workflow.run(5)).outputs, [5]);
  });

  test("fails the run with the last error once the attempts are spent", async () => {
    const { workflow, calls } = flakyWorkflow(5, { attempts: 3 });
    const run = workflow.run("go");
    await assert.rejects(
      run,
      (e: unknown) => e instanceof ExecutorFailedError && (e.cause as Error).message === "failure 3",
    );
    assert.equal(calls(), 3);
    const events: WorkflowEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of run) events.push(event);
    });
    assert.equal(retriedEvents(events).length, 2);
  });

  test("does not retry executors it was not given, by list or by predicate", async () => {
    for (const executors of [["other"], (id: string) => id !== "flaky"]) {
      const { workflow, calls } = flakyWorkflow(1, { executors });
      await assert.rejects(workflow.run("go"), ExecutorFailedError);
      assert.equal(calls(), 1);
    }
    const { workflow } = flakyWorkflow(1, { executors: (id) => id.startsWith("fla") });
    assert.equal((await workflow.run("go")).status, "idle");
  });

  test("does not retry an error retryOn refuses, and tells retryOn the attempt", async () => {
    const asked: [string, number][] = [];
    const { workflow, calls } = flakyWorkflow(3, {
      attempts: 5,
      retryOn: (error, attempt) => {
        asked.push([(error as Error).message, attempt]);
        return attempt < 2;
      },
    });
    await assert.rejects(workflow.run("go"), ExecutorFailedError);
    assert.equal(calls(), 2);
    assert.deepEqual(asked, [["failure 1", 1], ["failure 2", 2]]);
  });

  test("backs off exponentially up to maxDelayMs, with full, equal or no jitter", async () => {
    const cases: [RetryOptions["jitter"], number[]][] = [
      ["none", [100, 200, 400, 500]],
      ["full", [25, 50, 100, 125]],
      ["equal", [62.5, 125, 250, 312.5]],
    ];
    for (const [jitter, expected] of cases) {
      const { workflow, delays } = flakyWorkflow(4, {
        attempts: 5,
        baseDelayMs: 100,
        maxDelayMs: 500,
        jitter,
        random: () => 0.25,
      });
      await workflow.run("go");
      assert.deepEqual(delays, expected, `jitter ${jitter}`);
    }
  });

  test("uses factor for the growth of the backoff", async () => {
    const { workflow, delays } = flakyWorkflow(3, {
      attempts: 4,
      baseDelayMs: 10,
      factor: 3,
      jitter: "none",
    });
    await workflow.run("go");
    assert.deepEqual(delays, [10, 30, 90]);
  });

  test("stops waiting when the run is cancelled: no further attempt, status cancelled", async () => {
    const sleeping = deferred<AbortSignal>();
    let calls = 0;
    const flaky = defineExecutor({
      id: "flaky",
      handle: () => {
        calls++;
        throw new Error("flaky");
      },
    });
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((_resolve, reject) => {
        sleeping.resolve(signal);
        signal.addEventListener("abort", () => reject(signal.reason));
      });
    const workflow = new WorkflowBuilder({ name: "flaky", start: flaky })
      .use(retry({ executors: ["flaky"], sleep, attempts: 10 })).build();
    const controller = new AbortController();
    const run = workflow.run(null, { signal: controller.signal }).then((r) => r);
    const signal = await sleeping.promise;
    controller.abort();
    assert.equal(signal.aborted, true, "the sleep sees the executor's signal abort");
    const result = await run;
    assert.equal(result.status, "cancelled");
    assert.equal(calls, 1);
    assert.equal(retriedEvents(result.events).length, 0);
  });

  test("the default sleep is cut short by an abort instead of waiting out the delay", async () => {
    let calls = 0;
    const invoked = deferred();
    const flaky = defineExecutor({
      id: "flaky",
      handle: () => {
        calls++;
        invoked.resolve();
        throw new Error("flaky");
      },
    });
    // An hour of backoff: the test can only finish if the abort ends the wait.
    const workflow = new WorkflowBuilder({ name: "flaky", start: flaky })
      .use(retry({ executors: ["flaky"], baseDelayMs: 3_600_000, jitter: "none" })).build();
    const run = workflow.run(null);
    const result = run.then((r) => r);
    await invoked.promise;
    run.cancel();
    assert.equal((await result).status, "cancelled");
    assert.equal(calls, 1);
  });

  test("validates its options with TypeError and RangeError", () => {
    assert.throws(() => retry({} as RetryOptions), TypeError);
    assert.throws(() => retry({ executors: [1] } as unknown as RetryOptions), TypeError);
    assert.throws(() => retry({ executors: [], attempts: 0 }), RangeError);
    assert.throws(() => retry({ executors: [], attempts: 1.5 }), RangeError);
    assert.throws(() => retry({ executors: [], baseDelayMs: -1 }), RangeError);
    assert.throws(() => retry({ executors: [], maxDelayMs: Infinity }), RangeError);
    assert.throws(() => retry({ executors: [], jitter: "some" as "full" }), /Invalid retry jitter/);
    assert.throws(() => retry({ executors: [], sleep: 5 as unknown as RetryOptions["sleep"] }), TypeError);
    assert.equal(retry({ executors: [] }).name, "retry");
    assert.equal(retry({ executors: [], name: "again" }).name, "again");
  });
});
