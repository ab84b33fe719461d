// Free of runtime-specific APIs, so it can also be bundled and run inside workerd.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { context, ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  defineExecutor,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  WorkflowBuilder,
  type WorkflowPlugin,
} from "../mod.ts";
import { otel, SPAN_ATTRIBUTES as A } from "../plugins/otel.ts";
import { retry } from "../plugins/retry.ts";
import { approvals } from "./_fixtures.ts";
import { deferred } from "./_helpers.ts";

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    exporter,
    provider,
    tracer: provider.getTracer("otel-test"),
    spans: () => exporter.getFinishedSpans(),
  };
}

/** split → len: one output per word. */
function wordLength(plugin: WorkflowPlugin, storage = new MemoryCheckpointStorage()) {
  const split = defineExecutor({
    id: "split",
    handle: async (text: string, ctx) => {
      for (const word of text.split(" ")) await ctx.send(word);
    },
  });
  const len = defineExecutor({
    id: "len",
    handle: (word: string, ctx) => {
      if (word === "boom") throw new Error("cannot measure");
      return ctx.yieldOutput(word.length);
    },
  });
  return new WorkflowBuilder({ name: "wordlen", start: split }).addEdge(split, len).withCheckpointing(storage)
    .use(plugin).build();
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe("otel()", () => {
  test("traces a run as a call span, a child span per superstep and a grandchild per executor call", async () => {
    const t = tracing();
    const result = await wordLength(otel({ tracer: t.tracer })).run("hello big world");
    const spans = t.spans();
    const [call] = named(spans, "run wordlen");
    assert.ok(call, "the call span is named after the call and the workflow");
    assert.equal(parentOf(call), undefined, "a root span without a context manager");
    const supersteps = named(spans, "superstep");
    assert.deepEqual(supersteps.map((s) => s.attributes[A.superstep]).sort(), [0, 1, 2]);
    assert.ok(supersteps.every((s) => parentOf(s) === idOf(call)));
    const executors = spans.filter((s) => s.name.startsWith("executor "));
    assert.deepEqual(executors.map((s) => s.name).sort(), [
      "executor len",
      "executor len",
      "executor len",
      "executor split",
    ]);
    for (const span of executors) {
      const superstep = supersteps.find((s) => idOf(s) === parentOf(span));
      assert.ok(superstep, `${span.name} is a child of a superstep span`);
      assert.equal(span.attributes[A.superstep], superstep.attributes[A.superstep]);
      assert.equal(span.attributes[A.executorId], span.name.slice("executor ".length));
    }
    assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, "one trace");
    assert.equal(spans.length, 1 + 3 + 4);
    assert.ok(spans.every((s) => s.ended && s.status.code !== SpanStatusCode.ERROR));
    assert.deepEqual(
      spans.filter((s) => s !== call).map((s) => [s.attributes[A.workflowName], s.attributes[A.sessionId]]),
      Array(spans.length - 1).fill(["wordlen", result.sessionId]),
    );
  });

  test("sets workflow, session, run, checkpoint and count attributes on the call and superstep spans", async () => {
    const t = tracing();
    const result = await wordLength(otel({ tracer: t.tracer })).run("a bb");
    const spans = t.spans();
    const [call] = named(spans, "run wordlen");
    assert.equal(call.attributes[A.workflowName], "wordlen");
    assert.equal(call.attributes[A.sessionId], result.sessionId);
    assert.equal(call.attributes[A.runKind], "run");
    assert.equal(typeof call.attributes[A.runId], "string");
    assert.equal(call.attributes[A.runStatus], "idle");
    assert.equal(call.attributes[A.checkpointId], result.checkpointId);
    assert.equal(call.attributes[A.outputCount], 2);
    assert.equal(call.attributes[A.pendingRequestCount], 0);
    const checkpoints = result.events.flatMap((e) =>
      e.type === "superstep-completed" ? [[e.superstep, e.checkpointId]] : []
    );
    const bySuperstep = named(spans, "superstep")
      .map((s) => [s.attributes[A.superstep], s.attributes[A.checkpointId]])
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    assert.deepEqual(bySuperstep, checkpoints);
  });

  test("records an executor failure on its span, its superstep span and the call span", async () => {
    const t = tracing();
    await assert.rejects(wordLength(otel({ tracer: t.tracer })).run("ok boom"), ExecutorFailedError);
    const spans = t.spans();
    assert.ok(spans.every((s) => s.ended), "every span is ended, even those of the failed superstep");
    const failedExecutor = named(spans, "executor len").filter((s) => s.status.code === SpanStatusCode.ERROR);
    assert.equal(failedExecutor.length, 1);
    assert.equal(failedExecutor[0].status.message, "cannot measure");
    assert.equal(
      failedExecutor[0].events.find((e) => e.name === "exception")?.attributes?.["exception.message"],
      "cannot measure",
    );
    const [superstep2] = named(spans, "superstep").filter((s) => s.attributes[A.superstep] === 2);
    assert.equal(superstep2.status.code, SpanStatusCode.ERROR);
    assert.equal(superstep2.attributes[A.runStatus], "failed");
    const [call] = named(spans, "run wordlen");
    assert.equal(call.status.code, SpanStatusCode.ERROR);
    assert.equal(call.attributes[A.runStatus], "failed");
    assert.match(
      String(call.events.find((e) => e.name === "exception")?.attributes?.["exception.message"]),
      /cannot measure/,
    );
  });

  test("keeps concurrent runs of two workflow instances that share the plugin in separate traces", async () => {
    const t = tracing();
    const plugin = otel({ tracer: t.tracer });
    const gate = deferred();
    const make = (name: string) => {
      const wait = defineExecutor({
        id: "wait",
        handle: async (text: string, ctx) => {
          await gate.promise;
          await ctx.yieldOutput(text);
        },
      });
      return new WorkflowBuilder({ name, start: wait }).use(plugin).build();
    };
    const runs = [make("first").run("a"), make("second").run("b")].map((run) => run.then((r) => r));
    gate.resolve();
    await Promise.all(runs);
    const spans = t.spans();
    for (const name of ["first", "second"]) {
      const [call] = named(spans, `run ${name}`);
      const trace = spans.filter((s) => s.spanContext().traceId === call.spanContext().traceId);
      assert.ok(
        trace.every((s) => s.attributes[A.workflowName] === name),
        `only ${name}'s spans in its trace`,
      );
      assert.equal(trace.length, 1 + 2 + 1);
    }
  });

  test("names a resumed call's span after resume and records the checkpoint it continued from", async () => {
    const t = tracing();
    const storage = new MemoryCheckpointStorage();
    const first = await approvals(storage).run(["x"]);
    await approvals(storage).resume(first.checkpointId!, {
      responses: { [first.pendingRequests[0].requestId]: "ok" },
      plugins: [otel({ tracer: t.tracer })],
    });
    const [call] = named(t.spans(), "resume approvals");
    assert.ok(call);
    assert.equal(call.attributes[A.runKind], "resume");
    assert.equal(call.attributes[A.parentCheckpointId], first.checkpointId);
    assert.deepEqual(named(t.spans(), "executor record").length, 1);
  });

  test("nests the call span under the context parent() returns", async () => {
    const t = tracing();
    const outer = t.tracer.startSpan("http request");
    const parent = trace.setSpan(ROOT_CONTEXT, outer);
    await wordLength(otel({ tracer: t.tracer, parent: () => parent })).run("a");
    outer.end();
    const [call] = named(t.spans(), "run wordlen");
    assert.equal(parentOf(call), outer.spanContext().spanId);
    assert.equal(call.spanContext().traceId, outer.spanContext().traceId);
  });

  test("adds a span event per retry to the executor span", async () => {
    const t = tracing();
    let calls = 0;
    const flaky = defineExecutor({
      id: "flaky",
      handle: () => {
        if (++calls < 3) throw new Error(`failure ${calls}`);
      },
    });
    await new WorkflowBuilder({ name: "flaky", start: flaky })
      .use(otel({ tracer: t.tracer }))
      .use(retry({ executors: ["flaky"], sleep: () => Promise.resolve() }))
      .build()
      .run(null);
    const [span] = named(t.spans(), "executor flaky");
    const retries = span.events.filter((e) => e.name === "executor-retried");
    assert.deepEqual(retries.map((e) => [e.attributes?.[A.attempt], e.attributes?.["exception.message"]]), [
      [2, "failure 1"],
      [3, "failure 2"],
    ]);
    assert.notEqual(span.status.code, SpanStatusCode.ERROR);
  });

  test("ends the spans a cancelled run left open, with status cancelled and no error", async () => {
    const t = tracing();
    const started = deferred();
    const wait = defineExecutor({
      id: "wait",
      handle: async (_: unknown, ctx) => {
        started.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      },
    });
    const run = new WorkflowBuilder({ name: "wait", start: wait }).use(otel({ tracer: t.tracer })).build()
      .run(null);
    const result = run.then((r) => r);
    await started.promise;
    run.cancel();
    assert.equal((await result).status, "cancelled");
    const spans = t.spans();
    assert.ok(spans.every((s) => s.ended));
    const open = [named(spans, "run wait")[0], named(spans, "executor wait")[0]];
    open.push(named(spans, "superstep").find((s) => s.attributes[A.superstep] === 1)!);
    assert.deepEqual(open.map((s) => s?.attributes[A.runStatus]), ["cancelled", "cancelled", "cancelled"]);
    assert.ok(spans.every((s) => s.status.code !== SpanStatusCode.ERROR));
  });

  test("uses the global tracer provider by default: a no-op without an SDK", async () => {
    const result = await wordLength(otel()).run("a b");
    assert.deepEqual(result.outputs, [1, 1]);
    assert.equal(context.active(), ROOT_CONTEXT);
  });

  test("gets its tracer from tracerProvider when given one", async () => {
    const t = tracing();
    await wordLength(otel({ tracerProvider: t.provider })).run("a");
    const [call] = named(t.spans(), "run wordlen");
    assert.equal(call.instrumentationScope.name, "@superstep/superstep");
  });

  test("rejects a parent option that is not a function", () => {
    assert.throws(() => otel({ parent: ROOT_CONTEXT as unknown as () => typeof ROOT_CONTEXT }), TypeError);
    assert.equal(otel().name, "otel");
  });
});
