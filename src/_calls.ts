// The calls of one workflow instance (run, resume, respond): take the run guard
// synchronously, start lazily when the handle is first read, prepare the
// runner, run it with the call's plugins, report a failure once, release.
import type { WorkflowEvent, WorkflowResult } from "./events.ts";

import { RunControl, RunHandle } from "./_run_handle.ts";
import type { ExecuteOptions, Runner } from "./_runner.ts";
import { PluginHost } from "./_plugin_host.ts";
import { RunGuard, type RunOwner } from "./run_guard.ts";
import { newId } from "./_ulid.ts";
import type { RunInfo, RunKind, WorkflowPlugin } from "./plugin.ts";
import type { WorkflowRun } from "./workflow_run.ts";

/** What a call's preparation hands to the runner: the runner, and how to execute it. */
export interface Prepared extends Omit<ExecuteOptions, "plugins"> {
  runner: Runner;
  /** Called once the run ended, before the instance is freed: drops the run's lease. */
  release?: () => Promise<void>;
}

/** The options every call takes. */
export interface CallOptions {
  signal?: AbortSignal;
  plugins?: readonly WorkflowPlugin[];
  keepEvents?: number | "all";
}

/** How many of a call's last events `result.events` holds unless the call says otherwise. */
export const KEEP_EVENTS = 1000;

export class Calls {
  readonly #guard: RunGuard;
  readonly #plugins: readonly WorkflowPlugin[];
  /** The runner of the last run that can still be answered with `respond()`. */
  live: Runner | undefined;
  /**
   * The newest call. Only it may set `live`: a cancelled call (`cancel()`, a `break` out of its stream) frees
   * the guard at once but still finishes, and must then leave its runner answerable unless a newer call
   * started meanwhile.
   */
  #newest: RunOwner | undefined;

  constructor(workflowName: string, plugins: readonly WorkflowPlugin[]) {
    this.#guard = new RunGuard(workflowName);
    this.#plugins = plugins;
  }

  /** Whether a live run holds the instance. */
  get isRunning(): boolean {
    return this.#guard.isHeld;
  }

  /**
   * Take the guard synchronously, then return the lazy handle. `prepare` runs
   * when the handle is first awaited or iterated.
   *
   * @throws {WorkflowAlreadyRunningError} If a live run holds the instance.
   */
  start<TOutput>(
    kind: RunKind,
    options: CallOptions,
    prepare: () => Promise<Prepared>,
  ): WorkflowRun<TOutput> {
    const plugins = options.plugins?.length ? [...this.#plugins, ...options.plugins] : this.#plugins;
    const keepEvents = keptEvents(options.keepEvents, kind);
    // The closures run only after `owner` is set below (or never, if acquire throws).
    const control: RunControl = new RunControl(
      (control) => this.#execute(control, owner, options.signal, prepare, kind, plugins),
      () => this.#guard.release(owner),
      keepEvents,
    );
    const handle = new RunHandle(control);
    // The finalizer callback must not reference the handle, or it would never be collected.
    const abort = control.abort;
    const owner = this.#guard.acquire(
      handle.liveness,
      () => abort.cancel(new DOMException("The run handle was garbage-collected", "AbortError")),
    );
    this.#newest = owner;
    // The run's outputs are what the workflow's executors yield: its builder typed them.
    return handle as unknown as WorkflowRun<TOutput>;
  }

  async #execute(
    control: RunControl,
    owner: RunOwner,
    signal: AbortSignal | undefined,
    prepare: () => Promise<Prepared>,
    kind: RunKind,
    plugins: readonly WorkflowPlugin[],
  ): Promise<WorkflowResult> {
    const { log, abort } = control;
    const onAbort = () => abort.cancel(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    // Until the call has started, its events reach the log only: plugins see a call from `started` on.
    let emit = (event: WorkflowEvent) => log.push(event);
    let runner: Runner | undefined;
    let host: PluginHost | undefined;
    let release: Prepared["release"];
    try {
      const prepared = await prepare();
      runner = prepared.runner;
      release = prepared.release;
      if (this.#newest === owner) this.live = undefined;
      if (plugins.length > 0) {
        const started = host = new PluginHost(plugins, runInfo(runner, kind, abort.signal));
        emit = (event) => {
          log.push(event);
          started.event(event);
        };
      }
      runner.run.beginCall(emit, () => log.kept());
      if (host !== undefined) await host.start();
      // Field by field, not `{ ...rest }`: on Node 20's V8 a spread of a rest object made a new hidden class
      // per call, so every read of these options in the runner was megamorphic. `satisfies`: none is forgotten.
      const result = await runner.execute(
        abort,
        {
          entry: prepared.entry,
          responses: prepared.responses,
          fork: prepared.fork,
          replayRequests: prepared.replayRequests,
          metadata: prepared.metadata,
          plugins: host,
        } satisfies { [K in keyof Required<ExecuteOptions>]: ExecuteOptions[K] },
      );
      if (host !== undefined) {
        await host.flush();
        await host.end(result);
        if (host.failure !== undefined) throw host.failure;
      }
      if (this.#newest === owner) this.live = runner;
      // A lease that cannot be dropped lapses on its own: that is no failure of the run.
      await release?.().catch(() => {});
      // Free the instance before anyone learns the run is over, so `await run(); run()` works.
      this.#guard.release(owner);
      log.close();
      return result;
    } catch (error) {
      emit({ type: "failed", error });
      emit({ type: "status", state: "failed" });
      // Plugins learn of the failure; one failing again now cannot change what the call rejects with.
      if (host !== undefined) await host.end({ ...runner!.result("failed"), error });
      await release?.().catch(() => {});
      this.#guard.release(owner);
      log.close({ error });
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** @throws {RangeError} Unless `keep` is `"all"` or a non-negative integer. */
function keptEvents(keep: number | "all" | undefined, kind: RunKind): number {
  if (keep === undefined) return KEEP_EVENTS;
  if (keep === "all") return Infinity;
  if (!Number.isSafeInteger(keep) || keep < 0) {
    throw new RangeError(
      `Invalid ${kind}() keepEvents: expected a non-negative integer or "all", got ${
        typeof keep === "number" ? keep : JSON.stringify(keep)
      }`,
    );
  }
  return keep;
}

function runInfo(runner: Runner, kind: RunKind, signal: AbortSignal): RunInfo {
  const parent = runner.previousCheckpointId;
  return Object.freeze({
    workflowName: runner.graph.name,
    sessionId: runner.sessionId,
    kind,
    runId: newId(),
    signal,
    ...(parent === null ? {} : { parentCheckpointId: parent }),
  });
}
