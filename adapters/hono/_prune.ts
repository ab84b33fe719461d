// The retention routes (package-private): `POST /sessions/:id/prune` and `POST /workflows/:name/prune` run
// `prune` behind `authorize` (action "prune"), so only callers it allows remove checkpoints.
import type { Context, Env, Hono } from "hono";
import type { CheckpointStorage } from "../../src/checkpoint.ts";
import { prune, type PruneOptions } from "../../src/prune.ts";
import { badRequest, ProblemError } from "./_problem.ts";
import { idParam, readBody } from "./_request.ts";
import type { AuthorizeRequest, PruneRequestBody } from "./types.ts";

/** What the retention routes need of the app. */
export interface PruneDeps<E extends Env> {
  storageOf(c: Context<E>): Promise<CheckpointStorage>;
  authorize(c: Context<E>, request: AuthorizeRequest): Promise<void>;
  json(c: Context<E>, body: unknown): Response;
}

/** The body's retention rule, checked: `keepLast` and `olderThan` as `prune` takes them. */
async function pruneRule(c: Context): Promise<Pick<PruneOptions, "keepLast" | "olderThan">> {
  const { keepLast, olderThan, ...rest } = await readBody(c, false) as PruneRequestBody;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) badField(`Unknown field ${JSON.stringify(unknown[0])} (keepLast, olderThan)`);
  if (keepLast === undefined && olderThan === undefined) {
    badField("The body needs keepLast or olderThan (or both): prune never removes everything");
  }
  if (keepLast !== undefined && !(Number.isSafeInteger(keepLast) && keepLast >= 0)) {
    badField(`Invalid keepLast: ${JSON.stringify(keepLast)} (a non-negative integer)`);
  }
  if (olderThan !== undefined && (typeof olderThan !== "string" || Number.isNaN(Date.parse(olderThan)))) {
    badField(`Invalid olderThan: ${JSON.stringify(olderThan)} (an ISO-8601 time)`);
  }
  return { keepLast, olderThan };
}

function badField(detail: string): never {
  throw badRequest(detail);
}

/** Register the retention routes on `app`. */
export function pruneRoutes<E extends Env>(app: Hono<E>, { storageOf, authorize, json }: PruneDeps<E>): void {
  app.post("/sessions/:id/prune", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    const rule = await pruneRule(c);
    await authorize(c, { action: "prune", sessionId });
    const storage = await storageOf(c);
    if ((await storage.head(sessionId)) === undefined) {
      throw new ProblemError(
        404,
        "session-not-found",
        "Session not found",
        `Session not found: ${sessionId}`,
      );
    }
    return json(c, await prune(storage, { sessionId, ...rule }));
  });

  app.post("/workflows/:name/prune", async (c) => {
    const workflow = idParam(c.req.param("name"), "workflow name");
    const rule = await pruneRule(c);
    await authorize(c, { action: "prune", workflow });
    return json(c, await prune(await storageOf(c), { workflowName: workflow, ...rule }));
  });
}
