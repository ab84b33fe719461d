// The retention routes (package-private): `POST /sessions/:id/prune` and `POST /workflows/:name/prune` run
// `prune` behind `authorize` (action "prune"), so only callers it allows remove checkpoints.
import type { Context, Env, Hono } from "hono";
import type { CheckpointStorage } from "../../src/checkpoint.ts";
import { checkPruneOptions, prune, type PruneOptions } from "../../src/prune.ts";
import { badRequest, sessionNotFound } from "./_problem.ts";
import { idParam, readBody } from "./_request.ts";
import type { AuthorizeRequest, PruneRequestBody } from "./types.ts";

/** What the retention routes need of the app. */
export interface PruneDeps<E extends Env> {
  storageOf(c: Context<E>): Promise<CheckpointStorage>;
  authorize(c: Context<E>, request: AuthorizeRequest): Promise<void>;
  json(c: Context<E>, body: unknown): Response;
}

/**
 * The body's rule with the route's target, checked by `prune`'s own rules before anything is asked or removed:
 * what `prune` would refuse is a 400.
 */
async function pruneOptions(c: Context, target: Pick<PruneOptions, "sessionId" | "workflowName">) {
  const { keepLast, olderThan, ...rest } = await readBody(c, false) as PruneRequestBody;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw badRequest(`Unknown field ${JSON.stringify(unknown[0])} (keepLast, olderThan)`);
  }
  const options: PruneOptions = { ...target, keepLast, olderThan };
  try {
    checkPruneOptions(options);
  } catch (error) {
    if (error instanceof TypeError) throw badRequest(error.message);
    throw error;
  }
  return options;
}

/** Register the retention routes on `app`. */
export function pruneRoutes<E extends Env>(app: Hono<E>, { storageOf, authorize, json }: PruneDeps<E>): void {
  app.post("/sessions/:id/prune", async (c) => {
    const sessionId = idParam(c.req.param("id"), "session id");
    const options = await pruneOptions(c, { sessionId });
    await authorize(c, { action: "prune", sessionId });
    const storage = await storageOf(c);
    if ((await storage.head(sessionId)) === undefined) throw sessionNotFound(sessionId);
    return json(c, await prune(storage, options));
  });

  app.post("/workflows/:name/prune", async (c) => {
    const workflow = idParam(c.req.param("name"), "workflow name");
    const options = await pruneOptions(c, { workflowName: workflow });
    await authorize(c, { action: "prune", workflow });
    return json(c, await prune(await storageOf(c), options));
  });
}
