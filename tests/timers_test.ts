// Durable timers: sleep / sleepUntil end the run waiting for a timer held in the checkpoint;
// listDueTimers finds it once due, not before; recover() wakes it once (from several recoverers at once),
// on a fresh workflow instance as another process would build it. Time is a fake clock: no test sleeps.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type CheckpointStorage,
  defineExecutor,
  listDueTimers,
  listSessions,
  MemoryCheckpointStorage,
  recover,
  sleep,
  sleepUntil,
  timerDue,
  type TimerFired,
  WorkflowBuilder,
} from "../mod.ts";

const DUE = new Date("2030-01-04T09:00:00.000Z");
const T = DUE.getTime();

/** "wait three days, then remind": sleeps until DUE, then yields what woke it. */
function reminder(storage: CheckpointStorage, woken: unknown[] = []) {
  const remind = defineExecutor({
    id: "remind",
    handle: async (who: string, ctx) => {
      await sleepUntil(ctx, DUE, { who });
    },
    onResponse: async (response: unknown, request, ctx) => {
      woken.push(response);
      await ctx.yieldOutput(`remind ${(request.data as { data: { who: string } }).data.who}`);
    },
  });
  return new WorkflowBuilder({ name: "reminder", start: remind }).withCheckpointing(storage).build();
}

describe("durable timers", () => {
  test("sleepUntil() ends the run waiting for a timer the checkpoint holds; listDueTimers() finds it when due, not before", async () => {
    const storage = new MemoryCheckpointStorage();
    const result = await reminder(storage).run("ana", { sessionId: "s" });
    assert.equal(result.status, "idle-pending-requests");
    assert.deepEqual(result.outputs, []);
    const [timer] = result.pendingRequests;
    assert.equal(timerDue(timer), DUE.toISOString());
    const head = await storage.load(result.checkpointId!);
    assert.deepEqual(head?.pendingRequests, [timer]);
    assert.equal((await listSessions(storage))[0].status, "waiting");
    assert.deepEqual(await listDueTimers(storage, T - 1), []);
    const due = await listDueTimers(storage, new Date(T));
    assert.deepEqual(due.map((entry) => [entry.sessionId, entry.requestId, entry.dueAt]), [
      ["s", timer.requestId, DUE.toISOString()],
    ]);
  });

  test("recover() wakes a timer when due, not before, on a fresh instance: onResponse continues the run", async () => {
    const storage = new MemoryCheckpointStorage();
    await reminder(storage).run("ana", { sessionId: "s" });
    // Another process: a new workflow instance on the same storage.
    const woken: unknown[] = [];
    const workflows = [reminder(storage, woken)];
    const early = await recover({ storage, workflows, owner: "h", clock: () => T - 1 });
    assert.deepEqual(early, { resumed: [], busy: [], failed: [] });
    assert.deepEqual(woken, []);
    const due = await recover({ storage, workflows, owner: "h", clock: () => T + 5 });
    assert.deepEqual(due.resumed, ["s"]);
    assert.deepEqual(woken, [
      { dueAt: DUE.toISOString(), firedAt: new Date(T + 5).toISOString() } satisfies TimerFired,
    ]);
    const [session] = await listSessions(storage);
    assert.equal(session.status, "completed");
    assert.deepEqual(await listDueTimers(storage, T + 10), []);
  });

  test("three recoverers at once wake a due timer once", async () => {
    const storage = new MemoryCheckpointStorage();
    for (const who of ["a", "b", "c", "d"]) await reminder(storage).run(who, { sessionId: who });
    const woken: unknown[] = [];
    const passes = await Promise.all(
      ["h1", "h2", "h3"].map((owner) =>
        recover({ storage, workflows: [reminder(storage, woken)], owner, clock: () => T })
      ),
    );
    assert.deepEqual(passes.flatMap((pass) => pass.resumed).sort(), ["a", "b", "c", "d"]);
    assert.equal(woken.length, 4);
    assert.equal((await listSessions(storage, { status: "completed" })).length, 4);
  });

  test("sleep(ctx, ms) is due ms from now; a bad due time and an executor without onResponse are refused", async () => {
    const storage = new MemoryCheckpointStorage();
    const nap = defineExecutor({
      id: "nap",
      handle: async (ms: number, ctx) => void await sleep(ctx, ms),
      onResponse: () => {},
    });
    const before = Date.now();
    const result = await new WorkflowBuilder({ name: "nap", start: nap }).withCheckpointing(storage).build()
      .run(3_600_000);
    const after = Date.now();
    const due = Date.parse(timerDue(result.pendingRequests[0])!);
    assert.ok(due >= before + 3_600_000 && due <= after + 3_600_000);

    const bad = defineExecutor({
      id: "bad",
      handle: async (when: string, ctx) => void await sleepUntil(ctx, new Date(when)),
      onResponse: () => {},
    });
    await assert.rejects(
      new WorkflowBuilder({ name: "bad", start: bad }).build().run("not a date"),
      (error: Error) => error.name === "ExecutorFailedError" && error.cause instanceof TypeError,
    );
    const deaf = defineExecutor({ id: "deaf", handle: async (_: number, ctx) => void await sleep(ctx, 1) });
    await assert.rejects(
      new WorkflowBuilder({ name: "deaf", start: deaf }).build().run(1),
      (error: Error) => error.name === "ExecutorFailedError" && error.cause instanceof TypeError,
    );
  });
});
