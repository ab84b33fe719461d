// Routing semantics of built workflows, run without checkpoint storage: edge
// kinds, addressed sends, admission (accepts / Standard Schema), deterministic
// delivery and output order, bulk-synchronous shared state and maxSupersteps.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  type Executor,
  type ExecutorDefinition,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  WorkflowBuilder,
  WorkflowConvergenceError,
  type WorkflowEvent,
  type WorkflowEventType,
  WorkflowRoutingError,
  type WorkflowRun,
} from "../mod.ts";

type EventOf<T extends WorkflowEventType> = Extract<WorkflowEvent, { type: T }>;

function ofType<T extends WorkflowEventType>(events: readonly WorkflowEvent[], type: T): EventOf<T>[] {
  return events.filter((event): event is EventOf<T> => event.type === type);
}

/** The ids of the executors invoked, in invocation order. */
function invoked(events: readonly WorkflowEvent[]): string[] {
  return ofType(events, "executor-invoked").map((event) => event.executorId);
}

/** A promise and the function that resolves it: orders concurrent executors without timers. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

/** Consume a run that is expected to fail: every streamed event, and what it threw. */
async function failedRun(run: WorkflowRun): Promise<{ events: WorkflowEvent[]; error: unknown }> {
  const events: WorkflowEvent[] = [];
  try {
    for await (const event of run) events.push(event);
  } catch (error) {
    // The awaited run rejects with the very error the stream threw.
    await assert.rejects(async () => await run, (rejected: unknown) => rejected === error);
    return { events, error };
  }
  assert.fail("the run was expected to fail");
}

/** Asserts the stream ended with `failed` (carrying `error`) then `status: failed`. */
function assertFailedTail(events: readonly WorkflowEvent[], error: unknown): void {
  const tail = events.slice(-2);
  assert.equal(tail.length, 2);
  assert.equal(tail[0].type, "failed");
  assert.equal((tail[0] as EventOf<"failed">).error, error);
  assert.deepEqual(tail[1], { type: "status", state: "failed" });
}

/** An executor that records every message it handles and yields nothing. */
function sink(id: string, received: unknown[]): Executor {
  return defineExecutor({ id, handle: (message: unknown) => void received.push(message) });
}

/** The start executor: sends each element of its array input, in order. */
function emitter(id = "src"): Executor<unknown[], unknown> {
  return defineExecutor({
    id,
    handle: async (messages: unknown[], ctx) => {
      for (const message of messages) await ctx.send(message);
    },
  });
}

describe("addEdge and addChain routing", () => {
  test("addEdge() without a condition delivers every message, in send order", async () => {
    const received: unknown[] = [];
    const src = emitter();
    const result = await new WorkflowBuilder({ name: "plain", start: src })
      .addEdge(src, sink("b", received))
      .build()
      .run([3, 1, 2]);
    assert.equal(result.status, "idle");
    assert.deepEqual(received, [3, 1, 2]);
  });

  test("addEdge() with when delivers only the messages the condition accepts", async () => {
    const even: unknown[] = [];
    const odd: unknown[] = [];
    const src = emitter();
    const result = await new WorkflowBuilder({ name: "when", start: src })
      .addEdge(src, sink("even", even), { when: (n: number) => n % 2 === 0 })
      .addEdge(src, sink("odd", odd), { when: (n: number) => n % 2 === 1 })
      .build()
      .run([1, 2, 3, 4, 5]);
    assert.deepEqual(even, [2, 4]);
    assert.deepEqual(odd, [1, 3, 5]);
    assert.equal(invoked(result.events).filter((id) => id === "even").length, 2);
  });

  test("addEdge() with when never invokes the target when nothing matches, and does not warn", async () => {
    const received: unknown[] = [];
    const src = emitter();
    const result = await new WorkflowBuilder({ name: "none", start: src })
      .addEdge(src, sink("b", received), { when: () => false })
      .build()
      .run(["x"]);
    assert.equal(result.status, "idle");
    assert.deepEqual(received, []);
    assert.ok(!invoked(result.events).includes("b"));
    assert.deepEqual(ofType(result.events, "warning"), []);
  });

  test("addChain() passes messages a → b → c in order, one superstep per hop", async () => {
    const steps: [string, number][] = [];
    const hop = (id: string) =>
      defineExecutor({
        id,
        handle: async (message: string, ctx) => {
          steps.push([id, ctx.superstep]);
          await ctx.send(`${message}>${id}`);
        },
      });
    const a = hop("a");
    const b = hop("b");
    const c = defineExecutor({
      id: "c",
      handle: async (message: string, ctx) => {
        steps.push(["c", ctx.superstep]);
        await ctx.yieldOutput(`${message}>c`);
      },
    });
    const result = await new WorkflowBuilder({ name: "chain", start: a }).addChain([a, b, c]).build().run(
      "in",
    );
    assert.deepEqual(result.outputs, ["in>a>b>c"]);
    assert.deepEqual(steps, [["a", 1], ["b", 2], ["c", 3]]);
  });

  test("addChain() keeps several messages in send order through every hop", async () => {
    const received: unknown[] = [];
    const src = emitter();
    const relay = defineExecutor({ id: "relay", handle: (m: string, ctx) => ctx.send(m.toUpperCase()) });
    await new WorkflowBuilder({ name: "chain", start: src })
      .addChain([src, relay, sink("end", received)])
      .build()
      .run(["x", "y", "z"]);
    assert.deepEqual(received, ["X", "Y", "Z"]);
  });
});

describe("addFanOut routing", () => {
  test("addFanOut() delivers each message to every target", async () => {
    const b: unknown[] = [];
    const c: unknown[] = [];
    const src = emitter();
    await new WorkflowBuilder({ name: "fan-out", start: src })
      .addFanOut(src, [sink("b", b), sink("c", c)])
      .build()
      .run(["x", "y"]);
    assert.deepEqual(b, ["x", "y"]);
    assert.deepEqual(c, ["x", "y"]);
  });

  test("addFanOut() select picks the targets of each message, given the target ids in order", async () => {
    const b: unknown[] = [];
    const c: unknown[] = [];
    const offered: (readonly string[])[] = [];
    const src = emitter();
    const result = await new WorkflowBuilder({ name: "select", start: src })
      .addFanOut(src, [sink("b", b), sink("c", c)], {
        select: (message: string, targets) => {
          offered.push([...targets]);
          if (message === "both") return targets;
          if (message === "none") return [];
          return [message.slice(3)];
        },
      })
      .build()
      .run(["to-b", "to-c", "both", "none"]);
    assert.deepEqual(b, ["to-b", "both"]);
    assert.deepEqual(c, ["to-c", "both"]);
    assert.deepEqual(offered, [["b", "c"], ["b", "c"], ["b", "c"], ["b", "c"]]);
    assert.equal(result.status, "idle");
  });

  test("addFanOut() select returning an id outside its targets fails the run with WorkflowRoutingError", async () => {
    const b: unknown[] = [];
    const c: unknown[] = [];
    const d: unknown[] = [];
    const src = emitter();
    const workflow = new WorkflowBuilder({ name: "bad-select", start: src })
      .addFanOut(src, [sink("b", b), sink("c", c)], { select: () => ["d"] })
      .addEdge(src, sink("d", d), { when: () => false })
      .build();
    const { events, error } = await failedRun(workflow.run(["x"]));
    assert.ok(error instanceof WorkflowRoutingError, `got ${String(error)}`);
    assert.equal(error.executorId, "src");
    assert.match(error.message, /"src"/);
    assert.match(error.message, /"d"/);
    assertFailedTail(events, error);
    assert.deepEqual(invoked(events), ["src"]);
    assert.deepEqual([b, c, d], [[], [], []]);
  });

  test("addFanOut() select returning something that is not an array fails the run with WorkflowRoutingError", async () => {
    const src = emitter();
    const workflow = new WorkflowBuilder({ name: "bad-select", start: src })
      .addFanOut(src, [sink("b", []), sink("c", [])], { select: () => "b" as unknown as string[] })
      .build();
    const { events, error } = await failedRun(workflow.run(["x"]));
    assert.ok(error instanceof WorkflowRoutingError);
    assert.equal(error.executorId, "src");
    assertFailedTail(events, error);
  });
});

describe("addSwitch routing", () => {
  function router(seenByBig: unknown[]) {
    const pos: unknown[] = [];
    const big: unknown[] = [];
    const other: unknown[] = [];
    const src = emitter("router");
    const workflow = new WorkflowBuilder({ name: "switch", start: src })
      .addSwitch(src, [
        { when: (n: number) => n > 0, to: sink("pos", pos) },
        {
          when: (n: number) => {
            seenByBig.push(n);
            return n > 10;
          },
          to: sink("big", big),
        },
      ], { default: sink("other", other) })
      .build();
    return { workflow, pos, big, other };
  }

  test("addSwitch() sends a message matching several cases only to the first", async () => {
    const seenByBig: unknown[] = [];
    const { workflow, pos, big, other } = router(seenByBig);
    await workflow.run([50, 5]);
    assert.deepEqual(pos, [50, 5]);
    assert.deepEqual(big, []);
    assert.deepEqual(other, []);
    assert.deepEqual(seenByBig, [], "later cases are not evaluated once one matched");
  });

  test("addSwitch() sends a message matching no case to the default", async () => {
    const seenByBig: unknown[] = [];
    const { workflow, pos, other } = router(seenByBig);
    await workflow.run([-1, 7, -2]);
    assert.deepEqual(other, [-1, -2]);
    assert.deepEqual(pos, [7]);
    assert.deepEqual(seenByBig, [-1, -2]);
  });

  test("addSwitch() without a default fails the run with WorkflowRoutingError naming the source when nothing matches", async () => {
    const b: unknown[] = [];
    const src = emitter("router");
    const workflow = new WorkflowBuilder({ name: "strict", start: src })
      .addSwitch(src, [{ when: (n: number) => n > 0, to: sink("b", b) }])
      .build();
    const { events, error } = await failedRun(workflow.run([1, -1]));
    assert.ok(error instanceof WorkflowRoutingError, `got ${String(error)}`);
    assert.equal(error.executorId, "router");
    assert.match(error.message, /"router"/);
    assertFailedTail(events, error);
    assert.ok(!invoked(events).includes("b"), "the superstep whose routing failed runs nothing");
  });
});

describe("addFanIn routing", () => {
  /**
   * s fans out to `hop` and `q`; `hop` relays to `p`; fan-in [p, q] → j.
   * So q sends in superstep 2 and p only in superstep 3.
   */
  function lateFirstSource(qSends: string[]) {
    const joined: { data: unknown; superstep: number }[] = [];
    const sent: [string, number][] = [];
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const hop = defineExecutor({ id: "hop", handle: (m: unknown, ctx) => ctx.send(m) });
    const p = defineExecutor({
      id: "p",
      handle: async (_m: unknown, ctx) => {
        sent.push(["p", ctx.superstep]);
        await ctx.send("p1");
      },
    });
    const q = defineExecutor({
      id: "q",
      handle: async (_m: unknown, ctx) => {
        sent.push(["q", ctx.superstep]);
        for (const message of qSends) await ctx.send(message);
      },
    });
    const j = defineExecutor({
      id: "j",
      handle: (data: unknown, ctx) => void joined.push({ data, superstep: ctx.superstep }),
    });
    const workflow = new WorkflowBuilder({ name: "join", start: s })
      .addFanOut(s, [hop, q])
      .addEdge(hop, p)
      .addFanIn([p, q], j)
      .build();
    return { workflow, joined, sent };
  }

  test("addFanIn() delivers one array in source order even when the second source sent first", async () => {
    const { workflow, joined, sent } = lateFirstSource(["q1"]);
    const result = await workflow.run("go");
    assert.deepEqual(sent, [["q", 2], ["p", 3]], "q reached the join a superstep before p");
    assert.deepEqual(joined, [{ data: ["p1", "q1"], superstep: 4 }]);
    assert.equal(invoked(result.events).filter((id) => id === "j").length, 1);
  });

  test("addFanIn() keeps every message of a source that sent twice before the other, in send order", async () => {
    const { workflow, joined } = lateFirstSource(["q1", "q2"]);
    await workflow.run("go");
    assert.deepEqual(joined.map((j) => j.data), [["p1", "q1", "q2"]]);
  });

  test("addFanIn() never fires while a source has not sent", async () => {
    const joined: unknown[] = [];
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const p = defineExecutor({ id: "p", handle: (m: unknown, ctx) => ctx.send(m) });
    const silent = defineExecutor({ id: "q", handle: () => {} });
    const result = await new WorkflowBuilder({ name: "half", start: s })
      .addFanOut(s, [p, silent])
      .addFanIn([p, silent], sink("j", joined))
      .build()
      .run("x");
    assert.equal(result.status, "idle");
    assert.deepEqual(joined, []);
    assert.ok(!invoked(result.events).includes("j"));
  });

  test("addFanIn() joins every message of the superstep in which the last source sent, in source order", async () => {
    // p and q each send twice in the same superstep: the join holds all four, not a partial round.
    const joined: unknown[] = [];
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const twice = (id: string) =>
      defineExecutor({
        id,
        handle: async (_m: unknown, ctx) => {
          await ctx.send(`${id}1`);
          await ctx.send(`${id}2`);
        },
      });
    const p = twice("p");
    const q = twice("q");
    await new WorkflowBuilder({ name: "rounds", start: s })
      .addFanOut(s, [q, p])
      .addFanIn([p, q], sink("j", joined))
      .build()
      .run("x");
    assert.deepEqual(joined, [["p1", "p2", "q1", "q2"]]);
  });

  test("addFanIn() delivers the array in the declared source order, not in executor-id order", async () => {
    const joined: unknown[] = [];
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const named = (id: string) => defineExecutor({ id, handle: (_m: unknown, ctx) => ctx.send(id) });
    const a = named("a");
    const z = named("z");
    await new WorkflowBuilder({ name: "declared", start: s })
      .addFanOut(s, [a, z])
      .addFanIn([z, a], sink("j", joined))
      .build()
      .run("x");
    assert.deepEqual(joined, [["z", "a"]]);
  });
});

describe("WorkflowContext.send() with to", () => {
  test("WorkflowContext.send() with to delivers only along the edge leading to that executor", async () => {
    const b: unknown[] = [];
    const c: unknown[] = [];
    const a = defineExecutor({
      id: "a",
      handle: async (m: string, ctx) => {
        await ctx.send(`${m}-for-c`, { to: "c" });
        await ctx.send(`${m}-for-all`);
      },
    });
    const result = await new WorkflowBuilder({ name: "to", start: a })
      .addEdge(a, sink("b", b))
      .addEdge(a, sink("c", c))
      .build()
      .run("m");
    assert.deepEqual(b, ["m-for-all"]);
    assert.deepEqual(c, ["m-for-c", "m-for-all"]);
    assert.deepEqual(ofType(result.events, "warning"), []);
  });

  test("WorkflowContext.send() with to restricts a fan-out to that target", async () => {
    const b: unknown[] = [];
    const c: unknown[] = [];
    const a = defineExecutor({ id: "a", handle: (m: string, ctx) => ctx.send(m, { to: "b" }) });
    await new WorkflowBuilder({ name: "to-fan-out", start: a })
      .addFanOut(a, [sink("b", b), sink("c", c)])
      .build()
      .run("m");
    assert.deepEqual(b, ["m"]);
    assert.deepEqual(c, []);
  });

  test("WorkflowContext.send() to an executor with no edge from the sender warns, naming both ids", async () => {
    const b: unknown[] = [];
    const c: unknown[] = [];
    // s → a, s → b, a → c: "b" exists, but no edge leads from "a" to it.
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const a = defineExecutor({ id: "a", handle: (m: unknown, ctx) => ctx.send(m, { to: "b" }) });
    const result = await new WorkflowBuilder({ name: "misaddressed", start: s })
      .addFanOut(s, [a, sink("b", b)])
      .addEdge(a, sink("c", c))
      .build()
      .run("m");
    assert.equal(result.status, "idle");
    assert.deepEqual(b, ["m"], "b only got the message from s");
    assert.deepEqual(c, []);
    const warnings = ofType(result.events, "warning");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /"a"/);
    assert.match(warnings[0].message, /"b"/);
    assert.equal(warnings[0].executorId, "a");
  });

  test("WorkflowContext.send() to an id that is not in the workflow warns, naming both ids", async () => {
    const b: unknown[] = [];
    const a = defineExecutor({ id: "a", handle: (m: unknown, ctx) => ctx.send(m, { to: "nobody" }) });
    const result = await new WorkflowBuilder({ name: "unknown-to", start: a })
      .addEdge(a, sink("b", b))
      .build()
      .run("m");
    assert.deepEqual(b, []);
    const warnings = ofType(result.events, "warning");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /"a"/);
    assert.match(warnings[0].message, /"nobody"/);
  });

  test("WorkflowContext.send() from an executor without outgoing edges warns, naming it", async () => {
    const a = defineExecutor({ id: "a", handle: (m: unknown, ctx) => ctx.send(m) });
    const end = defineExecutor({ id: "end", handle: (m: unknown, ctx) => ctx.send(m) });
    const result = await new WorkflowBuilder({ name: "dead-end", start: a }).addEdge(a, end).build().run("m");
    assert.equal(result.status, "idle");
    const warnings = ofType(result.events, "warning");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /"end"/);
    assert.equal(warnings[0].executorId, "end");
  });

  test("WorkflowContext.send() rejects a to that is not a string with a TypeError", async () => {
    const a = defineExecutor({
      id: "a",
      handle: (m: unknown, ctx) => ctx.send(m, { to: 42 as unknown as string }),
    });
    const { error } = await failedRun(
      new WorkflowBuilder({ name: "bad-to", start: a }).addEdge(a, sink("b", [])).build().run("m"),
    );
    assert.ok(error instanceof Error);
    assert.ok(error.cause instanceof TypeError, `got cause ${String(error.cause)}`);
  });
});

type Schema = NonNullable<ExecutorDefinition<string, unknown>["input"]>;

const trimmedString: Schema = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof value === "string" ? { value: value.trim() } : { issues: [{ message: "expected a string" }] },
  },
};

const asyncTrimmedString: Schema = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: async (value) => {
      await Promise.resolve();
      return typeof value === "string"
        ? { value: value.trim() }
        : { issues: [{ message: "expected a string" }] };
    },
  },
};

describe("Executor admission: accepts() and input schemas", () => {
  test("Executor.accepts() refusing a message warns naming source, target and reason, and skips the handler", async () => {
    const handled: unknown[] = [];
    const src = emitter();
    const numbers = defineExecutor({
      id: "numbers",
      accepts: (m) => typeof m === "number",
      handle: (m: number) => void handled.push(m),
    });
    const result = await new WorkflowBuilder({ name: "accepts", start: src })
      .addEdge(src, numbers)
      .build()
      .run(["nope", 5]);
    assert.equal(result.status, "idle");
    assert.deepEqual(handled, [5]);
    assert.equal(invoked(result.events).filter((id) => id === "numbers").length, 1);
    const warnings = ofType(result.events, "warning");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /"src"/);
    assert.match(warnings[0].message, /"numbers"/);
    assert.match(warnings[0].message, /accepts/);
  });

  for (
    const [kind, schema] of [["synchronous", trimmedString], ["asynchronous", asyncTrimmedString]] as const
  ) {
    test(`Executor input schema (${kind} validate) hands the handler the schema's output value`, async () => {
      const handled: unknown[] = [];
      const src = emitter();
      const target = defineExecutor({
        id: "target",
        input: schema,
        handle: (m: string) => void handled.push(m),
      });
      const result = await new WorkflowBuilder({ name: "schema", start: src })
        .addEdge(src, target)
        .build()
        .run(["  padded  ", "plain"]);
      assert.deepEqual(handled, ["padded", "plain"]);
      assert.deepEqual(ofType(result.events, "warning"), []);
    });

    test(`Executor input schema (${kind} validate) refuses an invalid message with a warning carrying the issue`, async () => {
      const handled: unknown[] = [];
      const src = emitter();
      const target = defineExecutor({
        id: "target",
        input: schema,
        handle: (m: string) => void handled.push(m),
      });
      const result = await new WorkflowBuilder({ name: "schema", start: src })
        .addEdge(src, target)
        .build()
        .run([42, " ok "]);
      assert.equal(result.status, "idle");
      assert.deepEqual(handled, ["ok"]);
      assert.equal(invoked(result.events).filter((id) => id === "target").length, 1);
      const warnings = ofType(result.events, "warning");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0].message, /expected a string/);
      assert.match(warnings[0].message, /"src"/);
      assert.match(warnings[0].message, /"target"/);
    });
  }
});

describe("Delivery and output order", () => {
  /**
   * s fans out to `alpha` and `zulu` (listed zulu first). alpha waits until
   * zulu has finished its work, so alpha always finishes last.
   */
  function raceWorkflow() {
    const received: unknown[] = [];
    const finished: string[] = [];
    const zuluDone = deferred();
    const s = defineExecutor({
      id: "s",
      handle: async (m: unknown, ctx) => {
        await ctx.yieldOutput("s");
        await ctx.send(m);
      },
    });
    const alpha = defineExecutor({
      id: "alpha",
      handle: async (_m: unknown, ctx) => {
        await zuluDone.promise;
        await ctx.yieldOutput("alpha-1");
        await ctx.send("from-alpha");
        await ctx.yieldOutput("alpha-2");
        finished.push("alpha");
      },
    });
    const zulu = defineExecutor({
      id: "zulu",
      handle: async (_m: unknown, ctx) => {
        await ctx.yieldOutput("zulu-1");
        await ctx.send("from-zulu");
        await ctx.yieldOutput("zulu-2");
        finished.push("zulu");
        zuluDone.resolve();
      },
    });
    const target = defineExecutor({
      id: "target",
      handle: async (m: unknown, ctx) => {
        received.push(m);
        await ctx.yieldOutput(`target:${m}`);
      },
    });
    const workflow = new WorkflowBuilder({ name: "race", start: s })
      .addFanOut(s, [zulu, alpha])
      .addEdge(alpha, target)
      .addEdge(zulu, target)
      .build();
    return { workflow, received, finished };
  }

  test("Workflow.run() delivers messages to a target in executor-id order of their sources, whoever finished first", async () => {
    const { workflow, received, finished } = raceWorkflow();
    const result = await workflow.run("go");
    assert.deepEqual(finished, ["zulu", "alpha"]);
    const completed = ofType(result.events, "executor-completed").filter((e) => e.superstep === 2);
    assert.deepEqual(completed.map((e) => e.executorId), ["zulu", "alpha"]);
    assert.deepEqual(received, ["from-alpha", "from-zulu"]);
  });

  test("WorkflowResult.outputs are ordered by superstep, then executor id, then yield order", async () => {
    const { workflow } = raceWorkflow();
    const result = await workflow.run("go");
    const live = ofType(result.events, "output").map((e) => e.data);
    assert.deepEqual(
      live.slice(1, 5),
      ["zulu-1", "zulu-2", "alpha-1", "alpha-2"],
      "output events stream live",
    );
    assert.deepEqual(result.outputs, [
      "s",
      "alpha-1",
      "alpha-2",
      "zulu-1",
      "zulu-2",
      "target:from-alpha",
      "target:from-zulu",
    ]);
  });
});

describe("Shared state", () => {
  test("WorkflowState.set() is invisible to other executors in the same superstep and visible in the next", async () => {
    const seen: Record<string, unknown> = {};
    const written = deferred();
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const writer = defineExecutor({
      id: "writer",
      handle: async (_m: unknown, ctx) => {
        ctx.state.set("k", "v");
        written.resolve();
        await ctx.send("next");
      },
    });
    const reader = defineExecutor({
      id: "reader",
      handle: async (_m: unknown, ctx) => {
        await written.promise;
        seen.sameStep = [ctx.state.get("k"), ctx.state.has("k")];
      },
    });
    const later = defineExecutor({
      id: "later",
      handle: (_m: unknown, ctx) => void (seen.nextStep = [ctx.state.get("k"), ctx.state.has("k")]),
    });
    await new WorkflowBuilder({ name: "state", start: s })
      .addFanOut(s, [writer, reader])
      .addEdge(writer, later)
      .build()
      .run("go");
    assert.deepEqual(seen.sameStep, [undefined, false]);
    assert.deepEqual(seen.nextStep, ["v", true]);
  });

  test("WorkflowState shows an executor its own writes and deletes at once", async () => {
    const seen: unknown[] = [];
    const a = defineExecutor({
      id: "a",
      handle: (_m: unknown, ctx) => {
        seen.push(ctx.state.has("k"));
        ctx.state.set("k", 1);
        seen.push(ctx.state.get("k"), ctx.state.has("k"));
        ctx.state.set("k", 2);
        seen.push(ctx.state.get("k"));
        ctx.state.delete("k");
        seen.push(ctx.state.get("k"), ctx.state.has("k"));
        ctx.state.set("k", 3);
        seen.push(ctx.state.get("k"));
      },
    });
    await new WorkflowBuilder({ name: "own", start: a }).build().run("go");
    assert.deepEqual(seen, [false, 1, true, 2, undefined, false, 3]);
  });

  for (const firstWriter of ["alpha", "zulu"] as const) {
    test(`WorkflowState writes of one key in one superstep commit in executor-id order (${firstWriter} writes first)`, async () => {
      const order: string[] = [];
      const firstDone = deferred();
      let seen: unknown;
      const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
      const writer = (id: string) =>
        defineExecutor({
          id,
          handle: async (_m: unknown, ctx) => {
            if (id !== firstWriter) await firstDone.promise;
            ctx.state.set("k", `${id}-value`);
            order.push(id);
            if (id === firstWriter) firstDone.resolve();
            await ctx.send("next");
          },
        });
      const alpha = writer("alpha");
      const zulu = writer("zulu");
      const reader = defineExecutor({
        id: "reader",
        handle: (_m: unknown, ctx) => void (seen = ctx.state.get("k")),
      });
      await new WorkflowBuilder({ name: "last-wins", start: s })
        .addFanOut(s, [alpha, zulu])
        .addFanIn([alpha, zulu], reader)
        .build()
        .run("go");
      assert.deepEqual(order, firstWriter === "alpha" ? ["alpha", "zulu"] : ["zulu", "alpha"]);
      assert.equal(seen, "zulu-value");
    });
  }

  test("WorkflowState.delete() removes a committed key from the next superstep on, not for others in its own", async () => {
    const seen: Record<string, unknown> = {};
    const deleted = deferred();
    const s = defineExecutor({
      id: "s",
      handle: async (m: unknown, ctx) => {
        ctx.state.set("k", "v");
        await ctx.send(m);
      },
    });
    const deleter = defineExecutor({
      id: "deleter",
      handle: async (_m: unknown, ctx) => {
        ctx.state.delete("k");
        deleted.resolve();
        await ctx.send("next");
      },
    });
    const other = defineExecutor({
      id: "other",
      handle: async (_m: unknown, ctx) => {
        await deleted.promise;
        seen.sameStep = [ctx.state.get("k"), ctx.state.has("k")];
      },
    });
    const later = defineExecutor({
      id: "later",
      handle: (_m: unknown, ctx) => void (seen.nextStep = [ctx.state.get("k"), ctx.state.has("k")]),
    });
    await new WorkflowBuilder({ name: "delete", start: s })
      .addFanOut(s, [deleter, other])
      .addEdge(deleter, later)
      .build()
      .run("go");
    assert.deepEqual(seen.sameStep, ["v", true]);
    assert.deepEqual(seen.nextStep, [undefined, false]);
  });

  for (
    const [deleterId, setterId, expected] of [
      ["alpha", "zulu", [true, "set"]],
      ["zulu", "alpha", [false, undefined]],
    ] as const
  ) {
    test(`WorkflowState.delete() by "${deleterId}" and set() by "${setterId}" in one superstep apply in executor-id order`, async () => {
      let seen: unknown;
      const s = defineExecutor({
        id: "s",
        handle: async (m: unknown, ctx) => {
          ctx.state.set("k", "initial");
          await ctx.send(m);
        },
      });
      const deleter = defineExecutor({
        id: deleterId,
        handle: async (_m: unknown, ctx) => {
          ctx.state.delete("k");
          await ctx.send("next");
        },
      });
      const setter = defineExecutor({
        id: setterId,
        handle: async (_m: unknown, ctx) => {
          ctx.state.set("k", "set");
          await ctx.send("next");
        },
      });
      const reader = defineExecutor({
        id: "reader",
        handle: (_m: unknown, ctx) => void (seen = [ctx.state.has("k"), ctx.state.get("k")]),
      });
      await new WorkflowBuilder({ name: "set-vs-delete", start: s })
        .addFanOut(s, [deleter, setter])
        .addFanIn([deleter, setter], reader)
        .build()
        .run("go");
      assert.deepEqual(seen, expected);
    });
  }

  test("WorkflowState.has() reports committed keys and not missing ones", async () => {
    let seen: unknown;
    const a = defineExecutor({
      id: "a",
      handle: async (m: unknown, ctx) => {
        ctx.state.set("present", 0);
        ctx.state.set("falsy", false);
        await ctx.send(m);
      },
    });
    const b = defineExecutor({
      id: "b",
      handle: (_m: unknown, ctx) =>
        void (seen = [ctx.state.has("present"), ctx.state.has("falsy"), ctx.state.has("missing")]),
    });
    await new WorkflowBuilder({ name: "has", start: a }).addEdge(a, b).build().run("go");
    assert.deepEqual(seen, [true, true, false]);
  });

  test("WorkflowState does not leak from one run into the next", async () => {
    const seen: unknown[] = [];
    const a = defineExecutor({
      id: "a",
      handle: (m: unknown, ctx) => {
        seen.push(ctx.state.get("k"));
        ctx.state.set("k", m);
      },
    });
    const workflow = new WorkflowBuilder({ name: "fresh", start: a }).build();
    await workflow.run("first");
    await workflow.run("second");
    assert.deepEqual(seen, [undefined, undefined]);
  });
});

describe("maxSupersteps", () => {
  /** `a` loops to itself, counting up, while the count is below `stop`. */
  function counter(maxSupersteps: number | undefined, stop = Number.POSITIVE_INFINITY) {
    const a = defineExecutor({
      id: "a",
      handle: async (n: number, ctx) => {
        if (n < stop) await ctx.send(n + 1);
      },
    });
    return new WorkflowBuilder({ name: "loop", start: a, maxSupersteps }).addEdge(a, a).build();
  }

  test("Workflow.run() runs an entry superstep 0 that invokes nothing, then the start executor in superstep 1", async () => {
    const result = await counter(5, 1).run(1);
    const types = result.events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), ["started", "status", "superstep-started", "superstep-completed"]);
    assert.deepEqual(
      ofType(result.events, "superstep-started").map((e) => e.superstep),
      [0, 1],
    );
    assert.deepEqual(ofType(result.events, "executor-invoked").map((e) => e.superstep), [1]);
  });

  test("Workflow.run() of an endless loop fails with WorkflowConvergenceError after exactly maxSupersteps supersteps", async () => {
    const { events, error } = await failedRun(counter(4).run(1));
    assert.ok(error instanceof WorkflowConvergenceError, `got ${String(error)}`);
    assert.equal(error.maxSupersteps, 4);
    assert.match(error.message, /"loop"/);
    const started = ofType(events, "superstep-started").map((e) => e.superstep);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(invoked(events).length, 4);
    assertFailedTail(events, error);
  });

  test("Workflow.run() succeeds when the work takes exactly maxSupersteps supersteps, and fails at one more", async () => {
    // Starting at 1, `a` handles n in superstep n: stop = 3 takes 3 supersteps.
    const result = await counter(3, 3).run(1);
    assert.equal(result.status, "idle");
    assert.equal(ofType(result.events, "superstep-started").filter((e) => e.superstep > 0).length, 3);
    const { error } = await failedRun(counter(3, 4).run(1));
    assert.ok(error instanceof WorkflowConvergenceError);
    assert.equal(error.maxSupersteps, 3);
  });

  test("WorkflowBuilder maxSupersteps defaults to 100", async () => {
    assert.equal((await counter(undefined, 100).run(1)).status, "idle");
    const { error } = await failedRun(counter(undefined, 101).run(1));
    assert.ok(error instanceof WorkflowConvergenceError);
    assert.equal(error.maxSupersteps, 100);
  });
});

describe("routing regressions", () => {
  test("send(msg, { to }) past a switch and a fan-out select reaches its edge without consulting them", async () => {
    const reached: unknown[] = [];
    const a = defineExecutor({ id: "a", handle: (_: unknown, ctx) => ctx.send("x", { to: "d" }) });
    const b = defineExecutor({ id: "b", handle: () => {} });
    const c = defineExecutor({ id: "c", handle: () => {} });
    const e = defineExecutor({ id: "e", handle: () => {} });
    const d = defineExecutor({ id: "d", handle: (m: unknown) => void reached.push(m) });
    const result = await new WorkflowBuilder({ name: "to-past-switch", start: a })
      .addSwitch(a, [{ when: (m: unknown) => m === "b", to: b }])
      .addFanOut(a, [c, e], {
        select: () => {
          throw new Error("select must not run for a message sent to d");
        },
      })
      .addEdge(a, d)
      .build()
      .run(null);
    assert.equal(result.status, "idle");
    assert.deepEqual(reached, ["x"]);
  });

  test("a throwing edge condition fails the run with WorkflowRoutingError naming the source, cause attached", async () => {
    const cause = new Error("bad predicate");
    const a = defineExecutor({ id: "a", handle: (m: unknown, ctx) => ctx.send(m) });
    const b = defineExecutor({ id: "b", handle: () => {} });
    const workflow = new WorkflowBuilder({ name: "throwing-when", start: a })
      .addEdge(a, b, {
        when: () => {
          throw cause;
        },
      })
      .build();
    await assert.rejects(
      workflow.run(1),
      (error: unknown) =>
        error instanceof WorkflowRoutingError && error.executorId === "a" && error.cause === cause,
    );
  });

  test("a throwing accepts() fails the run like its handler: executor-failed, then ExecutorFailedError", async () => {
    const cause = new Error("accepts broke");
    const a = defineExecutor({ id: "a", handle: (m: unknown, ctx) => ctx.send(m) });
    const b = defineExecutor({
      id: "b",
      accepts: () => {
        throw cause;
      },
      handle: () => {},
    });
    const run = new WorkflowBuilder({ name: "throwing-accepts", start: a }).addEdge(a, b).build().run(1);
    const types: string[] = [];
    await assert.rejects(
      async () => {
        for await (const event of run) types.push(event.type);
      },
      (error: unknown) =>
        error instanceof ExecutorFailedError && error.executorId === "b" && error.cause === cause,
    );
    assert.deepEqual(types.slice(-3), ["executor-failed", "failed", "status"]);
  });

  test("two fan-ins whose ids would collide as joined strings keep separate checkpointed buffers", async () => {
    const storage = new MemoryCheckpointStorage();
    const s = defineExecutor({ id: "s", handle: (m: unknown, ctx) => ctx.send(m) });
    const send = (id: string) => defineExecutor({ id, handle: (_: unknown, ctx) => ctx.send(id) });
    const quiet = (id: string) => defineExecutor({ id, handle: () => {} });
    const j = defineExecutor({ id: "j", handle: () => {} });
    const result = await new WorkflowBuilder({ name: "collide", start: s })
      .addFanOut(s, [send("a,b"), quiet("c"), quiet("a"), send("b,c")])
      .addFanIn(["a,b", "c"], j)
      .addFanIn(["a", "b,c"], j)
      .withCheckpointing(storage)
      .build()
      .run("x");
    const last = (await storage.load(result.checkpointId!))!;
    assert.equal(Object.keys(last.edgeState).length, 2, "each fan-in keeps its own buffer");
    assert.deepEqual(Object.values(last.edgeState).flatMap((buffer) => Object.values(buffer as object)), [
      ["a,b"],
      ["b,c"],
    ]);
  });
});

describe("async conditions", () => {
  /** A condition's answer, a microtask later or after other conditions (varying delays). */
  const later = <T>(value: T, turns = 1): Promise<T> => {
    let promise = Promise.resolve(value);
    for (let i = 1; i < turns; i++) promise = promise.then((v) => v);
    return promise;
  };

  test("addEdge() awaits an async when: a Promise of false does not route (it is no longer truthy)", async () => {
    const received: unknown[] = [];
    const src = emitter();
    const workflow = new WorkflowBuilder({ name: "async-when", start: src })
      .addEdge(src, sink("sink", received), { when: (n: number) => later(n % 2 === 0, 3 - (n % 3)) })
      .build();
    await workflow.run([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(received, [2, 4, 6], "only the even ones, in send order");
  });

  test("addFanOut() awaits an async select, and checks what it resolves to", async () => {
    const a: unknown[] = [];
    const b: unknown[] = [];
    const src = emitter();
    const workflow = new WorkflowBuilder({ name: "async-select", start: src })
      .addFanOut(src, [sink("a", a), sink("b", b)], {
        select: (n: number, ids) => later(n > 1 ? ids : [ids[1]], n),
      })
      .build();
    await workflow.run([1, 2, 3]);
    assert.deepEqual([a, b], [[2, 3], [1, 2, 3]]);
    const bad = emitter();
    const broken = new WorkflowBuilder({ name: "async-select-bad", start: bad })
      .addFanOut(bad, [sink("a", []), sink("b", [])], { select: () => later(["c"]) })
      .build();
    const { error } = await failedRun(broken.run([1]));
    assert.ok(
      error instanceof WorkflowRoutingError && /"c", which is not one of its targets/.test(error.message),
    );
  });

  test("addSwitch() awaits async cases in order: the first that matches wins, a rejection fails the run", async () => {
    const first: unknown[] = [];
    const second: unknown[] = [];
    const fallback: unknown[] = [];
    const src = emitter();
    const workflow = new WorkflowBuilder({ name: "async-switch", start: src })
      .addSwitch(src, [
        { when: (n: number) => later(n > 10, 5), to: sink("first", first) },
        { when: (n: number) => n > 5, to: sink("second", second) },
      ], { default: sink("fallback", fallback) })
      .build();
    await workflow.run([20, 7, 1, 11]);
    assert.deepEqual([first, second, fallback], [[20, 11], [7], [1]]);
    const failing = emitter();
    const rejecting = new WorkflowBuilder({ name: "async-switch-reject", start: failing })
      .addSwitch(failing, [{ when: () => Promise.reject(new Error("lookup down")), to: sink("x", []) }])
      .build();
    const { error, events } = await failedRun(rejecting.run([1]));
    assert.ok(error instanceof WorkflowRoutingError && /lookup down/.test(error.message), String(error));
    assertFailedTail(events, error);
  });

  test("a run whose async condition never answers can still be cancelled, and resumes from its last checkpoint", async () => {
    const storage = new MemoryCheckpointStorage();
    let hang = true;
    const src = emitter();
    const received: unknown[] = [];
    const workflow = new WorkflowBuilder({ name: "async-hang", start: src })
      .addEdge(src, sink("sink", received), { when: () => hang ? new Promise<boolean>(() => {}) : true })
      .withCheckpointing(storage)
      .build();
    const run = workflow.run([1]);
    for await (const event of run) {
      if (event.type === "superstep-started" && event.superstep === 2) break;
    }
    const head = await storage.head((await storage.list())[0].sessionId);
    hang = false;
    const resumed = await workflow.resume(head!);
    assert.equal(resumed.status, "idle");
    assert.deepEqual(received, [1]);
  });
});
