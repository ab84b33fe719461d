// The run context owns what flows through a run — queued messages, pending
// requests, and the current call's events and outputs — and knows nothing of
// the graph. The runner decides what happens; the context records it.
import type { QueuedMessage } from "./checkpoint.ts";
import type { PendingRequest, WorkflowEvent } from "./events.ts";
import type { EventLog } from "./_event_log.ts";
import type { PluginHost } from "./_plugin_host.ts";

export class RunContext {
  /** Sent in the last superstep, delivered in the next. */
  messages: QueuedMessage[] = [];
  readonly pending: Map<string, PendingRequest> = new Map();
  /** Outputs of the current call, in deterministic order. */
  outputs: unknown[] = [];
  #log: EventLog | undefined;

  /**
   * Record an event. Chosen once per call, so a call without plugins pays
   * nothing for them on the hot path.
   */
  emit: (event: WorkflowEvent) => void = () => {
    throw new Error("RunContext.emit before beginCall");
  };

  beginCall(log: EventLog, plugins?: PluginHost): void {
    this.#log = log;
    this.outputs = [];
    this.emit = plugins === undefined ? (event) => log.push(event) : (event) => {
      log.push(event);
      plugins.event(event);
    };
  }

  get events(): WorkflowEvent[] {
    return this.#log!.events;
  }

  pendingList(): PendingRequest[] {
    return [...this.pending.values()];
  }
}
