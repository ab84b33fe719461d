// The run context owns what flows through a run — queued messages, pending
// requests, and the current call's events and outputs — and knows nothing of
// the graph. The runner decides what happens; the context records it.
import type { QueuedMessage } from "./checkpoint.ts";
import { RequestNotPendingError } from "./errors.ts";
import type { PendingRequest, WorkflowEvent } from "./events.ts";

/** One answer to deliver: the request it answers and the value. */
export interface Delivery {
  request: PendingRequest;
  response: unknown;
}

export class RunContext {
  /** Sent in the last superstep, delivered in the next. */
  messages: QueuedMessage[] = [];
  readonly pending: Map<string, PendingRequest> = new Map();
  /** Outputs of the current call, in deterministic order. */
  outputs: unknown[] = [];
  /** The events of the current call that its result reports (the last ones it keeps), in emission order. */
  keptEvents: () => WorkflowEvent[] = () => [];

  /**
   * Record an event of the current call. The call chooses it once, so a call
   * without plugins pays nothing for them on the hot path.
   */
  emit: (event: WorkflowEvent) => void = () => {
    throw new Error("RunContext.emit before beginCall");
  };

  /** Start a call (run, resume or respond): its events go to `emit`, `keptEvents` reports them. */
  beginCall(emit: (event: WorkflowEvent) => void, keptEvents: () => WorkflowEvent[]): void {
    this.emit = emit;
    this.keptEvents = keptEvents;
    this.outputs = [];
  }

  pendingList(): PendingRequest[] {
    return [...this.pending.values()];
  }

  /**
   * Match answers to the pending requests.
   *
   * @throws {RequestNotPendingError} For an id that is not pending, or answers when nothing is.
   */
  answers(responses: Record<string, unknown> | undefined): Delivery[] {
    if (responses === undefined) return [];
    const ids = Object.keys(responses);
    if (ids.length > 0 && this.pending.size === 0) {
      throw new RequestNotPendingError(
        `Cannot respond: no request is pending (got ${ids.length} response(s))`,
      );
    }
    return ids.map((id) => {
      const request = this.pending.get(id);
      if (request === undefined) {
        throw new RequestNotPendingError(
          `Cannot respond: request "${id}" is not pending (pending: ${[...this.pending.keys()].join(", ")})`,
        );
      }
      return { request, response: responses[id] };
    });
  }
}
