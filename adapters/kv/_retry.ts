/**
 * Retries of KV operations that hit a locked SQLite file (package-private).
 *
 * A local KV store is a SQLite file. Two handles on one file (two processes, or two `openKv` calls) write
 * one at a time, and the loser of that race fails at once with "database is locked": neither `Deno.openKv`
 * nor `@deno/kv` waits. A locked write applied nothing (SQLite rolls the transaction back), so replaying it
 * is safe; its checks still decide whether it may apply.
 *
 * @module
 */
import type { KvAtomicOperation, KvHandle, KvKey } from "./handle.ts";

/** How many times an operation is tried before a lock error is given up to the caller. */
const ATTEMPTS = 40;
/** The longest wait between two attempts, in milliseconds. */
const MAX_WAIT_MS = 64;

function isLocked(error: unknown): boolean {
  return error instanceof Error &&
    /database is locked|database table is locked|SQLITE_BUSY/i.test(error.message);
}

async function retry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= ATTEMPTS || !isLocked(error)) throw error;
      // Jittered exponential backoff, so two writers that collided do not collide again in step.
      const wait = Math.min(MAX_WAIT_MS, 2 ** attempt) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** An atomic that records its checks and mutations, so a locked commit can be replayed on a new one. */
class ReplayableAtomic implements KvAtomicOperation {
  readonly #kv: KvHandle;
  readonly #steps: ((op: KvAtomicOperation) => void)[] = [];

  constructor(kv: KvHandle) {
    this.#kv = kv;
  }
  check(...checks: { key: KvKey; versionstamp: string | null }[]): this {
    this.#steps.push((op) => op.check(...checks));
    return this;
  }
  set(key: KvKey, value: Uint8Array): this {
    this.#steps.push((op) => op.set(key, value));
    return this;
  }
  delete(key: KvKey): this {
    this.#steps.push((op) => op.delete(key));
    return this;
  }
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }> {
    return retry(() => {
      const op = this.#kv.atomic();
      for (const step of this.#steps) step(op);
      return op.commit();
    });
  }
}

/** `kv`, with reads and commits retried while the SQLite file is locked by another handle. */
export function retryingLocks(kv: KvHandle): KvHandle {
  return {
    get: (key) => retry(() => kv.get(key)),
    getMany: (keys) => retry(() => kv.getMany(keys)),
    list: (selector, options) => kv.list(selector, options),
    atomic: () => new ReplayableAtomic(kv),
  };
}
