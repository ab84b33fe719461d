import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  defineExecutor,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowAlreadyRunningError,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowRun,
} from "../mod.ts";
import { collectUntil, deferred, forceGc } from "./_helpers.ts";

/** A one-executor workflow whose handler waits until released or aborted, recording what happened. */
function blockingWorkflow() {
  const probe = {
    invoked: 0,
    aborted: 0,
    started: deferred(),
    release: deferred(),
  };
  const block = defineExecutor({
    id: "block",
    handle: async (input: string, ctx) => {
      probe.invoked++;
      probe.started.resolve();
      const aborted = new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      }).then(() => probe.aborted++);
      await Promise.race([probe.release.promise, aborted]);
      if (!ctx.signal.aborted) await ctx.yieldOutput(input);
    },
  });
  const workflow = new WorkflowBuilder({ name: "blocking", start: block }).build();
  return { workflow, probe };
}

function quickWorkflow(): Workflow {
  const echo = defineExecutor({ id: "echo", handle: (input: unknown, ctx) => ctx.yieldOutput(input) });
  return new WorkflowBuilder({ name: "quick", start: echo }).build();
}

function failingWorkflow(): Workflow {
  const boom = defineExecutor({
    id: "boom",
    handle: () => {
      throw new Error("boom");
    },
  });
  return new WorkflowBuilder({ name: "failing", start: boom }).build();
}

// Kept out of line so no reference to the handle survives in the caller's frame.
function startAndDropUnused(workflow: Workflow): void {
  workflow.run("dropped");
}

async function startAndDropMidIteration(
  workflow: Workflow,
  started: Promise<void>,
  options = {},
): Promise<void> {
  const iterator = workflow.run("dropped", options)[Symbol.asyncIterator]();
  await iterator.next();
  await started;
}

describe("Workflow run guard", () => {
  test("run() throws WorkflowAlreadyRunningError synchronously while a handle is live, even unstarted", () => {
    const workflow = quickWorkflow();
    const first = workflow.run(1);
    assert.throws(() => workflow.run(2), WorkflowAlreadyRunningError);
    assert.throws(() => workflow.respond({}), WorkflowAlreadyRunningError);
    assert.equal(workflow.isRunning, true);
    return first.then((result) => assert.deepEqual(result.outputs, [1]));
  });

  test("run(), resume() and respond() throw synchronously while a run is in progress", async () => {
    const { workflow, probe } = blockingWorkflow();
    const running = workflow.run("a");
    const done = running.then((r) => r);
    await probe.started.promise;
    assert.throws(() => workflow.run("b"), WorkflowAlreadyRunningError);
    assert.throws(
      () => workflow.resume("x", { storage: new MemoryCheckpointStorage() }),
      WorkflowAlreadyRunningError,
    );
    assert.throws(() => workflow.respond({ r: 1 }), WorkflowAlreadyRunningError);
    probe.release.resolve();
    assert.deepEqual((await done).outputs, ["a"]);
  });

  test("a run releases the guard when awaited to completion", async () => {
    const workflow = quickWorkflow();
    await workflow.run(1);
    assert.equal(workflow.isRunning, false);
    assert.deepEqual((await workflow.run(2)).outputs, [2]);
  });

  test("a run releases the guard when iterated to the end", async () => {
    const workflow = quickWorkflow();
    const types: string[] = [];
    for await (const event of workflow.run(1)) types.push(event.type);
    assert.equal(types.at(-1), "status");
    assert.equal(workflow.isRunning, false);
    assert.deepEqual((await workflow.run(2)).outputs, [2]);
  });

  test("for await … break cancels the run and releases the guard promptly", async () => {
    const { workflow, probe } = blockingWorkflow();
    for await (const event of workflow.run("a")) {
      if (event.type === "executor-invoked") break;
    }
    assert.equal(workflow.isRunning, false);
    assert.equal(probe.aborted, 1, "the blocked executor saw its signal abort");
    const next = workflow.run("b");
    probe.release.resolve();
    assert.deepEqual((await next).outputs, ["b"]);
  });

  test("a failed run releases the guard", async () => {
    const workflow = failingWorkflow();
    await assert.rejects(workflow.run(1));
    assert.equal(workflow.isRunning, false);
    await assert.rejects(workflow.run(2), /boom/);
  });

  test("a cancelled run releases the guard", async () => {
    const { workflow, probe } = blockingWorkflow();
    const controller = new AbortController();
    const run = workflow.run("a", { signal: controller.signal }).then((r) => r);
    await probe.started.promise;
    controller.abort();
    assert.equal((await run).status, "cancelled");
    assert.equal(workflow.isRunning, false);
    probe.release.resolve();
    assert.deepEqual((await workflow.run("b")).outputs, ["b"]);
  });

  test("WorkflowRun.cancel() before start: the run never invokes an executor and the guard is free", async () => {
    const { workflow, probe } = blockingWorkflow();
    const run = workflow.run("a");
    run.cancel();
    assert.equal(workflow.isRunning, false);
    assert.equal((await run).status, "cancelled");
    assert.equal(probe.invoked, 0);
  });

  test("a never-started handle that is dropped releases the guard once collected", async () => {
    const workflow = quickWorkflow();
    startAndDropUnused(workflow);
    assert.equal(workflow.isRunning, true, "the dropped handle still holds the guard before collection");
    assert.ok(await collectUntil(() => !workflow.isRunning), "the guard was released after collection");
    assert.deepEqual((await workflow.run(3)).outputs, [3]);
  });

  test("a partially iterated handle that is dropped releases the guard and its work is aborted", async () => {
    const { workflow, probe } = blockingWorkflow();
    await startAndDropMidIteration(workflow, probe.started.promise);
    assert.equal(workflow.isRunning, true);
    assert.ok(await collectUntil(() => !workflow.isRunning && probe.aborted === 1), "collected and aborted");
    const next = workflow.run("b");
    probe.release.resolve();
    assert.deepEqual((await next).outputs, ["b"]);
  });

  test("a late finalizer of a dropped run clears neither a successor's guard nor its per-run storage", async () => {
    const { workflow, probe } = blockingWorkflow();
    const oldStorage = new MemoryCheckpointStorage();
    const newStorage = new MemoryCheckpointStorage();
    await startAndDropMidIteration(workflow, probe.started.promise, { storage: oldStorage });

    // Start the successor in the same synchronous turn as the collection that freed the guard,
    // before the dropped run's finalizer (a later task) has run.
    let successor: WorkflowRun | undefined;
    let abortedWhenSuccessorStarted = -1;
    for (let round = 0; round < 50 && successor === undefined; round++) {
      forceGc();
      if (!workflow.isRunning) {
        abortedWhenSuccessorStarted = probe.aborted;
        successor = workflow.run("successor", { storage: newStorage });
      } else await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.ok(successor, "the dropped handle was collected");
    assert.equal(abortedWhenSuccessorStarted, 0, "the successor started before the old finalizer ran");
    const secondBlock = deferred();
    probe.started = secondBlock as typeof probe.started;
    const result = successor.then((r) => r);
    await secondBlock.promise;

    assert.ok(await collectUntil(() => probe.aborted === 1), "the old run's finalizer ran and aborted it");
    assert.equal(workflow.isRunning, true, "the successor still holds the guard");
    assert.throws(() => workflow.run("third"), WorkflowAlreadyRunningError);

    probe.release.resolve();
    const { outputs, checkpointId, sessionId } = await result;
    assert.deepEqual(outputs, ["successor"]);
    assert.ok(
      checkpointId && await newStorage.load(checkpointId),
      "the successor checkpointed to its own storage",
    );
    assert.equal(
      (await newStorage.list({ sessionId })).length,
      2,
      "entry + one superstep in the new storage",
    );
    assert.equal(
      (await oldStorage.list({ sessionId })).length,
      0,
      "nothing of the successor in the old storage",
    );
    assert.equal(workflow.isRunning, false);
  });

  test("a per-run storage is not inherited by the next run", async () => {
    const builderStorage = new MemoryCheckpointStorage();
    const perRun = new MemoryCheckpointStorage();
    const echo = defineExecutor({ id: "echo", handle: (input: unknown, ctx) => ctx.yieldOutput(input) });
    const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(builderStorage)
      .build();
    const first = await workflow.run(1, { storage: perRun });
    const second = await workflow.run(2);
    assert.ok(await perRun.load(first.checkpointId!));
    assert.equal(await perRun.load(second.checkpointId!), undefined);
    assert.ok(await builderStorage.load(second.checkpointId!));
    assert.equal(await builderStorage.load(first.checkpointId!), undefined);
  });

  test("awaited runs in one job do not keep each other alive (the guard holds no run weakly)", async () => {
    // A WeakRef keeps its target until the job that made it ends, and a loop of awaited runs is one job:
    // were the guard's WeakRef on the run handle, every run's events (here ~4,000 each) would stay.
    const steps = 1000;
    const loop = defineExecutor({
      id: "loop",
      handle: async (count: number, ctx: WorkflowContext<number, number>) => {
        if (count + 1 < steps) await ctx.send(count + 1);
        else await ctx.yieldOutput(count + 1);
      },
    });
    const workflow = new WorkflowBuilder({ name: "long-runs", start: loop, maxSupersteps: steps + 10 })
      .addEdge(loop, loop)
      .build();
    await workflow.run(0);
    forceGc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i++) assert.deepEqual((await workflow.run(0)).outputs, [steps]);
    forceGc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 3_000_000, `the heap grew by ${grown} bytes over 40 runs`);
  });
});
