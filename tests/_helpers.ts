// Shared test helpers. Tests may touch runtime globals; the core may not.

/** Force a full garbage collection on Deno/Node (`--expose-gc`) or Bun. */
export function forceGc(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) bun.gc(true);
  else {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== "function") {
      throw new Error("Run the tests with --expose-gc (Node) or --v8-flags=--expose-gc (Deno)");
    }
    gc();
  }
}

/** A macrotask turn: FinalizationRegistry callbacks run as tasks after a collection. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Collect garbage and yield until `condition` holds, at most `rounds` times.
 * Finalizers have no event to await, so this is the one bounded poll the tests use.
 *
 * @returns Whether the condition came true.
 */
export async function collectUntil(condition: () => boolean, rounds = 50): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    // WeakRef.deref() (inside `condition`) keeps its target alive until the current job ends,
    // so collect only in a fresh job, never in the one that just checked.
    await turn();
    forceGc();
    await turn();
    await turn();
    if (condition()) return true;
  }
  return condition();
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}
