// Crash recovery in one process: recover() resumes each interrupted session once, from several recoverers
// at once, skips sessions a live lease holds and takes them over after expiry, and a run whose lease was
// taken over cannot save. Time is a fake clock: no test sleeps.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  answerRequest,
  type CheckpointStorage,
  claimSession,
  defineExecutor,
  listSessions,
  MemoryCheckpointStorage,
  recover,
  recoverEvery,
  type RecoverResult,
  WorkflowBuilder,
  type WorkflowContext,
} from "../mod.ts";

/** What the executors did: one entry per completed call, `executor:input` (inputs differ per session). */
type Log = string[];

/** a → b → c; `b` throws while `world.crash` holds (a host dying mid-superstep), `onB` runs inside it. */
function chain(
  storage: CheckpointStorage,
  log: Log,
  world: { crash: boolean; onB?: () => void | Promise<void> },
) {
  const record = (id: string, n: number) => log.push(`${id}:${n}`);
  const a = defineExecutor({
    id: "a",
    handle: async (n: number, ctx: WorkflowContext<number, never>) => {
      record("a", n);
      await ctx.send(n + 1);
    },
  });
  const b = defineExecutor({
    id: "b",
    handle: async (n: number, ctx: WorkflowContext<number, never>) => {
      await world.onB?.();
      if (world.crash) throw new Error("the host died");
      record("b", n);
      await ctx.send(n + 1);
    },
  });
  const c = defineExecutor({
    id: "c",
    handle: async (n: number, ctx: WorkflowContext<never, number>) => {
      record("c", n);
      await ctx.yieldOutput(n);
    },
  });
  return new WorkflowBuilder({ name: "recover-chain", start: a })
    .addEdge(a, b)
    .addEdge(b, c)
    .withCheckpointing(storage)
    .build();
}

/** `count` sessions left interrupted at `b`. */
async function interrupted(storage: CheckpointStorage, count: number): Promise<string[]> {
  const world = { crash: true };
  const workflow = chain(storage, [], world);
  const sessions: string[] = [];
  for (let i = 0; i < count; i++) {
    const sessionId = `s${i}`;
    await assert.rejects(workflow.run(i * 10, { sessionId }));
    sessions.push(sessionId);
  }
  return sessions;
}

function duplicates(log: Log): string[] {
  return log.filter((entry, i) => log.indexOf(entry) !== i);
}

describe("recover()", () => {
  test("recover() by three concurrent recoverers resumes every interrupted session exactly once", async () => {
    const storage = new MemoryCheckpointStorage();
    const sessions = await interrupted(storage, 12);
    const log: Log = [];
    const passes = await Promise.all(
      ["host-1", "host-2", "host-3"].map((owner) =>
        recover({ storage, workflows: [chain(storage, log, { crash: false })], owner })
      ),
    );
    const resumed = passes.flatMap((pass) => pass.resumed).sort();
    assert.deepEqual(resumed, [...sessions].sort());
    assert.deepEqual(passes.flatMap((pass) => pass.failed), []);
    assert.deepEqual(duplicates(log), []);
    assert.equal(log.length, 12 * 2); // b and c of each session: a ran before the crash and is never re-run
    assert.deepEqual(await listSessions(storage, { status: "interrupted" }), []);
    assert.equal((await listSessions(storage, { status: "completed" })).length, 12);
    // Run again: nothing left to do.
    const again = await recover({
      storage,
      workflows: [chain(storage, log, { crash: false })],
      owner: "host-1",
    });
    assert.deepEqual(again, { resumed: [], busy: [], failed: [] });
  });

  test("recover() skips a session a live lease holds and takes it over once the lease lapsed", async () => {
    const storage = new MemoryCheckpointStorage();
    const [sessionId] = await interrupted(storage, 1);
    let now = 1_000_000;
    const clock = () => now;
    // A host that claimed the session and died: it never renews or releases.
    const dead = await claimSession(storage, sessionId, { owner: "dead", leaseMs: 5000, clock });
    assert.ok(dead !== undefined);
    const log: Log = [];
    const workflows = [chain(storage, log, { crash: false })];
    const options = { storage, workflows, owner: "host-2", leaseMs: 5000, clock };
    now += 4999;
    assert.deepEqual(await recover(options), { resumed: [], busy: [sessionId], failed: [] });
    now += 1;
    assert.deepEqual((await recover(options)).resumed, [sessionId]);
    assert.deepEqual(log, ["b:1", "c:2"]);
    await dead.release();
  });

  test("a run whose lease was taken over mid-superstep cannot save; the new owner finishes the session", async () => {
    const storage = new MemoryCheckpointStorage();
    const [sessionId] = await interrupted(storage, 1);
    const headBefore = await storage.head(sessionId);
    let now = 0;
    const clock = () => now;
    const log: Log = [];
    let takeover: Promise<RecoverResult> | undefined;
    const world = {
      crash: false,
      // The first owner stalls past its lease inside b: the second claims the session meanwhile.
      onB: () => {
        if (takeover !== undefined) return;
        now += 10_000;
        takeover = Promise.resolve().then(() =>
          recover({
            storage,
            workflows: [chain(storage, log, { crash: false })],
            owner: "second",
            leaseMs: 1000,
            clock,
          })
        );
      },
    };
    const first = await recover({
      storage,
      workflows: [chain(storage, log, world)],
      owner: "first",
      leaseMs: 1000,
      clock,
    });
    assert.equal(first.resumed.length, 0);
    assert.equal(first.failed.length, 1);
    assert.equal((first.failed[0].error as Error).name, "LeaseLostError");
    const second = await takeover!;
    assert.deepEqual(second.resumed, [sessionId]);
    // The first owner's b ran (at-least-once for an interrupted superstep), but wrote nothing: its c never ran.
    assert.deepEqual(log.filter((entry) => entry === "c:2"), ["c:2"]);
    const summaries = await storage.list({ sessionId });
    assert.ok(
      summaries.every((summary) =>
        summary.parentId === null || summaries.some((s) => s.id === summary.parentId)
      ),
    );
    assert.notEqual(await storage.head(sessionId), headBefore);
    assert.equal((await listSessions(storage, { status: "completed" })).length, 1);
  });

  test("recover() leaves waiting and completed sessions, and sessions of other workflows, alone", async () => {
    const storage = new MemoryCheckpointStorage();
    await interrupted(storage, 2);
    const done = chain(storage, [], { crash: false });
    await done.run(1, { sessionId: "done" });
    const log: Log = [];
    const other = new WorkflowBuilder({
      name: "other",
      start: defineExecutor({ id: "x", handle: (_: number) => {} }),
    }).build();
    assert.deepEqual((await recover({ storage, workflows: [other], owner: "h" })).resumed, []);
    const pass = await recover({ storage, workflows: [chain(storage, log, { crash: false })], owner: "h" });
    assert.deepEqual(pass.resumed.sort(), ["s0", "s1"]);
  });

  test("recover() finds interrupted sessions by a scan where the storage has no session index", async () => {
    const memory = new MemoryCheckpointStorage();
    const sessions = await interrupted(memory, 3);
    const storage: CheckpointStorage = {
      save: (checkpoint, options) => memory.save(checkpoint, options),
      load: (id) => memory.load(id),
      list: (query) => memory.list(query),
      head: (sessionId) => memory.head(sessionId),
      delete: (id) => memory.delete(id),
      deleteSession: (sessionId) => memory.deleteSession(sessionId),
      claimLease: (sessionId, owner, request) => memory.claimLease(sessionId, owner, request),
      renewLease: (lease, request) => memory.renewLease(lease, request),
      releaseLease: (lease) => memory.releaseLease(lease),
    };
    const log: Log = [];
    const pass = await recover({ storage, workflows: [chain(storage, log, { crash: false })], owner: "h" });
    assert.deepEqual(pass.resumed.sort(), sessions);
    assert.equal(log.length, 6);
  });

  test("recover() refuses a storage without leases and a bad owner", async () => {
    const memory = new MemoryCheckpointStorage();
    await interrupted(memory, 1);
    const { claimLease: _c, renewLease: _r, releaseLease: _l, ...rest } = {
      save: memory.save.bind(memory),
      load: memory.load.bind(memory),
      list: memory.list.bind(memory),
      head: memory.head.bind(memory),
      delete: memory.delete.bind(memory),
      deleteSession: memory.deleteSession.bind(memory),
      listSessions: memory.listSessions.bind(memory),
      listPendingRequests: memory.listPendingRequests.bind(memory),
      claimLease: undefined,
      renewLease: undefined,
      releaseLease: undefined,
    };
    const workflows = [chain(memory, [], { crash: false })];
    await assert.rejects(recover({ storage: rest, workflows, owner: "h" }), {
      name: "StorageCapabilityError",
    });
    await assert.rejects(recover({ storage: memory, workflows, owner: "" }), TypeError);
    await assert.rejects(
      recover({ storage: memory, workflows: [...workflows, ...workflows], owner: "h" }),
      TypeError,
    );
  });
});

describe("recoverEvery()", () => {
  test("recoverEvery() runs passes until the signal aborts, and a later pass picks up new crashes", async () => {
    const storage = new MemoryCheckpointStorage();
    const controller = new AbortController();
    const log: Log = [];
    const results: (RecoverResult | { error: unknown })[] = [];
    const workflows = [chain(storage, log, { crash: false })];
    await recoverEvery({
      storage,
      workflows,
      owner: "loop",
      intervalMs: 0,
      signal: controller.signal,
      onPass: (result) => {
        results.push(result);
        // After the first (empty) pass a session crashes; the second pass resumes it.
        if (results.length === 1) void interrupted(storage, 1);
        if (results.length === 3) controller.abort();
      },
    });
    assert.equal(results.length, 3);
    assert.deepEqual(results.flatMap((r) => ("resumed" in r ? r.resumed : [])), ["s0"]);
    await assert.rejects(recoverEvery({ storage, workflows, owner: "loop" } as never), TypeError);
  });
});

describe("Workflow.run() and resume() with a lease", () => {
  test("run() with a lease holds the session: recover() and another leased run cannot take it", async () => {
    const storage = new MemoryCheckpointStorage();
    const log: Log = [];
    let inside: Promise<void> | undefined;
    const world = {
      crash: false,
      onB: () =>
        inside ??= (async () => {
          // While the leased run is in b: a recoverer finds it busy, a second leased run is refused.
          const pass = await recover({
            storage,
            workflows: [chain(storage, [], { crash: false })],
            owner: "recoverer",
          });
          assert.deepEqual(pass.busy, ["live"]);
          await assert.rejects(
            chain(storage, [], { crash: false }).run(5, { sessionId: "live", lease: { owner: "other" } }),
            { name: "SessionLeasedError", sessionId: "live", owner: "other" },
          );
        })(),
    };
    const workflow = chain(storage, log, world);
    const result = await workflow.run(0, { sessionId: "live", lease: { owner: "host-1" } });
    await inside;
    assert.equal(result.status, "idle");
    assert.deepEqual(log, ["a:0", "b:1", "c:2"]);
    // Released when the run ended: another owner claims it at once.
    const claim = await claimSession(storage, "live", { owner: "next" });
    assert.ok(claim !== undefined);
    await claim.release();
  });

  test("resume() with a lease releases it when the resume fails, and refuses a lease without storage", async () => {
    const storage = new MemoryCheckpointStorage();
    const [sessionId] = await interrupted(storage, 1);
    const head = (await storage.head(sessionId))!;
    const failing = chain(storage, [], { crash: true });
    await assert.rejects(failing.resume(head, { lease: { owner: "a" } }), { name: "ExecutorFailedError" });
    const claim = await claimSession(storage, sessionId, { owner: "b" });
    assert.ok(claim !== undefined);
    await assert.rejects(chain(storage, [], { crash: false }).resume(head, { lease: { owner: "c" } }), {
      name: "SessionLeasedError",
    });
    await claim.release();
    const log: Log = [];
    const done = await chain(storage, log, { crash: false }).resume(head, { lease: { owner: "c" } });
    assert.equal(done.status, "idle");
    assert.deepEqual(log, ["b:1", "c:2"]);
    const bare = new WorkflowBuilder({
      name: "bare",
      start: defineExecutor({ id: "x", handle: (_: number) => {} }),
    })
      .build();
    assert.throws(() => bare.run(1, { lease: { owner: "a" } }), TypeError);
  });
});

describe("respond() after a leased run", () => {
  /** `ask` asks one question; its answer goes to `done`. */
  function asking(storage: CheckpointStorage) {
    const ask = defineExecutor({
      id: "ask",
      handle: async (question: string, ctx: WorkflowContext<string, never>) => {
        await ctx.requestInfo({ question });
      },
      onResponse: async (answer: unknown, _request, ctx: WorkflowContext<string, never>) => {
        await ctx.send(String(answer));
      },
    });
    const done = defineExecutor({
      id: "done",
      handle: (answer: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(answer),
    });
    return new WorkflowBuilder({ name: "asking", start: ask }).addEdge(ask, done).withCheckpointing(storage)
      .build();
  }

  test("respond() writes without the paused run's released lease, or under a lease of its own", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = asking(storage);
    const paused = await workflow.run("ship it?", { sessionId: "s1", lease: { owner: "host-1" } });
    assert.equal(paused.status, "idle-pending-requests");
    // The run's lease went when it paused: the answer is saved without one.
    const [request] = paused.pendingRequests;
    const answered = await workflow.respond({ [request.requestId]: "yes" });
    assert.equal(answered.status, "idle");
    assert.deepEqual(answered.outputs, ["yes"]);
    assert.equal((await storage.load((await storage.head("s1"))!))?.pendingRequests.length, 0);

    const again = await workflow.run("and this?", { sessionId: "s2", lease: { owner: "host-1" } });
    const other = await claimSession(storage, "s2", { owner: "host-2" });
    assert.ok(other !== undefined);
    const question = again.pendingRequests[0].requestId;
    await assert.rejects(workflow.respond({ [question]: "no" }, { lease: { owner: "host-1" } }), {
      name: "SessionLeasedError",
      sessionId: "s2",
    });
    await other.release();
    const finished = await workflow.respond({ [question]: "no" }, { lease: { owner: "host-1" } });
    assert.deepEqual(finished.outputs, ["no"]);
    // Released when it ended.
    const next = await claimSession(storage, "s2", { owner: "host-3" });
    assert.ok(next !== undefined);
    await next.release();
  });

  test("respond() with a lease fails on a storage without leases, and then answers without one", async () => {
    const memory = new MemoryCheckpointStorage();
    const noLeases: CheckpointStorage = {
      save: (checkpoint) => memory.save(checkpoint),
      load: (id) => memory.load(id),
      list: (query) => memory.list(query),
      head: (sessionId) => memory.head(sessionId),
      delete: (id) => memory.delete(id),
      deleteSession: (sessionId) => memory.deleteSession(sessionId),
    };
    const workflow = asking(noLeases);
    const paused = await workflow.run("ship it?");
    const answers = { [paused.pendingRequests[0].requestId]: "yes" };
    // As run() and resume() do: the call fails before it writes, and the run still waits.
    await assert.rejects(workflow.respond(answers, { lease: { owner: "a" } }), {
      name: "StorageCapabilityError",
    });
    assert.deepEqual((await workflow.respond(answers)).outputs, ["yes"]);
  });
});

describe("answerRequest() with a lease", () => {
  test("answerRequest() with a lease waits while another lease holds the session, then answers under its own", async () => {
    const storage = new MemoryCheckpointStorage();
    const ask = defineExecutor({
      id: "ask",
      handle: async (_: number, ctx) => void await ctx.requestInfo("ok?"),
      onResponse: async (response: unknown, _request, ctx) => await ctx.yieldOutput(response),
    });
    const build = () => new WorkflowBuilder({ name: "ask", start: ask }).withCheckpointing(storage).build();
    const paused = await build().run(1, { sessionId: "asked" });
    const [request] = paused.pendingRequests;
    const other = (await claimSession(storage, "asked", { owner: "other" }))!;
    const retries: string[] = [];
    const result = await answerRequest({
      storage,
      factory: build,
      requestId: request.requestId,
      response: "yes",
      lease: { owner: "answerer" },
      onRetry: ({ reason, error }) => {
        retries.push(`${reason}:${(error as Error | undefined)?.name}`);
        void other.release();
      },
    });
    assert.deepEqual(retries, ["busy:SessionLeasedError"]);
    assert.deepEqual(result.outputs, ["yes"]);
    // Its lease was released with the run.
    const after = await claimSession(storage, "asked", { owner: "next" });
    assert.ok(after !== undefined);
    await after.release();
  });
});
