// The executor context beyond send/yield: custom events streamed live (`ctx.emit`), and the `sends` /
// `yields` schemas that what an executor sends and yields must pass.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  type StandardSchema,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
} from "../mod.ts";

/** A schema of strings that trims them (its output differs from its input); async when `slow`. */
function trimmed(slow = false): StandardSchema<string> {
  const check = (value: unknown) =>
    typeof value === "string" ? { value: value.trim() } : { issues: [{ message: "expected a string" }] };
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) =>
        slow ? new Promise((resolve) => setTimeout(() => resolve(check(value)), 1)) : check(value),
    },
  };
}

describe("ctx.emit()", () => {
  test("ctx.emit() streams a custom event live, seen by plugins, outside outputs and checkpoints", async () => {
    const storage = new MemoryCheckpointStorage();
    const seenByPlugin: WorkflowEvent[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const work = defineExecutor({
      id: "work",
      handle: async (items: number, ctx: WorkflowContext<never, string>) => {
        for (let done = 1; done <= items; done++) ctx.emit("progress", { done, of: items });
        await gate;
        await ctx.yieldOutput("done");
      },
    });
    const workflow = new WorkflowBuilder({ name: "reporting", start: work })
      .withCheckpointing(storage)
      .use({ name: "spy", onEvent: (event) => void seenByPlugin.push(event) })
      .build();
    const run = workflow.run(2);
    const stream = run[Symbol.asyncIterator]();
    const progress: unknown[] = [];
    // Live: both progress events arrive while the handler still waits.
    while (progress.length < 2) {
      const { value } = await stream.next();
      if (value.type === "custom") {
        assert.deepEqual({ ...value, data: undefined }, {
          type: "custom",
          name: "progress",
          data: undefined,
          executorId: "work",
          superstep: 1,
        });
        progress.push(value.data);
      }
    }
    assert.deepEqual(progress, [{ done: 1, of: 2 }, { done: 2, of: 2 }]);
    release();
    const result = await run;
    assert.deepEqual(result.outputs, ["done"]);
    assert.deepEqual(seenByPlugin.filter((event) => event.type === "custom").length, 2);
    const checkpoint = await storage.load(result.checkpointId!);
    assert.ok(!JSON.stringify(checkpoint).includes("progress"), "no custom event in the checkpoint");
    assert.ok(JSON.stringify(checkpoint).includes("reporting"), "(the check reads the checkpoint)");
  });

  test("ctx.emit() refuses an empty name, and throws once its superstep is over", async () => {
    let late: WorkflowContext | undefined;
    const work = defineExecutor({
      id: "work",
      handle: (_: unknown, ctx) => {
        assert.throws(() => ctx.emit(""), TypeError);
        late = ctx;
      },
    });
    await new WorkflowBuilder({ name: "late", start: work }).build().run(1);
    assert.throws(() => late!.emit("after"));
  });
});

describe("sends / yields schemas", () => {
  for (const slow of [false, true]) {
    test(`what an executor sends passes its sends schema (whose output is sent), ${slow ? "async" : "sync"}`, async () => {
      const words = defineExecutor({
        id: "words",
        sends: trimmed(slow),
        handle: async (text: string, ctx) => {
          for (const word of text.split(",")) await ctx.send(word);
        },
      });
      const echo = defineExecutor({ id: "echo", handle: (word: string, ctx) => ctx.yieldOutput(word) });
      const workflow = new WorkflowBuilder({ name: "trim", start: words }).addEdge(words, echo).build();
      assert.deepEqual((await workflow.run(" a , b,c ")).outputs, ["a", "b", "c"], "in send order, trimmed");
    });
  }

  test("a send its schema refuses fails the executor, awaited or not, and nothing it sent is delivered", async () => {
    for (const awaited of [true, false]) {
      const delivered: unknown[] = [];
      const bad = defineExecutor({
        id: "bad",
        sends: trimmed(true),
        handle: async (_: unknown, ctx: WorkflowContext<unknown>) => {
          await ctx.send("fine");
          const refused = ctx.send(42);
          if (awaited) await refused;
        },
      });
      const sink = defineExecutor({ id: "sink", handle: (m) => void delivered.push(m) });
      const run = new WorkflowBuilder({ name: "refused", start: bad }).addEdge(bad, sink).build().run(null);
      const error = await run.then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof ExecutorFailedError, String(error));
      assert.equal(error.executorId, "bad");
      assert.match(
        String((error.cause as Error).message),
        /cannot send a value its sends schema refuses: expected a string/,
      );
      assert.deepEqual(delivered, [], `awaited ${awaited}`);
    }
  });

  test("an output its yields schema refuses is never streamed; an accepted one is yielded as the schema returns it", async () => {
    const work = defineExecutor({
      id: "work",
      yields: trimmed(),
      handle: async (input: unknown, ctx) => {
        await ctx.yieldOutput(input as string);
      },
    });
    const workflow = new WorkflowBuilder({ name: "yields", start: work }).build();
    assert.deepEqual((await workflow.run("  ok  ")).outputs, ["ok"]);
    const events: WorkflowEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of workflow.run(7)) events.push(event);
    }, ExecutorFailedError);
    assert.deepEqual(events.filter((event) => event.type === "output"), []);
  });
});
