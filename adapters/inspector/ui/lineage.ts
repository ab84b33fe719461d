// A session's lineage as a tree across sessions: its chain back to the root (through the sessions it was
// forked from) and every known session forked off it, each fork a branch.
/// <reference lib="dom" />
import type { CheckpointSummary } from "../../../src/checkpoint.ts";
import { get } from "./api.ts";
import { h, time } from "./dom.ts";
import { knownSessions } from "./sessions.ts";

/** A checkpoint's summary, as the workflow app's routes answer it. */
export type Summary = CheckpointSummary;

async function headOf(sessionId: string): Promise<Summary | undefined> {
  const page = await get<{ checkpoints: Summary[] }>(
    `/sessions/${encodeURIComponent(sessionId)}/checkpoints?limit=1`,
  );
  return page.checkpoints[0];
}

async function chainOf(head: Summary): Promise<Summary[]> {
  const { lineage } = await get<{ lineage: Summary[] }>(
    `/checkpoints/${encodeURIComponent(head.id)}/lineage`,
  );
  return lineage;
}

/** Every checkpoint of the tree around `sessionId`, by id. */
export async function lineageOf(sessionId: string, candidates: string[] = []): Promise<Map<string, Summary>> {
  const nodes = new Map<string, Summary>();
  const head = await headOf(sessionId);
  if (head === undefined) return nodes;
  for (const summary of await chainOf(head)) nodes.set(summary.id, summary);
  // Forks are found among the sessions of the same workflow: the session index's, when the storage keeps
  // one, and those this browser knows.
  const indexed = await get<{ sessions: { sessionId: string }[] }>(
    `/sessions?workflow=${encodeURIComponent(head.workflowName)}&limit=200`,
  ).then((page) => page.sessions.map((s) => s.sessionId), () => [] as string[]);
  const others = [
    ...new Set([...candidates, ...indexed, ...knownSessions(head.workflowName).map((k) => k.sessionId)]),
  ]
    .filter((id) => id !== sessionId);
  const chains = new Map<string, Summary[]>();
  await Promise.all(others.map(async (other) => {
    try {
      const otherHead = await headOf(other);
      if (otherHead && otherHead.workflowName === head.workflowName) {
        chains.set(other, await chainOf(otherHead));
      }
    } catch {
      // A session the token may not read, or one deleted since: not part of what can be shown.
    }
  }));
  // A fork of a fork joins once its parent branch has: repeat until nothing more joins.
  for (let joined = true; joined;) {
    joined = false;
    for (const [other, chain] of chains) {
      if (chain.some((summary) => nodes.has(summary.id))) {
        for (const summary of chain) nodes.set(summary.id, summary);
        chains.delete(other);
        joined = true;
      }
    }
  }
  return nodes;
}

/** The tree as nested lists, oldest first; a fork into another session is a nested branch. */
export function lineageTree(
  nodes: Map<string, Summary>,
  current: string,
  selected: string | undefined,
  onSelect: (summary: Summary) => void,
): HTMLElement {
  const children = new Map<string | null, Summary[]>();
  for (const summary of nodes.values()) {
    const parent = summary.parentId !== null && nodes.has(summary.parentId) ? summary.parentId : null;
    children.set(parent, [...children.get(parent) ?? [], summary]);
  }
  for (const list of children.values()) list.sort((a, b) => (a.id < b.id ? -1 : 1));
  const sessions = [
    ...new Set([...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((n) => n.sessionId)),
  ];
  const color = (sessionId: string) => `session-color-${sessions.indexOf(sessionId) % 6}`;
  const row = (summary: Summary) =>
    h(
      "li",
      {
        class: [
          "checkpoint",
          summary.sessionId === current && "current",
          summary.id === selected && "selected",
        ]
          .filter(Boolean).join(" "),
        "data-checkpoint": summary.id,
        "data-session": summary.sessionId,
        "data-superstep": summary.superstep,
      },
      h(
        "button",
        { type: "button", class: "checkpoint-button", onclick: () => onSelect(summary) },
        h("span", { class: `dot ${color(summary.sessionId)}` }),
        h("span", { class: "superstep" }, `superstep ${summary.superstep}`),
        time(summary.createdAt),
        h("code", { class: "id" }, summary.id.slice(-8)),
      ),
    );
  const chain = (first: Summary): HTMLElement => {
    const list = h("ul", { class: "chain" });
    for (let node: Summary | undefined = first; node !== undefined;) {
      const item = row(node);
      list.append(item);
      const next: Summary[] = children.get(node.id) ?? [];
      // The same session continues the chain; each other session is a branch.
      const same = next.find((n) => n.sessionId === node!.sessionId);
      for (const fork of next.filter((n) => n !== same)) {
        item.append(h(
          "div",
          { class: "branch", "data-branch-session": fork.sessionId },
          h("div", { class: "branch-label" }, "fork → session ", h("code", {}, fork.sessionId)),
          chain(fork),
        ));
      }
      node = same;
    }
    return list;
  };
  const roots = children.get(null) ?? [];
  return h(
    "div",
    { class: "lineage", "data-sessions": sessions.length },
    h(
      "div",
      { class: "legend" },
      sessions.map((id) =>
        h("span", { class: "legend-item" }, h("span", { class: `dot ${color(id)}` }), h("code", {}, id))
      ),
    ),
    roots.map(chain),
  );
}
