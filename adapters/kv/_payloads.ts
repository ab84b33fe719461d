/**
 * The payload chunks of the Deno KV checkpoint storage: staging them before a commit, reading them back,
 * and removing the chunks of saves that never committed and of deleted checkpoints (package-private).
 *
 * The rule that makes cleanup safe next to writers in other processes: a staged save has a record
 * (`staging/<session>/<token>`) that its chunk writes and its final commit check. A cleaner first rewrites
 * the record as abandoned in an atomic that checks it is unchanged, so either the save committed first (the
 * commit deleted the record: the claim fails and the chunks stay) or it never can (its checks fail); only
 * after the claim are the chunks deleted.
 *
 * @module
 */
import type { Checkpoint } from "../../src/checkpoint.ts";
import { StorageError } from "../../src/errors.ts";
import { headMoved } from "../../src/storage_kit.ts";
import type { KvHandle, KvKey } from "./handle.ts";
import type { Layout } from "./_layout.ts";
import { keySize, MAX_VALUE_BYTES, planBatches, sizesOf, splitChunks } from "./_limits.ts";
import {
  decodeStaging,
  decodeText,
  decodeTrash,
  encodeRecord,
  encodeSummary,
  inlineRecord,
  type StagingRecord,
  type StoredSummary,
  type TrashRecord,
} from "./_records.ts";

/** Where a checkpoint's payload goes: its record's value, and the chunks to write (none when inline). */
export interface Placement {
  /** The summary alone, for the index copies. */
  summary: Uint8Array;
  /** The value of `checkpoint/<id>`: the summary, followed by the payload when it is inline. */
  record: Uint8Array;
  chunks: [KvKey, Uint8Array][];
}

/**
 * Places `payload`: inline in the checkpoint's record when the record fits one KV value and `fits` says its
 * commit does (given the record and the summary of the index copies), else in chunks under `stored.token`.
 * A resume `copy` goes into the record after an inline payload when that record still fits; else there is
 * none (the session then resumes through its chain). Sets `stored.chunks` (0: inline) and `stored.copy`.
 * `stored.chain` and `stored.copy` go into the record's summary only.
 *
 * @throws {RangeError} If the summary is too large for a KV value.
 */
export function placePayload(
  keys: Layout,
  stored: StoredSummary,
  payload: Uint8Array,
  fits: (record: Uint8Array, summary: Uint8Array) => boolean,
  copy?: Uint8Array,
): Placement {
  stored.chunks = 0;
  if (copy !== undefined) {
    stored.copy = copy.length;
    const [summary, own] = summaries(stored);
    if (own.length + 1 + payload.length + copy.length <= MAX_VALUE_BYTES) {
      const record = inlineRecord(own, payload, copy);
      if (fits(record, summary)) return { summary, record, chunks: [] };
    }
  }
  stored.copy = undefined;
  let [summary, own] = summaries(stored);
  if (own.length + 1 + payload.length <= MAX_VALUE_BYTES) {
    const record = inlineRecord(own, payload);
    if (fits(record, summary)) return { summary, record, chunks: [] };
  }
  const chunks = splitChunks(payload);
  stored.chunks = chunks.length;
  [summary, own] = summaries(stored);
  const { id, token } = stored;
  return { summary, record: own, chunks: chunks.map((chunk, i) => [keys.chunk(id, token, i), chunk]) };
}

/** The summary of the index copies (without `chain` and `copy`), and the record's own (with them). */
function summaries(stored: StoredSummary): [Uint8Array, Uint8Array] {
  if (stored.chain === undefined && stored.copy === undefined) {
    const summary = encodeSummary(stored);
    return [summary, summary];
  }
  const own = encodeSummary(stored);
  // Unset, not spread out (a rest spread would make a new object shape per save): JSON leaves them out.
  const { chain, copy } = stored;
  stored.chain = undefined;
  stored.copy = undefined;
  const summary = encodeSummary(stored);
  stored.chain = chain;
  stored.copy = copy;
  return [summary, own];
}

/** A staged save: its record, with the key and versionstamp its commit checks. */
export interface Staging {
  key: KvKey;
  versionstamp: string;
  record: StagingRecord;
}

/** An entry of a KV range read. */
export interface Entry {
  key: readonly unknown[];
  value: unknown;
  versionstamp: string;
}

/** The payload chunks of one storage. */
export class Payloads {
  readonly #kv: KvHandle;
  readonly #keys: Layout;
  readonly #staleAfterMs: number;

  constructor(kv: KvHandle, keys: Layout, staleAfterMs: number) {
    this.#kv = kv;
    this.#keys = keys;
    this.#staleAfterMs = staleAfterMs;
  }

  /**
   * Records a save, then writes its chunks in as many atomics as KV's limits need. On failure the staged
   * chunks are removed (best effort) before the error is thrown.
   *
   * @throws {CheckpointConflictError} If the session head moved while staging (a cleaner claimed the save).
   */
  async stage(
    checkpoint: Checkpoint,
    stored: StoredSummary,
    headVersionstamp: string | null,
    writes: [KvKey, Uint8Array][],
  ): Promise<Staging> {
    const key = this.#keys.staging(stored.sessionId, stored.token);
    const record: StagingRecord = {
      id: stored.id,
      sessionId: stored.sessionId,
      token: stored.token,
      chunks: stored.chunks,
      headVersionstamp,
      startedAt: Date.now(),
    };
    const created = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, encodeRecord(record))
      .commit();
    if (!created.ok) {
      throw new StorageError("kv", `save checkpoint ${stored.id}`, { detail: "its staging key is taken" });
    }
    const staging = { key, versionstamp: created.versionstamp, record };
    try {
      const check = { key, versionstamp: created.versionstamp };
      const fixed = { mutations: 0, keyBytes: keySize(key), valueBytes: 0 };
      for (const [start, end] of planBatches(sizesOf(writes), fixed)) {
        const op = this.#kv.atomic().check(check);
        for (let i = start; i < end; i++) op.set(writes[i][0], writes[i][1]);
        if (!(await op.commit()).ok) throw await this.lostStaging(checkpoint, staging);
      }
    } catch (error) {
      await this.discardQuietly(staging);
      throw error;
    }
    return staging;
  }

  /** Why a staged save's record changed under it: its session head moved, or it was taken for abandoned. */
  async lostStaging(checkpoint: Checkpoint, staging: Staging): Promise<Error> {
    const head = await this.#kv.get(this.#keys.head(checkpoint.sessionId));
    if (head.versionstamp !== staging.record.headVersionstamp) {
      return headMoved("kv", checkpoint, head.versionstamp === null ? null : decodeText(head.value));
    }
    return new StorageError("kv", `save checkpoint ${checkpoint.id}`, {
      detail: `its staged chunks were removed as abandoned (the save took longer than staleAfterMs, ` +
        `${this.#staleAfterMs} ms)`,
    });
  }

  /** The payload named by a summary, or what is wrong with its chunks. */
  async read(stored: StoredSummary): Promise<Uint8Array | string> {
    const out = new Uint8Array(stored.bytes);
    let index = 0;
    let offset = 0;
    const entries = this.#kv.list(
      { prefix: this.#keys.chunks(stored.id, stored.token) },
      { batchSize: Math.max(1, Math.min(stored.chunks, 100)) },
    );
    for await (const { key, value } of entries) {
      if (
        key[key.length - 1] !== index || !(value instanceof Uint8Array) || offset + value.length > out.length
      ) {
        return `chunk ${index} of ${stored.chunks} is missing or damaged`;
      }
      out.set(value, offset);
      offset += value.length;
      index++;
    }
    if (index !== stored.chunks || offset !== stored.bytes) {
      return `chunk ${index} of ${stored.chunks} is missing or damaged`;
    }
    return out;
  }

  /**
   * Whether a staged save can be removed: it was claimed already, its session head moved since it staged
   * (`headVersionstamp`, read after the record was seen, can never again be the one it checks), or it is
   * at least `olderThanMs` old. A save staged against "no head" may still commit if the session is emptied
   * again, so only age dooms it.
   */
  isDoomed(record: StagingRecord, headVersionstamp: string | null, olderThanMs: number): boolean {
    return record.abandoned === true ||
      (record.headVersionstamp !== null && record.headVersionstamp !== headVersionstamp) ||
      Date.now() - record.startedAt >= olderThanMs;
  }

  /**
   * Removes the staged saves among `entries` (of one session) that a commit of `headVersionstamp` doomed,
   * or that are stale. Best effort: it runs after a save committed, which must not fail because of it.
   */
  async sweep(entries: Entry[], headVersionstamp: string): Promise<void> {
    for (const entry of entries) {
      const record = decodeStaging(entry.value);
      if (record && this.isDoomed(record, headVersionstamp, this.#staleAfterMs)) {
        await this.discardQuietly({ key: entry.key as KvKey, versionstamp: entry.versionstamp, record });
      }
    }
  }

  /**
   * Claims a staged save (so it can no longer commit), deletes its chunks, then its record.
   *
   * @returns `false` if the save committed or another cleaner claimed it first.
   */
  async discard({ key, versionstamp, record }: Staging): Promise<boolean> {
    let claimed = versionstamp;
    if (!record.abandoned) {
      const result = await this.#kv.atomic().check({ key, versionstamp })
        .set(key, encodeRecord({ ...record, abandoned: true })).commit();
      if (!result.ok) return false;
      claimed = result.versionstamp;
    }
    await this.#deleteChunks(record.id, record.token, record.chunks);
    await this.#kv.atomic().check({ key, versionstamp: claimed }).delete(key).commit();
    return true;
  }

  /** {@linkcode discard}, swallowing errors: if the store is down, `vacuum()` or a later save finds the record. */
  async discardQuietly(staging: Staging): Promise<void> {
    await this.discard(staging).catch(() => false);
  }

  /** Deletes the chunks a trash record names, then the record. */
  async emptyTrash(record: TrashRecord): Promise<void> {
    await this.#deleteChunks(record.id, record.token, record.chunks);
    await this.#kv.atomic().delete(this.#keys.trash(record.id, record.token)).commit();
  }

  /** Removes doomed or `olderThanMs`-old staged saves and pending trash; see `KvCheckpointStorage.vacuum`. */
  async vacuum(olderThanMs: number): Promise<{ abandonedSaves: number; deletedPayloads: number }> {
    const result = { abandonedSaves: 0, deletedPayloads: 0 };
    for await (const entry of this.#kv.list({ prefix: this.#keys.staging() })) {
      const record = decodeStaging(entry.value);
      if (!record) {
        await this.#deleteEntry(entry);
        continue;
      }
      const head = await this.#kv.get(this.#keys.head(record.sessionId));
      if (!this.isDoomed(record, head.versionstamp, olderThanMs)) continue;
      if (await this.discard({ key: entry.key as KvKey, versionstamp: entry.versionstamp, record })) {
        result.abandonedSaves++;
      }
    }
    for await (const entry of this.#kv.list({ prefix: this.#keys.trash() })) {
      const record = decodeTrash(entry.value);
      if (record) await this.emptyTrash(record);
      else await this.#deleteEntry(entry);
      result.deletedPayloads++;
    }
    return result;
  }

  async #deleteEntry(entry: Entry): Promise<void> {
    const key = entry.key as KvKey;
    await this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).delete(key).commit();
  }

  async #deleteChunks(id: string, token: string, count: number): Promise<void> {
    const keys = Array.from({ length: count }, (_, i) => this.#keys.chunk(id, token, i));
    const sizes = keys.map((key) => ({ keyBytes: keySize(key), valueBytes: 0 }));
    for (const [start, end] of planBatches(sizes)) {
      const op = this.#kv.atomic();
      for (let i = start; i < end; i++) op.delete(keys[i]);
      await op.commit();
    }
  }
}
