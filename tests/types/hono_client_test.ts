// The HTTP typed client where factories are typed: Hono's `hc` over `createWorkflowApp` sees each workflow's
// input and outputs. `deno check` (the check gate) and `tsc` (tests/types/tsconfig.json, also in the check
// gate) type-check this file: every `@ts-expect-error` line must be an error, every other line must compile.
// The tests run the well-typed calls against the app, so the types describe what it answers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hc } from "hono/client";
import {
  defineExecutor,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
} from "../../mod.ts";
import {
  createWorkflowApp,
  type JsonElementForm,
  type JsonForm,
  type ProblemDocument,
  type RunResponseBody,
  type WorkflowApp,
  type WorkflowInputOf,
  type WorkflowOutputOf,
} from "../../adapters/hono/mod.ts";
import type { DemoApp } from "../../examples/_demo_app.ts";
import type { ApprovalOutcome } from "../../examples/_demo_workflows.ts";

/** `true` only if `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** `true` if `A` and `B` are assignable both ways (an intersection of objects and the object it amounts to). */
type Same<A, B> = [A] extends [B] ? [B] extends [A] ? true : false : false;
function expectType<T extends true>(_proof: T): void {}

// The workflows: `wordlen` takes a string and yields numbers; `stamp` yields an object of values JSON
// cannot hold as they are; `tick` takes nothing (or a number), yields strings.
interface Stamp {
  at: Date;
  count: bigint;
  tags: Map<string, number>;
  seen: Set<string>;
  note?: string;
  maybe: string | undefined;
  print: () => string;
  nested: { when: Date; list: (number | undefined)[] };
}
function wordlen(): Workflow<string, number> {
  const split = defineExecutor({
    id: "split",
    accepts: (text) => typeof text === "string",
    handle: async (text: string, ctx: WorkflowContext<string, never>) => {
      for (const word of text.split(" ")) await ctx.send(word);
    },
  });
  const len = defineExecutor({
    id: "len",
    handle: (word: string, ctx: WorkflowContext<never, number>) => ctx.yieldOutput(word.length),
  });
  return new WorkflowBuilder({ name: "wordlen", start: split }).addEdge(split, len).build();
}
const stamp = () =>
  new WorkflowBuilder({
    name: "stamp",
    start: defineExecutor({
      id: "stamp",
      handle: (count: number, ctx: WorkflowContext<never, Stamp>) =>
        ctx.yieldOutput({
          at: new Date(0),
          count: BigInt(count),
          tags: new Map([["a", 1]]),
          seen: new Set(["x"]),
          maybe: undefined,
          print: () => "",
          nested: { when: new Date(0), list: [1, undefined] },
        }),
    }),
  }).build();
const tick = () =>
  new WorkflowBuilder({
    name: "tick",
    start: defineExecutor({
      id: "tick",
      accepts: (n) => n === undefined || typeof n === "number",
      handle: (n: number | undefined, ctx: WorkflowContext<never, string>) =>
        ctx.yieldOutput(`tick ${n ?? 0}`),
    }),
  }).build();

const workflows = { wordlen, stamp, tick };
function makeApp() {
  return createWorkflowApp({ workflows, storage: new MemoryCheckpointStorage() });
}
/** The test app's type: what `hc` is typed from. */
type TestApp = ReturnType<typeof makeApp>;
/** A client that sends its requests to `app` directly (no network). */
function clientOf(app: TestApp) {
  return hc<TestApp>("http://localhost", { fetch: app.request });
}

// What the factories say.
expectType<Equal<WorkflowInputOf<typeof wordlen>, string>>(true);
expectType<Equal<WorkflowOutputOf<typeof wordlen>, number>>(true);
expectType<Equal<WorkflowInputOf<typeof tick>, number | undefined>>(true);
expectType<Equal<WorkflowOutputOf<typeof stamp>, Stamp>>(true);
expectType<Equal<WorkflowInputOf<() => Workflow>, unknown>>(true);

// The JSON forms of outputs.
expectType<Equal<JsonForm<number>, number>>(true);
expectType<Equal<JsonForm<bigint>, string>>(true);
expectType<Equal<JsonForm<Date>, string>>(true);
expectType<Equal<JsonForm<unknown>, unknown>>(true);
expectType<Equal<JsonForm<Map<string, bigint>>, [string, string][]>>(true);
expectType<Equal<JsonForm<Set<Date>>, string[]>>(true);
expectType<Equal<JsonForm<Uint8Array>, number[]>>(true);
expectType<Equal<JsonForm<BigInt64Array>, string[]>>(true);
expectType<Equal<JsonForm<Error>, { name: string; message: string }>>(true);
expectType<Same<JsonForm<{ toJSON(): { v: bigint } }>, { v: string }>>(true);
expectType<Equal<JsonElementForm<undefined>, null>>(true);
expectType<Equal<JsonForm<[Date, undefined, () => void]>, [string, null, null]>>(true);
expectType<
  Same<
    JsonForm<Stamp>,
    {
      at: string;
      count: string;
      tags: [string, number][];
      seen: string[];
      note?: string;
      maybe?: string;
      nested: { when: string; list: (number | null)[] };
    }
  >
>(true);
// A function property is left out: it is not part of the JSON.
type StampJson = JsonForm<Stamp>;
expectType<Equal<"print" extends keyof StampJson ? true : false, false>>(true);

// Compile-time only: never called. The typed routes, one per workflow.
async function typedRoutes(client: ReturnType<typeof clientOf>) {
  const res = await client.workflows.wordlen.runs.$post({ json: { input: "hello big world" } });
  if (res.status === 200) {
    const body = await res.json();
    expectType<Equal<typeof body.outputs, number[]>>(true);
    expectType<Equal<typeof body.checkpointId, string | null>>(true);
  } else {
    expectType<Equal<Awaited<ReturnType<typeof res.json>>, ProblemDocument>>(true);
  }
  // @ts-expect-error wordlen takes a string
  await client.workflows.wordlen.runs.$post({ json: { input: 42 } });
  // @ts-expect-error wordlen takes an input: it may not be left out
  await client.workflows.wordlen.runs.$post({ json: {} });
  await client.workflows.wordlen.runs.$post({ json: { input: "x", sessionId: "s1" } });
  // @ts-expect-error a session id is a string
  await client.workflows.wordlen.runs.$post({ json: { input: "x", sessionId: 1 } });
  // tick takes none: the input may be left out.
  await client.workflows.tick.runs.$post({ json: {} });
  await client.workflows.tick.runs.$post({ json: { input: 3 } });
  // @ts-expect-error tick takes a number or nothing
  await client.workflows.tick.runs.$post({ json: { input: "3" } });
  // @ts-expect-error there is no workflow "nope"
  await client.workflows.nope.runs.$post({ json: { input: 1 } });
  const stamped = await client.workflows.stamp.runs.$post({ json: { input: 1 } });
  if (stamped.status === 200) {
    const [first] = (await stamped.json()).outputs;
    expectType<Equal<typeof first.at, string>>(true);
    expectType<Equal<typeof first.count, string>>(true);
    // @ts-expect-error a Date arrives as a string
    first.at.getTime();
  }

  // The generic route and resumes: the workflow is not in the types of the URL, so the input is unknown
  // and the outputs are any served workflow's.
  const any = await client.workflows[":name"].runs.$post({ param: { name: "wordlen" }, json: { input: 1 } });
  const resumed = await client.checkpoints[":id"].resume.$post({
    param: { id: "x" },
    json: { responses: {} },
  });
  if (any.status === 200 && resumed.status === 200) {
    type Union = number | JsonForm<Stamp> | string;
    expectType<
      Same<
        (typeof any extends { json(): Promise<infer B> } ? B : never),
        RunResponseBody<number | Stamp | string>
      >
    >(
      true,
    );
    expectType<Same<Awaited<ReturnType<typeof resumed.json>>["outputs"][number], Union>>(true);
  }
  // @ts-expect-error fork is a boolean
  await client.checkpoints[":id"].resume.$post({ param: { id: "x" }, json: { fork: "yes" } });
}
void typedRoutes;

// An untyped app (`Record<string, () => Workflow>`): no per-workflow routes, outputs unknown.
async function untyped(client: ReturnType<typeof hc<WorkflowApp>>) {
  const res = await client.workflows[":name"].runs.$post({ param: { name: "any" }, json: { input: 1 } });
  if (res.status === 200) {
    expectType<Equal<(Awaited<ReturnType<typeof res.json>>)["outputs"], unknown[]>>(true);
  }
  // @ts-expect-error no workflow is known by name
  await client.workflows.wordlen.runs.$post({ json: { input: "x" } });
}
void untyped;

// The demo servers' app, as examples/client.ts uses it.
async function demo(client: ReturnType<typeof hc<DemoApp>>) {
  const res = await client.workflows.approval.runs.$post({ json: { input: "v1.0" } });
  if (res.status === 200) {
    expectType<Equal<(Awaited<ReturnType<typeof res.json>>)["outputs"], JsonForm<ApprovalOutcome>[]>>(true);
  }
  // @ts-expect-error approval takes a string
  await client.workflows.approval.runs.$post({ json: { input: { topic: "v1.0" } } });
}
void demo;

describe("hc over createWorkflowApp with typed factories", () => {
  test("a typed route runs its workflow and answers what its types say", async () => {
    const client = clientOf(makeApp());
    const res = await client.workflows.wordlen.runs.$post({ json: { input: "hello big world" } });
    assert.equal(res.status, 200);
    if (res.status !== 200) return;
    const body = await res.json();
    assert.deepEqual(body.outputs, [5, 3, 5]);
    const stamped = await client.workflows.stamp.runs.$post({ json: { input: 7 } });
    if (stamped.status !== 200) assert.fail(`status ${stamped.status}`);
    const [first] = (await stamped.json()).outputs;
    const expected: JsonForm<Stamp> = {
      at: "1970-01-01T00:00:00.000Z",
      count: "7",
      tags: [["a", 1]],
      seen: ["x"],
      nested: { when: "1970-01-01T00:00:00.000Z", list: [1, null] },
    };
    assert.deepEqual(first, expected);
  });

  test("a workflow that takes none runs without input; the others answer 400", async () => {
    const client = clientOf(makeApp());
    const res = await client.workflows.tick.runs.$post({ json: {} });
    if (res.status !== 200) assert.fail(`status ${res.status}`);
    assert.deepEqual((await res.json()).outputs, ["tick 0"]);
    const generic = await client.workflows[":name"].runs.$post({ param: { name: "wordlen" }, json: {} });
    assert.equal(generic.status, 400);
  });

  test("a resume through the typed client answers the checkpoint's workflow's outputs", async () => {
    const client = clientOf(makeApp());
    const first = await client.workflows.wordlen.runs.$post({ json: { input: "a bc" } });
    if (first.status !== 200) assert.fail(`status ${first.status}`);
    const { checkpointId } = await first.json();
    assert.ok(checkpointId !== null);
    const res = await client.checkpoints[":id"].resume.$post({
      param: { id: checkpointId },
      json: { fork: true },
    });
    if (res.status !== 200) assert.fail(`status ${res.status}`);
    assert.deepEqual((await res.json()).outputs, []);
  });
});
