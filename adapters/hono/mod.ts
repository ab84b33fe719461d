/**
 * Serve workflows over HTTP with Hono: JSON or Server-Sent Events, RFC 9457 problem documents, per-request
 * workflow instances and an authorization hook. The app runs unchanged on `Deno.serve`, Bun,
 * Node (`@hono/node-server`) and Cloudflare Workers.
 *
 * Routes: `GET /workflows`, `POST /workflows/:name/runs`, `POST /checkpoints/:id/resume`,
 * `GET /sessions/:id/checkpoints`, `GET /checkpoints/:id`, `GET /checkpoints/:id/lineage`,
 * `DELETE /sessions/:id`; operating: `GET /sessions` (the session index), `GET /requests` (the inbox of
 * waiting requests), `POST /requests/:id` (answer one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.equal((await res.json()).outputs[0], "hi");
 * ```
 *
 * @experimental
 * @module
 */
import { type Context, type Env, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { BlankEnv } from "hono/types";
import type { Checkpoint, CheckpointStorage, CheckpointSummary } from "../../src/checkpoint.ts";
import { lineage } from "../../src/ancestry.ts";
import { CheckpointCorruptError } from "../../src/errors.ts";
import type { Workflow } from "../../src/workflow.ts";
import {
  checkpointCorrupt,
  problem,
  ProblemError,
  problemFor,
  sessionNotFound,
  workflowNotServed,
} from "./_problem.ts";
import { runInput } from "./_input.ts";
import { graphBody } from "./_graph_body.ts";
import { answerOtherMethods } from "./_methods.ts";
import { operateRoutes, type Visible } from "./_operate.ts";
import { pruneRoutes } from "./_prune.ts";
import { idParam, limitBodies, pageSize, readBody, readResumeBody, wellFormedUrl } from "./_request.ts";
import { jsonResponse, problemResponse, respondWithRun } from "./_respond.ts";
import type {
  AuthorizeRequest,
  WorkflowApp,
  WorkflowAppOptions,
  WorkflowFactories,
  WorkflowInfo,
} from "./types.ts";

export type {
  AnswerRequestBody,
  AuthorizeFilter,
  AuthorizeRequest,
  CheckpointPage,
  DeleteSessionBody,
  LineageBody,
  ProblemDocument,
  ProblemStatus,
  PruneRequestBody,
  PruneResponseBody,
  RequestPage,
  ResumeRequestBody,
  RouteSchema,
  RunRequestBody,
  RunResponseBody,
  SessionPage,
  WorkflowAction,
  WorkflowApp,
  WorkflowAppOptions,
  WorkflowAppSchema,
  WorkflowFactories,
  WorkflowInfo,
  WorkflowInputOf,
  WorkflowOutputOf,
} from "./types.ts";
export type { JsonElementForm, JsonForm } from "./json_form.ts";
export type { GraphBody, GraphEdgeBody, GraphNodeBody } from "./graph_body.ts";

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const DEFAULT_RESPONSE_LIMIT = 16 * 1024 * 1024;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/**
 * Create a Hono app serving `workflows`: mount it with `app.route("/api", workflowApp)` or serve it as is.
 *
 * Requests are checked before `authorize` or the storage is reached. A POST body must be
 * `content-type: application/json` (a `charset` other than `utf-8` is refused too, and so is an empty
 * body's type: a cross-site form or fetch cannot send this type without a CORS preflight), else 415
 * `unsupported-media-type`; its bytes must be UTF-8 (a fatal decoder: no silent U+FFFD), it must parse as a
 * JSON object of at most `bodyLimit` bytes (413) nested at most 200 levels deep (deeper input could not be
 * checkpointed), else 400. Ids — path params, `?before`, a body's `sessionId`, the keys of `responses`, the
 * workflow name — must be non-empty, at most 256 characters, without control characters, and well-formed
 * Unicode (no lone surrogate), and the URL's percent-encoding must decode as UTF-8, else 400 `bad-request`.
 * A known path asked with another method is a 405 `method-not-allowed` with an `Allow` header.
 *
 * A run body needs `input` unless the workflow takes none (its start executor declares `accepts` or an
 * `input` schema, and that admits `undefined`), else 400; an input the start executor refuses is a 422
 * `input-refused` (the run's `WorkflowInputError`), answered before the run starts, JSON or SSE. Pages of
 * `GET /sessions/:id/checkpoints` carry a `next` cursor only when another page follows; a lineage that
 * ends at a deleted parent says so (`truncated` and `parentDeleted`).
 *
 * Runs answer JSON, or Server-Sent Events when the request has `Accept: text/event-stream`: one SSE event
 * per workflow event (`event:` its type, `id:` a sequence number from 1, `data:` its JSON), then `result`
 * (the JSON answer) or `problem` (a problem document). A client that disconnects cancels the run: it ends
 * `cancelled` and its last checkpoint stays resumable. Errors are `application/problem+json`; the problem
 * of a run that started (`executor-failed`, `workflow-did-not-converge` …) carries its `sessionId` and last
 * `checkpointId`, JSON or SSE. In JSON answers an object met again (shared, or a cycle) is written once and
 * then as `{ "$ref": "#/json/pointer" }` to where it was first written, so an answer grows with its value,
 * not with the number of paths through it; an answer (or SSE event) over `responseLimit` bytes is a 500
 * `response-too-large` instead.
 *
 * `GET /sessions?status=&workflow=&limit=&before=` lists sessions newest head first with the status their
 * head says (`SessionPage`), `GET /requests?workflow=&session=&limit=&before=` the requests waiting for an
 * answer (`RequestPage`); both show only sessions the caller may read (see `authorize`). `POST /requests/:id`
 * answers a request by id (`AnswerRequestBody`: `{ response, sessionId? }`) with `answerRequest`, JSON or
 * SSE like a resume; a request no longer pending is a 409 `request-not-pending`. They need a storage with
 * the session index (every adapter of this package has it), else 501 `storage-capability-missing`.
 *
 * `POST /checkpoints/:id/resume` asks `authorize` for `"resume"` (continue the checkpoint's session) or
 * `"fork"` (`fork: true`, or a body `sessionId` other than the checkpoint's: write a new session, or the one
 * named), with the session written as `targetSessionId`. A damaged checkpoint is authorized on the session
 * and workflow its summary names, then answered 500 `checkpoint-corrupt` (allowed) or 403 (denied); one
 * whose session cannot be read either is authorized and answered as a checkpoint that does not exist.
 *
 * @param options Workflows, storage, authorization, body and response limits.
 * @returns The app.
 * @throws {TypeError} If a workflow factory's workflow is not named like its key.
 * @throws {RangeError} If `bodyLimit` or `responseLimit` is not a non-negative integer.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.equal((await app.request("/workflows")).status, 403);
 * const form = await app.request("/workflows/echo/runs", {
 *   method: "POST",
 *   headers: { authorization: "Bearer alice" },
 *   body: "input=hi", // text/plain: what a cross-site form could send
 * });
 * assert.equal(form.status, 415);
 * ```
 */
export function createWorkflowApp<E extends Env = BlankEnv, W extends WorkflowFactories = WorkflowFactories>(
  options: WorkflowAppOptions<E, W>,
): WorkflowApp<E, W> {
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
    infos.push({ name, mermaid: workflow.toMermaid(), graph: graphBody(workflow) });
  }
  const limit = byteLimit(options.bodyLimit ?? DEFAULT_BODY_LIMIT, "bodyLimit");
  const responseLimit = byteLimit(options.responseLimit ?? DEFAULT_RESPONSE_LIMIT, "responseLimit");
  const ask = async (c: Context<E>, request: AuthorizeRequest) => {
    if (options.authorize === undefined) return true;
    // What is not known is left out, not set to `undefined`.
    const asked = Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined));
    return await options.authorize(c, asked as unknown as AuthorizeRequest);
  };
  const forbidden = () => new ProblemError(403, "forbidden", "Forbidden", "You may not do this");
  const authorize = async (c: Context<E>, request: AuthorizeRequest): Promise<void> => {
    if ((await ask(c, request)) !== true) throw forbidden();
  };
  /** A listing: asked once (403 if denied), then per session, or through the filter `authorize` returned. */
  const listing = async (c: Context<E>, request: AuthorizeRequest): Promise<Visible> => {
    const answer = await ask(c, request);
    if (options.authorize === undefined) return () => Promise.resolve(true);
    if (typeof answer === "function") return async (session) => (await answer(session)) === true;
    if (answer !== true) throw forbidden();
    return async ({ sessionId, workflow }) => (await ask(c, { ...request, sessionId, workflow })) === true;
  };
  const storageOf = (c: Context<E>): Promise<CheckpointStorage> =>
    Promise.resolve(typeof options.storage === "function" ? options.storage(c) : options.storage);
  const json = (c: Context<E>, body: unknown, facts?: Record<string, unknown>) =>
    jsonResponse(c, body, responseLimit, facts);

  /**
   * Load a checkpoint, then authorize on what is known of it (`ask` builds the request from its session and
   * workflow), and only then answer. A missing checkpoint is authorized without a session, then 404; a
   * damaged one on the session its summary names, then 500 `checkpoint-corrupt`, or, when even that is
   * unreadable, exactly as a missing one: nobody can be shown to be allowed to learn of it.
   */
  const authorizedCheckpoint = async (
    c: Context<E>,
    id: string,
    ask: (known: { sessionId?: string; workflow?: string }) => AuthorizeRequest,
  ) => {
    const storage = await storageOf(c);
    let checkpoint: Checkpoint | undefined;
    let damaged = false;
    let known: { sessionId?: string; workflow?: string } = {};
    try {
      checkpoint = await storage.load(id);
      if (checkpoint !== undefined) {
        known = { sessionId: checkpoint.sessionId, workflow: checkpoint.workflowName };
      }
    } catch (error) {
      if (!(error instanceof CheckpointCorruptError)) throw error;
      if (error.sessionId !== undefined) {
        damaged = true;
        known = { sessionId: error.sessionId, workflow: error.workflowName };
      }
    }
    await authorize(c, ask(known));
    if (damaged) throw checkpointCorrupt(id);
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
  const checkpointIdParam = (c: Context<E>) => idParam(c.req.param("id"), "checkpoint id");

  const app = new Hono<E>();
  app.onError((error, c) => {
    const response = problemResponse(c, problemFor(error));
    // Keep an HTTPException's own headers (a 401's `WWW-Authenticate`); the body stays a problem document.
    if (error instanceof HTTPException) {
      error.res?.headers.forEach((value, name) => {
        if (!/^content-(type|length)$/i.test(name)) response.headers.set(name, value);
      });
    }
    return response;
  });
  app.notFound((c) => problemResponse(c, problem(404, "not-found", "Not found", "No such route")));
  // The body limit first: a body over it is a 413 whatever else is wrong with the request.
  app.use("*", limitBodies(limit));
  app.use("*", wellFormedUrl());

  app.get("/workflows", async (c) => {
    await authorize(c, { action: "list-workflows" });
    return json(c, { workflows: infos });
  });

  app.post("/workflows/:name/runs", async (c) => {
    const name = idParam(c.req.param("name"), "workflow name");
    const body = await readBody(c, false);
    const sessionId = body.sessionId === undefined ? undefined : idParam(body.sessionId, "sessionId");
    await authorize(c, { action: "run", workflow: name, sessionId });
    const factory = factories.get(name);
    if (factory === undefined) {
      throw new ProblemError(404, "workflow-not-found", "Workflow not found", `No workflow named "${name}"`);
    }
    const workflow = factory();
    const input = await runInput(workflow, body);
    const storage = await storageOf(c);
    return respondWithRun(c, (signal) => workflow.run(input, { storage, sessionId, signal }), responseLimit);
  });

  app.post("/checkpoints/:id/resume", async (c) => {
    const id = checkpointIdParam(c);
    const { responses, fork, target } = await readResumeBody(c);
    const { storage, checkpoint } = await authorizedCheckpoint(c, id, ({ sessionId, workflow }) => {
      // As Workflow.resume decides: another session than the checkpoint's is a fork into it.
      return fork || (target !== undefined && target !== sessionId)
        ? { action: "fork", checkpointId: id, sessionId, workflow, targetSessionId: target }
        : { action: "resume", checkpointId: id, sessionId, workflow, targetSessionId: sessionId };
    });
    const factory = factories.get(checkpoint.workflowName);
    if (factory === undefined) throw workflowNotServed(checkpoint.id, checkpoint.workflowName);
    return respondWithRun(
      c,
      (signal) => factory().resume(checkpoint.id, { storage, responses, fork, sessionId: target, signal }),
      responseLimit,
    );
  });

  app.get("/sessions/:id/checkpoints", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    const size = pageSize(c.req.query("limit"), DEFAULT_PAGE, MAX_PAGE);
    const before = c.req.query("before");
    if (before !== undefined) idParam(before, "before");
    await authorize(c, { action: "list-checkpoints", sessionId });
    const storage = await storageOf(c);
    if ((await storage.head(sessionId)) === undefined) throw sessionNotFound(sessionId);
    // One more than the page: a `next` cursor is only handed out when a page follows (never an empty one).
    const checkpoints = await storage.list({ sessionId, limit: size + 1, before });
    const next = checkpoints.length > size ? checkpoints[size - 1].id : null;
    return json(c, { checkpoints: checkpoints.slice(0, size), next });
  });

  app.get("/checkpoints/:id", async (c) => {
    const id = checkpointIdParam(c);
    const { checkpoint } = await authorizedCheckpoint(c, id, (known) => ({
      action: "read-checkpoint",
      checkpointId: id,
      ...known,
    }));
    return json(c, checkpoint, { checkpointId: id });
  });

  app.get("/checkpoints/:id/lineage", async (c) => {
    const id = checkpointIdParam(c);
    const { storage, checkpoint } = await authorizedCheckpoint(c, id, (known) => ({
      action: "read-lineage",
      checkpointId: id,
      ...known,
    }));
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
    // The walk ends at a root, or at a parent that was deleted: then the lineage says so.
    const parentDeleted = out.length === all.length && all[all.length - 1].parentId !== null;
    return json(c, { lineage: out, truncated: out.length < all.length || parentDeleted, parentDeleted });
  });

  app.delete("/sessions/:id", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    await authorize(c, { action: "delete-session", sessionId });
    const storage = await storageOf(c);
    const deleted = await storage.deleteSession(sessionId);
    if (deleted === 0) throw sessionNotFound(sessionId);
    return json(c, { sessionId, deleted });
  });

  operateRoutes(app, {
    factories,
    storageOf,
    authorize,
    listing,
    json: (c, body) => json(c, body),
    responseLimit,
    defaultPage: DEFAULT_PAGE,
    maxPage: MAX_PAGE,
  });
  pruneRoutes(app, { storageOf, authorize, json: (c, body) => json(c, body) });
  answerOtherMethods(app);

  // The schema type is declared by hand (WorkflowAppSchema): JSR forbids inferred ("slow") public types.
  return app as unknown as WorkflowApp<E, W>;
}

function byteLimit(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${what}: ${value} (a non-negative integer of bytes)`);
  }
  return value;
}
