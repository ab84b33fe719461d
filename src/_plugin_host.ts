// The plugins of one call (run, resume or respond) and the order their hooks
// run in. Events reach each plugin through its own queue: a plugin whose hooks
// are synchronous receives an event while it is emitted (so tracing sees real
// time), an asynchronous hook delays only that plugin's later deliveries, and
// the runner waits for every queue at superstep boundaries. The runner creates
// a host only when a call has plugins: without one nothing here runs.
import type { CheckpointSummary } from "./checkpoint.ts";
import { PluginError } from "./errors.ts";
import type { WorkflowEvent, WorkflowResult } from "./events.ts";
import type { WorkflowContext } from "./context.ts";
import type { ExecutorCall, PluginHook, RunInfo, WorkflowPlugin } from "./plugin.ts";
import { isThenable } from "./_promise.ts";

/**
 * What `wrap` needs of a handler call's context: whether its superstep still
 * runs, where an attempt starts, and how to go back there for a retry.
 */
export interface Attempts<Mark> {
  readonly executorId: string;
  readonly live: boolean;
  mark(): Mark;
  rollback(mark: Mark): void;
}

/** A handler call as the runner makes it (`handle` or `onResponse`), before any wrapper. */
export type HandlerCall = (message: unknown, ctx: WorkflowContext) => void | Promise<void>;

type Delivery = { event: WorkflowEvent; checkpoint?: undefined } | { checkpoint: CheckpointSummary };

interface Channel {
  readonly plugin: WorkflowPlugin;
  readonly queue: Delivery[];
  busy: boolean;
  idle: Promise<void>;
}

export class PluginHost {
  readonly info: RunInfo;
  /** Whether any plugin wraps executor calls. */
  readonly wraps: boolean;
  /** The first hook failure of the call; the call fails with it. */
  failure: PluginError | undefined;
  /** Told of the first failure of a hook outside an executor call (the runner aborts the superstep). */
  onFailure: ((error: PluginError) => void) | undefined;
  #plugins: readonly WorkflowPlugin[];
  #wrappers: readonly WorkflowPlugin[];
  #channels: Channel[];
  #broken = new Set<WorkflowPlugin>();
  #own = new WeakSet<object>();
  #ended = false;

  constructor(plugins: readonly WorkflowPlugin[], info: RunInfo) {
    this.#plugins = plugins;
    this.info = info;
    this.#wrappers = plugins.filter((plugin) => typeof plugin.wrapExecutor === "function");
    this.wraps = this.#wrappers.length > 0;
    this.#channels = plugins
      .filter((plugin) => typeof plugin.onEvent === "function" || typeof plugin.onCheckpoint === "function")
      .map((plugin) => ({ plugin, queue: [], busy: false, idle: Promise.resolve() }));
  }

  /** `onRunStart` of every plugin, in order; throws the first failure. */
  async start(): Promise<void> {
    for (const plugin of this.#plugins) {
      if (typeof plugin.onRunStart !== "function") continue;
      try {
        await plugin.onRunStart(this.info);
      } catch (error) {
        throw this.#fail(plugin, "onRunStart", error, true);
      }
    }
  }

  event(event: WorkflowEvent): void {
    for (const channel of this.#channels) this.#push(channel, { event });
  }

  checkpoint(summary: CheckpointSummary): void {
    for (const channel of this.#channels) this.#push(channel, { checkpoint: summary });
  }

  /** Wait until every plugin has received everything so far; throws the first failure. */
  async flush(): Promise<void> {
    await this.#drain();
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Deliver what is queued, then `onRunEnd` of every plugin still healthy, in
   * order. Never throws: a failure is left in `failure`. Later events reach no plugin.
   */
  async end(result: WorkflowResult): Promise<void> {
    if (this.#ended) return;
    await this.#drain();
    this.#ended = true;
    for (const plugin of this.#plugins) {
      if (typeof plugin.onRunEnd !== "function" || this.#broken.has(plugin)) continue;
      try {
        await plugin.onRunEnd(result, this.info);
      } catch (error) {
        this.#fail(plugin, "onRunEnd", error, false);
      }
    }
  }

  /** Whether `error` is a plugin failure raised by a wrapper (not something a handler threw). */
  owns(error: unknown): error is PluginError {
    return typeof error === "object" && error !== null && this.#own.has(error);
  }

  /**
   * Compose the wrappers around one handler call; the first plugin is the
   * outermost. Attempts after the first roll the context back to where the
   * call started and report themselves through `retried`. Returns `body`
   * itself when every plugin leaves the executor alone.
   */
  wrap<Mark>(
    ctx: Attempts<Mark>,
    body: HandlerCall,
    retried: (attempt: number, error: unknown) => void,
  ): HandlerCall {
    const executorId = ctx.executorId;
    let attempt = 0;
    let running = false;
    let mark: Mark | undefined;
    let previousError: unknown;
    const innermost: ExecutorCall = async (message, context) => {
      if (running) {
        throw new TypeError(
          `Cannot run executor "${executorId}" again: its previous attempt has not settled (wrapExecutor's next)`,
        );
      }
      running = true;
      attempt++;
      if (mark === undefined) mark = ctx.mark();
      else {
        ctx.rollback(mark);
        retried(attempt, previousError);
      }
      previousError = undefined;
      try {
        await body(message, context);
      } catch (error) {
        previousError = error;
        ctx.rollback(mark);
        throw error;
      } finally {
        running = false;
      }
    };
    let next = innermost;
    let wrapped = false;
    for (let i = this.#wrappers.length - 1; i >= 0; i--) {
      const plugin = this.#wrappers[i];
      if (this.#broken.has(plugin)) continue;
      const inner = next;
      // What the inner layers threw passes through a wrapper unchanged; anything else is the wrapper's own.
      const innerErrors: unknown[] = [];
      const guarded: ExecutorCall = (message, context) =>
        inner(message, context).catch((error) => {
          innerErrors.push(error);
          throw error;
        });
      let outer: ExecutorCall;
      try {
        outer = plugin.wrapExecutor!(guarded, executorId, this.info);
      } catch (error) {
        throw this.#ownError(this.#fail(plugin, "wrapExecutor", error, false));
      }
      if (outer === guarded) continue;
      if (typeof outer !== "function") {
        const error = new TypeError(`wrapExecutor must return a function, got ${typeof outer}`);
        throw this.#ownError(this.#fail(plugin, "wrapExecutor", error, false));
      }
      wrapped = true;
      next = async (message, context) => {
        try {
          await outer(message, context);
        } catch (error) {
          // A wrapper failing after its superstep ended (aborted, cancelled) changes nothing.
          if (innerErrors.includes(error) || !ctx.live) throw error;
          throw this.#ownError(this.#fail(plugin, "wrapExecutor", error, false));
        }
      };
    }
    return wrapped ? next : body;
  }

  #push(channel: Channel, delivery: Delivery): void {
    if (this.#ended || this.#broken.has(channel.plugin)) return;
    channel.queue.push(delivery);
    if (channel.busy) return;
    channel.busy = true;
    channel.idle = this.#pump(channel);
  }

  /** Deliver a channel's queue in order; runs synchronously for as long as the hooks do. */
  async #pump(channel: Channel): Promise<void> {
    const { plugin, queue } = channel;
    try {
      while (queue.length > 0) {
        const delivery = queue.shift()!;
        const hook: PluginHook = delivery.checkpoint === undefined ? "onEvent" : "onCheckpoint";
        try {
          const pending = delivery.checkpoint === undefined
            ? plugin.onEvent?.(delivery.event, this.info)
            : plugin.onCheckpoint?.(delivery.checkpoint, this.info);
          if (isThenable(pending)) await pending;
        } catch (error) {
          queue.length = 0;
          this.#fail(plugin, hook, error, true);
        }
      }
    } finally {
      channel.busy = false;
    }
  }

  async #drain(): Promise<void> {
    // A hook may still be running when the runner reaches a boundary; wait until every queue is empty.
    while (this.#channels.some((channel) => channel.busy)) {
      await Promise.all(this.#channels.map((channel) => channel.idle));
    }
  }

  /** Record a hook failure; the plugin is not called again in this call. */
  #fail(plugin: WorkflowPlugin, hook: PluginHook, cause: unknown, notify: boolean): PluginError {
    const error = new PluginError(plugin.name, hook, cause);
    this.#broken.add(plugin);
    if (this.failure === undefined) {
      this.failure = error;
      if (notify) this.onFailure?.(error);
    }
    return error;
  }

  #ownError(error: PluginError): PluginError {
    this.#own.add(error);
    return error;
  }
}

const HOOKS: readonly PluginHook[] = ["onRunStart", "onEvent", "wrapExecutor", "onCheckpoint", "onRunEnd"];

/** Check plugins where they are registered, so a mistake is a TypeError there and not a failed run. */
export function assertPlugin(plugin: unknown, where: string): asserts plugin is WorkflowPlugin {
  if (typeof plugin !== "object" || plugin === null) {
    throw new TypeError(`${where} needs a plugin object, got ${plugin === null ? "null" : typeof plugin}`);
  }
  const { name } = plugin as { name?: unknown };
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`${where} needs a plugin with a non-empty name, got ${JSON.stringify(name)}`);
  }
  for (const hook of HOOKS) {
    const value = (plugin as Record<string, unknown>)[hook];
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(`Plugin "${name}": ${hook} must be a function, got ${typeof value}`);
    }
  }
}

/** Check a call's `plugins` option. */
export function assertPlugins(
  plugins: unknown,
  where: string,
): asserts plugins is readonly WorkflowPlugin[] | undefined {
  if (plugins === undefined) return;
  if (!Array.isArray(plugins)) {
    throw new TypeError(`${where} option "plugins" must be an array, got ${typeof plugins}`);
  }
  for (const plugin of plugins) assertPlugin(plugin, `${where} option "plugins"`);
}
