// The WorkflowRun implementation. The handle is deliberately a thin wrapper:
// the work it starts references the shared `RunControl`, never the handle, so
// a handle dropped mid-iteration can be garbage-collected (the run guard's
// FinalizationRegistry then aborts the work). An awaited run pins its handle
// until it settles, so awaiting never races collection.
import type { WorkflowEvent, WorkflowResult } from "./events.ts";
import { type Cursor, EventLog } from "./_event_log.ts";
import { CallAbort } from "./_call_abort.ts";
import type { WorkflowRun } from "./workflow_run.ts";

export class RunControl {
  readonly log: EventLog;
  readonly abort: CallAbort = new CallAbort();
  promise: Promise<WorkflowResult> | undefined;
  /** Holds the handle while someone awaits the result. */
  pinned: object | undefined;
  #start: (control: RunControl) => Promise<WorkflowResult>;
  #release: () => void;

  /** @param keepEvents How many of the last events the log keeps besides those a live reader has yet to read. */
  constructor(
    start: (control: RunControl) => Promise<WorkflowResult>,
    release: () => void,
    keepEvents: number,
  ) {
    this.log = new EventLog(keepEvents);
    this.#start = start;
    this.#release = release;
  }

  ensureStarted(): Promise<WorkflowResult> {
    if (this.promise === undefined) {
      this.promise = this.#start(this).finally(() => this.pinned = undefined);
      // Readers that only iterate still see the failure; this keeps it from being reported as unhandled.
      this.promise.catch(() => {});
    }
    return this.promise;
  }

  /** Abort the work and free the workflow now (for `return()` and `cancel()`). */
  stop(reason: unknown): void {
    this.abort.cancel(reason);
    this.#release();
  }
}

export class RunHandle implements WorkflowRun {
  #control: RunControl;
  /**
   * What the run guard holds weakly instead of the handle: reachable only through the handle, so it is
   * collected exactly when the handle is. Holding the handle itself would keep the whole run (its events,
   * its result) alive until the current job ends — a `WeakRef`'s target is kept for the job that made it,
   * and a loop of awaited runs is one job, however many runs it makes.
   */
  readonly liveness: object = {};

  constructor(control: RunControl) {
    this.#control = control;
  }

  then<A = WorkflowResult, B = never>(
    onFulfilled?: ((value: WorkflowResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const promise = this.#control.ensureStarted();
    if (!this.#control.log.closed) this.#control.pinned = this;
    return promise.then(onFulfilled, onRejected);
  }

  catch<T = never>(
    onRejected?: ((reason: unknown) => T | PromiseLike<T>) | null,
  ): Promise<WorkflowResult | T> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<WorkflowResult> {
    const promise = this.#control.ensureStarted();
    if (!this.#control.log.closed) this.#control.pinned = this;
    return promise.finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return "WorkflowRun";
  }

  cancel(reason?: unknown): void {
    this.#control.stop(reason ?? new DOMException("The run was cancelled", "AbortError"));
  }

  [Symbol.asyncIterator](): AsyncIterator<WorkflowEvent> {
    this.#control.ensureStarted();
    return new RunIterator(this, this.#control);
  }
}

class RunIterator implements AsyncIterator<WorkflowEvent>, AsyncIterable<WorkflowEvent> {
  // Keeps the handle (and so the run guard's lock) alive while this iterator is.
  readonly handle: RunHandle;
  #control: RunControl;
  #cursor: Cursor;
  #finished = false;

  constructor(handle: RunHandle, control: RunControl) {
    this.handle = handle;
    this.#control = control;
    this.#cursor = control.log.open();
  }

  async next(): Promise<IteratorResult<WorkflowEvent>> {
    if (this.#finished) return { done: true, value: undefined };
    const read = await this.#control.log.read(this.#cursor);
    if ("value" in read) return { done: false, value: read.value };
    this.#finish();
    if ("error" in read) throw read.error;
    return { done: true, value: undefined };
  }

  #finish(): void {
    this.#finished = true;
    this.#control.log.release(this.#cursor);
  }

  async return(): Promise<IteratorResult<WorkflowEvent>> {
    this.#finish();
    if (!this.#control.log.closed) {
      this.#control.stop(new DOMException("The event stream was closed early", "AbortError"));
      await this.#control.promise?.catch(() => {});
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterator<WorkflowEvent> {
    return this;
  }
}
