// Answering (package-private): JSON bodies, problem documents, and a run's answer as JSON or as a stream of
// Server-Sent Events.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { WorkflowResult } from "../../src/events.ts";
import type { WorkflowRun } from "../../src/workflow_run.ts";
import { stringifyJson } from "./_json.ts";
import { problemFor, publicEvent } from "./_problem.ts";
import type { ProblemDocument, RunResponseBody } from "./types.ts";

export function jsonResponse(c: Context, body: unknown, status = 200): Response {
  return c.body(stringifyJson(body), status as 200, { "content-type": "application/json; charset=utf-8" });
}

export function problemResponse(c: Context, doc: ProblemDocument): Response {
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
export async function respondWithRun(
  c: Context,
  start: (signal: AbortSignal) => WorkflowRun,
): Promise<Response> {
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
