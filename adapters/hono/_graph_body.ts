// A workflow's graph as the JSON of `GET /workflows` (`graph`): read from the compiled graph, which the
// package reaches through the sub-workflow side of a workflow (the renderers' source as well).
import { NESTED_GRAPH } from "../../src/_graph.ts";
import type { Workflow } from "../../src/workflow.ts";
import { nestedOf } from "../../src/workflow.ts";
import type { GraphBody, GraphEdgeBody, GraphNodeBody } from "./graph_body.ts";

/** The JSON graph of `workflow`. */
export function graphBody(workflow: Workflow): GraphBody {
  const { graph } = nestedOf(workflow);
  const nodes = [...graph.executors.values()].map((executor): GraphNodeBody => ({
    id: executor.id,
    kind: NESTED_GRAPH in executor ? "sub-workflow" : "executor",
    start: executor.id === graph.startId,
    requests: typeof executor.onResponse === "function",
    snapshot: typeof executor.snapshot === "function",
    ...executor.version !== undefined && { version: executor.version },
  }));
  const edges: GraphEdgeBody[] = [];
  const edge = (e: GraphEdgeBody, condition: string | undefined) =>
    edges.push(condition === undefined ? e : { ...e, condition });
  for (const group of graph.groups) {
    const base = { group: group.id, kind: group.kind };
    switch (group.kind) {
      case "single":
        edge({ ...base, source: group.source, target: group.target }, group.when ? "when" : undefined);
        break;
      case "fan-out":
        for (const target of group.targets) {
          edge({ ...base, source: group.source, target }, group.select ? "select" : undefined);
        }
        break;
      case "switch":
        group.cases.forEach((c, i) =>
          edge({ ...base, source: group.source, target: c.target }, `case ${i + 1}`)
        );
        if (group.defaultTarget !== undefined) {
          edge({ ...base, source: group.source, target: group.defaultTarget }, "default");
        }
        break;
      case "fan-in":
      case "collect":
        for (const source of group.sources) edge({ ...base, source, target: group.target }, undefined);
        break;
    }
  }
  return { start: graph.startId, nodes, edges };
}
