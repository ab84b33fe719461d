/**
 * Bearer-token authorization where each token may only touch its own sessions.
 *
 * A request without a known token is answered 401. With one, it may list the workflows and start runs (each
 * fresh run, and each fork, makes a new session that the token then owns); every other route, and a run that
 * names a `sessionId`, is allowed only for the token that owns the session. A fork reads the checkpoint's
 * session and writes its target: both must be the token's (a fork into a new, generated session only needs
 * the first). Anything else is a 403 that reveals nothing: a foreign session and a nonexistent one look the
 * same, and so does a damaged checkpoint of a foreign session.
 *
 * Ownership is recorded from the answer of a run or resume before the client sees it: its `sessionId`, the
 * `started` event of an SSE stream, or the problem of a run that started and failed (`executor-failed`,
 * `workflow-did-not-converge` …: its session holds checkpoints and stays resumable). Only a session nobody
 * owns is claimed, and a run only writes a new, generated session or one its token owns, so no token can
 * claim another's. A client that leaves an SSE stream before its first event leaves a session nobody owns.
 * Ownership lives in a `Map` here, so in one process; with several processes or a worker, keep it where the
 * checkpoints are (a table, a KV key per session).
 *
 * Served by the demo servers with `--tokens=alice,bob`, e.g. `npx tsx examples/server_node.ts --tokens=alice,bob`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStorage } from "../mod.ts";
 * import { createBearerTokenApp } from "./auth.ts";
 * import { demoWorkflows } from "./_demo_workflows.ts";
 *
 * const app = createBearerTokenApp({
 *   tokens: ["alice", "bob"],
 *   workflows: demoWorkflows,
 *   storage: new MemoryCheckpointStorage(),
 * });
 * const res = await app.request("/workflows", { headers: { authorization: "Bearer alice" } });
 * assert.equal(res.status, 200);
 * ```
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { BlankEnv } from "hono/types";
import {
  createWorkflowApp,
  type WorkflowApp,
  type WorkflowAppOptions,
  type WorkflowFactories,
} from "../adapters/hono/mod.ts";

/** The options of {@linkcode createBearerTokenApp}; `W` types the workflows, as for `createWorkflowApp`. */
export interface BearerTokenAppOptions<W extends WorkflowFactories = WorkflowFactories>
  extends Omit<WorkflowAppOptions<BlankEnv, W>, "authorize"> {
  /** The accepted bearer tokens. */
  tokens: Iterable<string>;
  /**
   * Who owns which session: session id → token. Filled by the app; pass your own to inspect or seed it.
   *
   * @default {a new Map}
   */
  owners?: Map<string, string>;
}

/**
 * Create a workflow app (see `createWorkflowApp`) in which each bearer token may only touch its own sessions.
 *
 * @param options The tokens, the ownership map, and `createWorkflowApp`'s options except `authorize`.
 * @returns The app; `hc<typeof app>` types a client for it as for any workflow app.
 */
export function createBearerTokenApp<W extends WorkflowFactories>(
  options: BearerTokenAppOptions<W>,
): WorkflowApp<BlankEnv, W> {
  const { tokens: tokenList, owners = new Map<string, string>(), ...appOptions } = options;
  const tokens = new Set(tokenList);
  const tokenOf = (c: Context): string | undefined => {
    const token = /^Bearer ([^\s]+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    return token !== undefined && tokens.has(token) ? token : undefined;
  };

  const workflowApp = createWorkflowApp({
    ...appOptions,
    authorize: (c, { action, sessionId, targetSessionId }) => {
      const token = tokenOf(c);
      if (token === undefined) {
        const res = new Response(null, { headers: { "www-authenticate": 'Bearer realm="superstep"' } });
        throw new HTTPException(401, { message: "A known bearer token is required", res });
      }
      // No session: a new one (a fresh run) or none at all. A checkpoint that does not exist (or whose
      // damage hides its session) also comes without a session, and must be denied exactly like a foreign one.
      if (sessionId === undefined) {
        // The session index and the inbox: each token sees its own sessions (and their requests) only.
        if (action === "list-sessions" || action === "list-requests") {
          return (session) => owners.get(session.sessionId) === token;
        }
        return action === "run" || action === "list-workflows";
      }
      if (owners.get(sessionId) !== token) return false;
      // A fork into a named session writes that session: it must be the token's too. (A name nobody owns
      // stays refused, as for a run: two tokens must not race to claim one name.)
      return action !== "fork" || targetSessionId === undefined || owners.get(targetSessionId) === token;
    },
  });

  const app = new Hono();
  // Runs and resumes answer with their session: record its owner before the client can learn its id.
  app.post("/workflows/:name/runs", recordOwner);
  app.post("/checkpoints/:id/resume", recordOwner);
  app.all("*", (c) => workflowApp.fetch(c.req.raw, c.env));
  return app as unknown as WorkflowApp<BlankEnv, W>;

  async function recordOwner(c: Context, next: () => Promise<void>): Promise<void> {
    await next();
    const token = tokenOf(c);
    if (token === undefined) return;
    const claim = (sessionId: unknown) => {
      if (typeof sessionId === "string" && !owners.has(sessionId)) owners.set(sessionId, token);
    };
    const type = c.res.headers.get("content-type") ?? "";
    // A 200 answer, or the problem of a run that started: both carry the run's `sessionId`.
    if (/^application\/(problem\+)?json/.test(type)) {
      claim((await c.res.clone().json()).sessionId);
    } else if (type.startsWith("text/event-stream") && c.res.body !== null) {
      c.res = new Response(claimFromFirstEvent(c.res.body, claim), c.res);
    }
  }
}

/**
 * Pass an SSE body through, holding its bytes back until the first event (`started`, which carries the
 * session id) is complete and claimed. Cancelling the result cancels `body`, so a client disconnect still
 * cancels the run.
 */
function claimFromFirstEvent(
  body: ReadableStream<Uint8Array>,
  claim: (sessionId: unknown) => void,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let held: Uint8Array[] | undefined = [];
  let text = "";
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (held === undefined) return controller.enqueue(chunk);
        held.push(chunk);
        text += decoder.decode(chunk, { stream: true });
        const end = text.indexOf("\n\n");
        if (end === -1) return;
        const data = text.slice(0, end).split("\n").filter((line) => line.startsWith("data: "));
        try {
          claim(JSON.parse(data.map((line) => line.slice(6)).join("\n")).sessionId);
        } catch {
          // Not a `started` event: nothing to claim.
        }
        for (const part of held) controller.enqueue(part);
        held = undefined;
      },
      flush(controller) {
        for (const part of held ?? []) controller.enqueue(part);
      },
    }),
  );
}
