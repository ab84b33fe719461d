// Checkpoint writing: one per superstep plus the entry, what a checkpoint holds, where it goes, and what
// happens when saving or encoding fails.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Checkpoint,
  CheckpointEncodeError,
  CheckpointSaveError,
  type CheckpointStorage,
  type CheckpointSummary,
  defineExecutor,
  Executor,
  lineage,
  MemoryCheckpointStorage,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
  type WorkflowRun,
} from "../mod.ts";
import { assertDeleteWhileRunning, DelegatingStorage } from "./_fixtures.ts";

/** Adds every message to a running total kept in its own (checkpointed) state and in shared state. */
class Tally extends Executor<number, number> {
  total = 0;
  constructor() {
    super("tally");
  }
  async handle(n: number, ctx: WorkflowContext<number>): Promise<void> {
    this.total += n;
    ctx.state.set("total", this.total);
    await ctx.send(this.total);
  }
  override snapshot(): { total: number } {
    return { total: this.total };
  }
  override restore(state: { total: number }): void {
    this.total = state.total;
  }
}

/** tally → double → emit: three supersteps after the entry checkpoint. */
function linear(storage?: CheckpointStorage) {
  const tally = new Tally();
  const double = defineExecutor({
    id: "double",
    handle: async (n: number, ctx) => await ctx.send(n * 2),
  });
  const emit = defineExecutor({
    id: "emit",
    handle: async (n: number, ctx) => await ctx.yieldOutput({ n, total: ctx.state.get("total") }),
  });
  const builder = new WorkflowBuilder({ name: "linear", start: tally }).addChain([tally, double, emit]);
  if (storage) builder.withCheckpointing(storage);
  return builder.build();
}

/** Remembers what it saw, writes shared state, asks a question and fans out to a join through a hop. */
class Recorder extends Executor<string, string> {
  seen: string[] = [];
  constructor() {
    super("start");
  }
  async handle(text: string, ctx: WorkflowContext<string>): Promise<void> {
    this.seen.push(text);
    ctx.state.set("greeting", text);
    await ctx.requestInfo({ question: `approve ${text}?` });
    await ctx.send(text);
  }
  override onResponse(): void {}
  override snapshot(): { seen: string[] } {
    return { seen: [...this.seen] };
  }
  override restore(state: { seen: string[] }): void {
    this.seen = [...state.seen];
  }
}

/**
 * start → fan-out [a, hop]; hop → b; fan-in [a, b] → join. `a` reaches the join one superstep before `b`, so
 * the checkpoint of superstep 3 holds a fan-in buffer.
 */
function rich(storage: CheckpointStorage) {
  const start = new Recorder();
  const a = defineExecutor({ id: "a", handle: async (t: string, ctx) => await ctx.send(`a:${t}`) });
  const hop = defineExecutor({ id: "hop", handle: async (t: string, ctx) => await ctx.send(`hop:${t}`) });
  const b = defineExecutor({ id: "b", handle: async (t: string, ctx) => await ctx.send(`b:${t}`) });
  const join = defineExecutor({
    id: "join",
    handle: async (parts: string[], ctx) => await ctx.yieldOutput(parts),
  });
  return new WorkflowBuilder({ name: "rich", start })
    .addFanOut(start, [a, hop])
    .addEdge(hop, b)
    .addFanIn([a, b], join)
    .withCheckpointing(storage)
    .build();
}

/** A storage that delegates to memory and rejects its `failOn`-th save (1-based) with `error`. */
class FaultyStorage extends DelegatingStorage {
  readonly error: Error;
  failOn: number;
  saves = 0;
  constructor(failOn: number, error: Error) {
    super(new MemoryCheckpointStorage());
    this.failOn = failOn;
    this.error = error;
  }
  override save(checkpoint: Checkpoint): Promise<void> {
    this.saves++;
    if (this.saves === this.failOn) return Promise.reject(this.error);
    return this.inner.save(checkpoint);
  }
}

/** Every event of a run, and the error it failed with (if any). */
async function drain(run: WorkflowRun): Promise<{ events: WorkflowEvent[]; error?: unknown }> {
  const events: WorkflowEvent[] = [];
  try {
    for await (const event of run) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

function completedSupersteps(events: WorkflowEvent[]) {
  return events.filter((e): e is Extract<WorkflowEvent, { type: "superstep-completed" }> =>
    e.type === "superstep-completed"
  );
}

/** A session's checkpoints, oldest first. */
async function sessionCheckpoints(
  storage: CheckpointStorage,
  sessionId: string,
): Promise<CheckpointSummary[]> {
  return (await storage.list({ sessionId })).reverse();
}

async function loadOrFail(storage: CheckpointStorage, id: string | undefined): Promise<Checkpoint> {
  assert.equal(typeof id, "string", "expected a checkpoint id");
  const checkpoint = await storage.load(id!);
  assert.ok(checkpoint, `checkpoint ${id} does not load`);
  return checkpoint;
}

describe("Workflow.run() checkpoint cadence", () => {
  test("Workflow.run() writes the entry checkpoint plus exactly one checkpoint per superstep", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = await linear(storage).run(1);
    const completed = completedSupersteps(result.events);
    assert.deepEqual(completed.map((e) => e.superstep), [0, 1, 2, 3]);
    const stored = await sessionCheckpoints(storage, result.sessionId);
    assert.equal(stored.length, completed.length);
    assert.deepEqual(stored.map((s) => s.id), completed.map((e) => e.checkpointId));
  });

  test("Workflow.run() emits superstep-completed events whose checkpointId loads with that superstep", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = await linear(storage).run(1);
    for (const event of completedSupersteps(result.events)) {
      const checkpoint = await loadOrFail(storage, event.checkpointId);
      assert.equal(checkpoint.superstep, event.superstep);
      assert.equal(checkpoint.sessionId, result.sessionId);
    }
  });

  test("Workflow.run() chains parents in order from an entry checkpoint with parent null at superstep 0", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = await linear(storage).run(1);
    const stored = await sessionCheckpoints(storage, result.sessionId);
    assert.equal(stored[0].parentId, null);
    assert.equal(stored[0].superstep, 0);
    for (let i = 1; i < stored.length; i++) {
      assert.equal(
        stored[i].parentId,
        stored[i - 1].id,
        `checkpoint ${i} does not follow checkpoint ${i - 1}`,
      );
      assert.equal(stored[i].superstep, i);
    }
    assert.equal(result.checkpointId, stored[stored.length - 1].id);
    assert.equal(await storage.head(result.sessionId), result.checkpointId);
  });

  test("Workflow.resume() with fork writes the fork's first checkpoint at the resumed superstep, then continues the cumulative index", async () => {
    const storage = new MemoryCheckpointStorage();
    const first = await linear(storage).run(1);
    const entry = completedSupersteps(first.events)[0].checkpointId!;
    const resumed = await linear(storage).resume(entry, { fork: true });
    const completed = completedSupersteps(resumed.events);
    assert.deepEqual(completed.map((e) => e.superstep), [0, 1, 2, 3]);
    assert.equal(
      resumed.events.filter((e) => e.type === "superstep-started").length,
      3,
      "no superstep 0 runs again",
    );
    const stored = await sessionCheckpoints(storage, resumed.sessionId);
    assert.deepEqual(stored.map((s) => s.id), completed.map((e) => e.checkpointId));
    assert.deepEqual(stored.map((s) => s.superstep), [0, 1, 2, 3]);
    assert.equal(stored[0].parentId, entry);
    const { id: _, parentId: __, sessionId: ___, createdAt: ____, ...forked } = await loadOrFail(
      storage,
      stored[0].id,
    );
    const { id: _a, parentId: _b, sessionId: _c, createdAt: _d, ...original } = (await storage.load(entry))!;
    assert.deepEqual(forked, original, "the fork's first checkpoint holds the resumed one's run");
  });

  test("Workflow.resume() of the head without fork or answers writes nothing before its first superstep", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = rich(storage);
    const first = await workflow.run("hi");
    const before = await sessionCheckpoints(storage, first.sessionId);
    const resumed = await rich(storage).resume(first.checkpointId!);
    assert.deepEqual(completedSupersteps(resumed.events), []);
    assert.equal((await sessionCheckpoints(storage, first.sessionId)).length, before.length);
    assert.equal(resumed.checkpointId, first.checkpointId);
  });

  test("Workflow.respond() records the answers in a checkpoint at the paused superstep, then one per superstep it runs", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = rich(storage);
    const first = await workflow.run("hi");
    assert.equal(first.status, "idle-pending-requests");
    const before = await sessionCheckpoints(storage, first.sessionId);
    const answered = await workflow.respond({ [first.pendingRequests[0].requestId]: "yes" });
    const completed = completedSupersteps(answered.events);
    assert.deepEqual(completed.map((e) => e.superstep), [4, 5]);
    const after = await sessionCheckpoints(storage, first.sessionId);
    assert.equal(after.length, before.length + 2);
    const [recorded, last] = await Promise.all(after.slice(-2).map((s) => loadOrFail(storage, s.id)));
    assert.deepEqual([recorded.id, last.id], completed.map((e) => e.checkpointId));
    assert.equal(recorded.parentId, first.checkpointId);
    assert.deepEqual(recorded.pendingRequests, []);
    assert.deepEqual(recorded.answers, [{ request: first.pendingRequests[0], response: "yes" }]);
    assert.equal(last.parentId, recorded.id);
    assert.equal(last.answers, undefined, "handled answers are not carried on");
  });
});

describe("Checkpoint contents", () => {
  async function richCheckpoints() {
    const storage = new MemoryCheckpointStorage();
    const workflow = rich(storage);
    const result = await workflow.run("hi");
    const checkpoints: Checkpoint[] = [];
    for (const event of completedSupersteps(result.events)) {
      checkpoints.push(await loadOrFail(storage, event.checkpointId));
    }
    return { workflow, result, checkpoints };
  }

  test("Workflow.run() checkpoints hold the shared state committed by that superstep", async () => {
    const { checkpoints } = await richCheckpoints();
    assert.deepEqual(checkpoints[0].state, {});
    assert.deepEqual(checkpoints[1].state, { greeting: "hi" });
    assert.deepEqual(checkpoints[4].state, { greeting: "hi" });
  });

  test("Workflow.run() checkpoints hold the in-flight messages for the next superstep", async () => {
    const { checkpoints } = await richCheckpoints();
    assert.deepEqual(checkpoints[0].messages, [{ source: "__input__", data: "hi", to: "start" }]);
    assert.deepEqual(checkpoints[1].messages, [{ source: "start", data: "hi" }]);
    assert.deepEqual(checkpoints[2].messages, [{ source: "a", data: "a:hi" }, {
      source: "hop",
      data: "hop:hi",
    }]);
    assert.deepEqual(checkpoints[3].messages, [{ source: "b", data: "b:hop:hi" }]);
    assert.deepEqual(checkpoints[4].messages, []);
  });

  test("Workflow.run() checkpoints hold each snapshot() executor's state", async () => {
    const { checkpoints } = await richCheckpoints();
    assert.deepEqual(checkpoints[0].executorState, { start: { seen: [] } });
    assert.deepEqual(checkpoints[1].executorState, { start: { seen: ["hi"] } });
  });

  test("Workflow.run() checkpoints hold fan-in buffers while a join waits", async () => {
    const { result, checkpoints } = await richCheckpoints();
    assert.deepEqual(checkpoints[2].edgeState, {});
    assert.deepEqual(Object.values(checkpoints[3].edgeState), [{ a: ["a:hi"] }]);
    assert.deepEqual(checkpoints[4].edgeState, {});
    assert.deepEqual(result.outputs, [["a:hi", "b:hop:hi"]]);
  });

  test("Workflow.run() checkpoints hold the pending requests", async () => {
    const { result, checkpoints } = await richCheckpoints();
    assert.deepEqual(checkpoints[0].pendingRequests, []);
    assert.equal(result.pendingRequests.length, 1);
    const expected = [{
      requestId: result.pendingRequests[0].requestId,
      executorId: "start",
      data: { question: "approve hi?" },
    }];
    assert.deepEqual(result.pendingRequests, expected);
    for (const checkpoint of checkpoints.slice(1)) assert.deepEqual(checkpoint.pendingRequests, expected);
  });

  test("Workflow.run() checkpoints carry version 1, graphSignature, workflowName, sessionId and createdAt", async () => {
    const { workflow, result, checkpoints } = await richCheckpoints();
    const signature = await workflow.graphSignature();
    assert.match(signature, /^[0-9a-f]{64}$/);
    for (const checkpoint of checkpoints) {
      assert.equal(checkpoint.version, 1);
      assert.equal(checkpoint.graphSignature, signature);
      assert.equal(checkpoint.workflowName, "rich");
      assert.equal(checkpoint.sessionId, result.sessionId);
      assert.equal(new Date(checkpoint.createdAt).toISOString(), checkpoint.createdAt);
      assert.deepEqual(checkpoint.metadata, {});
    }
  });
});

describe("Checkpoint storage selection", () => {
  test("Workflow.run() without any storage reports no checkpointId anywhere", async () => {
    const result = await linear().run(1);
    assert.equal(result.status, "idle");
    assert.equal(result.checkpointId, undefined);
    const completed = completedSupersteps(result.events);
    assert.deepEqual(completed.map((e) => e.superstep), [0, 1, 2, 3]);
    for (const event of completed) assert.equal(event.checkpointId, undefined);
  });

  test("Workflow.run() storage option overrides the builder's storage for that run only", async () => {
    const builderStorage = new MemoryCheckpointStorage();
    const runStorage = new MemoryCheckpointStorage();
    const workflow = linear(builderStorage);

    const first = await workflow.run(1, { storage: runStorage });
    assert.equal((await runStorage.list()).length, 4);
    assert.equal((await builderStorage.list()).length, 0);
    assert.ok(await runStorage.load(first.checkpointId!));

    const second = await workflow.run(1);
    assert.equal((await runStorage.list()).length, 4, "the per-run storage leaked into the next run");
    assert.equal((await builderStorage.list()).length, 4);
    assert.ok(await builderStorage.load(second.checkpointId!));
  });

  test("Workflow.run() storage option does not leak into a later run of a workflow without storage", async () => {
    const runStorage = new MemoryCheckpointStorage();
    const workflow = linear();
    await workflow.run(1, { storage: runStorage });
    const second = await workflow.run(1);
    assert.equal(second.checkpointId, undefined);
    assert.equal((await runStorage.list()).length, 4);
  });

  test("Workflow.run() with an existing sessionId appends: its entry checkpoint's parent is the session head", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = linear(storage);
    const first = await workflow.run(1, { sessionId: "orders-1" });
    assert.equal(first.sessionId, "orders-1");
    const previousHead = await storage.head("orders-1");
    assert.equal(previousHead, first.checkpointId);

    const second = await workflow.run(2, { sessionId: "orders-1" });
    const entry = await loadOrFail(storage, completedSupersteps(second.events)[0].checkpointId);
    assert.equal(entry.parentId, previousHead);
    assert.equal(entry.superstep, 0);
    assert.equal(entry.sessionId, "orders-1");
    assert.equal(await storage.head("orders-1"), second.checkpointId);

    const path = await lineage(storage, second.checkpointId!);
    assert.equal(path.length, 8);
    assert.equal(path.filter((s) => s.parentId === null).length, 1);
    assert.equal(path[path.length - 1].parentId, null);
  });
});

describe("Checkpoint save failures", () => {
  test("Workflow.run() fails with CheckpointSaveError carrying the storage's error when a save throws", async () => {
    const injected = new Error("disk full");
    const storage = new FaultyStorage(3, injected);
    const { events, error } = await drain(linear(storage).run(1));
    assert.ok(error instanceof CheckpointSaveError, `expected CheckpointSaveError, got ${error}`);
    assert.equal(error.cause, injected);
    assert.equal(storage.saves, 3);
    const last = events.slice(-2);
    assert.equal(last[0].type, "failed");
    assert.equal((last[0] as { error: unknown }).error, error);
    assert.deepEqual(last[1], { type: "status", state: "failed" });
    assert.deepEqual(completedSupersteps(events).map((e) => e.superstep), [0, 1]);
  });

  test("Workflow.run() rejects its promise with the CheckpointSaveError", async () => {
    const injected = new Error("connection reset");
    const storage = new FaultyStorage(1, injected);
    await assert.rejects(linear(storage).run(1), (error) => {
      assert.ok(error instanceof CheckpointSaveError);
      assert.equal(error.cause, injected);
      return true;
    });
    assert.equal((await storage.list()).length, 0);
  });

  test("Workflow.resume() completes a run whose save failed from the last saved checkpoint", async () => {
    const uninterrupted = await linear(new MemoryCheckpointStorage()).run(5);

    const storage = new FaultyStorage(3, new Error("disk full"));
    const { events, error } = await drain(linear(storage).run(5));
    assert.ok(error instanceof CheckpointSaveError);
    const lastSaved = completedSupersteps(events).at(-1)!.checkpointId!;
    const sessionId = (events[0] as { sessionId: string }).sessionId;
    assert.equal(await storage.head(sessionId), lastSaved);
    const checkpoint = await loadOrFail(storage, lastSaved);
    assert.equal(checkpoint.superstep, 1);
    assert.deepEqual(checkpoint.executorState, { tally: { total: 5 } });

    const resumed = await linear(storage).resume(lastSaved);
    assert.equal(resumed.status, "idle");
    assert.deepEqual(resumed.outputs, uninterrupted.outputs);
    assert.deepEqual(resumed.outputs, [{ n: 10, total: 5 }]);
    const stored = await sessionCheckpoints(storage, sessionId);
    assert.deepEqual(stored.map((s) => s.superstep), [0, 1, 2, 3]);
    assert.equal(stored[2].parentId, lastSaved);
  });

  test("Workflow.run() fails with CheckpointEncodeError naming the path of a function in a snapshot", async () => {
    class Holder extends Executor<string, never> {
      callback: unknown = null;
      constructor() {
        super("holder");
      }
      handle(): void {
        this.callback = () => {};
      }
      override snapshot(): { callback: unknown } {
        return { callback: this.callback };
      }
      override restore(state: { callback: unknown }): void {
        this.callback = state.callback;
      }
    }
    const storage = new MemoryCheckpointStorage();
    const workflow = new WorkflowBuilder({ name: "holder", start: new Holder() }).withCheckpointing(storage)
      .build();
    const { events, error } = await drain(workflow.run("x"));
    assert.ok(error instanceof CheckpointEncodeError, `expected CheckpointEncodeError, got ${error}`);
    assert.equal(error.path, ".executorState.holder.callback");
    assert.match(error.message, /\.executorState\.holder\.callback/);
    assert.deepEqual(events.at(-1), { type: "status", state: "failed" });
    // The entry checkpoint was written; the broken one was not.
    assert.equal((await storage.list()).length, 1);
  });
});

describe("Executor state across fresh runs", () => {
  test("Workflow.run() resets class executors with snapshot()/restore() to their built state", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = linear(storage);
    const first = await workflow.run(3);
    const second = await workflow.run(3);
    assert.deepEqual(first.outputs, [{ n: 6, total: 3 }]);
    assert.deepEqual(second.outputs, first.outputs);
    const entry = await loadOrFail(storage, completedSupersteps(second.events)[0].checkpointId);
    assert.deepEqual(entry.executorState, { tally: { total: 0 } });
  });

  test("Workflow.run() after a resume starts from the built state, not the restored one", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = linear(storage);
    const first = await workflow.run(4);
    const middle = completedSupersteps(first.events)[2].checkpointId!;
    await workflow.resume(middle, { fork: true });
    const fresh = await workflow.run(4);
    assert.deepEqual(fresh.outputs, [{ n: 8, total: 4 }]);
  });
});

describe("deleting a session while a run writes to it", () => {
  test("deleteSession() mid-run wins: the run's next save is refused (parent-missing), the run fails, the session stays empty (memory)", async () => {
    await assertDeleteWhileRunning(new MemoryCheckpointStorage());
  });
});
