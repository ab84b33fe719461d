import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineExecutor, PluginError, WorkflowBuilder, type WorkflowEvent } from "../mod.ts";
import { levelOf, logger, type LoggerOptions, type LogRecord } from "../plugins/logger.ts";

const FIXED = new Date("2026-01-02T03:04:05.678Z");

/** echo yields its input; `boom` fails with a nested error. */
function echoWorkflow(options: LoggerOptions) {
  const echo = defineExecutor({
    id: "echo",
    handle: (value: unknown, ctx) => {
      if (value === "boom") throw new Error("outer", { cause: new RangeError("inner") });
      return ctx.yieldOutput(value);
    },
  });
  return new WorkflowBuilder({ name: "echo", start: echo }).use(logger({ now: () => FIXED, ...options }))
    .build();
}

function collect() {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  return {
    lines,
    records,
    parsed: () => lines.map((line) => JSON.parse(line)),
    sink: (line: string, record: LogRecord) => {
      lines.push(line);
      records.push(record);
    },
  };
}

describe("logger()", () => {
  test("logs one JSON line per event at info and above by default", async () => {
    const out = collect();
    const result = await echoWorkflow({ sink: out.sink }).run("hi");
    assert.ok(out.lines.every((line) => !line.includes("\n")));
    assert.deepEqual(out.parsed().map((r) => [r.level, r.event]), [
      ["info", "started"],
      ["info", "output"],
      ["info", "status"],
    ]);
    const [started, output, status] = out.parsed();
    assert.deepEqual(started, {
      time: FIXED.toISOString(),
      level: "info",
      event: "started",
      workflowName: "echo",
      sessionId: result.sessionId,
      runId: started.runId,
      kind: "run",
    });
    assert.equal(typeof started.runId, "string");
    assert.equal(output.executorId, "echo");
    assert.equal(output.data, "hi");
    assert.equal(status.state, "idle");
  });

  test("level debug logs every event, in emission order", async () => {
    const out = collect();
    const result = await echoWorkflow({ sink: out.sink, level: "debug" }).run("hi");
    assert.deepEqual(out.parsed().map((r) => r.event), result.events.map((e) => e.type));
  });

  test("level error logs only failures; the error keeps name, message, stack, cause and own fields", async () => {
    const out = collect();
    await assert.rejects(echoWorkflow({ sink: out.sink, level: "error" }).run("boom"));
    const records = out.parsed();
    assert.deepEqual(records.map((r) => r.event === "status" ? `status:${r.state}` : r.event), [
      "executor-failed",
      "failed",
      "status:failed",
    ]);
    const [executorFailed, failed] = records;
    assert.equal(executorFailed.error.name, "Error");
    assert.equal(executorFailed.error.message, "outer");
    assert.equal(typeof executorFailed.error.stack, "string");
    assert.deepEqual(
      { name: executorFailed.error.cause.name, message: executorFailed.error.cause.message },
      { name: "RangeError", message: "inner" },
    );
    assert.equal(failed.error.name, "ExecutorFailedError");
    assert.equal(failed.error.executorId, "echo", "own fields of an error are kept");
  });

  test("stack: false leaves stacks out; data: false replaces outputs' data", async () => {
    const out = collect();
    await assert.rejects(echoWorkflow({ sink: out.sink, level: "error", stack: false }).run("boom"));
    assert.ok(out.parsed().every((r) => r.error === undefined || !("stack" in r.error)));
    const quiet = collect();
    await echoWorkflow({ sink: quiet.sink, data: false }).run("secret");
    assert.equal(quiet.parsed()[1].data, "[omitted]");
    assert.ok(!quiet.lines.join("").includes("secret"));
  });

  test("makes BigInt, Map, Set, Date, NaN, bytes, undefined and cycles (as $ref pointers into the line) JSON-safe", async () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const value = {
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([["a", 1], [2, new Set([3])]]),
      date: new Date(0),
      nan: NaN,
      bytes: new Uint8Array(4),
      missing: undefined,
      list: [undefined, -Infinity],
      cyclic,
      ["__proto__"]: "own",
    };
    const out = collect();
    await echoWorkflow({ sink: out.sink }).run(value);
    const data = out.parsed()[1].data;
    assert.deepEqual(data, {
      big: "12345678901234567890",
      map: [["a", 1], [2, [3]]],
      date: "1970-01-01T00:00:00.000Z",
      nan: "NaN",
      bytes: "[Uint8Array 4 bytes]",
      list: [null, "-Infinity"],
      cyclic: { name: "loop", self: { $ref: "#/data/cyclic" } },
      ["__proto__"]: "own",
    });
    assert.ok(Object.hasOwn(data, "__proto__"));
  });

  test("filter keeps only the events it accepts and gets the RunInfo", async () => {
    const out = collect();
    const kinds: string[] = [];
    await echoWorkflow({
      sink: out.sink,
      level: "debug",
      filter: (event, info) => {
        kinds.push(info.kind);
        return event.type === "output";
      },
    }).run("hi");
    assert.deepEqual(out.parsed().map((r) => r.event), ["output"]);
    assert.ok(kinds.length > 1 && kinds.every((kind) => kind === "run"));
  });

  test("an async sink is awaited in order before the run ends", async () => {
    const written: string[] = [];
    const sink = async (_line: string, record: LogRecord) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      written.push(record.event);
    };
    const result = await echoWorkflow({ sink, level: "debug" }).run("hi");
    assert.deepEqual(written, result.events.map((e) => e.type));
  });

  test("a sink may be any function returning anything: values are ignored, thenables awaited in order", async () => {
    // Each compiles as a sink (a type error before issue 14): lines.push returns a number, a stream's
    // write a boolean, fetch a Promise<Response>.
    const lines: string[] = [];
    await echoWorkflow({ sink: (line) => lines.push(line) }).run("a");
    assert.equal(lines.length, 3);
    const flags: boolean[] = [];
    await echoWorkflow({ sink: (line) => flags.push(line.length > 0) > 0 }).run("b");
    assert.deepEqual(flags, [true, true, true]);
    const objects: object[] = [];
    await echoWorkflow({ sink: (_line, record) => (objects.push(record), record) }).run("c");
    assert.equal(objects.length, 3);
    // A promise of a value, and a thenable that is not a Promise: both awaited before the run ends, in order.
    const written: string[] = [];
    await echoWorkflow({
      sink: async (_line, record) => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        return written.push(record.event);
      },
    }).run("d");
    assert.deepEqual(written, ["started", "output", "status"]);
    const thenables: string[] = [];
    const result = await echoWorkflow({
      sink: (_line, record) => ({
        then(resolve: (value: number) => void) {
          setTimeout(() => resolve(thenables.push(record.event)), 0);
        },
      }),
    }).run("e");
    assert.deepEqual(thenables, ["started", "output", "status"]);
    assert.equal(result.status, "idle");
  });

  test("a sink whose promise rejects fails the run with a PluginError", async () => {
    const run = echoWorkflow({ sink: () => Promise.reject(new Error("disk full")) }).run("hi");
    await assert.rejects(run, (e: unknown) => e instanceof PluginError && e.hook === "onEvent");
  });

  test("a sink that throws fails the run with a PluginError naming the logger", async () => {
    const run = echoWorkflow({
      sink: () => {
        throw new Error("disk full");
      },
      name: "audit-log",
    }).run("hi");
    await assert.rejects(
      run,
      (e: unknown) => e instanceof PluginError && e.pluginName === "audit-log" && e.hook === "onEvent",
    );
  });

  test("writes to console.log by default", async () => {
    const original = console.log;
    const logged: unknown[][] = [];
    console.log = (...args: unknown[]) => void logged.push(args);
    try {
      await echoWorkflow({}).run("hi");
    } finally {
      console.log = original;
    }
    assert.equal(logged.length, 3);
    assert.equal(JSON.parse(logged[0][0] as string).event, "started");
  });

  test("validates its options with TypeError", () => {
    assert.throws(() => logger({ level: "trace" as "info" }), /Invalid logger level: "trace"/);
    assert.throws(() => logger({ sink: "stdout" as unknown as LoggerOptions["sink"] }), TypeError);
    assert.throws(() => logger({ filter: {} as unknown as LoggerOptions["filter"] }), TypeError);
    assert.equal(logger().name, "logger");
  });
});

describe("levelOf()", () => {
  test("maps failures to error, warnings and retries to warn, milestones to info, the rest to debug", () => {
    const cases: [WorkflowEvent, string][] = [
      [{ type: "failed", error: null }, "error"],
      [{ type: "executor-failed", executorId: "a", superstep: 1, error: null }, "error"],
      [{ type: "status", state: "failed" }, "error"],
      [{ type: "warning", message: "x" }, "warn"],
      [{ type: "executor-retried", executorId: "a", superstep: 1, attempt: 2, error: null }, "warn"],
      [{ type: "started", workflowName: "w", sessionId: "s" }, "info"],
      [{ type: "output", executorId: "a", data: 1 }, "info"],
      [{ type: "request", requestId: "r", executorId: "a", data: 1 }, "info"],
      [{ type: "status", state: "idle" }, "info"],
      [{ type: "status", state: "cancelled" }, "info"],
      [{ type: "status", state: "in-progress" }, "debug"],
      [{ type: "status", state: "in-progress-pending-requests" }, "debug"],
      [{ type: "superstep-started", superstep: 1 }, "debug"],
      [{ type: "executor-invoked", executorId: "a", superstep: 1 }, "debug"],
    ];
    for (const [event, level] of cases) assert.equal(levelOf(event), level, JSON.stringify(event));
  });
});
