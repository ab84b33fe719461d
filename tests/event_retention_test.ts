import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder, type WorkflowEvent } from "../mod.ts";

/** A loop of `steps` supersteps: about four events each (started, invoked, completed, superstep-completed …). */
function loop(steps: number) {
  const step = defineExecutor({
    id: "step",
    handle: async (count: number, ctx) => {
      if (count + 1 < steps) await ctx.send(count + 1);
      else await ctx.yieldOutput(count + 1);
    },
  });
  return new WorkflowBuilder({ name: "loop", start: step, maxSupersteps: steps + 1 })
    .addEdge(step, step)
    .withCheckpointing(new MemoryCheckpointStorage())
    .build();
}

describe("keepEvents", () => {
  test("result.events holds the last 1,000 events of a longer call by default, the final status last", async () => {
    const everything = await loop(600).run(0, { keepEvents: "all" });
    assert.ok(everything.events.length > 2000, `${everything.events.length} events`);
    const result = await loop(600).run(0);
    assert.equal(result.events.length, 1000);
    const shape = (e: WorkflowEvent) => `${e.type} ${"superstep" in e ? e.superstep : ""}`;
    assert.deepEqual(result.events.map(shape), everything.events.slice(-1000).map(shape));
    assert.deepEqual(result.events.at(-1), { type: "status", state: "idle" });
    assert.deepEqual(result.outputs, [600]);
  });

  test("keepEvents: 'all' keeps every event of the call, 'started' first", async () => {
    const result = await loop(600).run(0, { keepEvents: "all" });
    assert.equal(result.events[0].type, "started");
    const completed = result.events.filter((e) => e.type === "superstep-completed");
    // The entry checkpoint's superstep 0, then one per superstep.
    assert.equal(completed.length, 601);
  });

  test("a reader iterating from the start sees every event, whatever the call keeps", async () => {
    const workflow = loop(600);
    const all = await loop(600).run(0, { keepEvents: "all" });
    const run = workflow.run(0, { keepEvents: 0 });
    const seen: WorkflowEvent[] = [];
    for await (const event of run) seen.push(event);
    assert.equal(seen.length, all.events.length);
    assert.deepEqual(seen.map((e) => e.type), all.events.map((e) => e.type));
    assert.deepEqual((await run).events, []);
  });

  test("a slow reader keeps the events it has not read yet, past the bound", async () => {
    const run = loop(600).run(0, { keepEvents: 10 });
    const iterator = run[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.deepEqual(first.value?.type, "started");
    // The run ends while the reader has read one event: every later one is still there for it.
    const result = await run;
    assert.equal(result.events.length, 10);
    let count = 1;
    while (!(await iterator.next()).done) count++;
    const all = await loop(600).run(0, { keepEvents: "all" });
    assert.equal(count, all.events.length);
  });

  test("a reader that starts after the call ended sees the kept events", async () => {
    const run = loop(100).run(0, { keepEvents: 5 });
    const result = await run;
    const late: WorkflowEvent[] = [];
    for await (const event of run) late.push(event);
    assert.deepEqual(late, result.events);
    assert.equal(late.length, 5);
  });

  test("resume() and respond() take keepEvents too", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = loop(300);
    const first = await workflow.run(0, { storage, keepEvents: 3 });
    assert.equal(first.events.length, 3);
    const resumed = await workflow.resume(first.checkpointId!, { storage, keepEvents: 2 });
    assert.equal(resumed.events.length, 2);
    assert.deepEqual(resumed.events.at(-1), { type: "status", state: "idle" });
  });

  test("a keepEvents that is not a non-negative integer or 'all' is a RangeError, synchronously", () => {
    const workflow = loop(3);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, "some"]) {
      assert.throws(
        () => workflow.run(0, { keepEvents: bad as number }),
        (error: unknown) => error instanceof RangeError && /keepEvents/.test(error.message),
        String(bad),
      );
      assert.equal(workflow.isRunning, false);
    }
  });
});
