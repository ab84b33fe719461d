// Answering (package-private): JSON bodies under the response limit, problem documents, and a run's answer
// as JSON or as a stream of Server-Sent Events.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { WorkflowEvent, WorkflowResult } from "../../src/events.ts";
import type { WorkflowRun } from "../../src/workflow_run.ts";
import { stringifyJson } from "./_json.ts";
import { problemFor, publicEvent, responseTooLarge } from "./_problem.ts";
import type { ProblemDocument, RunResponseBody } from "./types.ts";

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

/** Answer `body` as JSON, or a `response-too-large` problem (with `extensions`) past `limit` bytes. */
export function jsonResponse(
  c: Context,
  body: unknown,
  limit: number,
  extensions: Record<string, unknown> = {},
): Response {
  const text = stringifyJson(body, limit);
  if (text === undefined) return problemResponse(c, responseTooLarge(limit, extensions));
  return c.body(text, 200, JSON_TYPE);
}

export function problemResponse(c: Context, doc: ProblemDocument): Response {
  return c.body(stringifyJson(doc) ?? "null", doc.status as 500, {
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

/**
 * What a run left behind, from its events: its session once it started (the `started` event), and its last
 * checkpoint (the newest `superstep-completed` that wrote one).
 */
class RunTrace {
  sessionId: string | undefined;
  checkpointId: string | null = null;
  see(event: WorkflowEvent): void {
    if (event.type === "started") this.sessionId = event.sessionId;
    else if (event.type === "superstep-completed" && event.checkpointId !== undefined) {
      this.checkpointId = event.checkpointId;
    }
  }
  /** `{ sessionId, checkpointId }` for a run that started, else nothing: a problem's extensions. */
  get extensions(): Record<string, unknown> {
    return this.sessionId === undefined ? {} : { sessionId: this.sessionId, checkpointId: this.checkpointId };
  }
  /** Read every event of a settled run (a run replays them all to each reader). */
  static async of(run: WorkflowRun): Promise<RunTrace> {
    const trace = new RunTrace();
    try {
      for await (const event of run) trace.see(event);
    } catch {
      // A failed run throws after its last event: every event has been seen.
    }
    return trace;
  }
}

/**
 * The problem of a failed run: that of its error and, once it started, its `sessionId` and last
 * `checkpointId` (a did-not-converge error's own checkpoint first): the session exists and stays resumable.
 */
function runProblem(error: unknown, trace: RunTrace): ProblemDocument {
  const doc = problemFor(error);
  const extensions = trace.extensions;
  if (doc.checkpointId != null && "checkpointId" in extensions) extensions.checkpointId = doc.checkpointId;
  return { ...doc, ...extensions };
}

/**
 * Run `start` and answer JSON, or SSE. Errors before the first event become a problem response; an answer,
 * or an SSE event, over `limit` bytes becomes a `response-too-large` problem.
 */
export async function respondWithRun(
  c: Context,
  start: (signal: AbortSignal | undefined) => WorkflowRun,
  limit: number,
): Promise<Response> {
  if (!wantsEventStream(c)) {
    // No signal: a JSON answer's run is not cancelled when its client goes (and an AbortController costs
    // microseconds on Node).
    const run = start(undefined);
    let result: WorkflowResult;
    try {
      result = await run;
    } catch (error) {
      return problemResponse(c, runProblem(error, await RunTrace.of(run)));
    }
    const facts = { sessionId: result.sessionId, checkpointId: result.checkpointId ?? null };
    return jsonResponse(c, resultBody(result), limit, facts);
  }
  const controller = new AbortController();
  const run = start(controller.signal);
  const events = run[Symbol.asyncIterator]();
  let first: IteratorResult<WorkflowEvent>;
  try {
    first = await events.next();
  } catch (error) {
    return problemResponse(c, problemFor(error));
  }
  // A run that could not even start (unknown checkpoint, conflict, mismatch …) fails before `started`:
  // that is an HTTP error, not a stream.
  if (!first.done && first.value.type === "failed") {
    const error = await run.then(() => undefined, (error: unknown) => error);
    await events.return?.();
    return problemResponse(c, problemFor(error));
  }
  const cancel = () => controller.abort(new DOMException("The client disconnected", "AbortError"));
  return streamSSE(c, async (stream) => {
    stream.onAbort(cancel);
    const trace = new RunTrace();
    let sequence = 0;
    /** Write one event; `false` if its data is over the limit (nothing was written). */
    const write = async (event: string, data: unknown): Promise<boolean> => {
      const text = stringifyJson(data, limit);
      if (text === undefined) return false;
      await stream.writeSSE({ event, id: String(++sequence), data: text });
      return true;
    };
    try {
      for (let next = first; !next.done; next = await events.next()) {
        trace.see(next.value);
        const event = publicEvent(next.value);
        if (!(await write(event.type, event))) return await tooLarge();
      }
      const result = await run;
      if (!(await write("result", resultBody(result)))) {
        await write("problem", responseTooLarge(limit, trace.extensions));
      }
    } catch (error) {
      await write("problem", runProblem(error, trace));
    }

    /**
     * An event too large to send: the stream ends with a problem, and the run is cancelled as when the client
     * disconnects (the client could not follow it any more); the problem names the checkpoint it left.
     */
    async function tooLarge(): Promise<void> {
      controller.abort(new DOMException("An event exceeded the response limit", "AbortError"));
      try {
        for (let next = await events.next(); !next.done; next = await events.next()) trace.see(next.value);
      } catch {
        // Failed after the cancel: what it wrote is in the trace all the same.
      }
      await write("problem", responseTooLarge(limit, trace.extensions));
    }
  });
}
