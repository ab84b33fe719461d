// One executor's turn in a superstep: its answers first (`onResponse`), then its
// messages in delivery order, each admitted by `accepts` / the input schema and
// run through the plugins' wrappers, one at a time, with the executor events.
import type { Delivery } from "./_run_context.ts";
import { ExecutorFailedError } from "./errors.ts";
import type { WorkflowEvent } from "./events.ts";
import type { Executor } from "./executor.ts";
import type { ExecutorContext, SuperstepScope } from "./_executor_context.ts";
import type { HandlerCall, PluginHost } from "./_plugin_host.ts";
import type { WorkflowContext } from "./context.ts";

/** What one executor receives in one superstep. */
export interface Inbox {
  executor: Executor;
  messages: { source: string; data: unknown }[];
  responses: Delivery[];
}

/**
 * Run `inbox`. Each handler call gets a context from `contextFor` (the first serves the answers and, with
 * a concurrency of one, every message; with more, each message gets its own, made in message order so the
 * runner commits their sends, outputs and writes by message position, never by completion). Throws
 * `ExecutorFailedError` (or a wrapper's `PluginError`) when a handler, `accepts` or the schema throws; once
 * `scope` is over, nothing more runs and nothing is reported.
 */
export async function invoke(
  inbox: Inbox,
  contextFor: () => ExecutorContext,
  scope: SuperstepScope,
  emit: (event: WorkflowEvent) => void,
  host: PluginHost | undefined,
): Promise<void> {
  const { executor } = inbox;
  const executorId = executor.id;
  const first = contextFor();
  const superstep = first.superstep;
  const plugins = host?.wraps ? host : undefined;
  const retried = plugins && ((attempt: number, error: unknown) => {
    if (scope.live) emit({ type: "executor-retried", executorId, superstep, attempt, error });
  });
  const failed = (error: unknown) => emit({ type: "executor-failed", executorId, superstep, error });
  const call = async (ctx: ExecutorContext, body: HandlerCall, message: unknown) => {
    if (!scope.live) return;
    emit({ type: "executor-invoked", executorId, superstep });
    try {
      // With output schemas, a call is over once its sends and yields passed them.
      const checked = executor.sends === undefined && executor.yields === undefined ? body : async (
        message: unknown,
        context: WorkflowContext,
      ) => {
        await body(message, context);
        await ctx.settle();
      };
      await (plugins === undefined ? checked : plugins.wrap(ctx, checked, retried!))(message, ctx);
    } catch (error) {
      if (!scope.live) return;
      failed(error);
      throw plugins?.owns(error) ? error : new ExecutorFailedError(executorId, error);
    }
    if (scope.live) emit({ type: "executor-completed", executorId, superstep });
  };
  const warn = (source: string, why: string) =>
    emit({
      type: "warning",
      message: `Message from "${source}" to "${executorId}" refused by "${executorId}": ${why}`,
      executorId: source,
      refusedBy: executorId,
    });
  const handle: HandlerCall = (message, context) => executor.handle(message, context);
  for (const { request, response } of inbox.responses) {
    await call(first, (answer, context) => executor.onResponse!(answer, request, context), response);
  }
  const one = async (ctx: ExecutorContext, { source, data }: Inbox["messages"][number]) => {
    let admitted: unknown;
    try {
      admitted = await admit(executor, source, data, warn);
    } catch (error) {
      // accepts() and input schemas are the executor's code: a throw fails it like its handler.
      if (!scope.live) return;
      failed(error);
      throw new ExecutorFailedError(executorId, error);
    }
    if (admitted === REFUSED || !scope.live) return;
    await call(ctx, handle, admitted);
  };
  const limit = executor.concurrency ?? 1;
  if (limit === 1) {
    for (const message of inbox.messages) await one(first, message);
    return;
  }
  // Up to `limit` messages at once, each with its own context, made now in message order.
  const queue = inbox.messages.map((message, index) => ({
    message,
    ctx: index === 0 ? first : contextFor(),
  }));
  let next = 0;
  const lane = async () => {
    while (next < queue.length && scope.live) {
      const { message, ctx } = queue[next++];
      await one(ctx, message);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, lane));
}

const REFUSED: unique symbol = Symbol("refused");

/**
 * Why `executor` refuses `data` (its `accepts` returned false, or its `input` schema's issues), or
 * `undefined` if it takes it. Throws what `accepts` or the schema throws.
 */
export async function refusal(executor: Executor, data: unknown): Promise<string | undefined> {
  let why: string | undefined;
  await admit(executor, "", data, (_source, reason) => why = reason);
  return why;
}

/** Check a message against the executor's `accepts` / `input` schema. */
async function admit(
  executor: Executor,
  source: string,
  data: unknown,
  warn: (source: string, why: string) => void,
): Promise<unknown> {
  if (executor.accepts !== undefined && !executor.accepts(data)) {
    warn(source, "accepts() returned false");
    return REFUSED;
  }
  if (executor.input !== undefined) {
    const result = await executor.input["~standard"].validate(data);
    if (result.issues !== undefined) {
      warn(source, `input schema: ${result.issues.map((issue) => issue.message).join("; ")}`);
      return REFUSED;
    }
    return result.value;
  }
  return data;
}
