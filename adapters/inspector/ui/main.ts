// The inspector's page: workflows (graph and live runs), sessions, one session's lineage and checkpoints.
// Routed by the URL's hash (#/workflows/approval, #/sessions, #/sessions/<id>/<checkpoint>).
/// <reference lib="dom" />
import { ApiError, explain, get, setToken, token } from "./api.ts";
import { fill, h, jsonBlock, time } from "./dom.ts";
import { drawGraph } from "./graph.ts";
import { diff, diffTable, jsonEditor } from "./json.ts";
import { lineageOf, lineageTree, type Summary } from "./lineage.ts";
import { type RunPanel, runPanel } from "./run_panel.ts";
import { knownSessions } from "./sessions.ts";
import type { Checkpoint } from "../../../src/checkpoint.ts";
import type { RequestPage, SessionPage, WorkflowInfo } from "../../hono/types.ts";

const main = document.getElementById("main")!;
const banner = document.getElementById("banner")!;
let workflows: WorkflowInfo[] | undefined;

function showError(error: unknown) {
  fill(banner, h("strong", {}, "Request refused or failed. "), explain(error));
  banner.hidden = false;
}

function clearError() {
  banner.hidden = true;
  fill(banner);
}

async function loadWorkflows(): Promise<WorkflowInfo[]> {
  return workflows ??= (await get<{ workflows: WorkflowInfo[] }>("/workflows")).workflows;
}

function nav(active: string) {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    link.classList.toggle("active", link.dataset.view === active);
  }
}

async function route() {
  const [view = "workflows", ...rest] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  nav(view);
  clearError();
  try {
    if (view === "sessions" && rest[0]) await sessionView(rest[0], rest[1]);
    else if (view === "sessions") await sessionsView();
    else if (view === "requests") await requestsView();
    else await workflowsView(rest[0]);
  } catch (error) {
    showError(error);
    fill(main, h("p", { class: "muted" }, "Nothing to show."));
  }
}

async function workflowsView(name?: string) {
  const all = await loadWorkflows();
  const current = all.find((w) => w.name === name) ?? all[0];
  const list = h(
    "ul",
    { class: "workflow-list" },
    all.map((w) =>
      h(
        "li",
        {},
        h("a", {
          href: `#/workflows/${encodeURIComponent(w.name)}`,
          class: w === current ? "active" : undefined,
        }, w.name),
        h("span", { class: "muted" }, ` ${w.graph.nodes.length} executors`),
      )
    ),
  );
  if (current === undefined) {
    fill(main, h("p", {}, "This app serves no workflow."));
    return;
  }
  const graphBox = h("div", { class: "graph-box", "data-workflow": current.name }, drawGraph(current.graph));
  const lineageBox = h("section", { class: "run-lineage" });
  const panel = runPanel(current.name, () => graphBox.querySelector("svg"), async (result) => {
    try {
      const nodes = await lineageOf(result.sessionId);
      fill(
        lineageBox,
        h(
          "h3",
          {},
          "Lineage of session ",
          h("a", { href: `#/sessions/${encodeURIComponent(result.sessionId)}` }, result.sessionId),
        ),
        lineageTree(nodes, result.sessionId, result.checkpointId ?? undefined, (summary) => {
          location.hash = `#/sessions/${encodeURIComponent(summary.sessionId)}/${
            encodeURIComponent(summary.id)
          }`;
        }),
      );
    } catch (error) {
      showError(error);
    }
  });
  const startButton = h("button", { type: "submit", class: "start" }, "Start run");
  const input = jsonEditor(
    JSON.stringify(current.name === "approval" ? "v1.0" : "hello big world"),
    "Input (JSON)",
    startButton,
  );
  const form = h("form", { class: "run-form" }, input.element, startButton);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearError();
    panel.start(`/workflows/${encodeURIComponent(current.name)}/runs`, { input: input.value() });
  });
  fill(
    main,
    h("aside", { class: "sidebar" }, h("h2", {}, "Workflows"), list),
    h(
      "div",
      { class: "content" },
      h("h2", {}, current.name),
      h(
        "p",
        { class: "legend-line muted" },
        "Executor kinds: start · asks (takes answers) · state (snapshot) · sub-workflow. Dashed edges are conditional.",
      ),
      graphBox,
      h("section", {}, h("h3", {}, "Start a run"), form),
      panel.element,
      lineageBox,
    ),
  );
}

interface SessionRow {
  sessionId: string;
  workflow: string;
  status: string;
  pendingRequests?: number;
  updatedAt: string;
}

const PAGE = 20;

/** A session's status from its head: waiting (pending requests), interrupted (messages queued), completed. */
function statusOf(head: Checkpoint): string {
  if (head.pendingRequests.length) return "waiting";
  if (head.messages.length) return "interrupted";
  return "completed";
}

/** One page of `GET /sessions` (the session index), or `undefined` when the storage has none (501). */
async function indexPage(status: string, workflow: string, before?: string) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (status) query.set("status", status);
  if (workflow) query.set("workflow", workflow);
  if (before) query.set("before", before);
  try {
    const page = await get<SessionPage>(`/sessions?${query}`);
    const rows = page.sessions.map((s): SessionRow => ({
      sessionId: s.sessionId,
      workflow: s.workflowName,
      status: s.status,
      pendingRequests: s.pendingRequests,
      updatedAt: s.head.createdAt,
    }));
    return { rows, next: page.next };
  } catch (error) {
    // No index (501), an app without the route (404), or one whose authorize keeps the listing closed (403).
    if (error instanceof ApiError && [403, 404, 501].includes(error.status)) return undefined;
    throw error;
  }
}

/** Without a session index: the sessions this browser knows, each read from its head. */
async function knownRows(): Promise<SessionRow[]> {
  const rows = await Promise.all(
    knownSessions().map(async (known): Promise<SessionRow | undefined> => {
      try {
        const page = await get<{ checkpoints: Summary[] }>(
          `/sessions/${encodeURIComponent(known.sessionId)}/checkpoints?limit=1`,
        );
        const head = await get<Checkpoint>(`/checkpoints/${encodeURIComponent(page.checkpoints[0].id)}`);
        return {
          sessionId: known.sessionId,
          workflow: head.workflowName,
          status: statusOf(head),
          pendingRequests: head.pendingRequests.length,
          updatedAt: head.createdAt,
        };
      } catch {
        return undefined;
      }
    }),
  );
  return rows.filter((row): row is SessionRow => row !== undefined)
    .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1));
}

async function sessionsView() {
  const names = (await loadWorkflows()).map((w) => w.name);
  const status = h(
    "select",
    { "aria-label": "Status" },
    ["", "waiting", "interrupted", "completed"].map((v) => h("option", { value: v }, v || "any status")),
  );
  const workflow = h(
    "select",
    { "aria-label": "Workflow" },
    ["", ...names].map((v) => h("option", { value: v }, v || "any workflow")),
  );
  const byId = h("input", { type: "text", placeholder: "open a session by id", "aria-label": "Session id" });
  const open = h("button", { type: "submit" }, "Open");
  const body = h("tbody", {});
  const pager = h("div", { class: "pager" });
  const source = h("p", { class: "muted" });
  // The cursors of the pages before this one (the session index pages by `before`).
  let cursors: (string | undefined)[] = [undefined];
  let local: SessionRow[] | undefined;
  const render = async () => {
    const before = cursors[cursors.length - 1];
    const page = local === undefined ? await indexPage(status.value, workflow.value, before) : undefined;
    let rows: SessionRow[];
    let next: string | null;
    if (page !== undefined) {
      source.textContent = "From the session index (GET /sessions), newest first.";
      ({ rows, next } = page);
    } else {
      local ??= await knownRows();
      source.textContent =
        "No session index here (the storage keeps none, or authorize keeps the listing closed): the " +
        "sessions this browser started, resumed or forked, with the status of each session's head.";
      const filtered = local.filter((r) =>
        (!status.value || r.status === status.value) && (!workflow.value || r.workflow === workflow.value)
      );
      const at = cursors.length - 1;
      rows = filtered.slice(at * PAGE, (at + 1) * PAGE);
      next = (at + 1) * PAGE < filtered.length ? String(at + 1) : null;
    }
    fill(
      body,
      rows.length
        ? rows.map((r) =>
          h(
            "tr",
            { "data-session": r.sessionId, "data-status": r.status },
            h(
              "td",
              {},
              h("a", { href: `#/sessions/${encodeURIComponent(r.sessionId)}` }, h("code", {}, r.sessionId)),
            ),
            h("td", {}, r.workflow),
            h("td", {}, h("span", { class: `badge status-${r.status}` }, r.status)),
            h("td", {}, r.pendingRequests ? String(r.pendingRequests) : ""),
            h("td", {}, time(r.updatedAt)),
          )
        )
        : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No session.")),
    );
    const newer = h("button", {
      type: "button",
      disabled: cursors.length === 1,
      onclick: () => (cursors = cursors.slice(0, -1), render().catch(showError)),
    }, "‹ Newer");
    const older = h("button", {
      type: "button",
      disabled: next === null,
      onclick: () => (cursors = [...cursors, next ?? undefined], render().catch(showError)),
    }, "Older ›");
    fill(pager, newer, ` page ${cursors.length} `, older);
  };
  const restart = () => {
    cursors = [undefined];
    render().catch(showError);
  };
  status.addEventListener("change", restart);
  workflow.addEventListener("change", restart);
  const form = h("form", { class: "open-session" }, byId, open);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (byId.value.trim()) location.hash = `#/sessions/${encodeURIComponent(byId.value.trim())}`;
  });
  await render();
  fill(
    main,
    h(
      "div",
      { class: "content wide" },
      h("h2", {}, "Sessions"),
      source,
      h("div", { class: "filters" }, status, workflow, form),
      h(
        "table",
        { class: "sessions" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "session"),
            h("th", {}, "workflow"),
            h("th", {}, "status"),
            h("th", {}, "pending"),
            h("th", {}, "last update"),
          ),
        ),
        body,
      ),
      pager,
    ),
  );
}

/** The inbox: every request waiting in a session head (`GET /requests`), each answerable here. */
async function requestsView() {
  const names = (await loadWorkflows()).map((w) => w.name);
  const workflow = h(
    "select",
    { "aria-label": "Workflow" },
    ["", ...names].map((v) => h("option", { value: v }, v || "any workflow")),
  );
  const list = h("div", { class: "inbox" });
  const pager = h("div", { class: "pager" });
  const result = h("div", { class: "inbox-result" });
  let cursors: (string | undefined)[] = [undefined];
  const render = async () => {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (workflow.value) query.set("workflow", workflow.value);
    const before = cursors[cursors.length - 1];
    if (before) query.set("before", before);
    let page: RequestPage;
    try {
      page = await get<RequestPage>(`/requests?${query}`);
    } catch (error) {
      if (!(error instanceof ApiError) || ![403, 404, 501].includes(error.status)) throw error;
      fill(
        list,
        h(
          "p",
          { class: "muted" },
          `No inbox here (${explain(error)}). Open a session to answer what its head waits for.`,
        ),
      );
      fill(pager);
      return;
    }
    fill(
      list,
      page.requests.length
        ? page.requests.map((request) => {
          const button = h("button", { type: "button", class: "answer" }, "Answer");
          const editor = jsonEditor('"yes"', `Answer to ${request.requestId}`, button);
          const panel = runPanel(request.workflowName, () => null, () => {
            render().catch(showError);
          });
          button.addEventListener("click", () => {
            fill(result, panel.element);
            panel.answer(request.requestId, editor.value(), request.sessionId, request.checkpointId);
          });
          return h(
            "div",
            {
              class: "pending-request",
              "data-request": request.requestId,
              "data-session": request.sessionId,
            },
            h(
              "h4",
              {},
              `${request.workflowName}: `,
              h("code", {}, [...request.path ?? [request.executorId]].join(" › ")),
              " in session ",
              h(
                "a",
                { href: `#/sessions/${encodeURIComponent(request.sessionId)}` },
                h("code", {}, request.sessionId),
              ),
              " · ",
              time(request.createdAt),
            ),
            jsonBlock(request.data),
            editor.element,
            button,
          );
        })
        : h("p", { class: "muted" }, "No request is waiting."),
    );
    const next = page.next;
    fill(
      pager,
      h("button", {
        type: "button",
        disabled: cursors.length === 1,
        onclick: () => (cursors = cursors.slice(0, -1), render().catch(showError)),
      }, "‹ Newer"),
      ` page ${cursors.length} `,
      h("button", {
        type: "button",
        disabled: next === null,
        onclick: () => (cursors = [...cursors, next ?? undefined], render().catch(showError)),
      }, "Older ›"),
    );
  };
  workflow.addEventListener("change", () => {
    cursors = [undefined];
    render().catch(showError);
  });
  await render();
  fill(
    main,
    h(
      "div",
      { class: "content wide" },
      h("h2", {}, "Requests"),
      h("p", { class: "muted" }, "What session heads wait for (GET /requests), newest first."),
      h("div", { class: "filters" }, workflow),
      result,
      list,
      pager,
    ),
  );
}

let sessionPanel: { workflow: string; graphBox: HTMLElement; panel: RunPanel } | undefined;

async function sessionView(sessionId: string, checkpointId?: string) {
  const nodes = await lineageOf(sessionId);
  const own = [...nodes.values()].filter((n) => n.sessionId === sessionId).sort((
    a,
    b,
  ) => (a.id < b.id ? 1 : -1));
  if (own.length === 0) {
    fill(main, h("p", {}, "This session has no checkpoint."));
    return;
  }
  const head = own[0];
  const selected = nodes.get(checkpointId ?? "") ?? head;
  const info = (await loadWorkflows()).find((w) => w.name === head.workflowName);
  // One graph and run panel per workflow, kept across the views of its sessions: a call's result stays in
  // sight after the view moves to the checkpoint it wrote.
  if (sessionPanel?.workflow !== head.workflowName) {
    const box = h("div", { class: "graph-box small" }, info ? drawGraph(info.graph) : "");
    const panel = runPanel(head.workflowName, () => box.querySelector("svg"), (result) => {
      location.hash = `#/sessions/${encodeURIComponent(result.sessionId)}/${
        encodeURIComponent(result.checkpointId ?? "")
      }`;
    });
    sessionPanel = { workflow: head.workflowName, graphBox: box, panel };
  }
  const { graphBox, panel } = sessionPanel;
  const detail = h("div", { class: "checkpoint-detail" }, "Loading…");
  fill(
    main,
    h(
      "aside",
      { class: "sidebar wide-sidebar" },
      h("h2", {}, "Session"),
      h("p", {}, h("code", { class: "session-id" }, sessionId)),
      h("p", { class: "muted" }, `workflow ${head.workflowName} · ${own.length} checkpoints`),
      h("h3", {}, "Lineage"),
      lineageTree(nodes, sessionId, selected.id, (summary) => {
        location.hash = `#/sessions/${encodeURIComponent(summary.sessionId)}/${
          encodeURIComponent(summary.id)
        }`;
      }),
    ),
    h("div", { class: "content" }, detail, graphBox, panel.element),
  );
  const checkpoint = await get<Checkpoint>(`/checkpoints/${encodeURIComponent(selected.id)}`);
  const parent = checkpoint.parentId && nodes.has(checkpoint.parentId)
    ? await get<Checkpoint>(`/checkpoints/${encodeURIComponent(checkpoint.parentId)}`).catch(() => undefined)
    : undefined;
  const isHead = checkpoint.id === head.id && checkpoint.sessionId === sessionId;
  const resumePath = `/checkpoints/${encodeURIComponent(checkpoint.id)}/resume`;
  const actions = h("div", { class: "actions" });
  const resume = h("button", {
    type: "button",
    class: "resume",
    disabled: !isHead,
    title: isHead ? "Continue this session" : "Only a session's head can be resumed: fork instead",
    onclick: () => panel.start(resumePath, {}),
  }, "Resume");
  const fork = h("button", {
    type: "button",
    class: "fork",
    onclick: () => panel.start(resumePath, { fork: true }),
  }, "Fork from here");
  actions.append(resume, fork);
  const requests = checkpoint.pendingRequests.map((request) => {
    const answer = h("button", { type: "button", class: "answer" }, isHead ? "Answer" : "Answer in a fork");
    const editor = jsonEditor('"yes"', `Answer to ${request.requestId}`, answer);
    // At the head, the inbox's route answers (it finds the head itself); elsewhere only a fork can.
    answer.addEventListener("click", () => {
      if (isHead) panel.answer(request.requestId, editor.value(), sessionId, checkpoint.id);
      else panel.start(resumePath, { responses: { [request.requestId]: editor.value() }, fork: true });
    });
    return h(
      "div",
      { class: "pending-request", "data-request": request.requestId },
      h("h4", {}, "From ", h("code", {}, [...request.path ?? [request.executorId]].join(" › "))),
      jsonBlock(request.data),
      editor.element,
      answer,
    );
  });
  const section = (title: string, value: unknown, empty: boolean) =>
    h(
      "details",
      { open: !empty, class: "section" },
      h("summary", {}, title, empty ? " (none)" : ""),
      jsonBlock(value),
    );
  const changes = parent
    ? diff(
      {
        state: parent.state,
        messages: parent.messages,
        pendingRequests: parent.pendingRequests,
        executorState: parent.executorState,
        edgeState: parent.edgeState,
      },
      {
        state: checkpoint.state,
        messages: checkpoint.messages,
        pendingRequests: checkpoint.pendingRequests,
        executorState: checkpoint.executorState,
        edgeState: checkpoint.edgeState,
      },
    )
    : undefined;
  detail.dataset.checkpoint = checkpoint.id;
  fill(
    detail,
    h("h2", {}, `Checkpoint at superstep ${checkpoint.superstep}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "id"),
      h("dd", {}, h("code", {}, checkpoint.id)),
      h("dt", {}, "session"),
      h("dd", {}, h("code", {}, checkpoint.sessionId)),
      h("dt", {}, "parent"),
      h("dd", {}, checkpoint.parentId ? h("code", {}, checkpoint.parentId) : "none (root)"),
      h("dt", {}, "created"),
      h("dd", {}, time(checkpoint.createdAt)),
    ),
    actions,
    h("h3", {}, `Pending requests (${checkpoint.pendingRequests.length})`),
    requests.length ? requests : h("p", { class: "muted" }, "None."),
    section("State", checkpoint.state, Object.keys(checkpoint.state).length === 0),
    section("Queued messages", checkpoint.messages, checkpoint.messages.length === 0),
    section(
      "Executor snapshots",
      checkpoint.executorState,
      Object.keys(checkpoint.executorState).length === 0,
    ),
    section(
      "Edge state (fan-in buffers)",
      checkpoint.edgeState,
      Object.keys(checkpoint.edgeState).length === 0,
    ),
    h("h3", {}, "Diff against its parent"),
    changes ? diffTable(changes) : h("p", { class: "muted" }, "A root: no parent to compare with."),
  );
}

function boot() {
  const tokenInput = document.getElementById("token") as HTMLInputElement;
  tokenInput.value = token();
  document.getElementById("token-form")!.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(tokenInput.value.trim());
    workflows = undefined;
    route();
  });
  addEventListener("hashchange", route);
  route();
}

boot();
