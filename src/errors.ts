/**
 * The named errors of Superstep. Every condition a caller may want to catch has
 * one class here, exported from `mod.ts`, with `name` set and `cause` attached.
 *
 * @module
 */
import { describeError } from "./_describe.ts";
import type { PluginHook } from "./plugin.ts";

/**
 * Thrown synchronously by `run()`, `resume()` or `respond()` when the workflow
 * instance already has a live run. A `Workflow` holds executor instances, so it
 * runs one run at a time; build one instance per concurrent run.
 *
 * @example
 * ```ts
 * import { WorkflowAlreadyRunningError } from "@superstep/superstep";
 * const error = new WorkflowAlreadyRunningError("orders");
 * console.assert(error.name === "WorkflowAlreadyRunningError");
 * ```
 */
export class WorkflowAlreadyRunningError extends Error {
  /** The name of the workflow that is busy. */
  readonly workflowName: string;
  /**
   * Create the error.
   *
   * @param workflowName The busy workflow's name.
   * @param options Standard error options (`cause`).
   */
  constructor(workflowName: string, options?: ErrorOptions) {
    super(
      `Cannot start a run: workflow "${workflowName}" already has a live run on this instance`,
      options,
    );
    this.name = "WorkflowAlreadyRunningError";
    this.workflowName = workflowName;
  }
}

/**
 * A run needed more than `maxSupersteps` supersteps in one call (run, resume or
 * respond). The last checkpoint written stays resumable.
 *
 * @example
 * ```ts
 * import { WorkflowConvergenceError } from "@superstep/superstep";
 * const error = new WorkflowConvergenceError("loop", 100);
 * console.assert(error.maxSupersteps === 100);
 * ```
 */
export class WorkflowConvergenceError extends Error {
  /** The limit that was exceeded. */
  readonly maxSupersteps: number;
  /** The last checkpoint written before the limit was hit, if any. */
  readonly checkpointId: string | undefined;
  /**
   * Create the error.
   *
   * @param workflowName The workflow's name.
   * @param maxSupersteps The limit that was exceeded.
   * @param checkpointId The last checkpoint written, to resume from.
   */
  constructor(workflowName: string, maxSupersteps: number, checkpointId?: string) {
    super(
      `Workflow did not converge: "${workflowName}" still had messages after ${maxSupersteps} supersteps` +
        (checkpointId ? ` (last checkpoint ${checkpointId})` : ""),
    );
    this.name = "WorkflowConvergenceError";
    this.maxSupersteps = maxSupersteps;
    this.checkpointId = checkpointId;
  }
}

/**
 * `WorkflowBuilder.build()` found the graph invalid: an unknown or duplicate
 * executor, a duplicate edge, an unreachable executor or a wrong arity.
 *
 * @example
 * ```ts
 * import { WorkflowValidationError } from "@superstep/superstep";
 * const error = new WorkflowValidationError('Duplicate executor id: "a"');
 * console.assert(error.name === "WorkflowValidationError");
 * ```
 */
export class WorkflowValidationError extends Error {
  /**
   * Create the error.
   *
   * @param message What is wrong, naming the executor or edge.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkflowValidationError";
  }
}

/**
 * A message could not be routed at run time: a switch had no matching case and
 * no default, or a fan-out `select` named an executor outside its targets.
 *
 * @example
 * ```ts
 * import { WorkflowRoutingError } from "@superstep/superstep";
 * const error = new WorkflowRoutingError("router", "no case matched and there is no default");
 * console.assert(error.executorId === "router");
 * ```
 */
export class WorkflowRoutingError extends Error {
  /** The executor whose message could not be routed. */
  readonly executorId: string;
  /**
   * Create the error.
   *
   * @param executorId The source executor.
   * @param detail Why routing failed.
   * @param options Standard error options (`cause`).
   */
  constructor(executorId: string, detail: string, options?: ErrorOptions) {
    super(`Cannot route a message from "${executorId}": ${detail}`, options);
    this.name = "WorkflowRoutingError";
    this.executorId = executorId;
  }
}

/**
 * An executor's handler (or `onResponse`) threw. The run failed; the original
 * error is the `cause`.
 *
 * @example
 * ```ts
 * import { ExecutorFailedError } from "@superstep/superstep";
 * const error = new ExecutorFailedError("parse", new Error("bad input"));
 * console.assert(error.executorId === "parse");
 * ```
 */
export class ExecutorFailedError extends Error {
  /** The executor that threw. */
  readonly executorId: string;
  /**
   * Create the error.
   *
   * @param executorId The executor that threw.
   * @param cause What it threw.
   */
  constructor(executorId: string, cause: unknown) {
    super(`Executor "${executorId}" failed: ${describeError(cause)}`, { cause });
    this.name = "ExecutorFailedError";
    this.executorId = executorId;
  }
}

/**
 * Responses named a request that is not pending, or were given when no request
 * is pending. Nothing ran and nothing was written.
 *
 * @example
 * ```ts
 * import { RequestNotPendingError } from "@superstep/superstep";
 * const error = new RequestNotPendingError("Cannot respond: no request is pending");
 * console.assert(error.name === "RequestNotPendingError");
 * ```
 */
export class RequestNotPendingError extends Error {
  /**
   * Create the error.
   *
   * @param message What was wrong, naming the request id.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RequestNotPendingError";
  }
}

/**
 * No checkpoint with the given id exists in the storage.
 *
 * @example
 * ```ts
 * import { CheckpointNotFoundError } from "@superstep/superstep";
 * const error = new CheckpointNotFoundError("01JABC");
 * console.assert(error.checkpointId === "01JABC");
 * ```
 */
export class CheckpointNotFoundError extends Error {
  /** The id that was looked up. */
  readonly checkpointId: string;
  /**
   * Create the error.
   *
   * @param checkpointId The missing checkpoint's id.
   * @param options Standard error options (`cause`).
   */
  constructor(checkpointId: string, options?: ErrorOptions) {
    super(`Checkpoint not found: ${checkpointId}`, options);
    this.name = "CheckpointNotFoundError";
    this.checkpointId = checkpointId;
  }
}

/**
 * A checkpoint belongs to another workflow or to a different graph (its graph
 * signature differs), so it cannot be resumed by this workflow.
 *
 * @example
 * ```ts
 * import { CheckpointMismatchError } from "@superstep/superstep";
 * const error = new CheckpointMismatchError("01JABC", "graph signature differs");
 * console.assert(error.checkpointId === "01JABC");
 * ```
 */
export class CheckpointMismatchError extends Error {
  /** The checkpoint that does not fit. */
  readonly checkpointId: string;
  /**
   * Create the error.
   *
   * @param checkpointId The checkpoint's id.
   * @param detail What differs.
   * @param options Standard error options (`cause`).
   */
  constructor(checkpointId: string, detail: string, options?: ErrorOptions) {
    super(`Cannot resume checkpoint ${checkpointId}: ${detail}`, options);
    this.name = "CheckpointMismatchError";
    this.checkpointId = checkpointId;
  }
}

/**
 * A save lost the session-head compare-and-set (another writer extended the
 * session first), or a resume named a checkpoint that is not its session's head
 * without `fork: true`. Nothing was written.
 *
 * @example
 * ```ts
 * import { CheckpointConflictError } from "@superstep/superstep";
 * const error = new CheckpointConflictError("memory: cannot save checkpoint 01JB: session head moved");
 * console.assert(error.name === "CheckpointConflictError");
 * ```
 */
export class CheckpointConflictError extends Error {
  /**
   * Create the error.
   *
   * @param message What conflicted, naming the checkpoint and session.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointConflictError";
  }
}

/**
 * A value in a checkpoint cannot be encoded (a function, a symbol, a class
 * instance …). `path` names where it sits, e.g. `.state.user.callback`.
 *
 * @example
 * ```ts
 * import { CheckpointEncodeError } from "@superstep/superstep";
 * const error = new CheckpointEncodeError(".state.fn", "cannot encode a function");
 * console.assert(error.path === ".state.fn");
 * ```
 */
export class CheckpointEncodeError extends Error {
  /** Where the offending value sits, from the encoded root. */
  readonly path: string;
  /**
   * Create the error.
   *
   * @param path Where the offending value sits.
   * @param detail What is wrong with it.
   * @param options Standard error options (`cause`).
   */
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`Cannot encode checkpoint value at ${path || "(root)"}: ${detail}`, options);
    this.name = "CheckpointEncodeError";
    this.path = path;
  }
}

/**
 * A stored checkpoint cannot be decoded: bad text, an unknown format version,
 * or a missing part.
 *
 * @example
 * ```ts
 * import { CheckpointCorruptError } from "@superstep/superstep";
 * const error = new CheckpointCorruptError("01JABC", "not valid encoded text");
 * console.assert(error.checkpointId === "01JABC");
 * ```
 */
export class CheckpointCorruptError extends Error {
  /** The damaged checkpoint's id, when known. */
  readonly checkpointId: string | undefined;
  /**
   * Create the error.
   *
   * @param checkpointId The damaged checkpoint's id, when known.
   * @param detail What is wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(checkpointId: string | undefined, detail: string, options?: ErrorOptions) {
    super(`Checkpoint ${checkpointId ?? "(unknown id)"} is corrupt: ${detail}`, options);
    this.name = "CheckpointCorruptError";
    this.checkpointId = checkpointId;
  }
}

/**
 * Writing a checkpoint failed for a reason other than a conflict or an encoding
 * error (the storage threw). The run fails: a checkpoint that silently did not
 * persist would be data loss. The storage's error is the `cause`.
 *
 * @example
 * ```ts
 * import { CheckpointSaveError } from "@superstep/superstep";
 * const error = new CheckpointSaveError("01JABC", new Error("disk full"));
 * console.assert(error.checkpointId === "01JABC");
 * ```
 */
export class CheckpointSaveError extends Error {
  /** The checkpoint that was not saved. */
  readonly checkpointId: string;
  /**
   * Create the error.
   *
   * @param checkpointId The checkpoint that was not saved.
   * @param cause What the storage threw.
   */
  constructor(checkpointId: string, cause: unknown) {
    super(`Cannot save checkpoint ${checkpointId}: ${describeError(cause)}`, { cause });
    this.name = "CheckpointSaveError";
    this.checkpointId = checkpointId;
  }
}

/**
 * A storage holds a schema newer than this version of Superstep understands: a newer version of the library
 * migrated it. The adapter refuses to read or write it rather than risk damaging it; upgrade Superstep, or
 * point this process at another database.
 *
 * @example
 * ```ts
 * import { StorageSchemaError } from "@superstep/superstep";
 * const error = new StorageSchemaError("libsql", 3, 1);
 * console.assert(error.storedVersion === 3 && error.supportedVersion === 1);
 * ```
 */
export class StorageSchemaError extends Error {
  /** The schema version found in the storage. */
  readonly storedVersion: number;
  /** The newest schema version this library understands. */
  readonly supportedVersion: number;
  /**
   * Create the error.
   *
   * @param adapter The adapter's name, which starts the message (`"libsql"`).
   * @param storedVersion The schema version found in the storage.
   * @param supportedVersion The newest schema version this library understands.
   * @param options Standard error options (`cause`).
   */
  constructor(adapter: string, storedVersion: number, supportedVersion: number, options?: ErrorOptions) {
    super(
      `${adapter}: cannot use the storage: its schema version ${storedVersion} is newer than this library ` +
        `supports (${supportedVersion}); upgrade @superstep/superstep`,
      options,
    );
    this.name = "StorageSchemaError";
    this.storedVersion = storedVersion;
    this.supportedVersion = supportedVersion;
  }
}

/**
 * A plugin's hook threw or rejected, so the call failed the way it fails when
 * an executor throws (a plugin may not silently break a run). `pluginName` and
 * `hook` say which; what it threw is the `cause`.
 *
 * @example
 * ```ts
 * import { PluginError } from "@superstep/superstep";
 * const error = new PluginError("audit", "onEvent", new Error("sink closed"));
 * console.assert(error.message === 'Plugin "audit" failed in onEvent: sink closed');
 * ```
 */
export class PluginError extends Error {
  /** The `name` of the plugin that threw. */
  readonly pluginName: string;
  /** The hook that threw: `onRunStart`, `onEvent`, `wrapExecutor`, `onCheckpoint` or `onRunEnd`. */
  readonly hook: PluginHook;
  /**
   * Create the error.
   *
   * @param pluginName The plugin's `name`.
   * @param hook The hook that threw.
   * @param cause What it threw.
   */
  constructor(pluginName: string, hook: PluginHook, cause: unknown) {
    super(`Plugin "${pluginName}" failed in ${hook}: ${describeError(cause)}`, { cause });
    this.name = "PluginError";
    this.pluginName = pluginName;
    this.hook = hook;
  }
}
