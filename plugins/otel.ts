/**
 * OpenTelemetry tracing through `@opentelemetry/api` (an optional peer
 * dependency, imported only by this module): a span per call (`run`, `resume`,
 * `respond`), a child span per superstep, and a grandchild span per executor
 * call. Without an OpenTelemetry SDK registered the API is a no-op, so the
 * plugin costs next to nothing until tracing is set up.
 *
 * Spans nest through explicit parent contexts (`trace.setSpan`), never the
 * active context, so the tree is right on every runtime, workerd included,
 * with or without a context manager (AsyncLocalStorage).
 *
 * | span | name | attributes (see {@linkcode SPAN_ATTRIBUTES}) |
 * | --- | --- | --- |
 * | call | `run <workflow>`, `resume <workflow>`, `respond <workflow>` | workflow name, session, run id and kind, parent checkpoint; at the end status, last checkpoint, output and pending-request counts |
 * | superstep | `superstep` | workflow name, session, superstep index, checkpoint id |
 * | executor call | `executor <id>` | workflow name, session, superstep index, executor id |
 *
 * A failure is recorded on the executor span that threw, its superstep and the
 * call (`recordException`, status `ERROR`). Retries are `executor-retried` span
 * events on the executor span, warnings `warning` events on the call span.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { otel } from "@superstep/superstep/otel";
 *
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo })
 *   .use(otel()) // the global tracer provider (a no-op without an SDK); or otel({ tracer })
 *   .build();
 * assert.deepEqual((await workflow.run("hi")).outputs, ["hi"]);
 * ```
 *
 * @experimental
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type { WorkflowEvent, WorkflowResult } from "../src/events.ts";
import type { RunInfo, WorkflowPlugin } from "../src/plugin.ts";

/** The names of the span attributes the plugin sets, by meaning. */
export interface SpanAttributeNames {
  /** The workflow's name (every span). */
  readonly workflowName: "superstep.workflow.name";
  /** The session (every span). */
  readonly sessionId: "superstep.session.id";
  /** The call's id, `RunInfo.runId` (call span). */
  readonly runId: "superstep.run.id";
  /** `run`, `resume` or `respond` (call span). */
  readonly runKind: "superstep.run.kind";
  /** The call's terminal status (call span; also spans left open by a failure or cancellation). */
  readonly runStatus: "superstep.run.status";
  /** The superstep index (superstep and executor spans). */
  readonly superstep: "superstep.index";
  /** The checkpoint written by the superstep (superstep span), or the call's last one (call span). */
  readonly checkpointId: "superstep.checkpoint.id";
  /** The checkpoint the call continued from (call span). */
  readonly parentCheckpointId: "superstep.checkpoint.parent_id";
  /** The executor's id (executor span). */
  readonly executorId: "superstep.executor.id";
  /** How many outputs the call yielded (call span). */
  readonly outputCount: "superstep.output.count";
  /** How many requests were left pending (call span). */
  readonly pendingRequestCount: "superstep.request.pending_count";
  /** The attempt starting (`executor-retried` span events). */
  readonly attempt: "superstep.attempt";
}

/**
 * The span attribute names the plugin sets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SPAN_ATTRIBUTES } from "@superstep/superstep/otel";
 * assert.equal(SPAN_ATTRIBUTES.executorId, "superstep.executor.id");
 * ```
 */
export const SPAN_ATTRIBUTES: SpanAttributeNames = Object.freeze({
  workflowName: "superstep.workflow.name",
  sessionId: "superstep.session.id",
  runId: "superstep.run.id",
  runKind: "superstep.run.kind",
  runStatus: "superstep.run.status",
  superstep: "superstep.index",
  checkpointId: "superstep.checkpoint.id",
  parentCheckpointId: "superstep.checkpoint.parent_id",
  executorId: "superstep.executor.id",
  outputCount: "superstep.output.count",
  pendingRequestCount: "superstep.request.pending_count",
  attempt: "superstep.attempt",
});

/** Options of {@linkcode otel}. */
export interface OtelOptions {
  /**
   * The tracer to create spans with.
   *
   * @default {`tracerProvider`'s tracer "@superstep/superstep"}
   */
  tracer?: Tracer;
  /**
   * The provider to get the tracer from, when `tracer` is not given.
   *
   * @default {the global provider, looked up at the start of each call}
   */
  tracerProvider?: TracerProvider;
  /**
   * The context whose span becomes the parent of the call span (an incoming
   * HTTP request's, for instance).
   *
   * @default {`context.active()` when the call starts: the root context unless a context manager is registered}
   */
  parent?: (info: RunInfo) => Context;
  /**
   * The plugin's name (in `PluginError`).
   *
   * @default {"otel"}
   */
  name?: string;
}

const TRACER_NAME = "@superstep/superstep";

interface RunSpans {
  readonly call: Span;
  readonly callContext: Context;
  readonly base: Attributes;
  superstep?: { span: Span; context: Context; index: number };
  readonly executors: Map<string, Span>;
}

/**
 * A plugin that traces every call of a workflow with OpenTelemetry.
 *
 * @experimental
 * @param options The tracer (or provider) and the parent context.
 * @returns The plugin, for `builder.use()` or a call's `plugins` option.
 * @throws {TypeError} If `parent` is given and is not a function.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trace } from "@opentelemetry/api";
 * import { otel } from "@superstep/superstep/otel";
 *
 * const plugin = otel({ tracer: trace.getTracer("orders-service") });
 * assert.equal(plugin.name, "otel");
 * ```
 */
export function otel(options: OtelOptions = {}): WorkflowPlugin {
  if (options.parent !== undefined && typeof options.parent !== "function") {
    throw new TypeError(`Invalid otel parent: expected a function, got ${typeof options.parent}`);
  }
  // One plugin may serve concurrent runs of several workflow instances: state is per call.
  const runs = new WeakMap<RunInfo, RunSpans>();
  const tracerOf = (): Tracer =>
    options.tracer ?? (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);

  return {
    name: options.name ?? "otel",
    onRunStart(info) {
      const parent = options.parent?.(info) ?? context.active();
      const base: Attributes = {
        [SPAN_ATTRIBUTES.workflowName]: info.workflowName,
        [SPAN_ATTRIBUTES.sessionId]: info.sessionId,
      };
      const call = tracerOf().startSpan(`${info.kind} ${info.workflowName}`, {
        kind: SpanKind.INTERNAL,
        attributes: {
          ...base,
          [SPAN_ATTRIBUTES.runId]: info.runId,
          [SPAN_ATTRIBUTES.runKind]: info.kind,
          ...(info.parentCheckpointId === undefined
            ? {}
            : { [SPAN_ATTRIBUTES.parentCheckpointId]: info.parentCheckpointId }),
        },
      }, parent);
      runs.set(info, { call, callContext: trace.setSpan(parent, call), base, executors: new Map() });
    },
    onEvent(event, info) {
      const spans = runs.get(info);
      if (spans !== undefined) onEvent(tracerOf, spans, event);
    },
    onRunEnd(result, info) {
      const spans = runs.get(info);
      if (spans === undefined) return;
      runs.delete(info);
      endRun(spans, result);
    },
  };
}

function onEvent(tracerOf: () => Tracer, spans: RunSpans, event: WorkflowEvent): void {
  switch (event.type) {
    case "superstep-started": {
      const span = tracerOf().startSpan("superstep", {
        attributes: { ...spans.base, [SPAN_ATTRIBUTES.superstep]: event.superstep },
      }, spans.callContext);
      spans.superstep = { span, context: trace.setSpan(spans.callContext, span), index: event.superstep };
      return;
    }
    case "superstep-completed": {
      const superstep = spans.superstep;
      if (superstep === undefined) return;
      if (event.checkpointId !== undefined) {
        superstep.span.setAttribute(SPAN_ATTRIBUTES.checkpointId, event.checkpointId);
      }
      superstep.span.end();
      spans.superstep = undefined;
      return;
    }
    case "executor-invoked": {
      const span = tracerOf().startSpan(`executor ${event.executorId}`, {
        attributes: {
          ...spans.base,
          [SPAN_ATTRIBUTES.superstep]: event.superstep,
          [SPAN_ATTRIBUTES.executorId]: event.executorId,
        },
      }, spans.superstep?.context ?? spans.callContext);
      spans.executors.set(event.executorId, span);
      return;
    }
    case "executor-completed":
    case "executor-failed": {
      const span = spans.executors.get(event.executorId);
      if (span === undefined) return;
      spans.executors.delete(event.executorId);
      if (event.type === "executor-failed") recordError(span, event.error);
      span.end();
      return;
    }
    case "executor-retried": {
      spans.executors.get(event.executorId)?.addEvent("executor-retried", {
        [SPAN_ATTRIBUTES.attempt]: event.attempt,
        ...errorAttributes(event.error),
      });
      return;
    }
    case "warning":
      spans.call.addEvent("warning", {
        message: event.message,
        ...(event.executorId === undefined ? {} : { [SPAN_ATTRIBUTES.executorId]: event.executorId }),
      });
      return;
  }
}

function endRun(spans: RunSpans, result: WorkflowResult): void {
  const failed = result.status === "failed";
  // Executors still open were aborted (cancellation, or a sibling or plugin failed).
  for (const span of spans.executors.values()) {
    span.setAttribute(SPAN_ATTRIBUTES.runStatus, result.status);
    span.end();
  }
  spans.executors.clear();
  if (spans.superstep !== undefined) {
    if (failed) recordError(spans.superstep.span, result.error);
    spans.superstep.span.setAttribute(SPAN_ATTRIBUTES.runStatus, result.status);
    spans.superstep.span.end();
    spans.superstep = undefined;
  }
  spans.call.setAttributes({
    [SPAN_ATTRIBUTES.runStatus]: result.status,
    [SPAN_ATTRIBUTES.outputCount]: result.outputs.length,
    [SPAN_ATTRIBUTES.pendingRequestCount]: result.pendingRequests.length,
    ...(result.checkpointId === undefined ? {} : { [SPAN_ATTRIBUTES.checkpointId]: result.checkpointId }),
  });
  if (failed) recordError(spans.call, result.error);
  spans.call.end();
}

function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

function errorAttributes(error: unknown): Attributes {
  if (error === undefined) return {};
  if (error instanceof Error) return { "exception.type": error.name, "exception.message": error.message };
  return { "exception.message": String(error) };
}
