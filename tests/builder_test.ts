// WorkflowBuilder: option and executor validation, build() graph validation,
// the built Workflow's identity (name, executorIds, graphSignature) and its
// renderings (toMermaid, toDot).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  Executor,
  type ExecutorDefinition,
  Workflow,
  WorkflowBuilder,
  type WorkflowBuilderOptions,
  WorkflowValidationError,
} from "../mod.ts";

/** An executor that does nothing: these tests only wire graphs. */
function node(id: string, version?: string): Executor {
  return defineExecutor({ id, version, handle: () => {} });
}

/** Asserts that `build` throws a WorkflowValidationError whose message matches every pattern. */
function assertInvalid(build: () => unknown, ...patterns: RegExp[]): WorkflowValidationError {
  let caught: unknown;
  try {
    build();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof WorkflowValidationError,
    `expected a WorkflowValidationError, got ${String(caught)}`,
  );
  assert.equal(caught.name, "WorkflowValidationError");
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

describe("WorkflowBuilder constructor", () => {
  test("WorkflowBuilder rejects a missing, empty or non-string name with a TypeError", () => {
    const start = node("s");
    for (const name of [undefined, "", 42, null]) {
      assert.throws(
        () => new WorkflowBuilder({ name, start } as unknown as WorkflowBuilderOptions),
        TypeError,
        `name ${String(name)}`,
      );
    }
    assert.throws(() => new WorkflowBuilder(undefined as unknown as WorkflowBuilderOptions), TypeError);
  });

  test("WorkflowBuilder rejects maxSupersteps 0, 1.5, -1, NaN and Infinity with a RangeError", () => {
    const start = node("s");
    for (const maxSupersteps of [0, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new WorkflowBuilder({ name: "w", start, maxSupersteps }),
        RangeError,
        `maxSupersteps ${maxSupersteps}`,
      );
    }
  });

  test("WorkflowBuilder accepts maxSupersteps 1 and a large integer", () => {
    const start = node("s");
    assert.ok(new WorkflowBuilder({ name: "w", start, maxSupersteps: 1 }).build() instanceof Workflow);
    assert.ok(
      new WorkflowBuilder({ name: "w", start, maxSupersteps: 1_000_000 }).build() instanceof Workflow,
    );
  });

  test("WorkflowBuilder rejects a start that is not an executor with a TypeError", () => {
    const lookAlikes = [{ handle() {} }, { id: "", handle() {} }, { id: "a\nb", handle() {} }];
    for (const start of [undefined, null, {}, "s", () => {}, { id: "s" }, ...lookAlikes]) {
      assert.throws(
        () => new WorkflowBuilder({ name: "w", start } as unknown as WorkflowBuilderOptions),
        TypeError,
        `start ${String(start)}`,
      );
    }
  });
});

describe("Executor ids and defineExecutor", () => {
  test("defineExecutor() rejects an empty id with a TypeError", () => {
    assert.throws(() => defineExecutor({ id: "", handle: () => {} }), TypeError);
  });

  test("defineExecutor() rejects ids containing control characters with a TypeError", () => {
    for (const id of ["a\nb", "a\tb", "\u0000", "tail\u001f", "del\u007f"]) {
      assert.throws(() => defineExecutor({ id, handle: () => {} }), TypeError, JSON.stringify(id));
    }
  });

  test("defineExecutor() rejects a non-string id with a TypeError", () => {
    for (const id of [undefined, 42, null]) {
      assert.throws(
        () => defineExecutor({ id, handle: () => {} } as unknown as ExecutorDefinition<unknown, unknown>),
        TypeError,
      );
    }
  });

  test("defineExecutor() accepts a 256-character id and rejects a 257-character one", () => {
    assert.equal(defineExecutor({ id: "x".repeat(256), handle: () => {} }).id, "x".repeat(256));
    assert.throws(() => defineExecutor({ id: "x".repeat(257), handle: () => {} }), TypeError);
  });

  test("defineExecutor() accepts punctuation and non-ASCII in ids", () => {
    for (const id of ['a"b<c#d', "with space", "ünïcødé", "a->b,c"]) {
      assert.equal(defineExecutor({ id, handle: () => {} }).id, id);
    }
  });

  test("defineExecutor() rejects a handle that is not a function with a TypeError naming the id", () => {
    for (const handle of [undefined, 42, "handle", {}]) {
      assert.throws(
        () => defineExecutor({ id: "bad", handle } as unknown as ExecutorDefinition<unknown, unknown>),
        (error: unknown) => error instanceof TypeError && /"bad"/.test(error.message),
      );
    }
  });

  test("defineExecutor() keeps the version and returns an Executor", () => {
    const executor = defineExecutor({ id: "v", version: "2", handle: () => {} });
    assert.ok(executor instanceof Executor);
    assert.equal(executor.version, "2");
    assert.equal(defineExecutor({ id: "nv", handle: () => {} }).version, undefined);
  });

  test("Executor subclass constructor validates its id like defineExecutor()", () => {
    class Noop extends Executor<unknown, unknown> {
      handle(): void {}
    }
    assert.equal(new Noop("fine").id, "fine");
    assert.throws(() => new Noop(""), TypeError);
    assert.throws(() => new Noop("bad\nid"), TypeError);
    assert.equal(new Noop("v", { version: "3" }).version, "3");
  });
});

describe("WorkflowBuilder.build() validation", () => {
  test("WorkflowBuilder.build() rejects a duplicate executor id (two different executors), naming it", () => {
    const s = node("s");
    const first = node("twin");
    const second = node("twin");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, first).addEdge(first, second).build(),
      /duplicate executor id "twin"/i,
    );
  });

  test("WorkflowBuilder.build() rejects an executor that reuses the start executor's id", () => {
    const s = node("s");
    const impostor = node("s");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, impostor).build(),
      /duplicate executor id "s"/i,
    );
  });

  test("WorkflowBuilder.build() accepts the same executor object added several times", () => {
    const s = node("s");
    const a = node("a");
    const workflow = new WorkflowBuilder({ name: "w", start: s }).addExecutor(a).addEdge(s, a).addExecutor(a)
      .build();
    assert.deepEqual(workflow.executorIds, ["s", "a"]);
  });

  test("WorkflowBuilder.build() rejects addEdge(a, b) added twice, naming both ends", () => {
    const a = node("a");
    const b = node("b");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: a }).addEdge(a, b).addEdge(a, b).build(),
      /duplicate edge "a" -> "b"/i,
    );
  });

  test("WorkflowBuilder.build() rejects a conditional edge that duplicates another, even with different conditions", () => {
    const a = node("a");
    const b = node("b");
    assertInvalid(
      () =>
        new WorkflowBuilder({ name: "w", start: a })
          .addEdge(a, b, { when: (m) => m === 1 })
          .addEdge(a, b, { when: (m) => m === 2 })
          .build(),
      /duplicate edge "a" -> "b"/i,
    );
  });

  test("WorkflowBuilder.build() rejects addEdge(a, b) plus addFanOut(a, [b, c]) as a duplicate a -> b", () => {
    const a = node("a");
    const b = node("b");
    const c = node("c");
    const error = assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: a }).addEdge(a, b).addFanOut(a, [b, c]).build(),
      /duplicate edge "a" -> "b"/i,
    );
    assert.doesNotMatch(error.message, /"a" -> "c"/);
  });

  test("WorkflowBuilder.build() rejects a fan-in that duplicates an existing edge into its target", () => {
    const s = node("s");
    const p = node("p");
    const q = node("q");
    const j = node("j");
    assertInvalid(
      () =>
        new WorkflowBuilder({ name: "w", start: s }).addFanOut(s, [p, q]).addEdge(p, j).addFanIn([p, q], j)
          .build(),
      /duplicate edge "p" -> "j"/i,
    );
  });

  test("WorkflowBuilder.build() rejects a fan-out naming the same target twice", () => {
    const a = node("a");
    const b = node("b");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: a }).addFanOut(a, [b, b]).build(),
      /duplicate target "b"/i,
      /from "a"/,
    );
  });

  test("WorkflowBuilder.build() rejects an executor unreachable from the start, naming it and the start", () => {
    const s = node("s");
    const a = node("a");
    const orphan = node("orphan");
    const error = assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, a).addExecutor(orphan).build(),
      /"orphan" is unreachable/,
      /"s"/,
    );
    assert.doesNotMatch(error.message, /"a" is unreachable/);
  });

  test("WorkflowBuilder.build() rejects an executor that only sends (nothing leads to it) as unreachable", () => {
    const s = node("s");
    const b = node("b");
    const feeder = node("feeder");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, b).addEdge(feeder, b).build(),
      /"feeder" is unreachable/,
    );
  });

  test("WorkflowBuilder.build() rejects an unknown executor id string, naming it and the method", () => {
    const s = node("s");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, "ghost").build(),
      /unknown executor "ghost"/i,
      /addEdge/,
    );
    assertInvalid(
      () =>
        new WorkflowBuilder({ name: "w", start: s }).addSwitch(s, [{ when: () => true, to: "phantom" }])
          .build(),
      /unknown executor "phantom"/i,
      /addSwitch/,
    );
  });

  test("WorkflowBuilder.build() rejects addFanOut with fewer than two targets, naming the source", () => {
    const a = node("a");
    const b = node("b");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: a }).addFanOut(a, [b]).build(),
      /addFanOut from "a" needs at least two targets/,
    );
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: a }).addFanOut(a, []).build(),
      /addFanOut from "a"/,
    );
  });

  test("WorkflowBuilder.build() rejects addFanIn with fewer than two sources, naming the target", () => {
    const s = node("s");
    const p = node("p");
    const j = node("j");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, p).addFanIn([p], j).build(),
      /addFanIn into "j" needs at least two sources/,
    );
  });

  test("WorkflowBuilder.build() rejects addFanIn naming a source twice (by object and by id)", () => {
    const s = node("s");
    const p = node("p");
    const j = node("j");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addEdge(s, p).addFanIn([p, "p"], j).build(),
      /addFanIn into "j" names a source twice/,
    );
  });

  test("WorkflowBuilder.build() rejects addChain with fewer than two executors", () => {
    const s = node("s");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addChain([s]).build(),
      /addChain/,
      /two/,
    );
    assertInvalid(() => new WorkflowBuilder({ name: "w", start: s }).addChain([]).build(), /addChain/);
  });

  test("WorkflowBuilder.build() rejects addSwitch with no cases, naming the source", () => {
    const s = node("s");
    const b = node("b");
    assertInvalid(
      () => new WorkflowBuilder({ name: "w", start: s }).addSwitch(s, [], { default: b }).build(),
      /addSwitch from "s" needs at least one case/,
    );
  });

  test("WorkflowBuilder.build() reports several problems together in one error", () => {
    const s = node("s");
    const a = node("a");
    const b = node("b");
    const twin1 = node("twin");
    const twin2 = node("twin");
    assertInvalid(
      () =>
        new WorkflowBuilder({ name: "many", start: s })
          .addEdge(s, a)
          .addEdge(s, a)
          .addEdge(a, "ghost")
          .addFanOut(a, [b])
          .addEdge(s, twin1)
          .addEdge(a, twin2)
          .build(),
      /"many"/,
      /duplicate edge "s" -> "a"/i,
      /unknown executor "ghost"/i,
      /addFanOut from "a"/,
      /duplicate executor id "twin"/i,
    );
  });

  test("WorkflowBuilder edge methods throw a TypeError for a predicate that is not a function", () => {
    const a = node("a");
    const b = node("b");
    const c = node("c");
    const builder = () => new WorkflowBuilder({ name: "w", start: a });
    assert.throws(() => builder().addEdge(a, b, { when: 1 as unknown as () => boolean }), TypeError);
    assert.throws(
      () => builder().addFanOut(a, [b, c], { select: "b" as unknown as () => string[] }),
      TypeError,
    );
    assert.throws(
      () => builder().addSwitch(a, [{ when: undefined as unknown as () => boolean, to: b }]),
      TypeError,
    );
  });
});

describe("WorkflowBuilder.build() valid graphs", () => {
  test("WorkflowBuilder.build() accepts a self-loop", () => {
    const a = node("a");
    const workflow = new WorkflowBuilder({ name: "loop", start: a }).addEdge(a, a).build();
    assert.deepEqual(workflow.executorIds, ["a"]);
  });

  test("WorkflowBuilder.build() accepts a cycle between two executors", () => {
    const a = node("a");
    const b = node("b");
    const workflow = new WorkflowBuilder({ name: "cycle", start: a }).addEdge(a, b).addEdge(b, a).build();
    assert.deepEqual(workflow.executorIds, ["a", "b"]);
  });

  test("WorkflowBuilder.build() accepts one executor referenced by object and by id string, in any order", () => {
    const a = node("a");
    const b = node("b");
    const c = node("c");
    const early = new WorkflowBuilder({ name: "w", start: a }).addEdge(a, "b").addEdge(b, c).addEdge("c", "a")
      .build();
    assert.deepEqual(early.executorIds, ["a", "b", "c"]);
    const late = new WorkflowBuilder({ name: "w", start: a }).addEdge(a, b).addChain(["b", c]).build();
    assert.deepEqual(late.executorIds, ["a", "b", "c"]);
  });

  test("WorkflowBuilder.build() accepts a switch whose default is also one of its cases", () => {
    const a = node("a");
    const b = node("b");
    const c = node("c");
    const workflow = new WorkflowBuilder({ name: "w", start: a })
      .addSwitch(a, [{ when: () => true, to: b }, { when: () => false, to: c }], { default: b })
      .build();
    assert.deepEqual(workflow.executorIds, ["a", "b", "c"]);
  });

  test("WorkflowBuilder.build() of two equal builders builds the same workflow", async () => {
    const make = () => {
      const a = node("a");
      const b = node("b");
      return new WorkflowBuilder({ name: "same", start: a }).addEdge(a, b);
    };
    const first = make().build();
    const second = make().build();
    assert.ok(second instanceof Workflow);
    assert.notEqual(second, first);
    assert.equal(second.name, first.name);
    assert.deepEqual(second.executorIds, first.executorIds);
    assert.equal(await second.graphSignature(), await first.graphSignature());
    assert.equal(second.toMermaid(), first.toMermaid());
    assert.equal(second.toDot(), first.toDot());
  });

  test("WorkflowBuilder.build() validates on every call of one builder", () => {
    const a = node("a");
    const builder = new WorkflowBuilder({ name: "w", start: a }).addEdge(a, "ghost");
    assertInvalid(() => builder.build(), /unknown executor "ghost"/i);
    assertInvalid(() => builder.build(), /unknown executor "ghost"/i);
  });

  test("WorkflowBuilder.build() twice on one builder gives workflows that each run", async () => {
    const a = defineExecutor({ id: "a", handle: (m: string, ctx) => ctx.send(m.toUpperCase()) });
    const b = defineExecutor({ id: "b", handle: (m: string, ctx) => ctx.yieldOutput(`${m}!`) });
    const builder = new WorkflowBuilder({ name: "shout", start: a }).addEdge(a, b);
    const first = await builder.build().run("hi");
    const second = await builder.build().run("hi");
    assert.deepEqual(second.outputs, ["HI!"]);
    assert.deepEqual(second.outputs, first.outputs);
    assert.equal(second.status, first.status);
  });

  test("new Workflow() called directly is a TypeError that points to WorkflowBuilder.build()", () => {
    const Construct = Workflow as unknown as new (...args: unknown[]) => Workflow;
    const builder = new WorkflowBuilder({ name: "w", start: node("a") });
    for (const args of [[], [{}], [null], [builder]]) {
      assert.throws(() => new Construct(...args), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /WorkflowBuilder\(…\)\.build\(\)/);
        return true;
      });
    }
    // A refused construction leaves nothing behind: the next build() works.
    assert.equal(builder.build().name, "w");
  });
});

describe("Workflow identity", () => {
  test("Workflow.name is the builder's name", () => {
    assert.equal(new WorkflowBuilder({ name: "my workflow", start: node("s") }).build().name, "my workflow");
  });

  test("Workflow.executorIds lists executors in registration order, start first", () => {
    const m = node("m");
    const z = node("z");
    const a = node("a");
    const k = node("k");
    const workflow = new WorkflowBuilder({ name: "w", start: m })
      .addEdge(m, z)
      .addFanOut(z, [a, "m"])
      .addExecutor(k)
      .addEdge(a, k)
      .build();
    assert.deepEqual(workflow.executorIds, ["m", "z", "a", "k"]);
  });

  test("Workflow.executorIds returns a copy the caller cannot use to change the workflow", () => {
    const s = node("s");
    const workflow = new WorkflowBuilder({ name: "w", start: s }).build();
    workflow.executorIds.push("intruder");
    assert.deepEqual(workflow.executorIds, ["s"]);
  });
});

describe("Workflow.graphSignature()", () => {
  /** A small graph with every edge kind; `variant` changes one thing. */
  function build(variant: {
    bToC?: boolean;
    version?: string;
    swapCases?: boolean;
    when?: boolean;
  } = {}): Workflow {
    const s = node("s");
    const a = node("a", variant.version);
    const b = node("b");
    const c = node("c");
    const d = node("d");
    const j = node("j");
    const cases = [{ when: (m: unknown) => m === 1, to: c }, { when: () => true, to: d }];
    if (variant.swapCases) cases.reverse();
    return new WorkflowBuilder({ name: "sig", start: s })
      .addEdge(s, a, variant.when === false ? undefined : { when: () => true })
      .addFanOut(a, [b, "c"])
      .addSwitch(b, cases)
      .addEdge(variant.bToC ? c : d, variant.bToC ? d : c)
      .addFanIn([c, d], j)
      .build();
  }

  test("Workflow.graphSignature() is 64 lowercase hex characters", async () => {
    assert.match(await build().graphSignature(), /^[0-9a-f]{64}$/);
  });

  test("Workflow.graphSignature() is equal for two identically built workflows and stable across calls", async () => {
    const first = build();
    const second = build();
    const signature = await first.graphSignature();
    assert.equal(await second.graphSignature(), signature);
    assert.equal(await first.graphSignature(), signature);
  });

  test("Workflow.graphSignature() does not depend on the order edges were added", async () => {
    const make = (reverse: boolean) => {
      const a = defineExecutor({ id: "a", handle: () => {} });
      const b = defineExecutor({ id: "b", handle: () => {} });
      const c = defineExecutor({ id: "c", handle: () => {} });
      const builder = new WorkflowBuilder({ name: "order", start: a });
      return reverse
        ? builder.addEdge(a, c).addEdge(a, b).build()
        : builder.addEdge(a, b).addEdge(a, c).build();
    };
    assert.equal(await make(false).graphSignature(), await make(true).graphSignature());
  });

  test("Workflow.graphSignature() changes when an edge changes", async () => {
    assert.notEqual(await build({ bToC: true }).graphSignature(), await build().graphSignature());
  });

  test("Workflow.graphSignature() changes when an edge gains or loses its condition", async () => {
    assert.notEqual(await build({ when: false }).graphSignature(), await build().graphSignature());
  });

  test("Workflow.graphSignature() changes when an executor's version changes", async () => {
    const v1 = await build({ version: "1" }).graphSignature();
    const v2 = await build({ version: "2" }).graphSignature();
    const none = await build().graphSignature();
    assert.notEqual(v1, v2);
    assert.notEqual(v1, none);
    assert.equal(await build({ version: "1" }).graphSignature(), v1);
  });

  test("Workflow.graphSignature() changes when the order of switch cases changes", async () => {
    assert.notEqual(await build({ swapCases: true }).graphSignature(), await build().graphSignature());
  });

  test("Workflow.graphSignature() changes when the start executor changes", async () => {
    const a = node("a");
    const b = node("b");
    const fromA = new WorkflowBuilder({ name: "w", start: a }).addEdge(a, b).addEdge(b, a).build();
    const fromB = new WorkflowBuilder({ name: "w", start: b }).addEdge(a, b).addEdge(b, a).build();
    assert.notEqual(await fromA.graphSignature(), await fromB.graphSignature());
  });
});

// Parsed renderings, with node names resolved back to executor ids: fan-in
// join nodes (not executors) become "join:<node>".
interface DrawnEdge {
  from: string;
  to: string;
  label: string | undefined;
  dashed: boolean;
}

interface ParsedMermaid {
  labels: Map<string, string>;
  starts: string[];
  edges: DrawnEdge[];
}

function parseMermaid(text: string): ParsedMermaid {
  const lines = text.split("\n");
  assert.match(lines[0], /^flowchart\b/);
  const labels = new Map<string, string>();
  const starts: string[] = [];
  const raw: DrawnEdge[] = [];
  for (const line of lines.slice(1)) {
    const nodeLine = /^\s*(\w+)\["([^"]*)"\](:::start)?\s*$/.exec(line);
    if (nodeLine) {
      // Mermaid entity codes (#34; …) back to characters.
      const label = nodeLine[2].replace(/#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
      labels.set(nodeLine[1], label);
      if (nodeLine[3]) starts.push(label);
      continue;
    }
    const edgeLine = /^\s*(\w+)\s+(-->|-\.->)(?:\|"([^"]*)"\|)?\s*(\w+)\s*$/.exec(line);
    if (edgeLine) {
      raw.push({ from: edgeLine[1], to: edgeLine[4], label: edgeLine[3], dashed: edgeLine[2] === "-.->" });
    }
  }
  const name = (n: string) => labels.get(n) ?? `join:${n}`;
  const edges = raw.map((e) => ({ ...e, from: name(e.from), to: name(e.to) }));
  return { labels, starts, edges };
}

function hasEdge(edges: DrawnEdge[], from: string, to: string, label?: string): boolean {
  return edges.some((e) => e.from === from && e.to === to && (label === undefined || e.label === label));
}

/** Every edge kind: s -when-> a, a fan-out to b and c, b switch (c, d, default e), fan-in [c, d] -> j. */
function everyKind(startId = "s"): Workflow {
  const s = node(startId);
  const a = node("a");
  const b = node("b");
  const c = node("c");
  const d = node("d");
  const e = node("e");
  const j = node("j");
  return new WorkflowBuilder({ name: "kinds", start: s })
    .addEdge(s, a, { when: () => true })
    .addFanOut(a, [b, c])
    .addSwitch(b, [{ when: (m) => m === 1, to: d }, { when: (m) => m === 2, to: e }], { default: startId })
    .addFanIn([c, d], j)
    .addEdge(e, j)
    .build();
}

describe("Workflow.toMermaid()", () => {
  test("Workflow.toMermaid() starts with a flowchart header and labels every executor once", () => {
    const workflow = everyKind();
    const text = workflow.toMermaid();
    assert.match(text, /^flowchart( (TD|TB|LR|RL|BT))?\n/);
    const { labels } = parseMermaid(text);
    assert.deepEqual([...labels.values()].sort(), [...workflow.executorIds].sort());
  });

  test("Workflow.toMermaid() marks exactly the start node", () => {
    const { starts } = parseMermaid(everyKind().toMermaid());
    assert.deepEqual(starts, ["s"]);
  });

  test("Workflow.toMermaid() labels a conditional edge 'when' and leaves a plain edge unlabelled", () => {
    const { edges } = parseMermaid(everyKind().toMermaid());
    assert.ok(hasEdge(edges, "s", "a", "when"));
    const plain = edges.find((e) => e.from === "e" && e.to === "j");
    assert.ok(plain);
    assert.equal(plain.label, undefined);
  });

  test("Workflow.toMermaid() draws a fan-out edge to every target", () => {
    const { edges } = parseMermaid(everyKind().toMermaid());
    assert.ok(hasEdge(edges, "a", "b"));
    assert.ok(hasEdge(edges, "a", "c"));
  });

  test("Workflow.toMermaid() draws switch cases in order and the default as a dashed 'default' edge", () => {
    const { edges } = parseMermaid(everyKind().toMermaid());
    const fromB = edges.filter((e) => e.from === "b");
    assert.deepEqual(
      fromB.map((e) => [e.to, e.label, e.dashed]),
      [["d", "case 1", false], ["e", "case 2", false], ["s", "default", true]],
    );
  });

  test("Workflow.toMermaid() draws a fan-in as every source into one join node, then the join into the target", () => {
    const { edges } = parseMermaid(everyKind().toMermaid());
    const intoJoin = edges.filter((e) => e.to.startsWith("join:"));
    assert.deepEqual(intoJoin.map((e) => e.from), ["c", "d"]);
    assert.equal(new Set(intoJoin.map((e) => e.to)).size, 1);
    const join = intoJoin[0].to;
    assert.ok(hasEdge(edges, join, "j", "fan-in"));
    assert.ok(
      !hasEdge(edges, "c", "j"),
      "the fan-in sources go through the join, not straight to the target",
    );
  });

  test("Workflow.toMermaid() escapes quotes, '<', '>', '&' and '#' in ids so labels stay well-formed", () => {
    const weird = 'a"b<c>d&e#f';
    const s = node("s");
    const w = node(weird);
    const text = new WorkflowBuilder({ name: "w", start: s }).addEdge(s, w).build().toMermaid();
    const line = text.split("\n").find((l) => l.includes("b#") || l.includes("b&"));
    assert.ok(line, "the weird id has a node line");
    assert.match(line, /^\s*\w+\["[^"<>]*"\]\s*$/, "no raw quote or angle bracket inside the label");
    const { labels, edges } = parseMermaid(text);
    assert.ok([...labels.values()].includes(weird), "the label decodes back to the id");
    assert.ok(hasEdge(edges, "s", weird));
  });

  test("Workflow.toMermaid() keeps a start executor with an odd id marked and edges resolvable", () => {
    const { starts, edges } = parseMermaid(everyKind('st"art#1').toMermaid());
    assert.deepEqual(starts, ['st"art#1']);
    assert.ok(hasEdge(edges, 'st"art#1', "a", "when"));
    assert.ok(hasEdge(edges, "b", 'st"art#1', "default"));
  });
});

interface ParsedDot {
  labels: Map<string, string>;
  bold: string[];
  edges: DrawnEdge[];
  arrowLines: number;
}

function parseDot(text: string): ParsedDot {
  const lines = text.split("\n");
  const labels = new Map<string, string>();
  const bold: string[] = [];
  const raw: DrawnEdge[] = [];
  for (const line of lines) {
    const edgeLine = /^\s*(\w+) -> (\w+)(?: \[(.*)\])?;\s*$/.exec(line);
    if (edgeLine) {
      const attributes = edgeLine[3] ?? "";
      const label = /label="((?:[^"\\]|\\.)*)"/.exec(attributes)?.[1];
      raw.push({ from: edgeLine[1], to: edgeLine[2], label, dashed: /style=dashed/.test(attributes) });
      continue;
    }
    const nodeLine = /^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];\s*$/.exec(line);
    if (nodeLine) {
      const label = nodeLine[2].replace(/\\(.)/g, "$1");
      labels.set(nodeLine[1], label);
      if (/style=bold/.test(nodeLine[3])) bold.push(label);
    }
  }
  const name = (n: string) => labels.get(n) ?? `join:${n}`;
  return {
    labels,
    bold,
    edges: raw.map((e) => ({ ...e, from: name(e.from), to: name(e.to) })),
    arrowLines: lines.filter((l) => l.includes("->")).length,
  };
}

describe("Workflow.toDot()", () => {
  test("Workflow.toDot() is a digraph named after the workflow, closed by a brace", () => {
    const text = everyKind().toDot();
    assert.match(text, /^digraph "kinds" \{\n/);
    assert.match(text, /\n\}$/);
  });

  test("Workflow.toDot() labels every executor and marks the start", () => {
    const workflow = everyKind();
    const { labels, bold } = parseDot(workflow.toDot());
    assert.deepEqual([...labels.values()].sort(), [...workflow.executorIds].sort());
    assert.deepEqual(bold, ["s"]);
  });

  test("Workflow.toDot() has one '->' line per drawn edge", () => {
    // s->a, a->b, a->c, b->d, b->e, b->s (default), c->join, d->join, join->j, e->j.
    const { edges, arrowLines } = parseDot(everyKind().toDot());
    assert.equal(arrowLines, 10);
    assert.equal(edges.length, 10);
    assert.ok(hasEdge(edges, "s", "a", "when"));
    assert.ok(hasEdge(edges, "b", "d", "case 1"));
    assert.ok(hasEdge(edges, "b", "e", "case 2"));
    const fallback = edges.find((e) => e.from === "b" && e.to === "s");
    assert.ok(fallback?.dashed && fallback.label === "default");
    const join = edges.find((e) => e.from === "c" && e.to.startsWith("join:"))?.to;
    assert.ok(join);
    assert.ok(hasEdge(edges, "d", join));
    assert.ok(hasEdge(edges, join, "j", "fan-in"));
  });

  test("Workflow.toDot() escapes quotes and backslashes in ids and in the workflow name", () => {
    const weird = 'a"b\\c<d';
    const s = node("s");
    const w = node(weird);
    const text = new WorkflowBuilder({ name: 'say "hi"', start: s }).addEdge(s, w).build().toDot();
    assert.match(text, /^digraph "say \\"hi\\"" \{/);
    const { labels, edges, arrowLines } = parseDot(text);
    assert.ok([...labels.values()].includes(weird), "the label unescapes back to the id");
    assert.ok(hasEdge(edges, "s", weird));
    assert.equal(arrowLines, 1);
  });
});
