/**
 * The named errors of Superstep. Every condition a caller may want to catch has
 * one class here, exported from `mod.ts`, with `name` set and `cause` attached.
 *
 * @module
 */
import { describeError } from "./_describe.ts";
import type { PluginHook } from "./plugin.ts";

/**
 * The base class of every named error of Superstep: catch it to catch any of them. Each subclass sets `name`
 * to its class name (so the name survives minification) and attaches a `cause` where there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointNotFoundError, SuperstepError } from "@superstep/superstep";
 *
 * const error = new CheckpointNotFoundError("01JABC");
 * assert.ok(error instanceof SuperstepError);
 * assert.equal(error.name, "CheckpointNotFoundError");
 * ```
 */
export class SuperstepError extends Error {
  /**
   * Create the error.
   *
   * @param message What went wrong, stating the offending value.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SuperstepError";
  }
}

/**
 * Thrown synchronously by `run()`, `resume()` or `respond()` when the workflow
 * instance already has a live run. A `Workflow` holds executor instances, so it
 * runs one run at a time; build one instance per concurrent run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkflowAlreadyRunningError } from "@superstep/superstep";
 * const error = new WorkflowAlreadyRunningError("orders");
 * assert.equal(error.name, "WorkflowAlreadyRunningError");
 * ```
 */
export class WorkflowAlreadyRunningError extends SuperstepError {
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
 * import assert from "node:assert/strict";
 * import { WorkflowConvergenceError } from "@superstep/superstep";
 * const error = new WorkflowConvergenceError("loop", 100);
 * assert.equal(error.maxSupersteps, 100);
 * ```
 */
export class WorkflowConvergenceError extends SuperstepError {
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
 * import assert from "node:assert/strict";
 * import { WorkflowValidationError } from "@superstep/superstep";
 * const error = new WorkflowValidationError('Duplicate executor id: "a"');
 * assert.equal(error.name, "WorkflowValidationError");
 * ```
 */
export class WorkflowValidationError extends SuperstepError {
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
 * import assert from "node:assert/strict";
 * import { WorkflowRoutingError } from "@superstep/superstep";
 * const error = new WorkflowRoutingError("router", "no case matched and there is no default");
 * assert.equal(error.executorId, "router");
 * ```
 */
export class WorkflowRoutingError extends SuperstepError {
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
 * The start executor refused the run's input (its `accepts` returned false, or its `input` schema found
 * issues): the run fails before anything is written, instead of ending `idle` with nothing done. `reason`
 * says why; over HTTP it is a 422.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder, WorkflowInputError } from "@superstep/superstep";
 *
 * const positive = defineExecutor({ id: "positive", accepts: (n) => typeof n === "number" && n > 0, handle: () => {} });
 * const workflow = new WorkflowBuilder({ name: "check", start: positive }).build();
 * await assert.rejects(workflow.run(-1), (error: unknown) => {
 *   assert.ok(error instanceof WorkflowInputError);
 *   assert.equal(error.executorId, "positive");
 *   return true;
 * });
 * ```
 */
export class WorkflowInputError extends SuperstepError {
  /** The workflow that was run. */
  readonly workflowName: string;
  /** Its start executor, which refused the input. */
  readonly executorId: string;
  /** Why: `accepts() returned false`, or the input schema's issues. */
  readonly reason: string;
  /**
   * Create the error.
   *
   * @param workflowName The workflow that was run.
   * @param executorId Its start executor.
   * @param reason Why the input was refused.
   * @param options Standard error options (`cause`).
   */
  constructor(workflowName: string, executorId: string, reason: string, options?: ErrorOptions) {
    super(
      `Cannot run workflow "${workflowName}": its start executor "${executorId}" refused the input: ${reason}`,
      options,
    );
    this.name = "WorkflowInputError";
    this.workflowName = workflowName;
    this.executorId = executorId;
    this.reason = reason;
  }
}

/**
 * An executor's handler (or `onResponse`) threw. The run failed; the original
 * error is the `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ExecutorFailedError } from "@superstep/superstep";
 * const error = new ExecutorFailedError("parse", new Error("bad input"));
 * assert.equal(error.executorId, "parse");
 * ```
 */
export class ExecutorFailedError extends SuperstepError {
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
 * import assert from "node:assert/strict";
 * import { RequestNotPendingError } from "@superstep/superstep";
 * const error = new RequestNotPendingError("Cannot respond: no request is pending");
 * assert.equal(error.name, "RequestNotPendingError");
 * ```
 */
export class RequestNotPendingError extends SuperstepError {
  /** The request that is not pending, when one was named (`answerRequest` names it). */
  readonly requestId?: string;
  /**
   * Create the error.
   *
   * @param message What was wrong, naming the request id.
   * @param options Standard error options (`cause`), and the `requestId` concerned.
   */
  constructor(message: string, options?: ErrorOptions & { requestId?: string }) {
    super(message, options);
    this.name = "RequestNotPendingError";
    if (options?.requestId !== undefined) this.requestId = options.requestId;
  }
}

/**
 * No checkpoint with the given id exists in the storage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointNotFoundError } from "@superstep/superstep";
 * const error = new CheckpointNotFoundError("01JABC");
 * assert.equal(error.checkpointId, "01JABC");
 * ```
 */
export class CheckpointNotFoundError extends SuperstepError {
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
 * What kind of reference of a checkpoint the graph it is resumed on cannot honour:
 * - `"missing-executor"`: an executor it references (a queued message's sender, a request's executor, a
 *   snapshot's owner) is not in the graph;
 * - `"no-route"`: a queued message's sender has no edge (to its `to`) any more;
 * - `"no-response-handler"`: a request waits on an executor that has no `onResponse` any more;
 * - `"state-dropped"`: a snapshot's executor keeps no state any more (no `restore`);
 * - `"version-changed"`: a snapshot's executor changed `version` and has no `upgrade`;
 * - `"upgrade-failed"`: its `upgrade` threw;
 * - `"buffer-orphaned"`: messages wait in a fan-in the graph no longer has (its sources or target changed);
 * - `"rename-conflict"`: two ids of the checkpoint would be one after the renames.
 */
export type IncompatibilityKind =
  | "missing-executor"
  | "no-route"
  | "no-response-handler"
  | "state-dropped"
  | "version-changed"
  | "upgrade-failed"
  | "buffer-orphaned"
  | "rename-conflict";

/** One reason a checkpoint cannot resume on a changed graph (`CheckpointMismatchError.incompatibilities`). */
export interface Incompatibility {
  /** What does not fit. */
  kind: IncompatibilityKind;
  /** The sub-workflow executors that lead to it, outermost first (`[]` in the workflow itself). */
  path: string[];
  /** The executor concerned (after renames), when there is one. */
  executorId?: string;
  /** The fan-in concerned, for `buffer-orphaned`. */
  edgeId?: string;
  /** The version the checkpoint's snapshot was written by (`null`: none), for `version-changed`. */
  fromVersion?: string | null;
  /** The executor's version now (`null`: none), for `version-changed`. */
  toVersion?: string | null;
  /** What is wrong, in a sentence. */
  message: string;
}

/**
 * How a graph differs from the one that wrote a checkpoint (`CheckpointMismatchError.changes`). Edges are
 * written as `a -> b`, `a -> [b, c]` (fan-out), `a -> switch [b, c]` (default last), `[a, b] -> c` (fan-in)
 * or `[a, b] ->> c` (collect).
 */
export interface GraphChanges {
  /** Executors the graph has and the checkpoint's did not. */
  addedExecutors: string[];
  /** Executors the checkpoint's graph had and this one does not. */
  removedExecutors: string[];
  /** Executors whose `version` changed (`null`: none). */
  changedVersions: { executorId: string; from: string | null; to: string | null }[];
  /** Sub-workflow executors whose inner graph changed. */
  changedSubWorkflows: string[];
  /** Edge groups added. */
  addedEdges: string[];
  /** Edge groups removed. */
  removedEdges: string[];
  /** The start executor, when it changed. */
  start?: { from: string; to: string };
}

/**
 * A checkpoint belongs to another workflow, or was written by another version of this workflow's graph and
 * references what this graph cannot honour (or the workflow resumes strictly), so it cannot be resumed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointMismatchError } from "@superstep/superstep";
 * const error = new CheckpointMismatchError("01JABC", "graph signature differs");
 * assert.equal(error.checkpointId, "01JABC");
 * ```
 */
export class CheckpointMismatchError extends SuperstepError {
  /** The checkpoint that does not fit. */
  readonly checkpointId: string;
  /** Each reference of the checkpoint the graph cannot honour (empty for another workflow or strict mode). */
  readonly incompatibilities: readonly Incompatibility[];
  /** How the graph differs from the checkpoint's, when the checkpoint's graph description was found. */
  readonly changes: GraphChanges | undefined;
  /**
   * Create the error.
   *
   * @param checkpointId The checkpoint's id.
   * @param detail What differs.
   * @param options Standard error options (`cause`), the `incompatibilities` and the `changes`.
   */
  constructor(
    checkpointId: string,
    detail: string,
    options?: ErrorOptions & { incompatibilities?: readonly Incompatibility[]; changes?: GraphChanges },
  ) {
    super(`Cannot resume checkpoint ${checkpointId}: ${detail}`, options);
    this.name = "CheckpointMismatchError";
    this.checkpointId = checkpointId;
    this.incompatibilities = options?.incompatibilities ?? [];
    this.changes = options?.changes;
  }
}

/**
 * Why a {@linkcode CheckpointConflictError} was raised:
 * - `"head-moved"`: a save's parent is not its session's head (another writer extended the session first);
 * - `"id-taken"`: a save's id exists already;
 * - `"concurrent-write"`: a concurrent write to the session failed the save's atomic checks;
 * - `"parent-missing"`: a save names a parent, but its session has no head and the parent is no checkpoint
 *   of another session (a fork's) — the session was deleted while a run still wrote to it, or the parent;
 * - `"not-head"`: a resume named a checkpoint that is not its session's head, without `fork: true`;
 * - `"session-exists"`: a fork named a target session that exists already.
 */
export type CheckpointConflictReason =
  | "head-moved"
  | "id-taken"
  | "concurrent-write"
  | "parent-missing"
  | "not-head"
  | "session-exists";

/** The facts of a {@linkcode CheckpointConflictError}. */
export interface CheckpointConflictDetails {
  /** Why it conflicted. */
  reason: CheckpointConflictReason;
  /** The checkpoint being saved, resumed or forked. */
  checkpointId: string;
  /** The session whose head decided: the save's session, the resumed checkpoint's, or the fork's target. */
  sessionId: string;
  /**
   * The storage adapter that refused a save (`"memory"`, `"libsql"` …), which starts the message.
   *
   * @default {undefined} (the workflow found the conflict, before any save)
   */
  adapter?: string;
  /**
   * The head the operation expected: the save's `parentId` (`null` for a new lineage), or the resumed
   * checkpoint.
   *
   * @default {undefined}
   */
  expectedHead?: string | null;
  /**
   * The session's head when it was checked (`null`: the session has none; `undefined`: not known).
   *
   * @default {undefined}
   */
  actualHead?: string | null;
}

/**
 * A save lost the session-head compare-and-set (another writer extended the session first, or the id is
 * taken), a resume named a checkpoint that is not its session's head without `fork: true`, or a fork named
 * a session that exists. Nothing was written. The facts are fields: `reason`, `adapter`, `checkpointId`,
 * `sessionId`, `expectedHead`, `actualHead`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointConflictError } from "@superstep/superstep";
 *
 * const error = new CheckpointConflictError({
 *   reason: "head-moved",
 *   adapter: "memory",
 *   checkpointId: "01JB",
 *   sessionId: "s1",
 *   expectedHead: "01JA",
 *   actualHead: "01JC",
 * });
 * assert.equal(error.actualHead, "01JC");
 * assert.equal(
 *   error.message,
 *   'memory: cannot save checkpoint 01JB: session head moved (session "s1" head is 01JC, parent is 01JA): ' +
 *     "another writer extended the session; load its head and retry from there",
 * );
 * ```
 */
export class CheckpointConflictError extends SuperstepError {
  /** Why it conflicted. */
  readonly reason: CheckpointConflictReason;
  /** The adapter that refused a save, or `undefined` when the workflow found the conflict. */
  readonly adapter: string | undefined;
  /** The checkpoint being saved, resumed or forked. */
  readonly checkpointId: string;
  /** The session whose head decided. */
  readonly sessionId: string;
  /** The head the operation expected (see {@linkcode CheckpointConflictDetails.expectedHead}). */
  readonly expectedHead: string | null | undefined;
  /** The session's head when checked: `null` for none, `undefined` when not known. */
  readonly actualHead: string | null | undefined;
  /**
   * Create the error; the message is made from the facts.
   *
   * @param details What conflicted.
   * @param options Standard error options (`cause`).
   */
  constructor(details: CheckpointConflictDetails, options?: ErrorOptions) {
    super(conflictMessage(details), options);
    this.name = "CheckpointConflictError";
    this.reason = details.reason;
    this.adapter = details.adapter;
    this.checkpointId = details.checkpointId;
    this.sessionId = details.sessionId;
    this.expectedHead = details.expectedHead;
    this.actualHead = details.actualHead;
  }
}

function conflictMessage(d: CheckpointConflictDetails): string {
  const session = JSON.stringify(d.sessionId);
  const head = d.actualHead ?? "none";
  switch (d.reason) {
    case "not-head":
      return `Cannot resume checkpoint ${d.checkpointId}: it is not the head of session ${session} ` +
        `(head is ${head}): another writer went on from it. Resume the head to continue the session, or ` +
        `pass fork: true to branch from this checkpoint (a fork leaves out what the other writer did)`;
    case "session-exists":
      return `Cannot fork checkpoint ${d.checkpointId} into session ${session}: the session already exists`;
  }
  const prefix = `${d.adapter ?? "storage"}: cannot save checkpoint ${d.checkpointId}`;
  switch (d.reason) {
    case "id-taken":
      return `${prefix}: the id exists already`;
    case "concurrent-write":
      return `${prefix}: a concurrent write to session ${session} failed the commit's checks`;
    case "parent-missing":
      return `${prefix}: session ${session} has no head and its parent ${d.expectedHead} is not a checkpoint ` +
        `of another session (the session was deleted while the run wrote to it, or the parent was)`;
    case "head-moved":
      return `${prefix}: session head moved (session ${session} head is ${head}, parent is ${d.expectedHead}): ` +
        `another writer extended the session; load its head and retry from there`;
  }
}

/**
 * A value in a checkpoint cannot be encoded (a function, a symbol, a class
 * instance …). `path` names where it sits, e.g. `.state.user.callback`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointEncodeError } from "@superstep/superstep";
 * const error = new CheckpointEncodeError(".state.fn", "cannot encode a function");
 * assert.equal(error.path, ".state.fn");
 * ```
 */
export class CheckpointEncodeError extends SuperstepError {
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
 * or a missing part. When the adapter could still read the checkpoint's
 * summary, `sessionId` and `workflowName` say whose it is (so a server can
 * authorize a caller before telling it about the damage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointCorruptError } from "@superstep/superstep";
 * const error = new CheckpointCorruptError("01JABC", "not valid encoded text", { sessionId: "s1" });
 * assert.equal(error.checkpointId, "01JABC");
 * assert.equal(error.sessionId, "s1");
 * ```
 */
export class CheckpointCorruptError extends SuperstepError {
  /** The damaged checkpoint's id, when known. */
  readonly checkpointId: string | undefined;
  /** The damaged checkpoint's session, when its summary could still be read. */
  readonly sessionId: string | undefined;
  /** The damaged checkpoint's workflow, when its summary could still be read. */
  readonly workflowName: string | undefined;
  /** What is wrong (the message without the checkpoint's id). */
  readonly detail: string;
  /**
   * Create the error.
   *
   * @param checkpointId The damaged checkpoint's id, when known.
   * @param detail What is wrong.
   * @param options Standard error options (`cause`), and what is still known of the checkpoint.
   */
  constructor(
    checkpointId: string | undefined,
    detail: string,
    options: ErrorOptions & { sessionId?: string; workflowName?: string } = {},
  ) {
    super(`Checkpoint ${checkpointId ?? "(unknown id)"} is corrupt: ${detail}`, { cause: options.cause });
    this.name = "CheckpointCorruptError";
    this.checkpointId = checkpointId;
    this.detail = detail;
    this.sessionId = options.sessionId;
    this.workflowName = options.workflowName;
  }
}

/**
 * Writing a checkpoint failed for a reason other than a conflict or an encoding
 * error (the storage threw). The run fails: a checkpoint that silently did not
 * persist would be data loss. The storage's error is the `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointSaveError } from "@superstep/superstep";
 * const error = new CheckpointSaveError("01JABC", new Error("disk full"));
 * assert.equal(error.checkpointId, "01JABC");
 * ```
 */
export class CheckpointSaveError extends SuperstepError {
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
 * import assert from "node:assert/strict";
 * import { StorageSchemaError } from "@superstep/superstep";
 * const error = new StorageSchemaError("libsql", 3, 1);
 * assert.ok(error.storedVersion === 3 && error.supportedVersion === 1);
 * ```
 */
export class StorageSchemaError extends SuperstepError {
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
 * import assert from "node:assert/strict";
 * import { PluginError } from "@superstep/superstep";
 * const error = new PluginError("audit", "onEvent", new Error("sink closed"));
 * assert.equal(error.message, 'Plugin "audit" failed in onEvent: sink closed');
 * ```
 */
export class PluginError extends SuperstepError {
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

/**
 * A storage adapter could not do its work for a reason of its backend: the database is unreachable or
 * closed, a query failed, or concurrent writers kept a multi-step operation from finishing. `adapter` and
 * `operation` say which; the backend's error, if any, is the `cause`. Conflicts of the head
 * compare-and-set are {@linkcode CheckpointConflictError}s instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StorageError } from "@superstep/superstep";
 *
 * const error = new StorageError("libsql", "load checkpoint 01JABC", { cause: new Error("SQLITE_BUSY") });
 * assert.equal(error.message, "libsql: cannot load checkpoint 01JABC: SQLITE_BUSY");
 * assert.equal(error.operation, "load checkpoint 01JABC");
 * ```
 */
export class StorageError extends SuperstepError {
  /** The adapter's name (`"libsql"`, `"kv"` …). */
  readonly adapter: string;
  /** What it could not do, as a verb phrase (`"load checkpoint 01J…"`). */
  readonly operation: string;
  /**
   * Create the error.
   *
   * @param adapter The adapter's name, which starts the message.
   * @param operation What it could not do, as a verb phrase.
   * @param options `cause`: the backend's error, described in the message; `detail`: the reason, when there
   *   is no cause to describe.
   */
  constructor(adapter: string, operation: string, options: ErrorOptions & { detail?: string } = {}) {
    const reason = options.detail ?? (options.cause === undefined ? "" : describeError(options.cause));
    super(`${adapter}: cannot ${operation}${reason ? `: ${reason}` : ""}`, { cause: options.cause });
    this.name = "StorageError";
    this.adapter = adapter;
    this.operation = operation;
  }
}

/**
 * A save carried a lease (`SaveOptions.lease`) that is no longer its session's: another claimant took the
 * session over after the lease expired, or it was released. Nothing was written; the run that held it must
 * stop (its superstep is done by the new owner).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaseLostError } from "@superstep/superstep";
 * const error = new LeaseLostError("memory", "s1", "worker-a");
 * assert.equal(error.sessionId, "s1");
 * assert.equal(error.message, 'memory: cannot save to session "s1": the lease of "worker-a" was taken over or released');
 * ```
 * @experimental
 */
export class LeaseLostError extends SuperstepError {
  /** The adapter that refused, or `undefined` when the core found it (a renewal that failed). */
  readonly adapter: string | undefined;
  /** The session. */
  readonly sessionId: string;
  /** The owner of the lost lease. */
  readonly owner: string;
  /**
   * Create the error.
   *
   * @param adapter The adapter's name, or `undefined`.
   * @param sessionId The session.
   * @param owner The owner of the lost lease.
   * @param options Standard error options (`cause`).
   */
  constructor(adapter: string | undefined, sessionId: string, owner: string, options?: ErrorOptions) {
    super(
      `${adapter === undefined ? "Cannot" : `${adapter}: cannot`} save to session ${
        JSON.stringify(sessionId)
      }: ` +
        `the lease of ${JSON.stringify(owner)} was taken over or released`,
      options,
    );
    this.name = "LeaseLostError";
    this.adapter = adapter;
    this.sessionId = sessionId;
    this.owner = owner;
  }
}

/**
 * A run or resume with a `lease` option found its session claimed by another lease (a live run elsewhere,
 * or a recovering host): it did not start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionLeasedError } from "@superstep/superstep";
 * const error = new SessionLeasedError("s1", "worker-a");
 * assert.equal(error.sessionId, "s1");
 * assert.equal(error.message, 'Cannot run session "s1" for "worker-a": another lease holds it');
 * ```
 * @experimental
 */
export class SessionLeasedError extends SuperstepError {
  /** The session. */
  readonly sessionId: string;
  /** The owner that asked for the lease. */
  readonly owner: string;
  /**
   * Create the error.
   *
   * @param sessionId The session.
   * @param owner The owner that asked for the lease.
   * @param options Standard error options (`cause`).
   */
  constructor(sessionId: string, owner: string, options?: ErrorOptions) {
    super(
      `Cannot run session ${JSON.stringify(sessionId)} for ${JSON.stringify(owner)}: another lease holds it`,
      options,
    );
    this.name = "SessionLeasedError";
    this.sessionId = sessionId;
    this.owner = owner;
  }
}

/**
 * A storage lacks an optional capability a helper needs (`listSessions`, `listPendingRequests`): the helper
 * refuses instead of scanning every checkpoint. Every adapter of this package has both; a third-party one
 * declares what it implements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StorageCapabilityError } from "@superstep/superstep";
 * const error = new StorageCapabilityError("listSessions");
 * assert.equal(error.capability, "listSessions");
 * ```
 * @experimental
 */
export class StorageCapabilityError extends SuperstepError {
  /** The missing method. */
  readonly capability: string;
  /**
   * Create the error.
   *
   * @param capability The method the storage lacks.
   * @param options Standard error options (`cause`).
   */
  constructor(capability: string, options?: ErrorOptions) {
    super(
      `The storage has no ${capability}(): it keeps no session index (an adapter declares the capability by ` +
        `implementing the method)`,
      options,
    );
    this.name = "StorageCapabilityError";
    this.capability = capability;
  }
}

/**
 * `answerRequest` found the request pending in more than one session (a fork copies its source's pending
 * requests under the same ids) and was not told which: pass `sessionId`. Nothing was answered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmbiguousRequestError } from "@superstep/superstep";
 * const error = new AmbiguousRequestError("01JR", ["s1", "s2"]);
 * assert.deepEqual(error.sessionIds, ["s1", "s2"]);
 * ```
 * @experimental
 */
export class AmbiguousRequestError extends SuperstepError {
  /** The request. */
  readonly requestId: string;
  /** The sessions whose heads hold it. */
  readonly sessionIds: string[];
  /**
   * Create the error.
   *
   * @param requestId The request.
   * @param sessionIds The sessions whose heads hold it.
   * @param options Standard error options (`cause`).
   */
  constructor(requestId: string, sessionIds: string[], options?: ErrorOptions) {
    const sessions = Array.isArray(sessionIds) ? [...sessionIds] : [];
    super(
      `Cannot answer request ${requestId}: it is pending in ${sessions.length} sessions (${
        sessions.join(", ")
      }): name one with sessionId`,
      options,
    );
    this.name = "AmbiguousRequestError";
    this.requestId = requestId;
    this.sessionIds = sessions;
  }
}
