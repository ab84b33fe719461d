// The validated, immutable shape of a workflow: what the builder produces and
// the runner, the renderers and the graph signature read.
import type { WorkflowPlugin } from "./plugin.ts";
import type { CheckpointStorage } from "./checkpoint.ts";
import type { Executor } from "./executor.ts";
import type { Reducer } from "./_state_writes.ts";

/** Where a sub-workflow's executor (`WorkflowExecutor`) keeps the graph it runs, for the signature. */
export const NESTED_GRAPH: unique symbol = Symbol("superstep.nestedGraph");

/** The id queued input messages carry as their source. */
export const INPUT_SOURCE = "__input__";

export interface SingleEdgeSpec {
  kind: "single";
  id: string;
  source: string;
  target: string;
  when?: (message: unknown) => boolean | Promise<boolean>;
}

export interface FanOutEdgeSpec {
  kind: "fan-out";
  id: string;
  source: string;
  targets: string[];
  select?: (message: unknown, targets: readonly string[]) => readonly string[] | Promise<readonly string[]>;
}

export interface SwitchEdgeSpec {
  kind: "switch";
  id: string;
  source: string;
  cases: { when: (message: unknown) => boolean | Promise<boolean>; target: string }[];
  defaultTarget?: string;
}

export interface FanInEdgeSpec {
  kind: "fan-in";
  id: string;
  sources: string[];
  target: string;
}

export interface CollectEdgeSpec {
  kind: "collect";
  id: string;
  sources: string[];
  target: string;
}

export type EdgeGroupSpec =
  | SingleEdgeSpec
  | FanOutEdgeSpec
  | SwitchEdgeSpec
  | FanInEdgeSpec
  | CollectEdgeSpec;

export interface WorkflowGraph {
  name: string;
  startId: string;
  maxSupersteps: number;
  /** In registration order. */
  executors: ReadonlyMap<string, Executor>;
  groups: readonly EdgeGroupSpec[];
  /** State keys whose writes are combined by a reducer (absent: none). */
  reducers?: ReadonlyMap<string, Reducer>;
  /** Old executor ids of checkpoints → the ids they have now (absent: none). */
  renames?: ReadonlyMap<string, string>;
  /** Resume only checkpoints written by exactly this graph (today's signature check). */
  strict?: boolean;
}

/** What `WorkflowBuilder.build()` hands to the new `Workflow`. */
export interface CompiledWorkflow {
  graph: WorkflowGraph;
  storage: CheckpointStorage | undefined;
  plugins: readonly WorkflowPlugin[];
}

export function sourcesOf(group: EdgeGroupSpec): string[] {
  return group.kind === "fan-in" || group.kind === "collect" ? group.sources : [group.source];
}

export function targetsOf(group: EdgeGroupSpec): string[] {
  switch (group.kind) {
    case "single":
    case "fan-in":
    case "collect":
      return [group.target];
    case "fan-out":
      return group.targets;
    case "switch": {
      const targets = group.cases.map((c) => c.target);
      if (group.defaultTarget !== undefined) targets.push(group.defaultTarget);
      return [...new Set(targets)];
    }
  }
}

/**
 * The canonical description the graph signature hashes: executor ids and
 * versions, start, and every edge group's kind, ends and case order. Predicates
 * are code, not data, so only their presence enters it.
 */
export function canonicalGraph(graph: WorkflowGraph): string {
  // A sub-workflow's graph is part of its executor: changing the inner graph changes the outer signature.
  const executors = [...graph.executors.values()]
    .map((e) => {
      const inner = (e as { [NESTED_GRAPH]?: WorkflowGraph })[NESTED_GRAPH];
      return inner === undefined
        ? [e.id, e.version ?? null]
        : [e.id, e.version ?? null, canonicalGraph(inner)];
    })
    .sort((a, b) => compareIds(a[0] as string, b[0] as string));
  const groups = graph.groups.map((g) => {
    switch (g.kind) {
      case "single":
        return [g.kind, g.source, g.target, g.when !== undefined];
      case "fan-out":
        return [g.kind, g.source, g.targets, g.select !== undefined];
      case "switch":
        return [g.kind, g.source, g.cases.map((c) => c.target), g.defaultTarget ?? null];
      case "fan-in":
      case "collect":
        return [g.kind, g.sources, g.target];
    }
  });
  // Edge groups in a canonical order: the same graph wired in another order has the same signature.
  const sorted = groups.map((g) => JSON.stringify(g)).sort(compareIds);
  // Reducer keys change what state writes mean; they enter the signature only when there are any, so a
  // graph without reducers keeps the signature it had before reducers existed.
  const reducers = graph.reducers === undefined ? undefined : [...graph.reducers.keys()].sort(compareIds);
  return JSON.stringify({
    v: 1,
    start: graph.startId,
    executors,
    groups: sorted,
    ...reducers && { reducers },
  });
}

/** SHA-256 (hex) of the canonical graph, via Web Crypto. */
export function computeGraphSignature(graph: WorkflowGraph): Promise<string> {
  return signatureOf(canonicalGraph(graph));
}

/** The signatures of the descriptions hashed last, oldest first: a workflow built per request hashes once. */
const signatures = new Map<string, Promise<string>>();

/** SHA-256 (hex) of a canonical graph description, via Web Crypto (remembered for the last 64). */
export function signatureOf(description: string): Promise<string> {
  let signature = signatures.get(description);
  if (signature === undefined) {
    if (signatures.size >= 64) signatures.delete(signatures.keys().next().value!);
    signature = digestOf(description);
    signatures.set(description, signature);
    // A digest that fails is not remembered: the next workflow asks again.
    signature.catch(() => signatures.delete(description));
  }
  return signature;
}

async function digestOf(description: string): Promise<string> {
  const bytes = new TextEncoder().encode(description);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Code-unit order: the same on every runtime and locale, unlike localeCompare. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
