// Resuming checkpoints: ancestry across instances, human in the loop, concurrent resumers, forks, fan-in
// buffers, mismatches, cancellation and the convergence cap. Every "fresh instance" is a new workflow built
// from new executor objects, as another process would build it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Checkpoint,
  CheckpointConflictError,
  CheckpointCorruptError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  type CheckpointStorage,
  type CheckpointSummary,
  defineExecutor,
  Executor,
  ExecutorFailedError,
  lineage,
  MemoryCheckpointStorage,
  RequestNotPendingError,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowConvergenceError,
  type WorkflowEvent,
  type WorkflowResult,
} from "../mod.ts";
import { approvals, DelegatingStorage, Tally } from "./_fixtures.ts";

interface LinearOptions {
  /** Where the workflow checkpoints; none if omitted. */
  storage?: CheckpointStorage;
  /** Makes `double` throw. */
  failDouble?: boolean;
  /** `double` aborts this controller (as a user's code would) before it sends. */
  abortInDouble?: AbortController;
  /** Graph variations for mismatch tests. */
  name?: string;
  doubleVersion?: string;
  extraEdge?: boolean;
}

/** tally → double → emit: the entry checkpoint, then supersteps 1, 2, 3. */
function linear(options: LinearOptions = {}) {
  const tally = new Tally();
  const double = defineExecutor({
    id: "double",
    version: options.doubleVersion,
    handle: async (n: number, ctx) => {
      if (options.failDouble) throw new Error("double broke");
      options.abortInDouble?.abort(new Error("stop in double"));
      await ctx.send(n * 2);
    },
  });
  const emit = defineExecutor({ id: "emit", handle: async (n: number, ctx) => await ctx.yieldOutput(n) });
  const builder = new WorkflowBuilder({ name: options.name ?? "linear", start: tally }).addChain([
    tally,
    double,
    emit,
  ]);
  if (options.extraEdge) builder.addEdge(tally, emit);
  if (options.storage) builder.withCheckpointing(options.storage);
  return builder.build();
}

/** feed → fan-out [tally, delay]; delay → tally; tally → emit: tally adds the input twice, a superstep apart. */
function twice(storage: CheckpointStorage) {
  const feed = defineExecutor({ id: "feed", handle: async (n: number, ctx) => await ctx.send(n) });
  const tally = new Tally();
  const delay = defineExecutor({ id: "delay", handle: async (n: number, ctx) => await ctx.send(n) });
  const emit = defineExecutor({ id: "emit", handle: async (n: number, ctx) => await ctx.yieldOutput(n) });
  return new WorkflowBuilder({ name: "twice", start: feed })
    .addFanOut(feed, [tally, delay])
    .addEdge(delay, tally)
    .addEdge(tally, emit)
    .withCheckpointing(storage)
    .build();
}

/** start → fan-out [a, hop]; hop → b; fan-in [a, b] → join: `a` arrives one superstep before `b`. */
function join(storage: CheckpointStorage) {
  const start = defineExecutor({ id: "start", handle: async (t: string, ctx) => await ctx.send(t) });
  const a = defineExecutor({ id: "a", handle: async (t: string, ctx) => await ctx.send(`a(${t})`) });
  const hop = defineExecutor({ id: "hop", handle: async (t: string, ctx) => await ctx.send(t) });
  const b = defineExecutor({ id: "b", handle: async (t: string, ctx) => await ctx.send(`b(${t})`) });
  const joined = defineExecutor({
    id: "joined",
    handle: async (parts: string[], ctx) => await ctx.yieldOutput(parts),
  });
  return new WorkflowBuilder({ name: "join", start })
    .addFanOut(start, [a, hop])
    .addEdge(hop, b)
    .addFanIn([a, b], joined)
    .withCheckpointing(storage)
    .build();
}

/** A self-loop that counts from its input to `target`, one superstep per step, then yields the count. */
function counter(storage: CheckpointStorage, target: number, maxSupersteps: number) {
  const loop = defineExecutor({
    id: "loop",
    handle: async (n: number, ctx) => {
      if (n >= target) await ctx.yieldOutput(n);
      else await ctx.send(n + 1);
    },
  });
  return new WorkflowBuilder({ name: "counter", start: loop, maxSupersteps })
    .addEdge(loop, loop)
    .withCheckpointing(storage)
    .build();
}

/**
 * Holds every save until `head` has been asked `readers` times, so that several resumers all pass the
 * "is it the head?" check before any of them writes: only the storage's compare-and-set can stop the loser.
 */
class HeadBarrierStorage extends DelegatingStorage {
  headCalls = 0;
  #readers: number;
  #open: Promise<void>;
  #release!: () => void;
  constructor(inner: MemoryCheckpointStorage, readers: number) {
    super(inner);
    this.#readers = readers;
    this.#open = new Promise((resolve) => this.#release = resolve);
  }
  override head(sessionId: string): Promise<string | undefined> {
    if (++this.headCalls === this.#readers) this.#release();
    return super.head(sessionId);
  }
  override async save(checkpoint: Checkpoint): Promise<void> {
    await this.#open;
    return super.save(checkpoint);
  }
}

/** Every event of a run, and the error it failed with (if any). */
async function drain(
  run: AsyncIterable<WorkflowEvent>,
): Promise<{ events: WorkflowEvent[]; error?: unknown }> {
  const events: WorkflowEvent[] = [];
  try {
    for await (const event of run) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

/** The checkpoint ids of a call's `superstep-completed` events, in order. */
function checkpointIds(result: { events: WorkflowEvent[] }): string[] {
  return result.events.flatMap((e) =>
    e.type === "superstep-completed" && e.checkpointId ? [e.checkpointId] : []
  );
}

function invoked(events: WorkflowEvent[]): string[] {
  return events.flatMap((e) => e.type === "executor-invoked" ? [e.executorId] : []);
}

/** A session's checkpoints, oldest first. */
async function sessionCheckpoints(
  storage: CheckpointStorage,
  sessionId: string,
): Promise<CheckpointSummary[]> {
  return (await storage.list({ sessionId })).reverse();
}

/** Asserts exactly one of two runs fulfilled and returns its result and the other's rejection reason. */
function oneWinner(
  settled: PromiseSettledResult<WorkflowResult>[],
): { winner: WorkflowResult; loser: unknown } {
  const fulfilled = settled.filter((s): s is PromiseFulfilledResult<WorkflowResult> =>
    s.status === "fulfilled"
  );
  const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
  assert.equal(fulfilled.length, 1, "expected exactly one resume to fulfil");
  assert.equal(rejected.length, 1, "expected exactly one resume to reject");
  return { winner: fulfilled[0].value, loser: rejected[0].reason };
}

/** Asserts `path` (from `lineage`) is one chain: each entry's parent is the next, ending at a single root. */
function assertSingleRoot(path: CheckpointSummary[]): void {
  assert.ok(path.length > 0);
  for (let i = 0; i < path.length - 1; i++) assert.equal(path[i].parentId, path[i + 1].id);
  assert.equal(path[path.length - 1].parentId, null);
  assert.equal(path.filter((s) => s.parentId === null).length, 1);
}

/** Asserts a session is one unbroken chain, oldest first, with exactly one root. */
function assertUnbrokenSession(checkpoints: CheckpointSummary[]): void {
  assert.equal(checkpoints.filter((s) => s.parentId === null).length, 1, "expected exactly one root");
  assert.equal(checkpoints[0].parentId, null);
  for (let i = 1; i < checkpoints.length; i++) {
    assert.equal(checkpoints[i].parentId, checkpoints[i - 1].id, `checkpoint ${i} does not follow ${i - 1}`);
  }
}

async function completedRun(storage: CheckpointStorage): Promise<{ result: WorkflowResult; ids: string[] }> {
  const result = await linear({ storage }).run(3);
  assert.equal(result.status, "idle");
  assert.deepEqual(result.outputs, [6]);
  const ids = checkpointIds(result);
  assert.equal(ids.length, 4);
  return { result, ids };
}

describe("Workflow.resume() ancestry", () => {
  test("Workflow.resume() of a middle checkpoint on a fresh instance writes the resumed checkpoint's child first", async () => {
    const storage = new MemoryCheckpointStorage();
    const { ids } = await completedRun(storage);
    const middle = ids[1];

    const resumed = await linear({ storage }).resume(middle, { fork: true });
    assert.equal(resumed.status, "idle");
    assert.deepEqual(resumed.outputs, [6]);
    const written = checkpointIds(resumed);
    assert.equal(written.length, 3, "the fork's first checkpoint, then one per superstep");
    assert.equal((await storage.load(written[0]))!.parentId, middle);
    assert.equal((await storage.load(written[1]))!.parentId, written[0]);
    assert.equal((await storage.load(written[2]))!.parentId, written[1]);
    assert.equal(resumed.checkpointId, written[2]);
  });

  test("lineage() of a run resumed from a middle checkpoint walks back to the original run's single root", async () => {
    const storage = new MemoryCheckpointStorage();
    const { ids } = await completedRun(storage);
    const resumed = await linear({ storage }).resume(ids[1], { fork: true });

    const path = await lineage(storage, resumed.checkpointId!);
    assertSingleRoot(path);
    assert.deepEqual(path.map((s) => s.id), [...checkpointIds(resumed).reverse(), ids[1], ids[0]]);
  });

  test("Workflow.resume() of the head without fork on a fresh instance continues the same session", async () => {
    const storage = new MemoryCheckpointStorage();
    const stop = new AbortController();
    const cancelled = await linear({ storage, abortInDouble: stop }).run(3, { signal: stop.signal });
    assert.equal(cancelled.status, "cancelled");
    const head = cancelled.checkpointId!;
    assert.equal(await storage.head(cancelled.sessionId), head);

    const resumed = await linear({ storage }).resume(head);
    assert.equal(resumed.sessionId, cancelled.sessionId);
    assert.deepEqual(resumed.outputs, [6]);
    const written = checkpointIds(resumed);
    assert.equal((await storage.load(written[0]))!.parentId, head);
    assertUnbrokenSession(await sessionCheckpoints(storage, cancelled.sessionId));
    assertSingleRoot(await lineage(storage, resumed.checkpointId!));
  });

  test("Workflow.resume() on a fresh instance restores class executors' snapshot() state", async () => {
    const storage = new MemoryCheckpointStorage();
    const original = await twice(storage).run(5);
    assert.deepEqual(original.outputs, [5, 10]);
    const afterFirstAdd = checkpointIds(original)[2];
    assert.deepEqual((await storage.load(afterFirstAdd))!.executorState, { tally: { total: 5 } });

    const resumed = await twice(storage).resume(afterFirstAdd, { fork: true });
    assert.deepEqual(resumed.outputs, [5, 10]);
  });

  test("Workflow.run() after a failed resume on the same instance writes an entry checkpoint with parent null", async () => {
    const storage = new MemoryCheckpointStorage();
    const { ids } = await completedRun(storage);
    const options: LinearOptions = { storage, failDouble: true };
    const workflow = linear(options);

    await assert.rejects(workflow.resume(ids[1], { fork: true }), ExecutorFailedError);
    options.failDouble = false;
    const fresh = await workflow.run(3);
    assert.equal(fresh.status, "idle");
    const [entryId, firstId] = checkpointIds(fresh);
    const entry = (await storage.load(entryId))!;
    assert.equal(entry.parentId, null);
    assert.equal(entry.superstep, 0);
    assert.equal(entry.sessionId, fresh.sessionId);
    assert.notEqual(fresh.sessionId, (await storage.load(ids[1]))!.sessionId);
    const first = (await storage.load(firstId))!;
    assert.equal(first.parentId, entryId);
    assert.equal(first.superstep, 1);
  });

  test("Workflow.resume() of a completed run's final checkpoint invokes no executor and ends idle", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result } = await completedRun(storage);
    const before = (await storage.list()).length;

    const resumed = await linear({ storage }).resume(result.checkpointId!);
    assert.equal(resumed.status, "idle");
    assert.deepEqual(resumed.outputs, []);
    assert.deepEqual(invoked(resumed.events), []);
    assert.equal(resumed.checkpointId, result.checkpointId);
    assert.equal((await storage.list()).length, before);
  });
});

describe("Workflow.resume() and Workflow.respond() with pending requests", () => {
  test("Workflow.run() ends idle-pending-requests with the requests in the result", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = await approvals(storage).run(["invoice"]);
    assert.equal(result.status, "idle-pending-requests");
    assert.equal(result.pendingRequests.length, 1);
    const [request] = result.pendingRequests;
    assert.equal(request.executorId, "ask");
    assert.deepEqual(request.data, { item: "invoice" });
    assert.ok(result.events.some((e) => e.type === "request" && e.requestId === request.requestId));
    assert.deepEqual(result.events.at(-1), { type: "status", state: "idle-pending-requests" });
  });

  test("Workflow.resume() with responses on a fresh instance completes and chains to the resumed checkpoint", async () => {
    const storage = new MemoryCheckpointStorage();
    const waiting = await approvals(storage).run(["invoice"]);
    const [request] = waiting.pendingRequests;

    const answered = await approvals(storage).resume(waiting.checkpointId!, {
      responses: { [request.requestId]: "approved" },
    });
    assert.equal(answered.status, "idle");
    assert.deepEqual(answered.outputs, ["invoice=approved"]);
    assert.deepEqual(answered.pendingRequests, []);
    assert.equal(answered.sessionId, waiting.sessionId);
    const written = checkpointIds(answered);
    assert.equal((await storage.load(written[0]))!.parentId, waiting.checkpointId);
    assert.deepEqual((await storage.load(written[0]))!.pendingRequests, []);
    const path = await lineage(storage, answered.checkpointId!);
    assertSingleRoot(path);
    assert.ok(path.some((s) => s.id === waiting.checkpointId));
  });

  test("Workflow.respond() answers the live instance's pending request and completes", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage);
    const waiting = await workflow.run(["invoice"]);
    assert.deepEqual(workflow.pendingRequests, waiting.pendingRequests);

    const answered = await workflow.respond({ [waiting.pendingRequests[0].requestId]: "approved" });
    assert.equal(answered.status, "idle");
    assert.deepEqual(answered.outputs, ["invoice=approved"]);
    assert.deepEqual(workflow.pendingRequests, []);
    assert.equal((await storage.load(checkpointIds(answered)[0]))!.parentId, waiting.checkpointId);
    assertUnbrokenSession(await sessionCheckpoints(storage, waiting.sessionId));
  });

  test("Workflow.respond() with one of two answers stays idle-pending-requests until the other arrives", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage);
    const waiting = await workflow.run(["x", "y"]);
    assert.equal(waiting.pendingRequests.length, 2);
    const [x, y] = waiting.pendingRequests;

    const partial = await workflow.respond({ [x.requestId]: 1 });
    assert.equal(partial.status, "idle-pending-requests");
    assert.deepEqual(partial.outputs, ["x=1"]);
    assert.deepEqual(partial.pendingRequests, [y]);

    const done = await workflow.respond({ [y.requestId]: 2 });
    assert.equal(done.status, "idle");
    assert.deepEqual(done.outputs, ["y=2"]);
    assert.deepEqual(done.pendingRequests, []);
  });

  test("Workflow.resume() with one of two answers leaves the other pending in the next checkpoint", async () => {
    const storage = new MemoryCheckpointStorage();
    const waiting = await approvals(storage).run(["x", "y"]);
    const [x, y] = waiting.pendingRequests;

    const partial = await approvals(storage).resume(waiting.checkpointId!, {
      responses: { [y.requestId]: "no" },
    });
    assert.equal(partial.status, "idle-pending-requests");
    assert.deepEqual(partial.pendingRequests, [x]);
    assert.deepEqual((await storage.load(partial.checkpointId!))!.pendingRequests, [x]);

    const done = await approvals(storage).resume(partial.checkpointId!, {
      responses: { [x.requestId]: "yes" },
    });
    assert.equal(done.status, "idle");
    assert.deepEqual(done.outputs, ["x=yes"]);
  });

  test("Workflow.respond() throws RequestNotPendingError synchronously for an unknown request id", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage);
    const waiting = await workflow.run(["x"]);
    const before = (await storage.list()).length;

    assert.throws(() => workflow.respond({ "no-such-request": 1 }), RequestNotPendingError);
    assert.equal(workflow.isRunning, false);
    assert.equal((await storage.list()).length, before);
    const answered = await workflow.respond({ [waiting.pendingRequests[0].requestId]: "ok" });
    assert.deepEqual(answered.outputs, ["x=ok"]);
  });

  test("Workflow.resume() rejects with RequestNotPendingError for an unknown request id and writes nothing", async () => {
    const storage = new MemoryCheckpointStorage();
    const waiting = await approvals(storage).run(["x"]);
    const before = (await storage.list()).length;
    const workflow = approvals(storage);

    await assert.rejects(
      workflow.resume(waiting.checkpointId!, { responses: { "no-such-request": 1 } }),
      RequestNotPendingError,
    );
    assert.equal((await storage.list()).length, before);
    assert.equal(workflow.isRunning, false);
  });

  test("Workflow.respond() throws RequestNotPendingError when no request is pending", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = approvals(storage);
    assert.throws(() => workflow.respond({ anything: 1 }), RequestNotPendingError);
    const waiting = await workflow.run(["x"]);
    await workflow.respond({ [waiting.pendingRequests[0].requestId]: "ok" });
    assert.throws(
      () => workflow.respond({ [waiting.pendingRequests[0].requestId]: "again" }),
      RequestNotPendingError,
    );
  });

  test("Workflow.resume() rejects with RequestNotPendingError when the checkpoint has no pending request", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result } = await completedRun(storage);
    await assert.rejects(
      linear({ storage }).resume(result.checkpointId!, { responses: { anything: 1 } }),
      RequestNotPendingError,
    );
  });

  test("Workflow.run() fails with a TypeError cause when an executor without onResponse requests info", async () => {
    const asker = defineExecutor({
      id: "asker",
      handle: async (_: string, ctx) => {
        await ctx.requestInfo({ question: "?" });
      },
    });
    const workflow = new WorkflowBuilder({ name: "no-answer", start: asker })
      .withCheckpointing(new MemoryCheckpointStorage())
      .build();
    const { events, error } = await drain(workflow.run("go"));
    assert.ok(error instanceof ExecutorFailedError, `expected ExecutorFailedError, got ${error}`);
    assert.equal(error.executorId, "asker");
    assert.ok(error.cause instanceof TypeError);
    assert.match((error.cause as TypeError).message, /onResponse/);
    assert.ok(!events.some((e) => e.type === "request"));
    assert.deepEqual(events.at(-1), { type: "status", state: "failed" });
  });
});

describe("Workflow.resume() concurrency and forks", () => {
  test("Workflow.resume() of one head by two instances at once: one wins, the other gets CheckpointConflictError", async () => {
    const storage = new MemoryCheckpointStorage();
    const waiting = await approvals(storage).run(["x"]);
    const responses = { [waiting.pendingRequests[0].requestId]: "ok" };

    const settled = await Promise.allSettled([
      approvals(storage).resume(waiting.checkpointId!, { responses }),
      approvals(storage).resume(waiting.checkpointId!, { responses }),
    ]);
    const { winner, loser } = oneWinner(settled);
    assert.ok(loser instanceof CheckpointConflictError, `got ${loser}`);
    assert.deepEqual(winner.outputs, ["x=ok"]);

    const session = await sessionCheckpoints(storage, waiting.sessionId);
    assertUnbrokenSession(session);
    assert.equal(session.length, 2 + checkpointIds(winner).length);
    assert.equal(await storage.head(waiting.sessionId), winner.checkpointId);
    assert.equal((await storage.list()).length, session.length);
  });

  test("Workflow.resume() by two instances past the head check: the storage's compare-and-set rejects the loser", async () => {
    const memory = new MemoryCheckpointStorage();
    const waiting = await approvals(memory).run(["x"]);
    const responses = { [waiting.pendingRequests[0].requestId]: "ok" };
    const storage = new HeadBarrierStorage(memory, 2);

    const settled = await Promise.allSettled([
      approvals(storage).resume(waiting.checkpointId!, { responses }),
      approvals(storage).resume(waiting.checkpointId!, { responses }),
    ]);
    assert.equal(storage.headCalls, 2);
    const { winner, loser } = oneWinner(settled);
    assert.ok(loser instanceof CheckpointConflictError, `got ${loser}`);
    assert.match(loser.message, /head moved/);
    assert.deepEqual(winner.outputs, ["x=ok"]);
    const session = await sessionCheckpoints(memory, waiting.sessionId);
    assertUnbrokenSession(session);
    assert.equal(session.length, 2 + checkpointIds(winner).length);
    assert.equal(await memory.head(waiting.sessionId), winner.checkpointId);
  });

  test("Workflow.resume() of a checkpoint that is not its session's head rejects with CheckpointConflictError", async () => {
    const storage = new MemoryCheckpointStorage();
    const { ids } = await completedRun(storage);
    const workflow = linear({ storage });
    const { events, error } = await drain(workflow.resume(ids[1]));
    assert.ok(error instanceof CheckpointConflictError, `got ${error}`);
    assert.match(error.message, /fork/);
    assert.deepEqual(invoked(events), [], "the head check must refuse before any executor runs");
    assert.equal((await storage.list()).length, ids.length);
    assert.equal(workflow.isRunning, false);
  });

  test("Workflow.resume() with fork: true branches a new session whose first checkpoint follows the resumed one", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result, ids } = await completedRun(storage);

    const forked = await linear({ storage }).resume(ids[1], { fork: true });
    assert.notEqual(forked.sessionId, result.sessionId);
    const first = (await storage.load(checkpointIds(forked)[0]))!;
    assert.equal(first.parentId, ids[1]);
    assert.equal(first.sessionId, forked.sessionId);
    assert.equal(
      first.superstep,
      (await storage.load(ids[1]))!.superstep,
      "the fork starts where it branched",
    );
    assert.equal((await storage.load(checkpointIds(forked)[1]))!.superstep, first.superstep + 1);
    assert.equal(await storage.head(result.sessionId), result.checkpointId);
    assert.equal(await storage.head(forked.sessionId), forked.checkpointId);
  });

  test("Workflow.resume() with another sessionId than the checkpoint's forks into that session", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result, ids } = await completedRun(storage);

    const forked = await linear({ storage }).resume(ids[2], { sessionId: "branch-b" });
    assert.equal(forked.sessionId, "branch-b");
    assert.deepEqual(forked.outputs, [6]);
    const first = (await storage.load(checkpointIds(forked)[0]))!;
    assert.equal(first.parentId, ids[2]);
    assert.equal(first.sessionId, "branch-b");
    assert.equal(await storage.head("branch-b"), forked.checkpointId);
    assert.equal(await storage.head(result.sessionId), result.checkpointId);
  });

  test("Workflow.resume() refuses to fork into a session that already exists, before running anything", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result, ids } = await completedRun(storage);
    const before = await storage.list({ sessionId: result.sessionId });
    const fork = linear({ storage }).resume(ids[1], { fork: true, sessionId: result.sessionId });
    const events: WorkflowEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of fork) events.push(event);
    }, CheckpointConflictError);
    assert.deepEqual(invoked(events), []);
    assert.deepEqual(await storage.list({ sessionId: result.sessionId }), before);
  });

  test("Workflow.resume() restores fan-in buffers so a join fires with the message sent before the checkpoint", async () => {
    const storage = new MemoryCheckpointStorage();
    const original = await join(storage).run("m");
    assert.deepEqual(original.outputs, [["a(m)", "b(m)"]]);
    // Superstep 3: a's message is buffered at the join, b's is in flight.
    const between = checkpointIds(original)[3];
    const checkpoint = (await storage.load(between))!;
    assert.equal(checkpoint.superstep, 3);
    assert.deepEqual(Object.values(checkpoint.edgeState), [{ a: ["a(m)"] }]);
    assert.deepEqual(checkpoint.messages, [{ source: "b", data: "b(m)" }]);

    const resumed = await join(storage).resume(between, { fork: true });
    assert.equal(resumed.status, "idle");
    assert.deepEqual(resumed.outputs, [["a(m)", "b(m)"]]);
    assert.deepEqual(invoked(resumed.events), ["joined"]);
  });
});

describe("Workflow.respond() after cancellation", () => {
  test("Workflow.respond() after a cancelled superstep routes its messages once and keeps supersteps contiguous", async () => {
    // start asks and fans out to a and hop; hop → b; a and b join. b cancels the run the first time it runs,
    // after routing has already put a's message into the join's buffer.
    const storage = new MemoryCheckpointStorage();
    const controller = new AbortController();
    let bRuns = 0;
    const start = new (class extends Executor<string, string> {
      constructor() {
        super("start");
      }
      async handle(m: string, ctx: WorkflowContext<string>): Promise<void> {
        await ctx.requestInfo("go?");
        await ctx.send(m);
      }
      override onResponse(): void {}
    })();
    const a = defineExecutor({ id: "a", handle: (m: string, ctx) => ctx.send(`a(${m})`) });
    const hop = defineExecutor({ id: "hop", handle: (m: string, ctx) => ctx.send(m) });
    const b = defineExecutor({
      id: "b",
      handle: async (m: string, ctx) => {
        if (bRuns++ === 0) {
          controller.abort();
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          return;
        }
        await ctx.send(`b(${m})`);
      },
    });
    const joined = defineExecutor({ id: "joined", handle: (parts: string[], ctx) => ctx.yieldOutput(parts) });
    const workflow = new WorkflowBuilder({ name: "cancel-join", start })
      .addFanOut(start, [a, hop])
      .addEdge(hop, b)
      .addFanIn([a, b], joined)
      .withCheckpointing(storage)
      .build();

    const cancelled = await workflow.run("m", { signal: controller.signal });
    assert.equal(cancelled.status, "cancelled");
    const [request] = cancelled.pendingRequests;
    const answered = await workflow.respond({ [request.requestId]: "ok" });
    assert.deepEqual(answered.outputs, [["a(m)", "b(m)"]]);
    const chain = await Promise.all(
      (await lineage(storage, answered.checkpointId!)).reverse().map(async (c) =>
        (await storage.load(c.id))!
      ),
    );
    // One checkpoint per superstep, none skipped; only the checkpoint recording the answer repeats its parent's.
    assert.equal(chain[0].superstep, 0);
    for (let i = 1; i < chain.length; i++) {
      const step = chain[i].answers === undefined ? 1 : 0;
      assert.equal(chain[i].superstep, chain[i - 1].superstep + step, `checkpoint ${i}`);
    }
    assert.equal(chain.filter((c) => c.answers !== undefined).length, 1);
  });
});

describe("Workflow.resume() refusals", () => {
  test("Workflow.resume() rejects with CheckpointCorruptError when a fan-in buffer in the checkpoint is damaged", async () => {
    const storage = new MemoryCheckpointStorage();
    const original = await join(storage).run("m");
    const between = (await storage.load(checkpointIds(original)[3]))!;
    const [edgeId] = Object.keys(between.edgeState);
    for (const damaged of [null, "x", { a: "not an array" }]) {
      const copy = new MemoryCheckpointStorage();
      // A new lineage in the copy: its parent is not there (a session takes no follower of a missing parent).
      await copy.save({ ...between, parentId: null, edgeState: { [edgeId]: damaged } });
      await assert.rejects(
        join(copy).resume(between.id),
        (error: unknown) => error instanceof CheckpointCorruptError && error.checkpointId === between.id,
        `edge state ${JSON.stringify(damaged)}`,
      );
    }
  });

  test("Workflow.resume() rejects with CheckpointNotFoundError for an unknown id", async () => {
    const storage = new MemoryCheckpointStorage();
    await assert.rejects(linear({ storage }).resume("01J00000000000000000000000"), (error) => {
      assert.ok(error instanceof CheckpointNotFoundError);
      assert.equal(error.checkpointId, "01J00000000000000000000000");
      return true;
    });
  });

  test("Workflow.resume() of a graph with an extra edge resumes what fits, and refuses it with evolution strict", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result } = await completedRun(storage);
    const other = linear({ storage, extraEdge: true });
    assert.notEqual(await other.graphSignature(), await linear().graphSignature());
    assert.equal((await other.resume(result.checkpointId!, { fork: true })).status, "idle");
    await assert.rejects(
      linear({ storage, extraEdge: true }).resume(result.checkpointId!, { evolution: { strict: true } }),
      (error) => {
        assert.ok(error instanceof CheckpointMismatchError);
        assert.equal(error.checkpointId, result.checkpointId);
        assert.match(error.message, /resumes strictly/);
        assert.deepEqual(error.changes?.addedEdges, ["tally -> emit"]);
        return true;
      },
    );
  });

  test("Workflow.resume() of a graph where a stateless executor's version changed resumes (only snapshots are versioned)", async () => {
    const storage = new MemoryCheckpointStorage();
    const { ids } = await completedRun(storage);
    const resumed = await linear({ storage, doubleVersion: "2" }).resume(ids[1], { fork: true });
    assert.deepEqual(resumed.outputs, [6]);
    await assert.rejects(
      linear({ storage, doubleVersion: "2" }).resume(ids[1], { fork: true, evolution: { strict: true } }),
      CheckpointMismatchError,
    );
  });

  test("Workflow.resume() rejects with CheckpointMismatchError for another workflow's checkpoint", async () => {
    const storage = new MemoryCheckpointStorage();
    const { result } = await completedRun(storage);
    const renamed = linear({ storage, name: "renamed" });
    assert.equal(await renamed.graphSignature(), await linear().graphSignature());
    await assert.rejects(renamed.resume(result.checkpointId!), (error) => {
      assert.ok(error instanceof CheckpointMismatchError);
      assert.match(error.message, /"linear"/);
      return true;
    });
  });

  test("Workflow.resume() throws TypeError synchronously when no storage is configured", async () => {
    const workflow = linear();
    assert.throws(() => workflow.resume("01J00000000000000000000000"), TypeError);
    assert.equal(workflow.isRunning, false);
    assert.deepEqual((await workflow.run(1)).outputs, [2]);
  });
});

describe("Workflow.resume() after cancellation", () => {
  test("Workflow.run() aborted from inside a handler resolves cancelled with the last checkpoint resumable", async () => {
    const storage = new MemoryCheckpointStorage();
    const stop = new AbortController();
    const cancelled = await linear({ storage, abortInDouble: stop }).run(3, { signal: stop.signal });
    assert.equal(cancelled.status, "cancelled");
    assert.deepEqual(cancelled.outputs, []);
    assert.deepEqual(cancelled.events.at(-1), { type: "status", state: "cancelled" });
    assert.ok(!cancelled.events.some((e) => e.type === "failed"));
    const written = checkpointIds(cancelled);
    assert.equal(written.length, 2, "the aborted superstep must not be checkpointed");
    assert.equal(cancelled.checkpointId, written[1]);

    const resumed = await linear({ storage }).resume(cancelled.checkpointId!);
    assert.equal(resumed.status, "idle");
    assert.deepEqual(resumed.outputs, [6]);
    assert.deepEqual(invoked(resumed.events), ["double", "emit"]);
  });

  test("Workflow.run() aborted from an observed event: ctx.signal aborts, status cancelled, resume completes", async () => {
    const storage = new MemoryCheckpointStorage();
    const build = (block: boolean, seen: { reason?: unknown }) => {
      const first = defineExecutor({ id: "first", handle: async (n: number, ctx) => await ctx.send(n + 1) });
      const wait = defineExecutor({
        id: "wait",
        handle: async (n: number, ctx) => {
          if (block) {
            await new Promise<void>((resolve) => {
              if (ctx.signal.aborted) resolve();
              else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
            });
            seen.reason = ctx.signal.reason;
            return;
          }
          await ctx.send(n * 10);
        },
      });
      const last = defineExecutor({ id: "last", handle: async (n: number, ctx) => await ctx.yieldOutput(n) });
      return new WorkflowBuilder({ name: "waiting", start: first }).addChain([first, wait, last])
        .withCheckpointing(storage).build();
    };

    const seen: { reason?: unknown } = {};
    const stop = new AbortController();
    const reason = new Error("user pressed stop");
    const run = build(true, seen).run(1, { signal: stop.signal });
    const events: WorkflowEvent[] = [];
    for await (const event of run) {
      events.push(event);
      if (event.type === "executor-invoked" && event.executorId === "wait") stop.abort(reason);
    }
    const cancelled = await run;
    assert.equal(seen.reason, reason, "the waiting executor did not see ctx.signal abort");
    assert.equal(cancelled.status, "cancelled");
    assert.deepEqual(events.at(-1), { type: "status", state: "cancelled" });
    assert.equal(cancelled.checkpointId, checkpointIds(cancelled)[1]);

    const resumed = await build(false, {}).resume(cancelled.checkpointId!);
    assert.equal(resumed.status, "idle");
    assert.deepEqual(resumed.outputs, [20]);
    assert.equal((await storage.load(checkpointIds(resumed)[0]))!.parentId, cancelled.checkpointId);
  });

  test("Workflow.run() ends cancelled, not failed, when a handler rejects with ctx.signal.reason on abort", async () => {
    const storage = new MemoryCheckpointStorage();
    const first = defineExecutor({ id: "first", handle: async (n: number, ctx) => await ctx.send(n) });
    const fetchLike = defineExecutor({
      id: "fetch-like",
      handle: async (_: number, ctx) => {
        await new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
        });
      },
    });
    const workflow = new WorkflowBuilder({ name: "fetching", start: first }).addEdge(first, fetchLike)
      .withCheckpointing(storage).build();
    const stop = new AbortController();
    const run = workflow.run(1, { signal: stop.signal });
    for await (const event of run) {
      if (event.type === "executor-invoked" && event.executorId === "fetch-like") {
        stop.abort(new Error("stop"));
      }
    }
    const result = await run;
    assert.equal(result.status, "cancelled");
    assert.ok(!result.events.some((e) => e.type === "failed" || e.type === "executor-failed"));
    assert.equal(result.checkpointId, checkpointIds(result)[1]);
    assert.equal(workflow.isRunning, false);
  });

  test("Workflow.run() with an already aborted signal resolves cancelled without running anything", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = await linear({ storage }).run(3, { signal: AbortSignal.abort() });
    assert.equal(result.status, "cancelled");
    assert.deepEqual(invoked(result.events), []);
    assert.equal((await storage.list()).length, 0);
  });
});

describe("Workflow.resume() after WorkflowConvergenceError", () => {
  test("WorkflowConvergenceError.checkpointId is the head and resuming it makes progress each call", async () => {
    const storage = new MemoryCheckpointStorage();
    // Handling 0..9 takes supersteps 1..10; 4 supersteps per call.
    const { error } = await drain(counter(storage, 9, 4).run(0));
    assert.ok(error instanceof WorkflowConvergenceError, `expected WorkflowConvergenceError, got ${error}`);
    assert.equal(error.maxSupersteps, 4);
    const first = (await storage.load(error.checkpointId!))!;
    assert.equal(first.superstep, 4);
    assert.equal(await storage.head(first.sessionId), first.id);

    const again = await drain(counter(storage, 9, 4).resume(first.id));
    assert.ok(again.error instanceof WorkflowConvergenceError);
    const second = (await storage.load(again.error.checkpointId!))!;
    assert.equal(second.superstep, 8);
    assert.deepEqual(second.messages, [{ source: "loop", data: 8 }]);

    const done = await counter(storage, 9, 4).resume(second.id);
    assert.equal(done.status, "idle");
    assert.deepEqual(done.outputs, [9]);
    const session = await sessionCheckpoints(storage, first.sessionId);
    assert.deepEqual(session.map((s) => s.superstep), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assertUnbrokenSession(session);
  });
});
