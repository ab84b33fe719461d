// An append-only log of one call's events that any number of readers consume
// from the start, each at its own pace; readers wait for events still to come.
import type { WorkflowEvent } from "./events.ts";

export class EventLog {
  readonly events: WorkflowEvent[] = [];
  #wake: (() => void)[] = [];
  #closed = false;
  #failure: { error: unknown } | undefined;

  push(event: WorkflowEvent): void {
    this.events.push(event);
    this.#notify();
  }

  /** No more events; `failure` makes readers throw after the last event. */
  close(failure?: { error: unknown }): void {
    this.#closed = true;
    this.#failure = failure;
    this.#notify();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The event at `index`: `{ value }`, `{ done }` past the end of a closed log,
   * or `{ error }` past the end of a failed one.
   */
  async read(index: number): Promise<{ value: WorkflowEvent } | { done: true } | { error: unknown }> {
    while (index >= this.events.length && !this.#closed) {
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
    if (index < this.events.length) return { value: this.events[index] };
    return this.#failure ? { error: this.#failure.error } : { done: true };
  }

  #notify(): void {
    if (this.#wake.length === 0) return;
    const wake = this.#wake;
    this.#wake = [];
    for (const resolve of wake) resolve();
  }
}
