// Dynamic map-reduce: an executor's `concurrency`, `addCollect` (one array of whatever a superstep's senders
// sent) and state reducers — deterministic whatever the completion order, and resumable between the map and
// the collect.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  WorkflowBuilder,
  type WorkflowContext,
} from "../mod.ts";

/** Resolves after `turns` microtask turns: later items finish first when `turns` falls with the index. */
function after(turns: number): Promise<void> {
  let promise = Promise.resolve();
  for (let i = 0; i < turns; i++) promise = promise.then(() => {});
  return promise;
}

/** split → square (concurrency) → collect into sum; every square also adds into the reducer key "total". */
function mapReduce(storage?: MemoryCheckpointStorage, concurrency = 8) {
  let running = 0;
  let peak = 0;
  const split = defineExecutor({
    id: "split",
    handle: async (items: number[], ctx: WorkflowContext<number, never>) => {
      for (const item of items) await ctx.send(item);
    },
  });
  const square = defineExecutor({
    id: "square",
    concurrency,
    handle: async (n: number, ctx: WorkflowContext<number, never>) => {
      running++;
      peak = Math.max(peak, running);
      await after(1000 - n); // the later the item, the sooner it finishes
      running--;
      ctx.state.set("total", n * n);
      await ctx.send(n * n);
    },
  });
  const sum = defineExecutor({
    id: "sum",
    handle: async (squares: number[], ctx: WorkflowContext<never, { squares: number[]; total: number }>) => {
      await ctx.yieldOutput({ squares, total: ctx.state.get<number>("total")! });
    },
  });
  const builder = new WorkflowBuilder({
    name: "squares",
    start: split,
    reducers: { total: (sum: number | undefined, n: number) => (sum ?? 0) + n },
  })
    .addEdge(split, square)
    .addCollect(square, sum);
  const workflow = (storage ? builder.withCheckpointing(storage) : builder).build();
  return { workflow, peak: () => peak };
}

describe("map-reduce", () => {
  for (const count of [1, 8, 200]) {
    test(`${count} item(s): concurrency 8, addCollect and a summing reducer equal the sequential result`, async () => {
      const items = Array.from({ length: count }, (_, i) => i + 1);
      const { workflow, peak } = mapReduce();
      const result = await workflow.run(items);
      const squares = items.map((n) => n * n);
      assert.deepEqual(result.outputs, [{ squares, total: squares.reduce((a, b) => a + b, 0) }]);
      assert.equal(peak(), Math.min(8, count), "up to 8 at once");
      const sequential = await mapReduce(undefined, 1).workflow.run(items);
      assert.deepEqual(result.outputs, sequential.outputs);
    });
  }

  test("a resume between the map and the collect, on a fresh instance, gives the same result", async () => {
    const storage = new MemoryCheckpointStorage();
    const items = Array.from({ length: 20 }, (_, i) => i + 1);
    const whole = await mapReduce(storage).workflow.run(items);
    // Checkpoints: entry, after split, after square (the squares queued for the collect), after sum.
    const [, afterSquare, afterSplit] = await storage.list({ sessionId: whole.sessionId });
    for (const checkpoint of [afterSplit, afterSquare]) {
      const resumed = await mapReduce(storage).workflow.resume(checkpoint.id, { fork: true });
      assert.deepEqual(resumed.outputs, whole.outputs, `from superstep ${checkpoint.superstep}`);
    }
  });

  test("addCollect() delivers nothing when its sources sent nothing, and joins several sources in id order", async () => {
    const received: unknown[][] = [];
    const src = defineExecutor({
      id: "src",
      handle: async (n: number, ctx: WorkflowContext<number, never>) => {
        if (n > 0) await ctx.send(n);
      },
    });
    const b = defineExecutor({
      id: "b",
      handle: (n: number, ctx: WorkflowContext<string, never>) => ctx.send(`b${n}`),
    });
    const a = defineExecutor({
      id: "a",
      handle: (n: number, ctx: WorkflowContext<string, never>) => ctx.send(`a${n}`),
    });
    const join = defineExecutor({ id: "join", handle: (all: string[]) => void received.push(all) });
    const workflow = new WorkflowBuilder({ name: "collect", start: src })
      .addFanOut(src, [b, a])
      .addCollect([b, a], join)
      .build();
    await workflow.run(0);
    assert.deepEqual(received, []);
    await workflow.run(1);
    assert.deepEqual(received, [["a1", "b1"]]);
  });

  test("concurrent handlers' writes, sends and yields commit by message position, not completion order", async () => {
    const work = defineExecutor({
      id: "work",
      concurrency: 4,
      handle: async (n: number, ctx: WorkflowContext<number, number>) => {
        await after(10 - n);
        ctx.state.set("last", n);
        await ctx.yieldOutput(n);
      },
    });
    const src = defineExecutor({
      id: "src",
      handle: async (ns: number[], ctx: WorkflowContext<number, never>) => {
        for (const n of ns) await ctx.send(n);
      },
    });
    const check = defineExecutor({
      id: "zcheck",
      handle: (_: unknown, ctx: WorkflowContext<never, number>) =>
        ctx.yieldOutput(ctx.state.get<number>("last")!),
    });
    const workflow = new WorkflowBuilder({ name: "order", start: src }).addEdge(src, work).addCollect(
      work,
      check,
    ).build();
    const result = await workflow.run([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(result.outputs.slice(0, 6), [1, 2, 3, 4, 5, 6]);
  });

  test("a reducer that throws fails the run naming the key; an invalid concurrency or reducer is refused up front", async () => {
    const writer = defineExecutor({ id: "writer", handle: (_: unknown, ctx) => ctx.state.set("k", 1) });
    const workflow = new WorkflowBuilder({
      name: "bad-reducer",
      start: writer,
      reducers: {
        k: () => {
          throw new Error("overflow");
        },
      },
    }).build();
    await assert.rejects(workflow.run(null), (error: unknown) => {
      assert.ok(error instanceof ExecutorFailedError);
      assert.match(error.message, /The reducer of state key "k" threw: overflow/);
      return true;
    });
    assert.throws(() => defineExecutor({ id: "c", concurrency: 0, handle: () => {} }), RangeError);
    assert.throws(
      () => new WorkflowBuilder({ name: "r", start: writer, reducers: { k: 1 as unknown as () => unknown } }),
      TypeError,
    );
  });

  test("a reducer key read in the handler sees the committed value with the handler's own updates; delete clears it", async () => {
    const storage = new MemoryCheckpointStorage();
    const seen: unknown[] = [];
    const step = defineExecutor({
      id: "step",
      handle: async (n: number, ctx: WorkflowContext<number, never>) => {
        ctx.state.set("sum", n);
        ctx.state.set("sum", n);
        seen.push(ctx.state.get("sum"));
        if (n === 3) {
          ctx.state.delete("sum");
          seen.push(ctx.state.has("sum"));
          ctx.state.set("sum", 100);
          seen.push(ctx.state.get("sum"));
        }
        if (n < 3) await ctx.send(n + 1);
      },
    });
    const workflow = new WorkflowBuilder({
      name: "sum",
      start: step,
      reducers: { sum: (total: number | undefined, n: number) => (total ?? 0) + n },
    }).addEdge(step, step).withCheckpointing(storage).build();
    const result = await workflow.run(1);
    assert.deepEqual(seen, [2, 6, 12, false, 100]);
    assert.deepEqual((await storage.load(result.checkpointId!))!.state, { sum: 100 });
  });
});
