// A log of one call's events that any number of readers consume, each at its own pace; readers wait for
// events still to come. It keeps every event a live reader has yet to read, and besides those only the
// last `keep`: a long run does not hold every event it ever emitted until it ends (on V8 those survivors
// were a third of a fresh process's time, all of it garbage collection).
import type { WorkflowEvent } from "./events.ts";

/** Where one reader is: the absolute index of the next event it reads. */
export interface Cursor {
  index: number;
}

export class EventLog {
  /** The kept events: `events[0]` is the call's event number `#offset`. */
  readonly events: WorkflowEvent[] = [];
  #offset = 0;
  #keep: number;
  #cursors = new Set<Cursor>();
  #wake: (() => void)[] = [];
  #closed = false;
  #failure: { error: unknown } | undefined;

  /** @param keep How many of the last events to keep for readers that start late (and `result.events`). */
  constructor(keep: number = Infinity) {
    this.#keep = keep;
  }

  push(event: WorkflowEvent): void {
    const events = this.events;
    events.push(event);
    // Trimmed in batches of `keep`, so the cost per event stays constant.
    if (events.length > 2 * this.#keep + 64) this.#trim();
    if (this.#wake.length > 0) this.#notify();
  }

  /** No more events; `failure` makes readers throw after the last event. */
  close(failure?: { error: unknown }): void {
    this.#closed = true;
    this.#failure = failure;
    if (this.events.length > this.#keep) this.#trim();
    this.#notify();
  }

  /** The last `keep` events (a copy: what `result.events` holds). */
  kept(): WorkflowEvent[] {
    const events = this.events;
    return events.length <= this.#keep ? events.slice() : events.slice(events.length - this.#keep);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A reader that starts at the oldest event kept; `release` it when done, or it keeps what it has not read. */
  open(): Cursor {
    const cursor = { index: this.#offset };
    this.#cursors.add(cursor);
    return cursor;
  }

  release(cursor: Cursor): void {
    this.#cursors.delete(cursor);
  }

  /**
   * The event at `cursor` (then moved past it): `{ value }`, `{ done }` past the end of a closed log, or
   * `{ error }` past the end of a failed one.
   */
  async read(cursor: Cursor): Promise<{ value: WorkflowEvent } | { done: true } | { error: unknown }> {
    while (cursor.index - this.#offset >= this.events.length && !this.#closed) {
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
    const at = cursor.index - this.#offset;
    if (at < this.events.length) {
      cursor.index++;
      return { value: this.events[at] };
    }
    return this.#failure ? { error: this.#failure.error } : { done: true };
  }

  /** Drop the events older than both the last `keep` and every live reader's next one. */
  #trim(): void {
    let drop = this.events.length - this.#keep;
    for (const cursor of this.#cursors) drop = Math.min(drop, cursor.index - this.#offset);
    if (drop <= 0) return;
    this.events.splice(0, drop);
    this.#offset += drop;
  }

  #notify(): void {
    if (this.#wake.length === 0) return;
    const wake = this.#wake;
    this.#wake = [];
    for (const resolve of wake) resolve();
  }
}
