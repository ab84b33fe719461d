/**
 * The concurrent-run guard of a `Workflow` instance.
 *
 * A workflow instance holds executor instances, so it runs one run at a time.
 * The lock is a `WeakRef` to the live run handle plus an owner token:
 * - the run releases it when it completes, fails or is cancelled;
 * - a handle dropped without being awaited, or dropped mid-iteration, dies: its
 *   `WeakRef` no longer derefs (the guard is free again at once) and a
 *   `FinalizationRegistry` callback aborts the orphaned work;
 * - every release is an identity check on the owner token, so the late cleanup
 *   or finalizer of an old run never releases a successor's lock.
 *
 * @module
 */
import { WorkflowAlreadyRunningError } from "./errors.ts";

/** Proof of holding the guard; only its holder can release it. */
export type RunOwner = { readonly workflowName: string };

interface Held {
  owner: RunOwner;
  handle: WeakRef<object>;
}

interface Registration {
  guard: RunGuard;
  owner: RunOwner;
  onCollected: () => void;
}

/**
 * One registry for every guard: a registry per guard was an object and a token table more per workflow
 * instance, and a server builds an instance per request.
 */
const collected = new FinalizationRegistry<Registration>((registration) => {
  // The handle is gone; abort what it started, then free the lock if (and only if) it is still this run's.
  registration.onCollected();
  registration.guard.release(registration.owner);
});

/**
 * One workflow instance's lock against concurrent runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunGuard } from "./run_guard.ts";
 * const guard = new RunGuard("demo");
 * const handle = {};
 * const owner = guard.acquire(handle, () => {});
 * assert.ok(guard.isHeld);
 * guard.release(owner);
 * ```
 */
export class RunGuard {
  #workflowName: string;
  #held: Held | undefined;

  /** @param workflowName Named in `WorkflowAlreadyRunningError`. */
  constructor(workflowName: string) {
    this.#workflowName = workflowName;
  }

  /** Whether a live run holds the guard. A collected handle does not. */
  get isHeld(): boolean {
    return this.#held !== undefined && this.#held.handle.deref() !== undefined;
  }

  /**
   * Take the guard for `handle`, synchronously.
   *
   * @param handle The run handle the lock lives as long as.
   * @param onCollected Called if the handle is garbage-collected while still registered.
   * @returns The owner token.
   * @throws {WorkflowAlreadyRunningError} If a live run holds it.
   */
  acquire(handle: object, onCollected: () => void): RunOwner {
    if (this.isHeld) throw new WorkflowAlreadyRunningError(this.#workflowName);
    const owner: RunOwner = { workflowName: this.#workflowName };
    this.#held = { owner, handle: new WeakRef(handle) };
    collected.register(handle, { guard: this, owner, onCollected }, owner);
    return owner;
  }

  /** Whether `owner` still holds the guard. */
  owns(owner: RunOwner): boolean {
    return this.#held?.owner === owner;
  }

  /**
   * Release the guard if `owner` holds it. The finalizer is dropped either way:
   * a run that ended needs no cleanup when its handle is collected later.
   *
   * @returns Whether `owner` held it.
   */
  release(owner: RunOwner): boolean {
    collected.unregister(owner);
    if (this.#held?.owner !== owner) return false;
    this.#held = undefined;
    return true;
  }
}
