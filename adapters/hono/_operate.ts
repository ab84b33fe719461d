// The operating routes (package-private): the session index (`GET /sessions`), the inbox (`GET /requests`)
// and answers by request id (`POST /requests/:id`), each filtered to what `authorize` lets the caller read.
import type { Context, Env, Hono } from "hono";
import type { CheckpointStorage, SessionStatus, WaitingRequest } from "../../src/checkpoint.ts";
import { answerRequest } from "../../src/answer_request.ts";
import { listPendingRequests, listSessions } from "../../src/sessions.ts";
import type { Workflow } from "../../src/workflow.ts";
import { badRequest, ProblemError, workflowNotServed } from "./_problem.ts";
import { idParam, pageSize, readBody } from "./_request.ts";
import { respondWithRun } from "./_respond.ts";
import type { AuthorizeRequest, RequestPage, SessionPage } from "./types.ts";

/** Whether the caller may see one listed session. */
export type Visible = (session: { sessionId: string; workflow: string }) => Promise<boolean>;

/** What the operating routes need of the app. */
export interface OperateDeps<E extends Env> {
  factories: Map<string, () => Workflow>;
  storageOf(c: Context<E>): Promise<CheckpointStorage>;
  authorize(c: Context<E>, request: AuthorizeRequest): Promise<void>;
  /** Ask about a listing: 403 if denied, else what the caller may see of it. */
  listing(c: Context<E>, request: AuthorizeRequest): Promise<Visible>;
  json(c: Context<E>, body: unknown): Response;
  responseLimit: number;
  defaultPage: number;
  maxPage: number;
}

const STATUSES = new Set<string>(["waiting", "interrupted", "completed"]);

/**
 * Read pages of `fetch` (each `limit` long, from `before`) until `size + 1` visible items are found or the
 * storage has no more: a page of at most `size`, and a `next` cursor only when another page follows.
 */
async function visiblePage<T>(
  size: number,
  before: string | undefined,
  fetch: (limit: number, before: string | undefined) => Promise<T[]>,
  cursorOf: (item: T) => string,
  visible: (item: T) => Promise<boolean>,
): Promise<{ items: T[]; next: string | null }> {
  const items: T[] = [];
  let cursor = before;
  while (items.length <= size) {
    const page = await fetch(size + 1, cursor);
    for (const item of page) {
      if (await visible(item)) items.push(item);
      if (items.length > size) break;
    }
    if (page.length < size + 1) break;
    cursor = cursorOf(page[page.length - 1]);
  }
  return { items: items.slice(0, size), next: items.length > size ? cursorOf(items[size - 1]) : null };
}

/** The `before` of `GET /requests`: an entry's cursor, the JSON pair of a request id and a session id. */
function requestCursor(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(text);
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 2) {
    throw badRequest("before must be the cursor of a listed request (its `cursor`, or the page's `next`)");
  }
  for (const part of parts) idParam(part, "before cursor");
  return text;
}

/** Register `GET /sessions`, `GET /requests` and `POST /requests/:id` on `app`. */
export function operateRoutes<E extends Env>(app: Hono<E>, deps: OperateDeps<E>): void {
  const { json } = deps;
  /** Asked once per session of a page, whatever it holds. */
  const perSession = (visible: Visible) => {
    const known = new Map<string, Promise<boolean>>();
    return (item: { sessionId: string; workflowName: string }) => {
      let ok = known.get(item.sessionId);
      if (ok === undefined) {
        ok = visible({ sessionId: item.sessionId, workflow: item.workflowName });
        known.set(item.sessionId, ok);
      }
      return ok;
    };
  };

  app.get("/sessions", async (c) => {
    const status = c.req.query("status");
    if (status !== undefined && !STATUSES.has(status)) {
      throw badRequest(
        `status must be waiting, interrupted or completed, got ${JSON.stringify(status.slice(0, 64))}`,
      );
    }
    const workflow = c.req.query("workflow");
    if (workflow !== undefined) idParam(workflow, "workflow");
    const before = c.req.query("before");
    if (before !== undefined) idParam(before, "before");
    const size = pageSize(c.req.query("limit"), deps.defaultPage, deps.maxPage);
    const visible = perSession(await deps.listing(c, { action: "list-sessions", workflow }));
    const storage = await deps.storageOf(c);
    const { items, next } = await visiblePage(
      size,
      before,
      (limit, before) =>
        listSessions(storage, {
          limit,
          ...(before !== undefined && { before }),
          ...(workflow !== undefined && { workflowName: workflow }),
          ...(status !== undefined && { status: status as SessionStatus }),
        }),
      (session) => session.head.id,
      visible,
    );
    const body: SessionPage = { sessions: items, next };
    return json(c, body);
  });

  app.get("/requests", async (c) => {
    const workflow = c.req.query("workflow");
    if (workflow !== undefined) idParam(workflow, "workflow");
    const sessionId = c.req.query("session");
    if (sessionId !== undefined) idParam(sessionId, "session");
    const before = requestCursor(c.req.query("before"));
    const size = pageSize(c.req.query("limit"), deps.defaultPage, deps.maxPage);
    const visible = perSession(await deps.listing(c, { action: "list-requests", workflow, sessionId }));
    const storage = await deps.storageOf(c);
    const { items, next } = await visiblePage(
      size,
      before,
      (limit, before) =>
        listPendingRequests(storage, {
          limit,
          ...(before !== undefined && { before }),
          ...(workflow !== undefined && { workflowName: workflow }),
          ...(sessionId !== undefined && { sessionId }),
        }),
      (request) => request.cursor,
      visible,
    );
    const body: RequestPage = { requests: items, next };
    return json(c, body);
  });

  app.post("/requests/:id", async (c) => {
    const requestId = idParam(c.req.param("id"), "request id");
    const body = await readBody(c, true);
    const sessionId = body.sessionId === undefined ? undefined : idParam(body.sessionId, "sessionId");
    const storage = await deps.storageOf(c);
    const found = await listPendingRequests(storage, {
      requestId,
      ...sessionId !== undefined && { sessionId },
    });
    // Only sessions the caller may answer in count: the others are not shown to exist.
    const mine: WaitingRequest[] = [];
    for (const entry of found) {
      const asked: AuthorizeRequest = {
        action: "answer",
        requestId,
        sessionId: entry.sessionId,
        workflow: entry.workflowName,
        checkpointId: entry.checkpointId,
      };
      const allowed = await deps.authorize(c, asked).then(() => true, (error) => {
        if (error instanceof ProblemError && found.length > 1) return false;
        throw error;
      });
      if (allowed) mine.push(entry);
    }
    if (mine.length === 0) {
      await deps.authorize(c, { action: "answer", requestId, ...sessionId !== undefined && { sessionId } });
      throw new ProblemError(
        409,
        "request-not-pending",
        "Request not pending",
        `Request ${requestId} is not pending (answered already, or unknown)`,
      );
    }
    if (mine.length > 1) {
      throw new ProblemError(
        409,
        "request-ambiguous",
        "Request is pending in several sessions",
        `Request ${requestId} is pending in ${mine.length} sessions (a fork copies its requests): name one with sessionId`,
      );
    }
    const [entry] = mine;
    const factory = deps.factories.get(entry.workflowName);
    if (factory === undefined) throw workflowNotServed(entry.checkpointId, entry.workflowName);
    return respondWithRun(
      c,
      (signal) =>
        answerRequest({
          storage,
          factory,
          requestId,
          response: body.response,
          sessionId: entry.sessionId,
          signal,
        }),
      deps.responseLimit,
    );
  });
}
