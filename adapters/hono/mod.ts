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
import type { CheckpointStorage, CheckpointSummary } from "../../src/checkpoint.ts";
import { lineage } from "../../src/ancestry.ts";
import type { Workflow } from "../../src/workflow.ts";
import { badRequest, problem, ProblemError, problemFor } from "./_problem.ts";
import { idParam, limitBodies, pageSize, readBody } from "./_request.ts";
import { jsonResponse, problemResponse, respondWithRun } from "./_respond.ts";
import type {
  AuthorizeRequest,
  WorkflowAction,
  WorkflowApp,
  WorkflowAppOptions,
  WorkflowInfo,
} from "./types.ts";

export type {
  AuthorizeRequest,
  CheckpointPage,
  DeleteSessionBody,
  LineageBody,
  ProblemDocument,
  ProblemStatus,
  ResumeRequestBody,
  RouteSchema,
  RunRequestBody,
  RunResponseBody,
  WorkflowAction,
  WorkflowApp,
  WorkflowAppOptions,
  WorkflowAppSchema,
  WorkflowInfo,
} from "./types.ts";

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

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
 * const res = await app.request("/workflows");
 * assert.equal(res.status, 403);
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
  app.use("*", limitBodies(limit));

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
    return respondWithRun(c, (signal) => factory().run(body.input, { storage, sessionId, signal }));
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
    return respondWithRun(c, (signal) =>
      factory().resume(checkpoint.id, {
        storage,
        responses: responses as Record<string, unknown> | undefined,
        fork: body.fork === true,
        signal,
      }));
  });

  app.get("/sessions/:id/checkpoints", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    const size = pageSize(c.req.query("limit"), DEFAULT_PAGE, MAX_PAGE);
    const before = c.req.query("before");
    if (before !== undefined) idParam(before, "before");
    await authorize(c, { action: "list-checkpoints", sessionId });
    const storage = await storageOf(c);
    if ((await storage.head(sessionId)) === undefined) throw sessionNotFound(sessionId);
    const checkpoints = await storage.list({ sessionId, limit: size, before });
    const next = checkpoints.length === size ? checkpoints[checkpoints.length - 1].id : null;
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

function sessionNotFound(sessionId: string): ProblemError {
  return new ProblemError(404, "session-not-found", "Session not found", `Session not found: ${sessionId}`);
}
