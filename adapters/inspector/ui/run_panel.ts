// A live run: its SSE events as they arrive, the graph's executors of the running superstep highlighted,
// then its result, with an answer form for each request it left pending.
/// <reference lib="dom" />
import { ApiError, explain, stream, type StreamEvent } from "./api.ts";
import { fill, h, jsonBlock } from "./dom.ts";
import { highlight } from "./graph.ts";
import { jsonEditor } from "./json.ts";
import { rememberSession } from "./sessions.ts";
import type { RunResponseBody } from "../../hono/types.ts";

/** What a run or resume answers. */
export type RunResult = RunResponseBody;

export interface RunPanel {
  element: HTMLElement;
  /** Stream a run or resume (`path` and `body` of the POST) into the panel. */
  start(path: string, body: unknown): Promise<RunResult | undefined>;
  /**
   * Answer `requestId`, pending in the head of `sessionId`: `POST /requests/:id` (the inbox's route), or, when
   * the storage keeps no inbox (501), a resume of `checkpointId` with the answer.
   */
  answer(requestId: string, response: unknown, sessionId: string, checkpointId: string): Promise<unknown>;
}

/** A run panel for `workflow`, highlighting in `svg`; `onResult` is called after each call that ended. */
export function runPanel(
  workflow: string,
  svg: () => Element | null,
  onResult: (result: RunResult) => void,
): RunPanel {
  const status = h("div", { class: "run-status", role: "status" }, "No run yet.");
  const log = h("ol", { class: "events", "aria-label": "Events" });
  const requests = h("div", { class: "requests" });
  const outputs = h("div", { class: "outputs" });
  const element = h(
    "section",
    { class: "run-panel" },
    h("h3", {}, "Live run"),
    status,
    requests,
    outputs,
    h("details", { open: true }, h("summary", {}, "Events"), log),
  );
  let active = new Set<string>();
  let done = new Set<string>();
  const paint = () => {
    const graph = svg();
    if (graph) highlight(graph, active, done);
  };
  const onEvent = ({ event, data }: StreamEvent) => {
    const e = data as Record<string, unknown>;
    if (event === "superstep-started") {
      active = new Set();
      done = new Set();
      status.textContent = `Running: superstep ${e.superstep}`;
    } else if (event === "executor-invoked") active.add(String(e.executorId));
    else if (event === "executor-completed" || event === "executor-failed") {
      active.delete(String(e.executorId));
      done.add(String(e.executorId));
    } else if (event === "started") rememberSession(String(e.sessionId), workflow);
    else if (event === "request") {
      requests.append(h(
        "div",
        { class: "live-request" },
        `Request ${e.requestId} from `,
        h("code", {}, String(e.executorId)),
        jsonBlock(e.data),
      ));
    }
    paint();
    const summary = event === "result" || event === "problem" ? "" : eventSummary(event, e);
    log.append(
      h("li", { class: `event event-${event}`, "data-event": event }, h("b", {}, event), " ", summary),
    );
    log.scrollTop = log.scrollHeight;
  };
  const start = (path: string, body: unknown, fallback?: { path: string; body: unknown }) =>
    call(path, body, fallback);
  const answer = (requestId: string, response: unknown, sessionId: string, checkpointId: string) =>
    call(`/requests/${encodeURIComponent(requestId)}`, { response, sessionId }, {
      path: `/checkpoints/${encodeURIComponent(checkpointId)}/resume`,
      body: { responses: { [requestId]: response } },
    });
  const call = async (
    path: string,
    body: unknown,
    fallback?: { path: string; body: unknown },
  ): Promise<RunResult | undefined> => {
    fill(log);
    fill(requests);
    fill(outputs);
    status.textContent = "Starting…";
    status.className = "run-status running";
    try {
      const result = await stream(path, body, onEvent).catch((error) => {
        if (fallback === undefined || !(error instanceof ApiError) || error.status !== 501) throw error;
        return stream(fallback.path, fallback.body, onEvent);
      }) as RunResult;
      active = new Set();
      paint();
      rememberSession(result.sessionId, workflow);
      status.className = `run-status status-${result.status}`;
      status.textContent = `Run ${result.status} (session ${result.sessionId})`;
      showResult(result);
      onResult(result);
      return result;
    } catch (error) {
      active = new Set();
      paint();
      status.className = "run-status failed";
      status.textContent = explain(error);
      return undefined;
    }
  };
  const showResult = (result: RunResult) => {
    fill(outputs, result.outputs.length ? [h("h4", {}, "Outputs"), jsonBlock(result.outputs)] : []);
    fill(
      requests,
      result.pendingRequests.map((request) => {
        const button = h("button", { type: "button", class: "answer" }, "Answer");
        const editor = jsonEditor('"yes"', `Answer to ${request.requestId}`, button);
        button.addEventListener("click", () => {
          if (result.checkpointId === null) return;
          answer(request.requestId, editor.value(), result.sessionId, result.checkpointId);
        });
        return h(
          "div",
          { class: "pending-request", "data-request": request.requestId },
          h(
            "h4",
            {},
            "Pending request from ",
            h("code", {}, [...request.path ?? [request.executorId]].join(" › ")),
          ),
          jsonBlock(request.data),
          editor.element,
          button,
        );
      }),
    );
  };
  return { element, start, answer };
}

function eventSummary(event: string, e: Record<string, unknown>): string {
  switch (event) {
    case "executor-invoked":
    case "executor-completed":
    case "executor-failed":
      return `${e.executorId} (superstep ${e.superstep})`;
    case "superstep-started":
    case "superstep-completed":
      return `superstep ${e.superstep}`;
    case "status":
      return String(e.state);
    case "custom":
      return `${e.name} from ${e.executorId}: ${JSON.stringify(e.data)}`;
    default: {
      const { type: _, ...rest } = e;
      const text = JSON.stringify(rest);
      return text.length > 200 ? `${text.slice(0, 197)}…` : text;
    }
  }
}
