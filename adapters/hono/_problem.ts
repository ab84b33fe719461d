// Problem documents (package-private): the mapping from Superstep's errors to RFC 9457 answers that leak no
// internals, and the public form of the errors events carry.
import {
  CheckpointConflictError,
  CheckpointCorruptError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  ExecutorFailedError,
  RequestNotPendingError,
  StorageCapabilityError,
  WorkflowAlreadyRunningError,
  WorkflowConvergenceError,
  WorkflowInputError,
} from "../../src/errors.ts";
import type { WorkflowEvent } from "../../src/events.ts";
import { HTTPException } from "hono/http-exception";
import type { ProblemDocument } from "./types.ts";

/** Thrown inside the adapter to answer with a given problem. */
export class ProblemError extends Error {
  readonly problem: ProblemDocument;
  constructor(status: number, slug: string, title: string, detail: string) {
    super(detail);
    this.name = "ProblemError";
    this.problem = problem(status, slug, title, detail);
  }
}

/** Build a problem document. */
export function problem(status: number, slug: string, title: string, detail: string): ProblemDocument {
  return { type: `urn:superstep:problem:${slug}`, title, status, detail };
}

/** A checkpoint of a workflow this app does not serve: nothing here can resume it. */
export function workflowNotServed(checkpointId: string, workflowName: string): ProblemError {
  return new ProblemError(
    422,
    "checkpoint-mismatch",
    "Checkpoint does not fit the workflow",
    `Checkpoint ${checkpointId} belongs to the workflow "${workflowName}", which is not served here`,
  );
}

/** A 400: the request is malformed. */
export function badRequest(detail: string): ProblemError {
  return new ProblemError(400, "bad-request", "Bad request", detail);
}

/** A 404 for a session that has no checkpoint (never had one, or was deleted). */
export function sessionNotFound(sessionId: string): ProblemError {
  return new ProblemError(404, "session-not-found", "Session not found", `Session not found: ${sessionId}`);
}

/** A 500 for a stored checkpoint that cannot be decoded, to a caller authorized on its session. */
export function checkpointCorrupt(id: string): ProblemError {
  const error = new ProblemError(
    500,
    "checkpoint-corrupt",
    "Checkpoint is damaged",
    `Checkpoint ${id} is damaged: it cannot be read or resumed`,
  );
  error.problem.checkpointId = id;
  return error;
}

/** A 500 for an answer longer than the response limit (the extensions say what the run left behind). */
export function responseTooLarge(limit: number, extensions: Record<string, unknown> = {}): ProblemDocument {
  const detail = `The answer would exceed the response limit of ${limit} bytes`;
  return { ...problem(500, "response-too-large", "Response too large", detail), ...extensions };
}

/** Map any error to the problem document a client may see. */
export function problemFor(error: unknown): ProblemDocument {
  if (error instanceof ProblemError) return error.problem;
  if (error instanceof HTTPException) {
    const status = error.status;
    return problem(status, `http-${status}`, error.message || "HTTP error", error.message);
  }
  if (error instanceof CheckpointNotFoundError) {
    return problem(404, "checkpoint-not-found", "Checkpoint not found", error.message);
  }
  if (error instanceof CheckpointMismatchError) {
    // What does not fit and what changed, so a client can tell an upgrade to make from a graph to restore.
    return {
      ...problem(422, "checkpoint-mismatch", "Checkpoint does not fit the workflow", error.message),
      incompatibilities: error.incompatibilities,
      ...(error.changes !== undefined && { changes: error.changes }),
    };
  }
  if (error instanceof WorkflowInputError) {
    return {
      ...problem(422, "input-refused", "Input refused", error.message),
      executorId: error.executorId,
    };
  }
  if (error instanceof CheckpointConflictError) {
    return problem(409, "checkpoint-conflict", "Checkpoint conflict", error.message);
  }
  if (error instanceof WorkflowAlreadyRunningError) {
    return problem(409, "workflow-busy", "Workflow is busy", error.message);
  }
  if (error instanceof RequestNotPendingError) {
    return problem(409, "request-not-pending", "Request not pending", error.message);
  }
  if (error instanceof StorageCapabilityError) {
    return problem(501, "storage-capability-missing", "Storage lacks a capability", error.message);
  }
  if (error instanceof WorkflowConvergenceError) {
    return {
      ...problem(500, "workflow-did-not-converge", "Workflow did not converge", error.message),
      checkpointId: error.checkpointId ?? null,
    };
  }
  if (error instanceof ExecutorFailedError) {
    return {
      ...problem(500, "executor-failed", "Executor failed", `Executor "${error.executorId}" failed`),
      executorId: error.executorId,
    };
  }
  // Without its id: it may be an ancestor in a session the caller may not read. The checkpoint routes
  // authorize first and answer `checkpointCorrupt(id)` for the checkpoint they were asked about.
  if (error instanceof CheckpointCorruptError) {
    return problem(500, "checkpoint-corrupt", "Checkpoint is damaged", "A stored checkpoint is damaged");
  }
  return problem(500, "internal-error", "Internal server error", "The server could not complete the request");
}

const DOMAIN_ERRORS = [
  CheckpointConflictError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  RequestNotPendingError,
  WorkflowAlreadyRunningError,
  WorkflowConvergenceError,
  WorkflowInputError,
];

/** An error as clients may see it: domain errors with their message, anything else with its name only. */
export function publicError(error: unknown): { name: string; message: string } {
  if (error instanceof ExecutorFailedError) {
    return { name: error.name, message: `Executor "${error.executorId}" failed` };
  }
  if (DOMAIN_ERRORS.some((type) => error instanceof type)) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  const name = error instanceof Error && /^[A-Za-z]{1,64}$/.test(error.name) ? error.name : "Error";
  return { name, message: "Internal error" };
}

/** An event with its errors made public, ready for `stringifyJson`. */
export function publicEvent(event: WorkflowEvent): WorkflowEvent {
  // A sub-workflow's events carry errors too, as deep as it nests.
  if (event.type === "nested") return { ...event, event: publicEvent(event.event) };
  // Every event that carries an error (failed, executor-failed, executor-retried, and any added later).
  if ("error" in event) return { ...event, error: publicError(event.error) } as WorkflowEvent;
  return event;
}
