// Graph evolution: a checkpoint written by one version of a workflow resumes on another when everything it
// references exists and fits (added executors and edges are fine, changed edges apply to what is delivered
// after the resume), snapshots of a changed version are upgraded or refused, renamed ids are mapped, and
// anything else is refused by a CheckpointMismatchError naming exactly what does not fit.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Checkpoint,
  CheckpointMismatchError,
  defineExecutor,
  type EvolutionOptions,
  Executor,
  type Incompatibility,
  MemoryCheckpointStorage,
  type PendingRequest,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowExecutor,
} from "../mod.ts";
import { type ReviewVersion, reviewWorkflow } from "./fixtures/evolution_workflow.ts";

/** The refusal of `promise`, asserted to be a CheckpointMismatchError. */
async function refusal(promise: Promise<unknown>): Promise<CheckpointMismatchError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CheckpointMismatchError, `expected CheckpointMismatchError, got ${error}`);
    return error;
  }
  assert.fail("the resume was not refused");
}

function kinds(incompatibilities: readonly Incompatibility[]) {
  return incompatibilities.map(({ kind, executorId, edgeId, path }) => ({ kind, executorId, edgeId, path }));
}

/** v1 paused on its reviewer's request, in `storage`. */
async function pausedV1(storage = new MemoryCheckpointStorage()) {
  const paused = await reviewWorkflow("v1", storage).run({ title: "draft", words: 900 });
  assert.equal(paused.status, "idle-pending-requests");
  return { storage, paused, request: paused.pendingRequests[0] };
}

/** Answer the v1 request with `answer`, on `version`, forking the paused checkpoint. */
async function answerOn(version: ReviewVersion, answer: string, evolution?: EvolutionOptions) {
  const { storage, paused, request } = await pausedV1();
  return await reviewWorkflow(version, storage).resume(paused.checkpointId!, {
    fork: true,
    responses: { [request.requestId]: answer },
    ...evolution && { evolution },
  });
}

describe("evolution: the five deploys of a waiting review", () => {
  test("v2 (an executor added after the requester, an edge rerouted) resumes and takes the new route", async () => {
    const done = await answerOn("v2", "yes");
    assert.equal(done.status, "idle");
    assert.deepEqual(done.outputs, ["archived: published draft (900 words, 1 review)"]);
  });

  test("v3 (the requester's snapshot changed shape) resumes with the state its upgrade made", async () => {
    const done = await answerOn("v3", "yes");
    assert.deepEqual(done.outputs, ["published draft (900 words, reviews: [yes])"]);
  });

  test("v3 without upgrade is refused, naming the executor and both versions", async () => {
    const error = await refusal(answerOn("v3-no-upgrade", "yes"));
    assert.deepEqual(kinds(error.incompatibilities), [
      { kind: "version-changed", executorId: "review", edgeId: undefined, path: [] },
    ]);
    assert.equal(error.incompatibilities[0].fromVersion, "1");
    assert.equal(error.incompatibilities[0].toVersion, "2");
    assert.match(error.message, /"review" was written by version "1", the executor is version "2"/);
  });

  test("v4 (the requester removed) is refused, naming it, and says what changed", async () => {
    const error = await refusal(answerOn("v4", "yes"));
    const missing = error.incompatibilities.filter((i) => i.executorId === "review");
    assert.deepEqual(missing.map((i) => i.kind).sort(), ["missing-executor", "missing-executor"]);
    assert.match(error.message, /request .* waits for "review", which the graph no longer has/);
    assert.deepEqual(error.changes?.removedExecutors, ["review"]);
    assert.deepEqual(error.changes?.addedExecutors, ["approve"]);
  });

  test("v5 (the requester renamed) resumes with the rename mapped by the builder, or by the call", async () => {
    assert.deepEqual((await answerOn("v5", "yes")).outputs, ["published draft (900 words, 1 review)"]);
    const refused = await refusal(answerOn("v5-unmapped", "yes"));
    assert.ok(
      refused.incompatibilities.some((i) => i.kind === "missing-executor" && i.executorId === "review"),
    );
    const mapped = await answerOn("v5-unmapped", "yes", { renames: { review: "approve" } });
    assert.deepEqual(mapped.outputs, ["published draft (900 words, 1 review)"]);
  });

  test("a strict workflow refuses any change, and says what changed", async () => {
    const error = await refusal(answerOn("v2", "yes", { strict: true }));
    assert.deepEqual(error.incompatibilities, []);
    assert.deepEqual(error.changes?.addedExecutors, ["archive"]);
    assert.ok(error.changes!.addedEdges.includes("publish -> archive"));
  });
});

/** One stateful counter between a sender and a sink; the counter's class is `Counter` at `version`. */
class Counter extends Executor<number, number, never> {
  count = 0;
  constructor(id: string, version?: string, readonly upgradeWith?: (old: unknown, from?: string) => unknown) {
    super(id, { version });
  }
  async handle(n: number, ctx: WorkflowContext<number, never>): Promise<void> {
    this.count++;
    await ctx.send(n + this.count);
  }
  override snapshot(): unknown {
    return { count: this.count };
  }
  override restore(state: unknown): void {
    this.count = (state as { count: number }).count;
  }
  override upgrade(snapshot: unknown, from: string | undefined): unknown {
    if (this.upgradeWith === undefined) throw new Error("no upgrade configured");
    return this.upgradeWith(snapshot, from);
  }
}

describe("evolution: what a checkpoint references", () => {
  /** first → counter → last (yields); the checkpoint after superstep 1 has a message queued from "first". */
  function chain(
    storage: MemoryCheckpointStorage,
    variant: { counter?: Executor<number, number, never>; firstId?: string; noLast?: boolean } = {},
  ) {
    const first = defineExecutor({
      id: variant.firstId ?? "first",
      handle: (n: number, ctx: WorkflowContext<number, never>) => ctx.send(n),
    });
    const counter = variant.counter ?? new Counter("counter");
    const last = defineExecutor({
      id: "last",
      handle: (n: number, ctx: WorkflowContext<never, number>) => ctx.yieldOutput(n),
    });
    const builder = new WorkflowBuilder({ name: "chain", start: first });
    builder.addEdge(first, counter);
    if (!variant.noLast) builder.addEdge(counter, last);
    return builder.withCheckpointing(storage).build();
  }

  async function checkpoints(storage: MemoryCheckpointStorage, workflow: Workflow) {
    const result = await workflow.run(10);
    assert.deepEqual(result.outputs, [11]);
    const ids = result.events.flatMap((e) => e.type === "superstep-completed" ? [e.checkpointId!] : []);
    return Promise.all(ids.map(async (id) => (await storage.load(id)) as Checkpoint));
  }

  test("a queued message from a removed executor, or from one with no edge now, is refused", async () => {
    const storage = new MemoryCheckpointStorage();
    const [, afterFirst, afterCounter] = await checkpoints(storage, chain(storage));
    assert.equal(afterFirst.messages[0].source, "first");
    const removed = await refusal(chain(storage, { firstId: "start" }).resume(afterFirst.id, { fork: true }));
    assert.deepEqual(kinds(removed.incompatibilities), [
      { kind: "missing-executor", executorId: "first", edgeId: undefined, path: [] },
    ]);
    assert.equal(afterCounter.messages[0].source, "counter");
    const unrouted = await refusal(chain(storage, { noLast: true }).resume(afterCounter.id, { fork: true }));
    assert.deepEqual(kinds(unrouted.incompatibilities), [
      { kind: "no-route", executorId: "counter", edgeId: undefined, path: [] },
    ]);
    // The same change is fine for a checkpoint with nothing queued from "counter".
    assert.equal(
      (await chain(storage, { noLast: true }).resume(afterFirst.id, { fork: true })).status,
      "idle",
    );
  });

  test("a snapshot whose executor keeps no state now, or whose upgrade throws, is refused", async () => {
    const storage = new MemoryCheckpointStorage();
    const [, , afterCounter] = await checkpoints(storage, chain(storage));
    // A changed executor says so by its version (the graph signature is made of ids, versions and edges).
    const stateless = defineExecutor({
      id: "counter",
      version: "2",
      handle: (n: number, ctx: WorkflowContext<number, never>) => ctx.send(n),
    });
    const dropped = await refusal(
      chain(storage, { counter: stateless }).resume(afterCounter.id, { fork: true }),
    );
    assert.deepEqual(dropped.incompatibilities.map((i) => i.kind), ["state-dropped"]);
    const throwing = new Counter("counter", "2", () => {
      throw new Error("cannot read v1");
    });
    const failed = await refusal(
      chain(storage, { counter: throwing }).resume(afterCounter.id, { fork: true }),
    );
    assert.deepEqual(failed.incompatibilities.map((i) => i.kind), ["upgrade-failed"]);
    assert.match(failed.message, /cannot read v1/);
  });

  test("upgrade gets the stored snapshot and the version it was written by; the next checkpoint records the new one", async () => {
    const storage = new MemoryCheckpointStorage();
    const [, afterFirst] = await checkpoints(
      storage,
      chain(storage, { counter: new Counter("counter", "1") }),
    );
    assert.deepEqual(afterFirst.versions, { counter: "1" });
    const seen: unknown[] = [];
    const upgraded = new Counter("counter", "2", (old, from) => {
      seen.push([old, from]);
      return { count: (old as { count: number }).count + 100 };
    });
    const resumed = await chain(storage, { counter: upgraded }).resume(afterFirst.id, { fork: true });
    assert.deepEqual(seen, [[{ count: 0 }, "1"]]);
    assert.deepEqual(resumed.outputs, [111]);
    const last = (await storage.load(resumed.checkpointId!))!;
    assert.deepEqual(last.versions, { counter: "2" });
  });

  test("messages buffered in a fan-in the new graph no longer has are refused, naming the fan-in", async () => {
    const storage = new MemoryCheckpointStorage();
    const build = (sources: "ab" | "abc") => {
      const start = defineExecutor({
        id: "start",
        handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(t),
      });
      const a = defineExecutor({
        id: "a",
        handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(`a${t}`),
      });
      const hop = defineExecutor({
        id: "hop",
        handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(t),
      });
      const b = defineExecutor({
        id: "b",
        handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(`b${t}`),
      });
      const c = defineExecutor({
        id: "c",
        handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(`c${t}`),
      });
      const join = defineExecutor({
        id: "join",
        handle: (p: string[], ctx: WorkflowContext<never, string>) => ctx.yieldOutput(p.join("+")),
      });
      const builder = new WorkflowBuilder({ name: "join", start }).addFanOut(start, [a, hop]).addEdge(hop, b);
      if (sources === "abc") builder.addEdge(hop, c).addFanIn([a, b, c], join);
      else builder.addFanIn([a, b], join);
      return builder.withCheckpointing(storage).build();
    };
    const result = await build("ab").run("x");
    const ids = result.events.flatMap((e) => e.type === "superstep-completed" ? [e.checkpointId!] : []);
    const buffered = (await Promise.all(ids.map((id) => storage.load(id)))).find((c) =>
      Object.keys(c!.edgeState).length > 0
    )!;
    const error = await refusal(build("abc").resume(buffered.id, { fork: true }));
    assert.deepEqual(kinds(error.incompatibilities), [
      { kind: "buffer-orphaned", executorId: undefined, edgeId: 'fan-in:[["a","b"],["join"]]', path: [] },
    ]);
    // Renames reach the buffers too: the same fan-in under new ids resumes to the same join.
    const renamed = new WorkflowBuilder({
      name: "join",
      start: defineExecutor({
        id: "start",
        handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(t),
      }),
      evolution: { renames: { a: "left", b: "right" } },
    });
    const left = defineExecutor({
      id: "left",
      handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(`a${t}`),
    });
    const hop = defineExecutor({
      id: "hop",
      handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(t),
    });
    const right = defineExecutor({
      id: "right",
      handle: (t: string, ctx: WorkflowContext<string, never>) => ctx.send(`b${t}`),
    });
    const join = defineExecutor({
      id: "join",
      handle: (p: string[], ctx: WorkflowContext<never, string>) => ctx.yieldOutput(p.join("+")),
    });
    const moved = renamed.addFanOut("start", [left, hop]).addEdge(hop, right).addFanIn([left, right], join)
      .withCheckpointing(storage).build();
    assert.deepEqual((await moved.resume(buffered.id, { fork: true })).outputs, result.outputs);
  });

  test("renames are checked where they are given", () => {
    const a = defineExecutor({ id: "a", handle: () => {} });
    assert.throws(
      () => new WorkflowBuilder({ name: "r", start: a, evolution: { renames: { old: "nope" } } }).build(),
      /evolution.renames maps "old" to "nope", not an executor/,
    );
    assert.throws(
      () => new WorkflowBuilder({ name: "r", start: a, evolution: { renames: { a: "a" } } }).build(),
      /maps "a", which is still an executor/,
    );
    assert.throws(
      () => new WorkflowBuilder({ name: "r", start: a, evolution: { strict: "yes" as never } }),
      TypeError,
    );
    const workflow = new WorkflowBuilder({ name: "r", start: a }).withCheckpointing(
      new MemoryCheckpointStorage(),
    )
      .build();
    assert.throws(
      () => workflow.resume("01J00000000000000000000000", { evolution: { renames: { x: "y" } } }),
      TypeError,
    );
  });
});

describe("evolution: the graph description", () => {
  test("a session's first checkpoint, a fork's first and the first after a changed graph describe the graph; the rest do not", async () => {
    const { storage, paused, request } = await pausedV1();
    const chain = await Promise.all(
      (await storage.list({ sessionId: paused.sessionId })).reverse().map(async (s) =>
        (await storage.load(s.id))!
      ),
    );
    assert.deepEqual(chain.map((c) => c.graph !== undefined), chain.map((_, i) => i === 0));
    const done = await reviewWorkflow("v2", storage).resume(paused.checkpointId!, {
      responses: { [request.requestId]: "yes" },
    });
    const after = await Promise.all(
      (await storage.list({ sessionId: paused.sessionId })).reverse().slice(chain.length)
        .map(async (s) => (await storage.load(s.id))!),
    );
    assert.deepEqual(after.map((c) => c.graph !== undefined), after.map((_, i) => i === 0));
    assert.equal(after[0].graphSignature, await reviewWorkflow("v2", storage).graphSignature());
    const forked = await reviewWorkflow("v2", storage).resume(done.checkpointId!, { fork: true });
    assert.ok((await storage.load(forked.checkpointId!))!.graph !== undefined);
  });

  test("a refusal finds the description on an ancestor several checkpoints back", async () => {
    const { storage, paused } = await pausedV1();
    const head = (await storage.load(paused.checkpointId!))!;
    assert.equal(head.graph, undefined, "the paused checkpoint is not the session's first");
    const error = await refusal(reviewWorkflow("v4", storage).resume(paused.checkpointId!, { fork: true }));
    assert.deepEqual(error.changes?.removedExecutors, ["review"]);
    assert.match(error.message, /the graph changed: removed "review", added "approve"/);
  });
});

describe("evolution: sub-workflows follow the same rules inside their executor", () => {
  function outer(storage: MemoryCheckpointStorage, inner: "v1" | "added" | "removed") {
    const ask = defineExecutor({
      id: inner === "removed" ? "asker" : "ask",
      handle: async (item: string, ctx: WorkflowContext<string, never>) => void await ctx.requestInfo(item),
      onResponse: (answer: unknown, request: PendingRequest, ctx: WorkflowContext<string, never>) =>
        ctx.send(`${request.data}=${answer}`),
    });
    const line = defineExecutor({
      id: "line",
      handle: (t: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(t),
    });
    const shout = defineExecutor({
      id: "shout",
      handle: (t: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(t.toUpperCase()),
    });
    const builder = new WorkflowBuilder({ name: "inner", start: ask });
    if (inner === "added") builder.addFanOut(ask, [line, shout]);
    else builder.addEdge(ask, line);
    const sub = new WorkflowExecutor("sub", builder.build());
    const sink = defineExecutor({
      id: "sink",
      handle: (t: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(`got ${t}`),
    });
    return new WorkflowBuilder({ name: "outer", start: sub }).addEdge(sub, sink).withCheckpointing(storage)
      .build();
  }

  test("an executor added inside resumes (the new route inside), the asker removed inside is refused with its path", async () => {
    const storage = new MemoryCheckpointStorage();
    const paused = await outer(storage, "v1").run("x");
    const [request] = paused.pendingRequests;
    assert.deepEqual(request.path, ["sub", "ask"]);
    const added = await outer(storage, "added").resume(paused.checkpointId!, {
      fork: true,
      responses: { [request.requestId]: "ok" },
    });
    assert.deepEqual(added.outputs.toSorted(), ["got X=OK", "got x=ok"]);
    const error = await refusal(outer(storage, "removed").resume(paused.checkpointId!, { fork: true }));
    assert.deepEqual(kinds(error.incompatibilities), [
      { kind: "missing-executor", executorId: "ask", edgeId: undefined, path: ["sub"] },
    ]);
    assert.match(error.message, /in sub: request .* waits for "ask"/);
    assert.deepEqual(error.changes?.changedSubWorkflows, ["sub"]);
  });
});
