// Graph evolution: whether a checkpoint written by one version of a workflow can resume on another, and
// the checkpoint's run carried over to it. A checkpoint resumes when everything it references exists and
// fits: the executors its queued messages come from (with an edge to take them), those its requests and
// answers wait on (with an onResponse), those whose snapshots it holds (still keeping state, at the same
// version or with an `upgrade`), and the fan-ins whose buffers it holds. Ids are renamed first. A
// sub-workflow's paused runs are judged the same way against its new inner graph.
import type { Checkpoint, CheckpointStorage, QueuedMessage } from "./checkpoint.ts";
import type { PendingRequest } from "./events.ts";
import { INPUT_SOURCE, NESTED_GRAPH, targetsOf, type WorkflowGraph } from "./_graph.ts";
import { defineEntry } from "./_records.ts";
import { describeError, describeType } from "./_describe.ts";
import { idProblem } from "./_ids.ts";
import type { RunState } from "./_runner.ts";
import { CheckpointMismatchError, type GraphChanges, type Incompatibility } from "./errors.ts";

/** How a checkpoint's ids map to the graph's: old executor id → new. */
export type Renames = ReadonlyMap<string, string>;

/** A checkpoint's run carried over to a graph, or why it cannot be. */
export interface Evolved {
  state: RunState;
  incompatibilities: Incompatibility[];
}

/**
 * Carry `state` (written by another version of the workflow) over to `graph`: ids renamed, snapshots of
 * executors whose version changed upgraded, sub-workflows' paused runs carried over to their new inner
 * graphs. `incompatibilities` is empty when the run resumes safely; otherwise nothing of `state` may be used.
 */
export function evolve(
  state: RunState,
  graph: WorkflowGraph,
  renames: Renames,
  path: string[] = [],
): Evolved {
  const problems: Incompatibility[] = [];
  const problem = (entry: Omit<Incompatibility, "path">) => problems.push({ path, ...entry });
  const rename = (id: string) => renames.get(id) ?? id;
  const executors = graph.executors;

  const messages: QueuedMessage[] = state.messages.map((message) => {
    const renamed: QueuedMessage = {
      source: message.source === INPUT_SOURCE ? message.source : rename(message.source),
      data: message.data,
    };
    if (message.to !== undefined) renamed.to = rename(message.to);
    return renamed;
  });
  for (const { source, to } of messages) {
    if (source === INPUT_SOURCE) {
      if (to === undefined || !executors.has(to)) {
        problem({
          kind: "missing-executor",
          executorId: to,
          message: `the run's input waits for start executor "${to}", which the graph no longer has`,
        });
      }
      continue;
    }
    if (to !== undefined && !executors.has(to)) {
      problem({
        kind: "missing-executor",
        executorId: to,
        message:
          `a queued message from "${source}" to "${to}" waits for delivery, but the graph no longer has "${to}"`,
      });
      continue;
    }
    if (!executors.has(source)) {
      problem({
        kind: "missing-executor",
        executorId: source,
        message:
          `a queued message from "${source}" waits for delivery, but the graph no longer has "${source}"`,
      });
      continue;
    }
    const leads = graph.groups.filter((group) =>
      (group.kind === "fan-in" || group.kind === "collect" ? group.sources : [group.source]).includes(source)
    );
    const reaches = to === undefined
      ? leads.length > 0
      : leads.some((group) => targetsOf(group).includes(to));
    if (!reaches) {
      problem({
        kind: "no-route",
        executorId: source,
        message: to === undefined
          ? `a queued message from "${source}" waits for delivery, but no edge leads from "${source}" now`
          : `a queued message from "${source}" to "${to}" waits for delivery, but no edge leads there now`,
      });
    }
  }

  const renameRequest = (request: PendingRequest): PendingRequest => {
    const renamed: PendingRequest = { ...request, executorId: rename(request.executorId) };
    if (request.path !== undefined) renamed.path = [rename(request.path[0]), ...request.path.slice(1)];
    return renamed;
  };
  let pendingRequests = state.pendingRequests.map(renameRequest);
  const answers = (state.answers ?? []).map(({ request, response }) => ({
    request: renameRequest(request),
    response,
  }));
  for (const request of [...pendingRequests, ...answers.map((answer) => answer.request)]) {
    const executor = executors.get(request.executorId);
    if (executor === undefined) {
      problem({
        kind: "missing-executor",
        executorId: request.executorId,
        message:
          `request ${request.requestId} waits for "${request.executorId}", which the graph no longer has`,
      });
    } else if (typeof executor.onResponse !== "function") {
      problem({
        kind: "no-response-handler",
        executorId: request.executorId,
        message:
          `request ${request.requestId} waits for "${request.executorId}", which no longer has onResponse`,
      });
    }
  }

  const versions: Record<string, string> = {};
  for (const [id, version] of Object.entries(state.versions ?? {})) {
    defineEntry(versions, rename(id), version);
  }
  const executorState: Record<string, unknown> = {};
  for (const [oldId, snapshot] of Object.entries(state.executorState)) {
    const id = rename(oldId);
    if (Object.hasOwn(executorState, id)) {
      problem({
        kind: "rename-conflict",
        executorId: id,
        message: `two executors of the checkpoint would both be "${id}" after the renames`,
      });
      continue;
    }
    const executor = executors.get(id);
    if (executor === undefined) {
      problem({
        kind: "missing-executor",
        executorId: id,
        message: `the checkpoint holds the state of "${id}", which the graph no longer has`,
      });
      continue;
    }
    if (typeof executor.snapshot !== "function" || typeof executor.restore !== "function") {
      problem({
        kind: "state-dropped",
        executorId: id,
        message:
          `the checkpoint holds the state of "${id}", which no longer keeps state (no snapshot/restore)`,
      });
      continue;
    }
    const from = Object.hasOwn(versions, id) ? versions[id] : null;
    const to = executor.version ?? null;
    let carried = snapshot;
    if (from !== to) {
      if (typeof executor.upgrade !== "function") {
        problem({
          kind: "version-changed",
          executorId: id,
          fromVersion: from,
          toVersion: to,
          message: `the state of "${id}" was written by version ${show(from)}, the executor is version ` +
            `${show(to)} and has no upgrade(snapshot, fromVersion)`,
        });
        continue;
      }
      try {
        carried = executor.upgrade(snapshot, from ?? undefined);
      } catch (error) {
        problem({
          kind: "upgrade-failed",
          executorId: id,
          fromVersion: from,
          toVersion: to,
          message: `upgrading the state of "${id}" from version ${show(from)} to ${show(to)} threw: ${
            describeError(error)
          }`,
        });
        continue;
      }
    }
    const inner = (executor as { [NESTED_GRAPH]?: WorkflowGraph })[NESTED_GRAPH];
    if (inner !== undefined) {
      const evolved = evolveNested(carried, inner, [...path, id]);
      problems.push(...evolved.incompatibilities);
      carried = evolved.snapshot;
      pendingRequests = pendingRequests.map((request) =>
        request.executorId === id
          ? { ...request, path: evolved.paths.get(request.requestId) ?? request.path }
          : request
      );
    }
    defineEntry(executorState, id, carried);
  }

  const edgeState: Record<string, unknown> = {};
  const fanIns = new Set(graph.groups.filter((group) => group.kind === "fan-in").map((group) => group.id));
  for (const [oldId, buffers] of Object.entries(state.edgeState)) {
    const renamed = renameFanIn(oldId, buffers, rename);
    if (renamed === undefined || !fanIns.has(renamed.id)) {
      problem({
        kind: "buffer-orphaned",
        edgeId: renamed?.id ?? oldId,
        message: `the checkpoint holds messages buffered in ${
          renamed?.id ?? oldId
        }, which the graph no longer has (its sources or target changed)`,
      });
      continue;
    }
    defineEntry(edgeState, renamed.id, renamed.buffers);
  }

  const newVersions: Record<string, string> = {};
  for (const id of Object.keys(executorState)) {
    const version = executors.get(id)?.version;
    if (version !== undefined) defineEntry(newVersions, id, version);
  }
  return {
    state: {
      sessionId: state.sessionId,
      superstep: state.superstep,
      messages,
      state: state.state,
      executorState,
      edgeState,
      pendingRequests,
      answers,
      versions: newVersions,
    },
    incompatibilities: problems,
  };
}

/** A sub-workflow executor's snapshot (its paused inner runs) carried over to its new inner graph. */
function evolveNested(
  snapshot: unknown,
  inner: WorkflowGraph,
  path: string[],
): { snapshot: unknown; incompatibilities: Incompatibility[]; paths: Map<string, string[]> } {
  const saved = snapshot as { runs?: { key: string; state: RunState }[] } | null;
  const paths = new Map<string, string[]>();
  if (saved === null || typeof saved !== "object" || !Array.isArray(saved.runs)) {
    return { snapshot, incompatibilities: [], paths };
  }
  const incompatibilities: Incompatibility[] = [];
  const runs = saved.runs.map(({ key, state }) => {
    const evolved = evolve(state, inner, inner.renames ?? NO_RENAMES, path);
    incompatibilities.push(...evolved.incompatibilities);
    for (const request of evolved.state.pendingRequests) {
      paths.set(request.requestId, [path[path.length - 1], ...(request.path ?? [request.executorId])]);
    }
    return { key, state: evolved.state };
  });
  return { snapshot: { ...saved, runs }, incompatibilities, paths };
}

/** No renames. */
export const NO_RENAMES: Renames = new Map();

/** A fan-in's id (`fan-in:[[sources],[target]]`) and buffers (by source) with their executor ids renamed. */
function renameFanIn(
  id: string,
  buffers: unknown,
  rename: (id: string) => string,
): { id: string; buffers: unknown } | undefined {
  const prefix = "fan-in:";
  if (!id.startsWith(prefix)) return undefined;
  let ends: unknown;
  try {
    ends = JSON.parse(id.slice(prefix.length));
  } catch {
    return undefined;
  }
  if (!Array.isArray(ends) || !Array.isArray(ends[0]) || !Array.isArray(ends[1])) return undefined;
  const [sources, targets] = ends as [string[], string[]];
  const renamedId = `${prefix}${JSON.stringify([sources.map(rename), targets.map(rename)])}`;
  if (buffers === null || typeof buffers !== "object" || Array.isArray(buffers)) {
    return { id: renamedId, buffers };
  }
  const renamed: Record<string, unknown> = {};
  for (const [source, buffered] of Object.entries(buffers)) defineEntry(renamed, rename(source), buffered);
  return { id: renamedId, buffers: renamed };
}

function show(version: string | null): string {
  return version === null ? "(none)" : JSON.stringify(version);
}

/** A canonical graph description (`canonicalGraph`), parsed. */
interface Described {
  start: string;
  executors: Map<string, { version: string | null; inner: string | undefined }>;
  groups: Set<string>;
}

function parseDescription(text: string): Described | undefined {
  try {
    const { start, executors, groups } = JSON.parse(text) as {
      start: string;
      executors: [string, string | null, string?][];
      groups: string[];
    };
    return {
      start,
      executors: new Map(executors.map(([id, version, inner]) => [id, { version, inner }])),
      groups: new Set(groups.map(showGroup)),
    };
  } catch {
    return undefined;
  }
}

/** An edge group of a canonical description (`["fan-out", "a", ["b", "c"], true]`) as `a -> [b, c]`. */
function showGroup(text: string): string {
  const [kind, from, to] = JSON.parse(text) as [string, string | string[], string | string[]];
  const list = (ids: string | string[]) => Array.isArray(ids) ? `[${ids.join(", ")}]` : ids;
  switch (kind) {
    case "single":
      return `${from} -> ${to}`;
    case "fan-out":
      return `${from} -> ${list(to)}`;
    case "switch": {
      const [, , cases, fallback] = JSON.parse(text) as [string, string, string[], string | null];
      return `${from} -> switch ${list(fallback === null ? cases : [...cases, fallback])}`;
    }
    case "collect":
      return `${list(from)} ->> ${to}`;
    default:
      return `${list(from)} -> ${to}`;
  }
}

/** How the graph described by `now` differs from the one described by `before` (`undefined`: unreadable). */
export function describeChanges(before: string, now: string): GraphChanges | undefined {
  const old = parseDescription(before);
  const current = parseDescription(now);
  if (old === undefined || current === undefined) return undefined;
  const changes: GraphChanges = {
    addedExecutors: [...current.executors.keys()].filter((id) => !old.executors.has(id)),
    removedExecutors: [...old.executors.keys()].filter((id) => !current.executors.has(id)),
    changedVersions: [],
    changedSubWorkflows: [],
    addedEdges: [...current.groups].filter((group) => !old.groups.has(group)),
    removedEdges: [...old.groups].filter((group) => !current.groups.has(group)),
  };
  for (const [id, { version, inner }] of current.executors) {
    const was = old.executors.get(id);
    if (was === undefined) continue;
    if (was.version !== version) {
      changes.changedVersions.push({ executorId: id, from: was.version, to: version });
    }
    if (was.inner !== inner) changes.changedSubWorkflows.push(id);
  }
  if (old.start !== current.start) changes.start = { from: old.start, to: current.start };
  return changes;
}

/** The changes as a clause for an error message ("" when nothing is known). */
export function summarizeChanges(changes: GraphChanges | undefined): string {
  if (changes === undefined) return "";
  const parts: string[] = [];
  const ids = (list: string[]) => list.map((id) => `"${id}"`).join(", ");
  if (changes.removedExecutors.length > 0) parts.push(`removed ${ids(changes.removedExecutors)}`);
  if (changes.addedExecutors.length > 0) parts.push(`added ${ids(changes.addedExecutors)}`);
  for (const { executorId, from, to } of changes.changedVersions) {
    parts.push(`"${executorId}" version ${show(from)} -> ${show(to)}`);
  }
  if (changes.changedSubWorkflows.length > 0) {
    parts.push(`changed sub-workflows ${ids(changes.changedSubWorkflows)}`);
  }
  if (changes.removedEdges.length > 0) parts.push(`removed edges ${changes.removedEdges.join("; ")}`);
  if (changes.addedEdges.length > 0) parts.push(`added edges ${changes.addedEdges.join("; ")}`);
  if (changes.start !== undefined) parts.push(`start "${changes.start.from}" -> "${changes.start.to}"`);
  return parts.length > 0 ? ` (the graph changed: ${parts.join(", ")})` : "";
}

/** How one resume treats a checkpoint of another graph. */
export interface ResumePolicy {
  strict: boolean;
  renames: Renames;
}

/**
 * The run a resume restores from `checkpoint`: the checkpoint itself when the graph that wrote it is
 * `graph` (same `signature`), else its run carried over to `graph` (see `evolve`). Throws
 * `CheckpointMismatchError` naming every incompatibility (or, strictly, any change), with what changed in
 * the graph when the checkpoint's graph description can be found on it or its ancestors in `storage`.
 */
export async function resumable(
  checkpoint: Checkpoint,
  graph: WorkflowGraph,
  signature: string,
  description: string,
  storage: CheckpointStorage,
  policy: ResumePolicy,
): Promise<RunState> {
  if (checkpoint.graphSignature === signature) return checkpoint;
  const changes = await changesSince(checkpoint, description, storage);
  if (policy.strict) {
    throw new CheckpointMismatchError(
      checkpoint.id,
      `it was written by another graph and workflow "${graph.name}" resumes strictly${
        summarizeChanges(changes)
      }`,
      { changes },
    );
  }
  const { state, incompatibilities } = evolve(checkpoint, graph, policy.renames);
  if (incompatibilities.length > 0) {
    throw new CheckpointMismatchError(
      checkpoint.id,
      `it was written by another version of workflow "${graph.name}" and ${
        incompatibilities.map(({ path, message }) =>
          path.length > 0 ? `in ${path.join(" > ")}: ${message}` : message
        )
          .join("; ")
      }${summarizeChanges(changes)}`,
      { incompatibilities, changes },
    );
  }
  return state;
}

/** How many ancestors a refusal looks through for the graph description that wrote a checkpoint. */
const DESCRIPTION_SEARCH = 10_000;

/** How the graph changed since the one that wrote `checkpoint`, if its description is found. */
async function changesSince(
  checkpoint: Checkpoint,
  now: string,
  storage: CheckpointStorage,
): Promise<GraphChanges | undefined> {
  let current: Checkpoint | undefined = checkpoint;
  for (let i = 0; current !== undefined && i < DESCRIPTION_SEARCH; i++) {
    if (current.graphSignature !== checkpoint.graphSignature) return undefined;
    if (current.graph !== undefined) return describeChanges(current.graph, now);
    if (current.parentId === null) return undefined;
    try {
      current = await storage.load(current.parentId);
    } catch {
      // Only an explanation is lost: the refusal itself stands.
      return undefined;
    }
  }
  return undefined;
}

/** How checkpoints written by another version of a workflow resume (`evolution` of builder and `resume`). */
export interface EvolutionOptions {
  /**
   * Resume only checkpoints whose graph signature is exactly this graph's (any change refuses them).
   *
   * @default {false}
   */
  strict?: boolean;
  /**
   * Executor ids of checkpoints → the ids those executors have now: `{ review: "approve" }` after
   * renaming `review`. Each new id must be an executor of the graph, and no old id may still be one.
   *
   * @default {{}}
   */
  renames?: Readonly<Record<string, string>>;
}

/** An `evolution` option, checked: `strict` a boolean, `renames` a plain object of ids. */
export function evolutionOf(
  evolution: unknown,
  where: string,
): { strict: boolean; renames: ReadonlyMap<string, string> } {
  if (evolution === undefined) return { strict: false, renames: new Map() };
  if (evolution === null || typeof evolution !== "object" || Array.isArray(evolution)) {
    throw new TypeError(
      `Invalid ${where} evolution option: expected an object, got ${describeType(evolution)}`,
    );
  }
  const { strict, renames } = evolution as EvolutionOptions;
  if (strict !== undefined && typeof strict !== "boolean") {
    throw new TypeError(`Invalid ${where} evolution.strict: expected a boolean, got ${describeType(strict)}`);
  }
  const map = new Map<string, string>();
  if (renames !== undefined) {
    if (renames === null || typeof renames !== "object" || Array.isArray(renames)) {
      throw new TypeError(
        `Invalid ${where} evolution.renames: expected an object of ids, got ${describeType(renames)}`,
      );
    }
    for (const [from, to] of Object.entries(renames)) {
      if (typeof to !== "string" || idProblem(to) !== undefined || idProblem(from) !== undefined) {
        throw new TypeError(
          `Invalid ${where} evolution.renames entry ${JSON.stringify(from)}: ${describeType(to)}`,
        );
      }
      map.set(from, to);
    }
  }
  return { strict: strict === true, renames: map };
}
