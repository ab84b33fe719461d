// A workflow's graph as SVG, laid out by dagre: one `g.node` per executor (`data-executor`), one path per
// edge, marked with its edge kind and condition.
/// <reference lib="dom" />
import { graphlib, layout } from "@dagrejs/dagre";
import type { GraphBody, GraphEdgeBody, GraphNodeBody } from "../../hono/graph_body.ts";
import { s } from "./dom.ts";

export type Graph = GraphBody;
type GraphNode = GraphNodeBody;
type GraphEdge = GraphEdgeBody;

const CHAR = 7.4;
const NODE_HEIGHT = 46;

function badges(node: GraphNode): string[] {
  const out: string[] = [];
  if (node.start) out.push("start");
  if (node.kind === "sub-workflow") out.push("sub-workflow");
  if (node.requests) out.push("asks");
  if (node.snapshot) out.push("state");
  if (node.version) out.push(`v${node.version}`);
  return out;
}

/** The SVG of `graph`. */
export function drawGraph(graph: Graph): SVGElement {
  const g = new graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) {
    const tags = badges(node).join(" · ");
    const width = Math.max(node.id.length * (CHAR + 1.2), tags.length * CHAR * 0.85) + 28;
    g.setNode(node.id, { width, height: NODE_HEIGHT });
  }
  graph.edges.forEach((edge, i) => {
    const label = edgeLabel(edge);
    g.setEdge(edge.source, edge.target, {
      label,
      width: label ? label.length * CHAR * 0.85 + 8 : 0,
      height: label ? 16 : 0,
      labelpos: "c",
    }, `e${i}`);
  });
  layout(g);
  const { width = 0, height = 0 } = g.graph();
  const svg = s("svg", {
    class: "graph",
    viewBox: `0 0 ${width} ${height}`,
    width: Math.ceil(width),
    height: Math.ceil(height),
    role: "img",
    "aria-label": `Graph of ${graph.nodes.length} executors`,
  });
  svg.append(s(
    "defs",
    {},
    s(
      "marker",
      {
        id: "arrow",
        viewBox: "0 0 10 10",
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto",
      },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }),
    ),
  ));
  graph.edges.forEach((edge, i) => {
    const laid = g.edge({ v: edge.source, w: edge.target, name: `e${i}` });
    const points: { x: number; y: number }[] = laid.points ?? [];
    const d = points.map((p, j) => `${j ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    const dashed = edge.condition !== undefined;
    const group = s("g", {
      class: `edge kind-${edge.kind}`,
      "data-kind": edge.kind,
      "data-group": edge.group,
    });
    group.append(s("path", { d, class: dashed ? "conditional" : undefined, "marker-end": "url(#arrow)" }));
    const label = edgeLabel(edge);
    if (label && laid.x !== undefined && laid.y !== undefined) {
      group.append(
        s("text", { x: laid.x, y: laid.y + 4, "text-anchor": "middle", class: "edge-label" }, label),
      );
    }
    svg.append(group);
  });
  for (const node of graph.nodes) {
    const laid = g.node(node.id);
    const x = laid.x - laid.width / 2;
    const y = laid.y - laid.height / 2;
    const classes = ["node", `kind-${node.kind}`, node.start && "start", node.requests && "asks"].filter(
      Boolean,
    );
    svg.append(s(
      "g",
      { class: classes.join(" "), "data-executor": node.id, transform: `translate(${x},${y})` },
      s("title", {}, `${node.id} (${badges(node).join(", ") || node.kind})`),
      s("rect", { width: laid.width, height: laid.height, rx: node.kind === "sub-workflow" ? 2 : 10 }),
      s("text", {
        x: laid.width / 2,
        y: badges(node).length ? 19 : 28,
        "text-anchor": "middle",
        class: "node-id",
      }, node.id),
      s(
        "text",
        { x: laid.width / 2, y: 36, "text-anchor": "middle", class: "node-kind" },
        badges(node).join(" · "),
      ),
    ));
  }
  return svg;
}

function edgeLabel(edge: GraphEdge): string {
  const kind = edge.kind === "single" ? "" : edge.kind;
  return [kind, edge.condition].filter(Boolean).join(": ");
}

/** Mark the executors of the running superstep (`active`) and those done in it (`done`). */
export function highlight(svg: Element, active: Set<string>, done: Set<string>): void {
  for (const node of svg.querySelectorAll<SVGGElement>("g.node")) {
    const id = node.dataset.executor ?? "";
    node.classList.toggle("active", active.has(id));
    node.classList.toggle("done", done.has(id) && !active.has(id));
  }
}
