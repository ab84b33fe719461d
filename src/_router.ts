// The router owns a run's edge runners: it delivers each queued message along its
// source's edge groups, and saves and restores the fan-in buffers those groups keep.
import type { QueuedMessage } from "./checkpoint.ts";
import { CheckpointCorruptError, WorkflowRoutingError } from "./errors.ts";
import { createEdgeRunner, type EdgeRunner } from "./_edge_runner.ts";
import type { StrandedMessages } from "./events.ts";
import { type EdgeGroupSpec, INPUT_SOURCE, sourcesOf } from "./_graph.ts";
import { describeError } from "./_describe.ts";
import { defineEntry } from "./_records.ts";

/** Where routing puts a message: `source` sent `data` to `target` (a fan-in join's source is its edge id). */
export type Deliver = (target: string, source: string, data: unknown) => void;

export class Router {
  #bySource = new Map<string, EdgeRunner[]>();
  /** Only fan-in edges keep state: walking every edge would make a superstep's cost grow with the graph. */
  #stateful: EdgeRunner[] = [];
  /** The joins (fan-in, collect), which deliver once a superstep's messages are all routed. */
  #joins: EdgeRunner[] = [];

  constructor(groups: readonly EdgeGroupSpec[]) {
    for (const spec of groups) {
      const edge = createEdgeRunner(spec);
      for (const source of sourcesOf(spec)) {
        const list = this.#bySource.get(source);
        if (list) list.push(edge);
        else this.#bySource.set(source, [edge]);
      }
      if (typeof edge.snapshot === "function") this.#stateful.push(edge);
      if (typeof edge.flush === "function") this.#joins.push(edge);
    }
  }

  /**
   * Deliver `messages` in order along their sources' edges, then the fan-in joins that became complete.
   * `warn` is told of every message dropped because no edge takes it. Async conditions are awaited one
   * at a time, so delivery order never depends on how long a condition takes; once `live()` turns false
   * (the superstep was cancelled while a condition ran), nothing more is routed or buffered.
   */
  route(
    messages: readonly QueuedMessage[],
    deliver: Deliver,
    warn: (source: string, text: string) => void,
    live: () => boolean,
  ): Promise<void> | undefined {
    for (const edge of this.#joins) edge.begin?.();
    return this.#routeFrom(messages, 0, 0, deliver, warn, live);
  }

  /**
   * Route from edge `e` of message `m` on. Synchronous while conditions are (the common case, and no
   * promise is made); from the first condition that returns a Promise on, the rest waits for it.
   */
  #routeFrom(
    messages: readonly QueuedMessage[],
    m: number,
    e: number,
    deliver: Deliver,
    warn: (source: string, text: string) => void,
    live: () => boolean,
  ): Promise<void> | undefined {
    for (; m < messages.length; m++, e = 0) {
      const { source, data, to } = messages[m];
      if (source === INPUT_SOURCE) {
        deliver(to!, source, data);
        continue;
      }
      const edges = this.#bySource.get(source);
      if (edges === undefined) {
        warn(source, `Message from "${source}" dropped: it has no outgoing edges`);
        continue;
      }
      if (e === 0 && to !== undefined && !edges.some((edge) => edge.leadsTo(to))) {
        warn(
          source,
          `Message from "${source}" to "${to}" dropped: no edge leads from "${source}" to "${to}"`,
        );
        continue;
      }
      const send = (target: string, payload: unknown) => deliver(target, source, payload);
      for (; e < edges.length; e++) {
        const edge = edges[e];
        if (to !== undefined && !edge.leadsTo(to)) continue;
        let pending: unknown;
        try {
          pending = edge.route(source, data, to, send);
        } catch (error) {
          throw conditionFailed(source, edge.id, error);
        }
        // A runner returns a Promise only for an async condition (anything else it returns is no answer).
        if (pending instanceof Promise) {
          const [atMessage, atEdge] = [m, e + 1];
          return pending.then(
            () => live() ? this.#routeFrom(messages, atMessage, atEdge, deliver, warn, live) : undefined,
            (error) => {
              throw conditionFailed(source, edge.id, error);
            },
          );
        }
      }
    }
    for (const edge of this.#joins) edge.flush!((target, joined) => deliver(target, edge.id, joined));
    return undefined;
  }

  /** The fan-ins holding messages and waiting for sources (at convergence: messages stranded for good). */
  stranded(): StrandedMessages[] {
    const out: StrandedMessages[] = [];
    for (const edge of this.#stateful) {
      const stranded = edge.stranded?.();
      if (stranded !== undefined) out.push(stranded);
    }
    return out;
  }

  /** The buffers for a checkpoint's `edgeState`: by edge id, empty ones left out. */
  snapshot(): Record<string, unknown> {
    const state: Record<string, unknown> = {};
    for (const edge of this.#stateful) {
      const snapshot = edge.snapshot!();
      if (snapshot !== undefined) defineEntry(state, edge.id, snapshot);
    }
    return state;
  }

  /**
   * Put the buffers back to a checkpoint's `edgeState`.
   *
   * @throws {CheckpointCorruptError} If an edge's state is not what that edge keeps.
   */
  restore(edgeState: Record<string, unknown>, checkpointId: string): void {
    for (const edge of this.#stateful) {
      try {
        edge.restore!(Object.hasOwn(edgeState, edge.id) ? edgeState[edge.id] : undefined);
      } catch (error) {
        throw new CheckpointCorruptError(checkpointId, `invalid state of edge ${edge.id}`, { cause: error });
      }
    }
  }

  /**
   * Remember the buffers before routing a superstep, so that a cancelled one can put them back (its
   * messages stay queued and are routed again when the run continues).
   *
   * @returns How to put them back.
   */
  mark(): () => void {
    const before = this.#stateful.map((edge) => edge.snapshot!());
    return () => this.#stateful.forEach((edge, i) => edge.restore!(before[i]));
  }
}

/** A condition of `edgeId` threw (or its Promise rejected): the routing error that fails the run. */
function conditionFailed(source: string, edgeId: string, error: unknown): WorkflowRoutingError {
  if (error instanceof WorkflowRoutingError) return error;
  return new WorkflowRoutingError(source, `a condition of ${edgeId} threw: ${describeError(error)}`, {
    cause: error,
  });
}
