// Fault injection for the storage-fault tests: a save, a libSQL write batch or a KV commit that throws,
// either before it applies (nothing written) or after (written, but the caller never hears so).
import type { KvHandle } from "../adapters/kv/mod.ts";
import type { LibsqlClient } from "../adapters/libsql/mod.ts";
import type { Checkpoint, CheckpointQuery, CheckpointStorage, CheckpointSummary } from "../mod.ts";

/** Whether an injected failure happens before the operation applies or after. */
export type FaultTiming = "before" | "after";

/** A storage whose `failAt`-th save throws, before or after the save reaches the inner storage. */
export class FaultyStorage implements CheckpointStorage {
  saves = 0;
  readonly #inner: CheckpointStorage;
  readonly #failAt: number;
  readonly #when: FaultTiming;
  constructor(inner: CheckpointStorage, failAt: number, when: FaultTiming) {
    this.#inner = inner;
    this.#failAt = failAt;
    this.#when = when;
  }
  async save(checkpoint: Checkpoint): Promise<void> {
    const failing = ++this.saves === this.#failAt;
    if (failing && this.#when === "before") throw new Error("injected: disk full");
    await this.#inner.save(checkpoint);
    if (failing) throw new Error("injected: the connection dropped after the commit");
  }
  load(id: string): Promise<Checkpoint | undefined> {
    return this.#inner.load(id);
  }
  list(query?: CheckpointQuery): Promise<CheckpointSummary[]> {
    return this.#inner.list(query);
  }
  head(sessionId: string): Promise<string | undefined> {
    return this.#inner.head(sessionId);
  }
  delete(id: string): Promise<boolean> {
    return this.#inner.delete(id);
  }
  deleteSession(sessionId: string): Promise<number> {
    return this.#inner.deleteSession(sessionId);
  }
}

/** A libSQL client whose `failAt`-th write batch (counted once armed) throws, before or after it applies. */
export function faultyClient(inner: LibsqlClient, failAt: number, when: FaultTiming) {
  let batches = 0;
  const control = { armed: false };
  const client: LibsqlClient = {
    protocol: inner.protocol,
    execute: (statement) => inner.execute(statement),
    async batch(statements, mode) {
      const failing = control.armed && ++batches === failAt;
      if (failing && when === "before") throw new Error("SQLITE_IOERR: injected disk I/O error");
      const results = await inner.batch(statements, mode);
      if (failing) throw new Error("injected: the connection dropped after the commit");
      return results;
    },
    close: () => inner.close(),
  };
  return { client, control };
}

/** A KV handle whose `failAt`-th atomic commit (counted once armed) throws, before or after it applies. */
export function faultyKv(inner: KvHandle, failAt: number, when: FaultTiming) {
  let commits = 0;
  const control = { armed: false };
  const kv: KvHandle = {
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    list: (selector, options) => inner.list(selector, options),
    atomic() {
      const op = inner.atomic();
      const wrapper = {
        check: (...checks: Parameters<typeof op.check>) => (op.check(...checks), wrapper),
        set: (...args: Parameters<typeof op.set>) => (op.set(...args), wrapper),
        delete: (...args: Parameters<typeof op.delete>) => (op.delete(...args), wrapper),
        async commit() {
          const failing = control.armed && ++commits === failAt;
          if (failing && when === "before") throw new Error("injected: KV commit failed");
          const result = await op.commit();
          if (failing) throw new Error("injected: the connection dropped after the commit");
          return result;
        },
      };
      return wrapper as unknown as ReturnType<KvHandle["atomic"]>;
    },
  };
  return { kv, control };
}
