// Package-private helpers of the Hono adapter: JSON encoding that never throws, and the mapping from
// Superstep's errors to RFC 9457 problem documents that leak no internals.
import {
  CheckpointConflictError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  ExecutorFailedError,
  RequestNotPendingError,
  WorkflowAlreadyRunningError,
  WorkflowConvergenceError,
} from "../src/errors.ts";
import type { WorkflowEvent } from "../src/events.ts";

/**
 * How deep JSON may nest. Deeper outputs are cut: a hostile or accidental deep structure must not overflow the
 * stack mid-stream. Deeper request bodies are refused: the checkpoint codec could not encode them.
 */
export const MAX_DEPTH = 200;

/** Whether a parsed JSON value nests arrays and objects more than `limit` levels deep (walked without recursion). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [item, level] = pending.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (level > limit) return true;
    for (const child of Object.values(item)) pending.push([child, level + 1]);
  }
  return false;
}

/**
 * Turn any value into a JSON-compatible one: BigInt → decimal string, Map → `[key, value]` pairs, Set →
 * array, typed arrays → number arrays, Date → ISO string (invalid → null), Error → `{ name, message }`,
 * cycles → `"[Circular]"`, functions and symbols dropped, a throwing getter or `toJSON` → dropped.
 */
export function toJsonValue(value: unknown, depth = 0, seen: unknown[] = []): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) return "[Too deep]";
  if (seen.includes(value)) return "[Circular]";
  seen.push(value);
  try {
    return objectToJson(value as object, depth + 1, seen);
  } catch {
    return undefined;
  } finally {
    seen.pop();
  }
}

function objectToJson(value: object, depth: number, seen: unknown[]): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Error) return { name: String(value.name), message: String(value.message) };
  if (value instanceof Map) {
    return [...value].map((
      [k, v],
    ) => [toJsonValue(k, depth, seen) ?? null, toJsonValue(v, depth, seen) ?? null]);
  }
  if (value instanceof Set) return [...value].map((v) => toJsonValue(v, depth, seen) ?? null);
  if (ArrayBuffer.isView(value)) {
    return value instanceof DataView
      ? []
      : Array.from(value as Uint8Array, (n) => toJsonValue(n, depth, seen));
  }
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, depth, seen) ?? null);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return toJsonValue(toJSON.call(value), depth, seen);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    let item: unknown;
    try {
      item = toJsonValue((value as Record<string, unknown>)[key], depth, seen);
    } catch {
      continue;
    }
    // defineProperty: a key named "__proto__" stays an own data property.
    if (item !== undefined) {
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true });
    }
  }
  return out;
}

/** `JSON.stringify` that never throws. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(toJsonValue(value)) ?? "null";
  } catch {
    return "null";
  }
}

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

const DOMAIN_ERRORS = [
  CheckpointConflictError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  RequestNotPendingError,
  WorkflowAlreadyRunningError,
  WorkflowConvergenceError,
];

/** An event with its errors made public, ready for `stringifyJson`. */
export function publicEvent(event: WorkflowEvent): WorkflowEvent {
  // Every event that carries an error (failed, executor-failed, executor-retried, and any added later).
  if ("error" in event) return { ...event, error: publicError(event.error) } as WorkflowEvent;
  return event;
}

/** An RFC 9457 problem document, as the Hono adapter sends it. */
export interface ProblemDocument {
  /** A URI naming the kind of problem: `urn:superstep:problem:<slug>`. */
  type: string;
  /** A short summary of the kind of problem. */
  title: string;
  /** The HTTP status code. */
  status: number;
  /** What went wrong in this occurrence. */
  detail: string;
  /** Extension members (e.g. `checkpointId`). */
  [extension: string]: unknown;
}

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

/** Map any error to the problem document a client may see. */
export function problemFor(error: unknown): ProblemDocument {
  if (error instanceof ProblemError) return error.problem;
  if (error instanceof CheckpointNotFoundError) {
    return problem(404, "checkpoint-not-found", "Checkpoint not found", error.message);
  }
  if (error instanceof CheckpointMismatchError) {
    return problem(422, "checkpoint-mismatch", "Checkpoint does not fit the workflow", error.message);
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
  return problem(500, "internal-error", "Internal server error", "The server could not complete the request");
}
