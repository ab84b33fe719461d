/**
 * Serve workflows over HTTP with Hono: JSON or Server-Sent Events, RFC 9457 problem documents, per-request
 * workflow instances and an authorization hook. The app runs unchanged on `Deno.serve`, Bun,
 * Node (`@hono/node-server`) and Cloudflare Workers.
 *
 * Routes: `GET /workflows`, `POST /workflows/:name/runs`, `POST /checkpoints/:id/resume`,
 * `GET /sessions/:id/checkpoints`, `GET /checkpoints/:id`, `GET /checkpoints/:id/lineage`,
 * `DELETE /sessions/:id`.
 *
 * @example
 * ```ts
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { createWorkflowApp } from "@superstep/superstep/hono";
 *
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const app = createWorkflowApp({
 *   workflows: { echo: () => new WorkflowBuilder({ name: "echo", start: echo }).build() },
 *   storage: new MemoryCheckpointStorage(),
 * });
 * const res = await app.request("/workflows/echo/runs", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ input: "hi" }),
 * });
 * console.assert((await res.json()).outputs[0] === "hi");
 * ```
 *
 * @experimental
 * @module
 */
import { type Context, type Env, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { streamSSE } from "hono/streaming";
import type { BlankEnv } from "hono/types";
import type { Checkpoint, CheckpointStorage, CheckpointSummary } from "../src/checkpoint.ts";
import type { PendingRequest, RunStatus, WorkflowResult } from "../src/events.ts";
import { lineage } from "../src/ancestry.ts";
import type { Workflow } from "../src/workflow.ts";
import type { WorkflowRun } from "../src/workflow_run.ts";
import {
  MAX_DEPTH,
  nestedDeeperThan,
  problem,
  type ProblemDocument,
  ProblemError,
  problemFor,
  publicEvent,
  stringifyJson,
} from "./_hono_json.ts";

export type { ProblemDocument } from "./_hono_json.ts";

/** What a request asks to do; passed to `authorize`. */
export type WorkflowAction =
  | "list-workflows"
  | "run"
  | "resume"
  | "list-checkpoints"
  | "read-checkpoint"
  | "read-lineage"
  | "delete-session";

/** What `authorize` is asked about. For checkpoint routes, `sessionId` is the checkpoint's session. */
export interface AuthorizeRequest {
  /** The action. */
  action: WorkflowAction;
  /** The workflow concerned, when known (the route's, or the checkpoint's). */
  workflow?: string;
  /** The session concerned: named by the request, or the checkpoint's (absent if the checkpoint does not exist). */
  sessionId?: string;
  /** The checkpoint concerned, for checkpoint routes. */
  checkpointId?: string;
}

/** The options of {@linkcode createWorkflowApp}. */
export interface WorkflowAppOptions<E extends Env = BlankEnv> {
  /**
   * The workflows served, by name. Each value is a factory called once per request, so concurrent
   * requests never share executor instances. A key must equal its workflow's `name`.
   */
  workflows: Record<string, () => Workflow>;
  /** Where checkpoints live: an adapter, or a function of the request (Workers bindings exist per request). */
  storage: CheckpointStorage | ((c: Context<E>) => CheckpointStorage | Promise<CheckpointStorage>);
  /**
   * Called on every route before any work; return `false` to answer 403. A denial reveals nothing: a
   * nonexistent checkpoint is asked about without a `sessionId` and, when denied, looks exactly like a
   * foreign one. It may throw an `HTTPException` (e.g. 401) to answer with that status instead (a problem
   * document `urn:superstep:problem:http-<status>`, with the headers of the exception's `res`).
   *
   * @default {allow everything}
   */
  authorize?: (c: Context<E>, request: AuthorizeRequest) => boolean | Promise<boolean>;
  /**
   * The largest request body accepted, in bytes; larger ones are answered 413.
   *
   * @default {1048576}
   */
  bodyLimit?: number;
}

/** One served workflow, as `GET /workflows` lists it. */
export interface WorkflowInfo {
  /** Its name (the route segment). */
  name: string;
  /** Its graph as a Mermaid flowchart. */
  mermaid: string;
}

/** The JSON body of `POST /workflows/:name/runs`. */
export interface RunRequestBody {
  /** The start executor's message. */
  input?: unknown;
  /** Append to this session (it must be authorized) instead of starting a new one. */
  sessionId?: string;
}

/** The JSON body of `POST /checkpoints/:id/resume`. */
export interface ResumeRequestBody {
  /** Answers to pending requests, by request id. */
  responses?: Record<string, unknown>;
  /** Branch into a new session from a checkpoint that is not its session's head. */
  fork?: boolean;
}

/** The JSON answer of a run or resume (without `Accept: text/event-stream`). */
export interface RunResponseBody {
  /** The terminal status. */
  status: RunStatus;
  /** The outputs, JSON-encoded safely (BigInt as string, Map as pairs …). */
  outputs: unknown[];
  /** Requests still unanswered. */
  pendingRequests: PendingRequest[];
  /** The checkpoint to resume from, or `null` when none was written. */
  checkpointId: string | null;
  /** The session of the run. */
  sessionId: string;
}

/** The answer of `GET /sessions/:id/checkpoints`. */
export interface CheckpointPage {
  /** Summaries, newest first. */
  checkpoints: CheckpointSummary[];
  /** The `before` cursor of the next page, or `null` on the last page. */
  next: string | null;
}

/** The answer of `GET /checkpoints/:id/lineage`. */
export interface LineageBody {
  /** Summaries from the checkpoint back to its root (or to the first ancestor the caller may not read). */
  lineage: CheckpointSummary[];
  /** Whether ancestors were left out because the caller may not read their session. */
  truncated: boolean;
}

/** The answer of `DELETE /sessions/:id`. */
export interface DeleteSessionBody {
  /** The session. */
  sessionId: string;
  /** How many checkpoints were deleted. */
  deleted: number;
}

/** The statuses of the problem documents the routes answer with. */
export type ProblemStatus = 400 | 403 | 404 | 409 | 413 | 422 | 500;

/** One route in Hono's schema form: input `I`, a 200 JSON answer `O`, or a problem document. */
export type RouteSchema<I, O> =
  | { input: I; output: O; outputFormat: "json"; status: 200 }
  | { input: I; output: ProblemDocument; outputFormat: "json"; status: ProblemStatus };

/** The routes of a workflow app, in Hono's schema form: what Hono's `hc` client is typed from. */
export type WorkflowAppSchema = {
  "/workflows": { $get: RouteSchema<Record<never, never>, { workflows: WorkflowInfo[] }> };
  "/workflows/:name/runs": {
    $post: RouteSchema<{ param: { name: string }; json: RunRequestBody }, RunResponseBody>;
  };
  "/checkpoints/:id/resume": {
    $post: RouteSchema<{ param: { id: string } } & { json: ResumeRequestBody }, RunResponseBody>;
  };
  "/sessions/:id/checkpoints": {
    $get: RouteSchema<
      { param: { id: string } } & { query: { limit?: string; before?: string } },
      CheckpointPage
    >;
  };
  "/checkpoints/:id": { $get: RouteSchema<{ param: { id: string } }, Checkpoint> };
  "/checkpoints/:id/lineage": { $get: RouteSchema<{ param: { id: string } }, LineageBody> };
  "/sessions/:id": { $delete: RouteSchema<{ param: { id: string } }, DeleteSessionBody> };
};

/** The Hono app {@linkcode createWorkflowApp} returns; `hc<WorkflowApp>(url)` is a typed client for it. */
export type WorkflowApp<E extends Env = BlankEnv> = Hono<E, WorkflowAppSchema, "/">;

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
const MAX_ID_LENGTH = 256;

/**
 * Create a Hono app serving `workflows`: mount it with `app.route("/api", workflowApp)` or serve it as is.
 *
 * Request bodies are JSON objects of at most `bodyLimit` bytes, nested at most 200 levels deep (deeper input
 * could not be checkpointed); others are answered 413 or 400.
 *
 * Runs answer JSON, or Server-Sent Events when the request has `Accept: text/event-stream`: one SSE event
 * per workflow event (`event:` its type, `id:` a sequence number from 1, `data:` its JSON), then `result`
 * (the JSON answer) or `problem` (a problem document). A client that disconnects cancels the run: it ends
 * `cancelled` and its last checkpoint stays resumable. Errors are `application/problem+json`.
 *
 * @param options Workflows, storage, authorization and body limit.
 * @returns The app.
 * @throws {TypeError} If a workflow factory's workflow is not named like its key.
 * @example
 * ```ts
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { createWorkflowApp } from "@superstep/superstep/hono";
 *
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const owners = new Map<string, string>(); // sessionId → token; fill it when you create sessions
 * const app = createWorkflowApp({
 *   workflows: { echo: () => new WorkflowBuilder({ name: "echo", start: echo }).build() },
 *   storage: new MemoryCheckpointStorage(),
 *   authorize: (c, { sessionId }) => {
 *     const token = c.req.header("authorization")?.replace(/^Bearer /, "");
 *     return token !== undefined && (sessionId === undefined || owners.get(sessionId) === token);
 *   },
 * });
 * const res = await app.request("/workflows");
 * console.assert(res.status === 403);
 * ```
 */
export function createWorkflowApp<E extends Env = BlankEnv>(options: WorkflowAppOptions<E>): WorkflowApp<E> {
  const factories = new Map<string, () => Workflow>();
  const infos: WorkflowInfo[] = [];
  for (const [name, factory] of Object.entries(options.workflows)) {
    const workflow = factory();
    if (workflow.name !== name) {
      throw new TypeError(
        `Invalid workflows: the factory under "${name}" builds the workflow "${workflow.name}" (names must match)`,
      );
    }
    factories.set(name, factory);
    infos.push({ name, mermaid: workflow.toMermaid() });
  }
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`Invalid bodyLimit: ${limit} (a non-negative integer of bytes)`);
  }
  const authorize = async (c: Context<E>, request: AuthorizeRequest): Promise<void> => {
    if (options.authorize === undefined) return;
    if ((await options.authorize(c, request)) !== true) {
      throw new ProblemError(403, "forbidden", "Forbidden", "You may not do this");
    }
  };
  const storageOf = (c: Context<E>): Promise<CheckpointStorage> =>
    Promise.resolve(typeof options.storage === "function" ? options.storage(c) : options.storage);

  /** Load a checkpoint and authorize on its session; a missing one is authorized without a session. */
  const authorizedCheckpoint = async (c: Context<E>, action: WorkflowAction) => {
    const id = idParam(c.req.param("id"), "checkpoint id");
    const storage = await storageOf(c);
    const checkpoint = await storage.load(id);
    await authorize(c, {
      action,
      checkpointId: id,
      sessionId: checkpoint?.sessionId,
      workflow: checkpoint?.workflowName,
    });
    if (checkpoint === undefined) {
      throw new ProblemError(
        404,
        "checkpoint-not-found",
        "Checkpoint not found",
        `Checkpoint not found: ${id}`,
      );
    }
    return { storage, checkpoint };
  };

  const app = new Hono<E>();
  app.onError((error, c) => {
    if (error instanceof HTTPException && !(error instanceof ProblemError)) {
      const status = error.status;
      const response = problemResponse(
        c,
        problem(status, `http-${status}`, error.message || "HTTP error", error.message),
      );
      // Keep the exception's own headers (a 401's `WWW-Authenticate`); the body stays a problem document.
      error.res?.headers.forEach((value, name) => {
        if (!/^content-(type|length)$/i.test(name)) response.headers.set(name, value);
      });
      return response;
    }
    return problemResponse(c, problemFor(error));
  });
  app.notFound((c) => problemResponse(c, problem(404, "not-found", "Not found", "No such route")));
  app.use("*", async (c, next) => {
    const request = c.req.raw;
    if (request.body === null) return await next();
    const declared = request.headers.get("content-length");
    if (declared === null || request.headers.has("transfer-encoding")) {
      // Chunked: the size is known only once read. Kept for the route, the request left as it is (Hono's
      // bodyLimit re-creates it, which @hono/node-server's own Request class does not survive).
      bodies.set(request, await readLimited(request.body, limit));
    } else if (Number.parseInt(declared, 10) > limit) {
      throw tooLarge(limit);
    }
    return await next();
  });

  app.get("/workflows", async (c) => {
    await authorize(c, { action: "list-workflows" });
    return jsonResponse(c, { workflows: infos });
  });

  app.post("/workflows/:name/runs", async (c) => {
    const name = c.req.param("name");
    const body = await readBody(c, false);
    const sessionId = body.sessionId === undefined ? undefined : idParam(body.sessionId, "sessionId");
    await authorize(c, { action: "run", workflow: name, sessionId });
    const factory = factories.get(name);
    if (factory === undefined) {
      throw new ProblemError(404, "workflow-not-found", "Workflow not found", `No workflow named "${name}"`);
    }
    const storage = await storageOf(c);
    return respond(c, (signal) => factory().run(body.input, { storage, sessionId, signal }));
  });

  app.post("/checkpoints/:id/resume", async (c) => {
    const body = await readBody(c, true);
    const responses = body.responses;
    if (
      responses !== undefined &&
      (responses === null || typeof responses !== "object" || Array.isArray(responses))
    ) {
      throw badRequest("responses must be an object mapping request ids to answers");
    }
    if (body.fork !== undefined && typeof body.fork !== "boolean") throw badRequest("fork must be a boolean");
    const { storage, checkpoint } = await authorizedCheckpoint(c, "resume");
    const factory = factories.get(checkpoint.workflowName);
    if (factory === undefined) {
      throw new ProblemError(
        422,
        "checkpoint-mismatch",
        "Checkpoint does not fit the workflow",
        `Checkpoint ${checkpoint.id} belongs to the workflow "${checkpoint.workflowName}", which is not served here`,
      );
    }
    return respond(c, (signal) =>
      factory().resume(checkpoint.id, {
        storage,
        responses: responses as Record<string, unknown> | undefined,
        fork: body.fork === true,
        signal,
      }));
  });

  app.get("/sessions/:id/checkpoints", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    const limitText = c.req.query("limit");
    const before = c.req.query("before");
    const pageSize = limitText === undefined ? DEFAULT_PAGE : Number(limitText);
    if (
      !/^\d+$/.test(limitText ?? "1") || !Number.isSafeInteger(pageSize) || pageSize < 1 ||
      pageSize > MAX_PAGE
    ) {
      throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE}, got ${JSON.stringify(limitText)}`);
    }
    if (before !== undefined) idParam(before, "before");
    await authorize(c, { action: "list-checkpoints", sessionId });
    const storage = await storageOf(c);
    if ((await storage.head(sessionId)) === undefined) throw sessionNotFound(sessionId);
    const checkpoints = await storage.list({ sessionId, limit: pageSize, before });
    const next = checkpoints.length === pageSize ? checkpoints[checkpoints.length - 1].id : null;
    return jsonResponse(c, { checkpoints, next });
  });

  app.get("/checkpoints/:id", async (c) => {
    const { checkpoint } = await authorizedCheckpoint(c, "read-checkpoint");
    return jsonResponse(c, checkpoint);
  });

  app.get("/checkpoints/:id/lineage", async (c) => {
    const { storage, checkpoint } = await authorizedCheckpoint(c, "read-lineage");
    const all = await lineage(storage, checkpoint.id);
    // Ancestors may sit in other sessions (forks): show only those the caller may read as well.
    const allowed = new Map<string, boolean>([[checkpoint.sessionId, true]]);
    const out: CheckpointSummary[] = [];
    for (const summary of all) {
      let ok = allowed.get(summary.sessionId);
      if (ok === undefined) {
        ok = await authorize(c, {
          action: "read-lineage",
          checkpointId: summary.id,
          sessionId: summary.sessionId,
          workflow: summary.workflowName,
        }).then(() => true, (error) => {
          if (error instanceof ProblemError) return false;
          throw error;
        });
        allowed.set(summary.sessionId, ok);
      }
      if (!ok) break;
      out.push(summary);
    }
    return jsonResponse(c, { lineage: out, truncated: out.length < all.length });
  });

  app.delete("/sessions/:id", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    await authorize(c, { action: "delete-session", sessionId });
    const storage = await storageOf(c);
    const deleted = await storage.deleteSession(sessionId);
    if (deleted === 0) throw sessionNotFound(sessionId);
    return jsonResponse(c, { sessionId, deleted });
  });

  // The schema type is declared by hand (WorkflowAppSchema): JSR forbids inferred ("slow") public types.
  return app as unknown as WorkflowApp<E>;
}

function badRequest(detail: string): ProblemError {
  return new ProblemError(400, "bad-request", "Bad request", detail);
}

function sessionNotFound(sessionId: string): ProblemError {
  return new ProblemError(404, "session-not-found", "Session not found", `Session not found: ${sessionId}`);
}

/** A checkpoint or session id from a path, query or body: a non-empty string without control characters. */
function idParam(value: unknown, what: string): string {
  if (
    typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH || hasControl(value)
  ) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw badRequest(`Invalid ${what}: ${shown} (a non-empty string of at most ${MAX_ID_LENGTH} characters)`);
  }
  return value;
}

function tooLarge(limit: number): ProblemError {
  return new ProblemError(413, "body-too-large", "Body too large", `The body exceeds ${limit} bytes`);
}

/** A body that breaks off while it is read (the client went away mid-upload) is no server error. */
function unreadableBody(): ProblemError {
  return badRequest("Cannot read the body: the request ended before it was complete");
}

/** The chunked request bodies the body limit has read, for the routes. */
const bodies = new WeakMap<Request, Uint8Array>();

/** Read a body of at most `limit` bytes; stop reading as soon as it is over. */
async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw unreadableBody();
    });
    if (done) break;
    size += value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The JSON object body; an empty body is `{}` when `optional`. */
async function readBody(c: Context, optional: boolean): Promise<Record<string, unknown>> {
  const read = bodies.get(c.req.raw);
  const text = read !== undefined ? new TextDecoder().decode(read) : await c.req.text().catch(() => {
    throw unreadableBody();
  });
  if (text.trim() === "") {
    if (optional) return {};
    throw badRequest("The body must be a JSON object");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest("The body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("The body must be a JSON object");
  }
  // Refused before anything runs: the run would fail when its input is checkpointed (a 500, not the client's).
  if (nestedDeeperThan(body, MAX_DEPTH)) {
    throw badRequest(`The body is nested too deeply: more than ${MAX_DEPTH} levels of arrays and objects`);
  }
  return body as Record<string, unknown>;
}

function jsonResponse(c: Context, body: unknown, status = 200): Response {
  return c.body(stringifyJson(body), status as 200, { "content-type": "application/json; charset=utf-8" });
}

function problemResponse(c: Context, doc: ProblemDocument): Response {
  return c.body(stringifyJson(doc), doc.status as 500, {
    "content-type": "application/problem+json; charset=utf-8",
  });
}

function resultBody(result: WorkflowResult): RunResponseBody {
  return {
    status: result.status,
    outputs: result.outputs,
    pendingRequests: result.pendingRequests,
    checkpointId: result.checkpointId ?? null,
    sessionId: result.sessionId,
  };
}

function wantsEventStream(c: Context): boolean {
  return (c.req.header("accept") ?? "").toLowerCase().includes("text/event-stream");
}

/** Run `start` and answer JSON, or SSE. Errors before the first event become a problem response. */
async function respond(c: Context, start: (signal: AbortSignal) => WorkflowRun): Promise<Response> {
  const controller = new AbortController();
  const run = start(controller.signal);
  if (!wantsEventStream(c)) {
    try {
      return jsonResponse(c, resultBody(await run));
    } catch (error) {
      return problemResponse(c, problemFor(error));
    }
  }
  const events = run[Symbol.asyncIterator]();
  let first: IteratorResult<unknown>;
  try {
    first = await events.next();
  } catch (error) {
    return problemResponse(c, problemFor(error));
  }
  // A run that could not even start (unknown checkpoint, conflict, mismatch …) fails before `started`:
  // that is an HTTP error, not a stream.
  if (!first.done && (first.value as { type: string }).type === "failed") {
    const error = await run.then(() => undefined, (error: unknown) => error);
    await events.return?.();
    return problemResponse(c, problemFor(error));
  }
  const cancel = () => controller.abort(new DOMException("The client disconnected", "AbortError"));
  return streamSSE(c, async (stream) => {
    stream.onAbort(cancel);
    let sequence = 0;
    const write = (event: string, data: unknown) =>
      stream.writeSSE({ event, id: String(++sequence), data: stringifyJson(data) });
    try {
      for (let next = first; !next.done; next = await events.next()) {
        const event = publicEvent(next.value as Parameters<typeof publicEvent>[0]);
        await write(event.type, event);
      }
      await write("result", resultBody(await run));
    } catch (error) {
      await write("problem", problemFor(error));
    }
  });
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
