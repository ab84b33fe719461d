// Deleting checkpoints of the Deno KV storage (package-private): optimistic atomics that check what they
// read, move a session's head off a deleted head, and delete chunks inline or through a trash record.
import { StorageError } from "../../src/errors.ts";
import { headAfterDelete } from "../../src/storage_kit.ts";
import type { KvAtomicOperation, KvHandle, KvKey } from "./handle.ts";
import { collect, lastPart, type Layout } from "./_layout.ts";
import { fitsOneAtomic, keySize, MAX_CHECKS, type MutationSize } from "./_limits.ts";
import type { Payloads } from "./_payloads.ts";
import {
  decodeStored,
  decodeText,
  encodeRecord,
  encodeText,
  type StoredSummary,
  type TrashRecord,
} from "./_records.ts";

/** Chunk deletions of one checkpoint done inside its deleting atomic; beyond that, a trash record. */
const INLINE_CHUNK_DELETES = 64;
/** The most key bytes those inline chunk deletions may take (KV allows 80 KiB of keys per atomic). */
const INLINE_KEY_BYTES = 16 * 1024;
/** Attempts of an optimistic delete before it gives up under contention. */
export const MAX_ATTEMPTS = 64;

/** A checkpoint about to be deleted: its summary and the versionstamp of its save. */
interface Doomed {
  summary: StoredSummary;
  versionstamp: string;
}

/** The mutations that delete one checkpoint. */
interface Deletion {
  doomed: Doomed;
  /** The summary's key first. */
  deletes: KvKey[];
  trash?: { key: KvKey; record: TrashRecord; value: Uint8Array };
  sizes: MutationSize[];
}

export class Deletions {
  readonly #kv: KvHandle;
  readonly #keys: Layout;
  readonly #payloads: Payloads;

  constructor(kv: KvHandle, keys: Layout, payloads: Payloads) {
    this.#kv = kv;
    this.#keys = keys;
    this.#payloads = payloads;
  }

  /** See `KvCheckpointStorage.delete`. */
  async checkpoint(id: string): Promise<boolean> {
    const keys = this.#keys;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(keys.checkpoint(id));
      if (entry.versionstamp === null) return false;
      const summary = decodeStored(id, entry.value);
      const headKey = keys.head(summary.sessionId);
      const head = await this.#kv.get(headKey);
      // The head is always checked: a concurrent delete of the head could move it onto this checkpoint.
      const op = this.#kv.atomic().check({ key: headKey, versionstamp: head.versionstamp });
      if (head.versionstamp !== null && decodeText(head.value) === id) {
        const next = await this.#successor(summary);
        if (next) {
          op.check({ key: keys.checkpoint(next.id), versionstamp: next.versionstamp });
          op.set(headKey, encodeText(next.id));
        } else op.delete(headKey);
      }
      const plan = this.#planDeletion({ summary, versionstamp: entry.versionstamp });
      this.#addDeletion(op, plan);
      if ((await op.commit()).ok) {
        if (plan.trash) await this.#payloads.emptyTrash(plan.trash.record);
        return true;
      }
    }
    throw new StorageError("kv", `delete checkpoint ${id}`, {
      detail: "concurrent writes kept changing its session",
    });
  }

  /** See `KvCheckpointStorage.deleteSession`. */
  async session(sessionId: string): Promise<number> {
    const headKey = this.#keys.head(sessionId);
    const headless = { key: headKey, versionstamp: null };
    let count = 0;
    for (let round = 0; round < MAX_ATTEMPTS; round++) {
      // The head goes first, so that at every instant it is absent or names a checkpoint that exists (a
      // crash midway leaves checkpoints without a head, never a head naming a deleted checkpoint). Once it is
      // gone, a save that follows one of the session's checkpoints is refused (parent-missing).
      const head = await this.#kv.get(headKey);
      if (head.versionstamp !== null) {
        const result = await this.#kv.atomic().check({ key: headKey, versionstamp: head.versionstamp })
          .delete(headKey).commit();
        // A save moved the head meanwhile: go round again.
        if (!result.ok) continue;
      }
      const page = await collect(this.#kv.list({ prefix: this.#keys.bySession(sessionId) }, { limit: 100 }));
      if (page.length === 0) {
        // A new lineage (parent null) may have started the session again meanwhile: then round again.
        if ((await this.#kv.get(headKey)).versionstamp === null) return count;
        continue;
      }
      const doomed = page.map((entry) => ({
        summary: decodeStored(lastPart(entry.key), entry.value),
        // An index entry is written in the same commit as its summary, so they share the versionstamp.
        versionstamp: entry.versionstamp,
      }));
      // Each deleting atomic checks the head is still absent: a checkpoint a new lineage just made head stays.
      count += await this.#deleteAll(doomed, headless);
    }
    throw new StorageError("kv", `delete session ${JSON.stringify(sessionId)}`, {
      detail: "concurrent saves kept extending it",
    });
  }

  /**
   * How to delete a checkpoint: its summary, index entries and chunks, or, for a payload with many chunks
   * (or long keys), a trash record whose chunks are deleted after the commit.
   */
  #planDeletion(doomed: Doomed): Deletion {
    const keys = this.#keys;
    const { id, token, chunks, sessionId, workflowName } = doomed.summary;
    const deletes = [keys.checkpoint(id), keys.bySession(sessionId, id), keys.byWorkflow(workflowName, id)];
    const chunkKeys = Array.from({ length: chunks }, (_, i) => keys.chunk(id, token, i));
    const chunkKeyBytes = chunkKeys.reduce((sum, key) => sum + keySize(key), 0);
    let trash: Deletion["trash"];
    if (chunks <= INLINE_CHUNK_DELETES && chunkKeyBytes <= INLINE_KEY_BYTES) deletes.push(...chunkKeys);
    else {
      const record: TrashRecord = { id, token, chunks };
      trash = { key: keys.trash(id, token), record, value: encodeRecord(record) };
    }
    const sizes: MutationSize[] = deletes.map((key) => ({ keyBytes: keySize(key), valueBytes: 0 }));
    // The check's key counts against the key budget too.
    sizes.push({ keyBytes: keySize(deletes[0]), valueBytes: 0 });
    if (trash) sizes.push({ keyBytes: keySize(trash.key), valueBytes: trash.value.length });
    return { doomed, deletes, trash, sizes };
  }

  /** Adds a planned deletion to `op`, with a check that the checkpoint is unchanged since it was read. */
  #addDeletion(op: KvAtomicOperation, { doomed, deletes, trash }: Deletion): void {
    op.check({ key: deletes[0], versionstamp: doomed.versionstamp });
    for (const key of deletes) op.delete(key);
    if (trash) op.set(trash.key, trash.value);
  }

  /** Deletes checkpoints, several per atomic; returns how many this call deleted. */
  async #deleteAll(doomed: Doomed[], also: { key: KvKey; versionstamp: null }): Promise<number> {
    const plans = doomed.map((entry) => this.#planDeletion(entry));
    let count = 0;
    let start = 0;
    while (start < plans.length) {
      // One check per checkpoint and `also` (KV allows ten per atomic); stop before any other limit.
      let end = start + 1;
      while (
        end < plans.length && end + 1 - start < MAX_CHECKS &&
        fitsOneAtomic(plans.slice(start, end + 1).flatMap((plan) => plan.sizes), end + 2 - start)
      ) end++;
      const group = plans.slice(start, end);
      start = end;
      const op = this.#kv.atomic().check(also);
      for (const plan of group) this.#addDeletion(op, plan);
      if ((await op.commit()).ok) {
        count += group.length;
        for (const plan of group) if (plan.trash) await this.#payloads.emptyTrash(plan.trash.record);
        continue;
      }
      // Someone else deleted one of them: go one by one, counting only ours.
      for (const plan of group) {
        const single = this.#kv.atomic().check(also);
        this.#addDeletion(single, plan);
        if ((await single.commit()).ok) {
          count++;
          if (plan.trash) await this.#payloads.emptyTrash(plan.trash.record);
        }
      }
    }
    return count;
  }

  /** Where the head of a session goes when its head `summary` is deleted, with the versionstamp to check. */
  async #successor(summary: StoredSummary): Promise<{ id: string; versionstamp: string } | undefined> {
    let parent: { id: string; versionstamp: string; sessionId: string } | undefined;
    if (summary.parentId !== null) {
      const entry = await this.#kv.get(this.#keys.checkpoint(summary.parentId));
      if (entry.versionstamp !== null) {
        const { sessionId } = decodeStored(summary.parentId, entry.value);
        parent = { id: summary.parentId, versionstamp: entry.versionstamp, sessionId };
      }
    }
    let newest: { id: string; versionstamp: string } | undefined;
    if (parent?.sessionId !== summary.sessionId) {
      const entries = this.#kv.list({ prefix: this.#keys.bySession(summary.sessionId) }, {
        reverse: true,
        limit: 2,
      });
      for await (const entry of entries) {
        const id = lastPart(entry.key);
        if (id === summary.id) continue;
        newest = { id, versionstamp: entry.versionstamp };
        break;
      }
    }
    const next = headAfterDelete(summary, parent?.sessionId, newest?.id);
    return next === undefined ? undefined : next === parent?.id ? parent : newest;
  }
}
