// Types through the whole graph: what compiles and what must not. `deno check` (the check gate) and `tsc`
// (tests/types/tsconfig.json, also in the check gate) type-check this file: every `@ts-expect-error` line
// must be an error (an unused one is an error itself), every other line must compile. The tests also run
// the well-typed graphs, so the types describe what happens.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  Executor,
  type ExecutorInput,
  type ExecutorOutput,
  type ExecutorYield,
  MemoryCheckpointStorage,
  type StandardSchema,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  type WorkflowEvent,
  type WorkflowResult,
} from "../mod.ts";

/** `true` only if `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(_proof: T): void {}

function schema<T>(check: (value: unknown) => value is T): StandardSchema<T> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => check(value) ? { value } : { issues: [{ message: "refused" }] },
    },
  };
}
const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number";

// Typed executors: what they handle, send and yield.
const split = defineExecutor({
  id: "split",
  handle: async (text: string, ctx: WorkflowContext<string, never>) => {
    for (const word of text.split(" ")) await ctx.send(word);
  },
});
const length = defineExecutor({
  id: "length",
  handle: (word: string, ctx: WorkflowContext<never, number>) => ctx.yieldOutput(word.length),
});
const upper = defineExecutor({
  id: "upper",
  input: schema(isString),
  sends: schema(isString),
  // Its yields are declared by the context (never: it yields nothing), or the workflow's outputs are unknown.
  handle: (word, ctx: WorkflowContext<string, never>) => ctx.send(word.toUpperCase()),
});
const shout = defineExecutor<string, never, string>({
  id: "shout",
  handle: (word, ctx) => ctx.yieldOutput(`${word}!`),
});
const count = defineExecutor({
  id: "count",
  yields: schema(isNumber),
  handle: (words: string[], ctx) => ctx.yieldOutput(words.length),
});
const onDate = defineExecutor({
  id: "date",
  handle: (when: Date, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(when.toISOString()),
});
const untyped = defineExecutor({ id: "untyped", handle: (message, ctx) => ctx.send(message) });
const sink = defineExecutor({ id: "sink", handle: () => {} });

class Tally extends Executor<number, number, boolean> {
  total = 0;
  constructor() {
    super("tally");
  }
  async handle(n: number, ctx: WorkflowContext<number, boolean>): Promise<void> {
    this.total += n;
    await ctx.send(this.total);
    await ctx.yieldOutput(this.total > 10);
  }
  override snapshot(): number {
    return this.total;
  }
  override restore(total: number): void {
    this.total = total;
  }
}

// What the type helpers read off each executor.
expectType<Equal<ExecutorInput<typeof split>, string>>(true);
expectType<Equal<ExecutorOutput<typeof split>, string>>(true);
expectType<Equal<ExecutorYield<typeof length>, number>>(true);
expectType<Equal<ExecutorInput<typeof upper>, string>>(true);
expectType<Equal<ExecutorOutput<typeof upper>, string>>(true);
expectType<Equal<ExecutorYield<typeof count>, number>>(true);
expectType<Equal<ExecutorOutput<typeof untyped>, unknown>>(true);
expectType<Equal<ExecutorYield<Tally>, boolean>>(true);
// An executor that leaves its yields unknown makes a workflow's outputs unknown: a sink says it yields nothing.
const record = defineExecutor({
  id: "record",
  handle: (_line: string, _ctx: WorkflowContext<never, never>) => {},
});
expectType<Equal<ExecutorYield<typeof record>, never>>(true);

/** Wirings that must not compile; never called (they would build broken graphs). */
export function wrongWirings(): void {
  const builder = new WorkflowBuilder({ name: "wrong", start: split });
  // @ts-expect-error split sends strings; onDate takes a Date
  builder.addEdge(split, onDate);
  // @ts-expect-error the last link is wrong: split sends strings, onDate takes a Date
  builder.addChain([split, length, split, onDate]);
  // @ts-expect-error one of the fan-out's targets does not take strings
  builder.addFanOut(split, [length, onDate]);
  // @ts-expect-error one case's target does not take strings
  builder.addSwitch(split, [{ when: (word) => word === "", to: length }, { when: () => true, to: onDate }]);
  // @ts-expect-error the default does not take strings
  builder.addSwitch(split, [{ when: (word) => word === "", to: length }], { default: onDate });
  // @ts-expect-error a fan-in target takes an array of its sources' messages
  builder.addFanIn([split, upper], length);
  // @ts-expect-error a collect target takes an array of its sources' messages
  builder.addCollect(split, length);
  // @ts-expect-error … of every source's messages: upper sends strings, onDate's array would hold Dates
  builder.addCollect([split, upper], defineExecutor({ id: "dates", handle: (_ds: Date[]) => {} }));
  // @ts-expect-error a condition sees what the source sends (a string has no toFixed)
  builder.addEdge(split, length, { when: (word) => word.toFixed(1) === "" });
  // @ts-expect-error the workflow's input is what its start executor handles
  builder.build().run(42);
  const typed = builder.addEdge(split, length).build();
  // @ts-expect-error its outputs are numbers
  const _strings: Promise<WorkflowResult<string>> = typed.run("a");
  defineExecutor({
    id: "sends-wrong",
    // @ts-expect-error it declared to send strings
    handle: (_n: number, ctx: WorkflowContext<string, never>) => ctx.send(42),
  });
  defineExecutor({
    id: "yields-wrong",
    // @ts-expect-error it declared to yield nothing
    handle: (_n: number, ctx: WorkflowContext<string, never>) => ctx.yieldOutput("x"),
  });
  // @ts-expect-error a class executor's context is typed by its type parameters
  new Tally().handle(1, { send: (_s: string) => Promise.resolve() } as unknown as WorkflowContext<string>);
}

describe("types through the graph", () => {
  test("a typed graph takes its start executor's input and yields the union of its executors' outputs", async () => {
    const workflow = new WorkflowBuilder({ name: "words", start: split })
      .addFanOut(split, [length, upper], {
        select: (word, targets) => word.length > 2 ? targets : [targets[0]],
      })
      .addEdge(upper, shout, { when: (word) => word !== "" })
      .addFanIn([split, upper], count)
      .addCollect([split], defineExecutor<string[], never, never>({ id: "all", handle: () => {} }))
      .withCheckpointing(new MemoryCheckpointStorage())
      .build();
    expectType<Equal<typeof workflow, Workflow<string, number | string>>>(true);
    const result = await workflow.run("a big cat");
    expectType<Equal<typeof result.outputs, (number | string)[]>>(true);
    assert.deepEqual(result.outputs.slice(0, 3), [1, 3, 3]);
    assert.ok(result.outputs.includes("BIG!") && result.outputs.includes("CAT!"));
    const seen: (string | number)[] = [];
    for await (const event of workflow.run("hi there")) {
      expectType<Equal<typeof event, WorkflowEvent<number | string>>>(true);
      if (event.type === "output") seen.push(event.data);
    }
    assert.ok(seen.includes("THERE!"));
  });

  test("chains, switches with async conditions and defaults, class executors and resume keep their types", async () => {
    const storage = new MemoryCheckpointStorage();
    const double = defineExecutor({
      id: "double",
      handle: (n: number, ctx: WorkflowContext<number, never>) => ctx.send(n * 2),
    });
    const big = defineExecutor({
      id: "big",
      handle: (n: number, ctx: WorkflowContext<never, "big">) => ctx.yieldOutput(n > 5 ? "big" : "big"),
    });
    const small = defineExecutor({
      id: "small",
      handle: (_n: number, ctx: WorkflowContext<never, "small">) => ctx.yieldOutput("small"),
    });
    const workflow = new WorkflowBuilder({ name: "numbers", start: double })
      .addChain([double, new Tally()])
      .addSwitch("tally", [{ when: (n) => Promise.resolve(Number(n) > 5), to: big }], { default: small })
      .withCheckpointing(storage)
      .build();
    expectType<Equal<typeof workflow, Workflow<number, boolean | "big" | "small">>>(true);
    const result = await workflow.run(4);
    assert.deepEqual(result.outputs, [false, "big"]);
    const resumed = await workflow.resume((await storage.list({ sessionId: result.sessionId })).at(-1)!.id, {
      fork: true,
    });
    expectType<Equal<typeof resumed.outputs, (boolean | "big" | "small")[]>>(true);
    assert.deepEqual(resumed.outputs, [false, "big"]);
  });

  test("untyped executors and string ids wire freely, and their workflow takes and yields unknown", async () => {
    const workflow = new WorkflowBuilder({ name: "untyped", start: untyped })
      .addEdge(untyped, "sink")
      .addExecutor(sink)
      .addEdge(split, length) // typed executors may join an untyped graph
      .addEdge("untyped", split, { when: (message: string) => typeof message === "string" })
      .build();
    expectType<Equal<typeof workflow, Workflow<unknown, unknown>>>(true);
    const result = await workflow.run({ any: "thing" });
    assert.equal(result.status, "idle");
  });
});
