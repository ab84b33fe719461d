// The abort of one call (run, resume or respond). An AbortController and its signal cost microseconds on
// Node (the signal is made transferable), more than the rest of a small superstep, and most calls are
// never aborted and run handlers that never read `ctx.signal`: so the call's signal is made only when
// someone reads it, already aborted if the call was.

/** One call's abort: a cancel (the call ends `cancelled`) or a failure stopping the executors. */
export class CallAbort {
  /** Whether anything aborted the call. */
  aborted = false;
  /** Whether the call was cancelled (from outside: `cancel()`, the caller's signal, a dropped handle). */
  cancelled = false;
  reason: unknown;
  /** Called once, on the first abort, before any signal listener: the runner ends the running superstep. */
  onAbort: (() => void) | undefined;
  #controller: AbortController | undefined;

  /** The call's signal, made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /** Cancel the call: it ends `cancelled`, unless it already failed. */
  cancel(reason: unknown): void {
    if (!this.aborted) this.cancelled = true;
    this.abort(reason);
  }

  /** Abort the executors (a failure); the first abort's reason is the one they see. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.onAbort?.();
    this.#controller?.abort(reason);
  }
}
