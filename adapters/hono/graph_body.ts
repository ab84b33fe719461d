/**
 * A workflow's graph as JSON, as `GET /workflows` lists it (`graph`): what the inspector draws.
 *
 * @module
 */

/**
 * One executor of a served workflow's graph.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GraphNodeBody } from "@superstep/superstep/hono";
 *
 * const node: GraphNodeBody = { id: "review", kind: "executor", start: false, requests: true, snapshot: false };
 * assert.equal(node.requests, true);
 * ```
 */
export interface GraphNodeBody {
  /** The executor's id. */
  id: string;
  /** `"sub-workflow"` for a `WorkflowExecutor` (it runs a workflow of its own), else `"executor"`. */
  kind: "executor" | "sub-workflow";
  /** Whether the run's input goes to it. */
  start: boolean;
  /** Whether it takes answers to requests (it has `onResponse`: a human in the loop). */
  requests: boolean;
  /** Whether it keeps state of its own in checkpoints (it has `snapshot`). */
  snapshot: boolean;
  /** Its `version`, when it declares one. */
  version?: string;
}

/**
 * One drawn edge of a served workflow's graph: a fan-out, switch, fan-in or collect group is one edge per
 * target (or per source), all with the group's `group` id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GraphEdgeBody } from "@superstep/superstep/hono";
 *
 * const edge: GraphEdgeBody = { group: "draft->review", kind: "single", source: "draft", target: "review" };
 * assert.equal(edge.kind, "single");
 * ```
 */
export interface GraphEdgeBody {
  /** The id of the edge group it belongs to (where fan-in buffers are kept in a checkpoint's `edgeState`). */
  group: string;
  /** The edge group's kind. */
  kind: "single" | "fan-out" | "switch" | "fan-in" | "collect";
  /** Where messages come from. */
  source: string;
  /** Where they go. */
  target: string;
  /**
   * What decides whether it carries a message: `"when"` (a condition), `"select"` (a fan-out's selector),
   * `"case N"` (a switch's N-th case, from 1) or `"default"` (a switch's default). Absent: always.
   */
  condition?: string;
}

/**
 * A served workflow's graph: its executors in registration order and its edges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { createWorkflowApp, type GraphBody } from "@superstep/superstep/hono";
 *
 * const a = defineExecutor({ id: "a", handle: (text: string, ctx) => ctx.send(text) });
 * const b = defineExecutor({ id: "b", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const app = createWorkflowApp({
 *   workflows: { ab: () => new WorkflowBuilder({ name: "ab", start: a }).addEdge(a, b).build() },
 *   storage: new MemoryCheckpointStorage(),
 * });
 * const { workflows } = await (await app.request("/workflows")).json();
 * const graph: GraphBody = workflows[0].graph;
 * assert.deepEqual(graph.nodes.map((node) => node.id), ["a", "b"]);
 * assert.deepEqual(graph.edges.map(({ source, target }) => [source, target]), [["a", "b"]]);
 * ```
 */
export interface GraphBody {
  /** The start executor's id. */
  start: string;
  /** The executors, in registration order. */
  nodes: GraphNodeBody[];
  /** The edges, edge group by edge group in registration order. */
  edges: GraphEdgeBody[];
}
