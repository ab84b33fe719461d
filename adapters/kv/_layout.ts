// The key layout of the Deno KV checkpoint storage (package-private): every key it reads or writes, under
// the storage's prefix.
import { CheckpointCorruptError } from "../../src/errors.ts";
import type { KvKey } from "./handle.ts";

/** The keys of one storage, all under `prefix`. */
export class Layout {
  readonly #prefix: KvKey;

  constructor(prefix: KvKey) {
    this.#prefix = prefix;
  }

  /**
   * A checkpoint's record: its summary, then its payload when the two fit into one value (`_records.ts`);
   * the `checkpoint` range is also the global index, by id.
   */
  checkpoint(id: string): KvKey {
    return [...this.#prefix, "checkpoint", id];
  }
  checkpoints(): KvKey {
    return [...this.#prefix, "checkpoint"];
  }
  /** The index by session: a copy of the summary under the session and the id. */
  bySession(sessionId: string, id?: string): KvKey {
    return id === undefined
      ? [...this.#prefix, "by_session", sessionId]
      : [...this.#prefix, "by_session", sessionId, id];
  }
  /** The index by workflow: a copy of the summary under the workflow name and the id. */
  byWorkflow(workflowName: string, id?: string): KvKey {
    return id === undefined
      ? [...this.#prefix, "by_workflow", workflowName]
      : [...this.#prefix, "by_workflow", workflowName, id];
  }
  /** Where the session index and the inbox keep their keys (`_index.ts`). */
  indexPrefix(): KvKey {
    return [...this.#prefix];
  }
  /** A session's head: the id its next checkpoint must follow (the compare-and-set key). */
  head(sessionId: string): KvKey {
    return [...this.#prefix, "head", sessionId];
  }
  /** A session's lease (`claimLease`): checked by the commit of every save that carries it. */
  lease(sessionId: string): KvKey {
    return [...this.#prefix, "lease", sessionId];
  }
  /** Payload chunk `index` of one save (`token`) of checkpoint `id` whose payload is not in its record. */
  chunk(id: string, token: string, index: number): KvKey {
    return [...this.#prefix, "chunk", id, token, index];
  }
  chunks(id: string, token: string): KvKey {
    return [...this.#prefix, "chunk", id, token];
  }
  /** A save whose chunks are staged but not committed yet. */
  staging(sessionId?: string, token?: string): KvKey {
    if (sessionId === undefined) return [...this.#prefix, "staging"];
    return token === undefined
      ? [...this.#prefix, "staging", sessionId]
      : [...this.#prefix, "staging", sessionId, token];
  }
  /**
   * A checkpoint stored as a delta on `baseId` (its parent, or its parent's base): the base's deletion lists
   * these and makes each whole first, since a delta's payload needs its base's. ("delta_child": the name
   * of when a delta's base was always its parent.)
   */
  dependent(baseId: string, dependentId?: string): KvKey {
    return dependentId === undefined
      ? [...this.#prefix, "delta_child", baseId]
      : [...this.#prefix, "delta_child", baseId, dependentId];
  }
  /** The chunks of a deleted checkpoint that did not fit into the deleting atomic. */
  trash(id?: string, token?: string): KvKey {
    if (id === undefined) return [...this.#prefix, "trash"];
    return [...this.#prefix, "trash", id, token!];
  }
}

/** The id at the end of an index or summary key. */
export function lastPart(key: readonly unknown[]): string {
  const id = key[key.length - 1];
  if (typeof id !== "string") {
    throw new CheckpointCorruptError(undefined, "kv: an index key does not end in an id");
  }
  return id;
}

/** Every entry of a range read. */
export async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}
