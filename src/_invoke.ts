// One executor's turn in a superstep: its answers first (`onResponse`), then its
// messages in delivery order, each admitted by `accepts` / the input schema and
// run through the plugins' wrappers, one at a time, with the executor events.
import type { Delivery } from "./_run_context.ts";
import { ExecutorFailedError } from "./errors.ts";
import type { WorkflowEvent } from "./events.ts";
import type { Executor } from "./executor.ts";
import type { ExecutorContext, SuperstepScope } from "./_executor_context.ts";
import type { HandlerCall, PluginHost } from "./_plugin_host.ts";

/** What one executor receives in one superstep. */
export interface Inbox {
  executor: Executor;
  messages: { source: string; data: unknown }[];
  responses: Delivery[];
}

/**
 * Run `inbox` with `ctx`. Throws `ExecutorFailedError` (or a wrapper's `PluginError`) when a handler,
 * `accepts` or the schema throws; once `scope` is over, nothing more runs and nothing is reported.
 */
export async function invoke(
  inbox: Inbox,
  ctx: ExecutorContext,
  scope: SuperstepScope,
  emit: (event: WorkflowEvent) => void,
  host: PluginHost | undefined,
): Promise<void> {
  const { executor } = inbox;
  const executorId = executor.id;
  const superstep = ctx.superstep;
  const plugins = host?.wraps ? host : undefined;
  const retried = plugins && ((attempt: number, error: unknown) => {
    if (scope.live) emit({ type: "executor-retried", executorId, superstep, attempt, error });
  });
  const failed = (error: unknown) => emit({ type: "executor-failed", executorId, superstep, error });
  const call = async (body: HandlerCall, message: unknown) => {
    if (!scope.live) return;
    emit({ type: "executor-invoked", executorId, superstep });
    try {
      await (plugins === undefined ? body : plugins.wrap(ctx, body, retried!))(message, ctx);
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
  // With output schemas, a call is over once its sends and yields passed them.
  const settled = executor.sends === undefined && executor.yields === undefined
    ? (body: HandlerCall) => body
    : (body: HandlerCall): HandlerCall => async (message, context) => {
      await body(message, context);
      await ctx.settle();
    };
  const handle = settled((message, context) => executor.handle(message, context));
  const answer = (request: Delivery["request"]) =>
    settled((response, context) => executor.onResponse!(response, request, context));
  for (const { request, response } of inbox.responses) await call(answer(request), response);
  for (const { source, data } of inbox.messages) {
    let admitted: unknown;
    try {
      admitted = await admit(executor, source, data, warn);
    } catch (error) {
      // accepts() and input schemas are the executor's code: a throw fails it like its handler.
      if (!scope.live) return;
      failed(error);
      throw new ExecutorFailedError(executorId, error);
    }
    if (admitted === REFUSED || !scope.live) continue;
    await call(handle, admitted);
  }
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
