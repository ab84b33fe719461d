/**
 * Structured logging: every event of a run as one line of JSON, to a sink of
 * your choice (`console.log` by default).
 *
 * A line holds `time`, `level`, `event` (the event's type), the run's
 * `workflowName`, `sessionId`, `runId` and `kind`, then the event's own fields.
 * Values that JSON cannot hold are made safe: errors become
 * `{ name, message, stack, cause, … }`, BigInt a decimal string, Map and Set
 * arrays, Date an ISO string, bytes a short description. An object met again
 * (shared, or a cycle) is written once and then as `{ "$ref": "#/data/…" }`, a
 * JSON pointer into the line, so a line stays as small as the value.
 * Logging never throws on a value; a sink that throws fails the run (a
 * `PluginError`), as any plugin does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { logger } from "@superstep/superstep/logger";
 *
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const lines: string[] = [];
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo })
 *   .use(logger({ level: "info", sink: (line) => lines.push(line) }))
 *   .build();
 * await workflow.run("hi");
 * assert.equal(JSON.parse(lines[0]).event, "started");
 * ```
 *
 * @experimental
 * @module
 */
import type { WorkflowEvent } from "../src/events.ts";
import type { RunInfo, RunKind, WorkflowPlugin } from "../src/plugin.ts";
import { type JsonPolicy, toJsonSafe } from "../src/_json_safe.ts";
import { defineEntry } from "../src/_records.ts";
import { isThenable } from "../src/_promise.ts";

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log line before it is stringified. */
export interface LogRecord {
  /** ISO-8601 time of logging. */
  time: string;
  /** The event's level (see {@linkcode levelOf}). */
  level: LogLevel;
  /** The event's `type`. */
  event: WorkflowEvent["type"];
  /** The workflow's name. */
  workflowName: string;
  /** The run's session. */
  sessionId: string;
  /** The call's id (`RunInfo.runId`). */
  runId: string;
  /** Which call: `run`, `resume` or `respond`. */
  kind: RunKind;
  /** The event's other fields, JSON-safe. */
  [field: string]: unknown;
}

/** Options of {@linkcode logger}. */
export interface LoggerOptions {
  /**
   * Receives every line (one JSON object, no newline) and its record. Any
   * function will do, whatever it returns (`lines.push`, a stream's `write`,
   * `fetch`): a promise or other thenable it returns is awaited (the run waits
   * for it at the next superstep boundary, and its rejection fails the run);
   * any other value is ignored.
   *
   * @default {console.log}
   */
  sink?: (line: string, record: LogRecord) => unknown;
  /**
   * The least severe level logged.
   *
   * @default {"info"}
   */
  level?: LogLevel;
  /**
   * Log only the events for which this returns `true` (after `level`).
   *
   * @default {every event}
   */
  filter?: (event: WorkflowEvent, info: RunInfo) => boolean;
  /**
   * Whether outputs' and requests' `data` are logged (they may be large or
   * sensitive); `false` logs `"[omitted]"` instead.
   *
   * @default {true}
   */
  data?: boolean;
  /**
   * Whether errors carry their stack.
   *
   * @default {true}
   */
  stack?: boolean;
  /**
   * The clock (tests inject a fixed one).
   *
   * @default {() => new Date()}
   */
  now?: () => Date;
  /**
   * The plugin's name (in `PluginError`).
   *
   * @default {"logger"}
   */
  name?: string;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * The level an event is logged at: failures `error`; warnings and retries
 * `warn`; the start, outputs, requests and terminal statuses `info`;
 * supersteps, executor calls and in-progress statuses `debug`.
 *
 * @param event A workflow event.
 * @returns Its level.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { levelOf } from "@superstep/superstep/logger";
 * assert.equal(levelOf({ type: "warning", message: "dropped" }), "warn");
 * ```
 */
export function levelOf(event: WorkflowEvent): LogLevel {
  switch (event.type) {
    case "failed":
    case "executor-failed":
      return "error";
    case "warning":
    case "executor-retried":
      return "warn";
    case "started":
    case "output":
    case "request":
      return "info";
    case "status":
      if (event.state === "failed") return "error";
      return event.state.startsWith("in-progress") ? "debug" : "info";
    default:
      return "debug";
  }
}

/**
 * A plugin that logs the events of every run as one-line JSON.
 *
 * @experimental
 * @param options Sink, level, filter and what to include.
 * @returns The plugin, for `builder.use()` or a call's `plugins` option.
 * @throws {TypeError} If `level` is unknown or `sink`, `filter` or `now` is not a function.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { logger } from "@superstep/superstep/logger";
 *
 * const lines: string[] = [];
 * const plugin = logger({
 *   level: "debug",
 *   filter: (event) => event.type !== "superstep-started",
 *   sink: (line) => lines.push(line),
 * });
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * await new WorkflowBuilder({ name: "echo", start: echo }).use(plugin).build().run("hi");
 * const events = lines.map((line) => JSON.parse(line).event);
 * assert.ok(events.includes("executor-invoked") && !events.includes("superstep-started"));
 * ```
 */
export function logger(options: LoggerOptions = {}): WorkflowPlugin {
  const level = options.level ?? "info";
  if (!Object.hasOwn(RANK, level)) {
    throw new TypeError(`Invalid logger level: ${JSON.stringify(level)} (debug, info, warn or error)`);
  }
  const sink = fn(options.sink, "sink") ?? ((line: string) => console.log(line));
  const filter = fn(options.filter, "filter");
  const now = fn(options.now, "now") ?? (() => new Date());
  const minimum = RANK[level];
  const withData = options.data ?? true;
  const policy = logPolicy(options.stack ?? true);
  return {
    name: options.name ?? "logger",
    onEvent(event, info) {
      const eventLevel = levelOf(event);
      if (RANK[eventLevel] < minimum || (filter !== undefined && !filter(event, info))) return;
      const record: LogRecord = {
        time: now().toISOString(),
        level: eventLevel,
        event: event.type,
        workflowName: info.workflowName,
        sessionId: info.sessionId,
        runId: info.runId,
        kind: info.kind,
      };
      for (const [key, value] of Object.entries(event)) {
        if (key === "type") continue;
        const omit = !withData && key === "data";
        defineEntry(record, key, omit ? "[omitted]" : toJsonSafe(value, policy, { at: [key] }));
      }
      const written = sink(JSON.stringify(record), record);
      // Only a thenable is waited for, and what it resolves to is not the plugin's to return.
      if (isThenable(written)) return Promise.resolve(written).then(() => {});
    },
  };
}

/** Log records keep what helps a reader: stacks (if wanted), causes, and a description of what JSON cannot hold. */
function logPolicy(stack: boolean): JsonPolicy {
  return {
    maxDepth: 32,
    unrepresentable: (value) =>
      typeof value === "function" ? `[Function ${value.name || "anonymous"}]` : String(value),
    bytes: (value) =>
      value instanceof ArrayBuffer
        ? `[ArrayBuffer ${value.byteLength} bytes]`
        : `[${value.constructor.name} ${value.byteLength} bytes]`,
    error(error, convert) {
      const out: Record<string, unknown> = { name: String(error.name), message: String(error.message) };
      if (stack && typeof error.stack === "string") out.stack = error.stack;
      if (error.cause !== undefined) out.cause = convert(error.cause, "cause");
      for (const key of Object.keys(error)) {
        if (!Object.hasOwn(out, key)) {
          defineEntry(out, key, convert((error as unknown as Record<string, unknown>)[key], key));
        }
      }
      return out;
    },
    invalidDate: "Invalid Date",
    unreadable: "[Unserializable]",
    throwingGetter: "[Throwing getter]",
  };
}

function fn<T>(value: T | undefined, what: string): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Invalid logger ${what}: expected a function, got ${typeof value}`);
  }
  return value;
}
