// Deleting checkpoints of the Deno KV storage (package-private): optimistic atomics that check what they
// read, move a session's head off a deleted head, and delete chunks inline or through a trash record.
import type { Checkpoint } from "../../src/checkpoint.ts";
import { StorageError } from "../../src/errors.ts";
import { type DeltaCodec, headAfterDelete, type ReadChain } from "../../src/storage_kit.ts";
import type { KvAtomicOperation, KvHandle, KvKey } from "./handle.ts";
import { collect, lastPart, type Layout } from "./_layout.ts";
import { fitsOneAtomic, keySize, MAX_CHECKS, type MutationSize, sizesOf } from "./_limits.ts";
import { type Payloads, placePayload } from "./_payloads.ts";
import { KvIndex } from "./_index.ts";
import {
  decodeRecord,
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

/** What deleting needs of the storage's delta payloads: what is based on a checkpoint goes whole before it. */
export interface DeltaAccess {
  /** Re-bases a payload based on a checkpoint about to be deleted. */
  codec: DeltaCodec;
  /** A checkpoint's summary, payload text and the versionstamp of that record, or `undefined` if there is none. */
  payload(id: string): Promise<{ stored: StoredSummary; text: string; versionstamp: string } | undefined>;
  /** Reads a delta's base chain. */
  read: ReadChain;
}

export class Deletions {
  readonly #kv: KvHandle;
  readonly #keys: Layout;
  readonly #payloads: Payloads;
  readonly #deltas: DeltaAccess;
  readonly #index: KvIndex;

  constructor(kv: KvHandle, keys: Layout, payloads: Payloads, deltas: DeltaAccess, index: KvIndex) {
    this.#kv = kv;
    this.#index = index;
    this.#keys = keys;
    this.#payloads = payloads;
    this.#deltas = deltas;
  }

  /** See `KvCheckpointStorage.delete`. */
  async checkpoint(id: string): Promise<boolean> {
    const keys = this.#keys;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(keys.checkpoint(id));
      if (entry.versionstamp === null) return false;
      const summary = decodeRecord(id, entry.value).stored;
      const headKey = keys.head(summary.sessionId);
      const head = await this.#kv.get(headKey);
      // The dependents listed after the head was read are all there are: a later one would have moved the
      // head, which the deleting atomic checks. Made whole first (each in its own atomic: harmless if the
      // delete then fails), none of them needs this checkpoint's payload any more.
      const dependents = await collect(this.#kv.list({ prefix: keys.dependent(id) }));
      for (const dependent of dependents) {
        await this.#makeWhole(lastPart(dependent.key), id, head.versionstamp);
      }
      // The head is always checked: a concurrent delete of the head could move it onto this checkpoint.
      const op = this.#kv.atomic().check({ key: headKey, versionstamp: head.versionstamp });
      if (head.versionstamp !== null && decodeText(head.value) === id) {
        const next = await this.#successor(summary);
        // The session index follows the head, in the same atomic: the new head's summary holds its entry.
        const [indexed, successor] = await this.#kv.getMany([
          this.#index.entryKey(summary.sessionId),
          ...next ? [keys.checkpoint(next.id)] : [],
        ]);
        op.check({ key: this.#index.entryKey(summary.sessionId), versionstamp: indexed.versionstamp });
        const nextStored = next && successor?.versionstamp === next.versionstamp
          ? decodeRecord(next.id, successor.value).stored
          : undefined;
        if (next) {
          op.check({ key: keys.checkpoint(next.id), versionstamp: next.versionstamp });
          op.set(headKey, encodeText(next.id));
        } else op.delete(headKey);
        KvIndex.apply(op, this.#index.plan(summary.sessionId, this.#index.decode(indexed.value), nextStored));
      }
      const plan = this.#planDeletion({ summary, versionstamp: entry.versionstamp });
      this.#addDeletion(op, plan);
      if ((await op.commit()).ok) {
        if (plan.trash) await this.#payloads.emptyTrash(plan.trash.record);
        this.#deltas.codec.forget(id);
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
      const [head, indexed] = await this.#kv.getMany([headKey, this.#index.entryKey(sessionId)]);
      if (head.versionstamp !== null || indexed.versionstamp !== null) {
        // The session's index entry goes with its head.
        const op = this.#kv.atomic().check(
          { key: headKey, versionstamp: head.versionstamp },
          { key: this.#index.entryKey(sessionId), versionstamp: indexed.versionstamp },
        ).delete(headKey);
        KvIndex.apply(op, this.#index.plan(sessionId, this.#index.decode(indexed.value), undefined));
        const result = await op.commit();
        // A save moved the head meanwhile: go round again.
        if (!result.ok) continue;
      }
      // Newest first: a delete cut short leaves older checkpoints, whose delta bases are all still there.
      const page = await collect(
        this.#kv.list({ prefix: this.#keys.bySession(sessionId) }, { limit: 100, reverse: true }),
      );
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
    const { id, parentId, sessionId, workflowName, base } = doomed.summary;
    const deletes = [keys.checkpoint(id), keys.bySession(sessionId, id), keys.byWorkflow(workflowName, id)];
    // A summary of before bases were kept may be a delta on its parent.
    const basedOn = base ?? parentId;
    if (basedOn !== null) deletes.push(keys.dependent(basedOn, id));
    const trash = this.#deleteChunks(doomed.summary, deletes);
    const sizes: MutationSize[] = deletes.map((key) => ({ keyBytes: keySize(key), valueBytes: 0 }));
    // The check's key counts against the key budget too.
    sizes.push({ keyBytes: keySize(deletes[0]), valueBytes: 0 });
    if (trash) sizes.push({ keyBytes: keySize(trash.key), valueBytes: trash.value.length });
    return { doomed, deletes, trash, sizes };
  }

  /** Adds to `deletes` the chunk keys of `summary`'s payload, or returns the trash record for too many. */
  #deleteChunks({ id, token, chunks }: StoredSummary, deletes: KvKey[]): Deletion["trash"] {
    const chunkKeys = Array.from({ length: chunks }, (_, i) => this.#keys.chunk(id, token, i));
    const chunkKeyBytes = chunkKeys.reduce((sum, key) => sum + keySize(key), 0);
    if (chunks <= INLINE_CHUNK_DELETES && chunkKeyBytes <= INLINE_KEY_BYTES) {
      deletes.push(...chunkKeys);
      return undefined;
    }
    const record: TrashRecord = { id, token, chunks };
    return { key: this.#keys.trash(id, token), record, value: encodeRecord(record) };
  }

  /**
   * Store `id`, a delta on `base`, whole (a keyframe, inline or under a new token, its old chunks removed), in one
   * atomic that checks it is unchanged since it was read; its entry under `base` goes with it.
   */
  async #makeWhole(id: string, base: string, headVersionstamp: string | null): Promise<void> {
    const keys = this.#keys;
    const entryKey = keys.dependent(base, id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.#deltas.payload(id);
      const whole = found === undefined
        ? undefined
        : await this.#deltas.codec.rebase(id, found.text, base, this.#deltas.read);
      if (found === undefined || whole === undefined) {
        // Gone, or whole already: only its entry under the base is left to remove.
        await this.#kv.atomic().delete(entryKey).commit();
        return;
      }
      const bytes = encodeText(whole);
      // Its resume copy, of the delta it no longer is, goes too.
      const { base: _, chain: __, copy: ___, ...rest } = found.stored;
      const stored: StoredSummary = { ...rest, token: crypto.randomUUID(), chunks: 0, bytes: bytes.length };
      const visible = (record: Uint8Array, summary: Uint8Array): [KvKey, Uint8Array][] => [
        [keys.checkpoint(id), record],
        [keys.bySession(stored.sessionId, id), summary],
        [keys.byWorkflow(stored.workflowName, id), summary],
      ];
      const deletes = [entryKey];
      const trash = this.#deleteChunks(found.stored, deletes);
      const trashSet: [KvKey, Uint8Array][] = trash ? [[trash.key, trash.value]] : [];
      const deleteSizes = deletes.map((key) => ({ keyBytes: keySize(key), valueBytes: 0 }));
      // Inline in its record when it fits, as a save would store it; else in chunks under the new token.
      const placed = placePayload(
        keys,
        stored,
        bytes,
        (record, summary) =>
          fitsOneAtomic([...sizesOf([...visible(record, summary), ...trashSet]), ...deleteSizes], 2),
      );
      const sets = visible(placed.record, placed.summary);
      const chunkWrites = placed.chunks;
      const sizes = [...sizesOf([...sets, ...chunkWrites, ...trashSet]), ...deleteSizes];
      // Staged like a large save (a crash leaves chunks a cleaner removes, never a half-written payload).
      const staging = chunkWrites.length === 0 || fitsOneAtomic(sizes, 2) ? undefined : await this.#payloads
        .stage({ id, sessionId: stored.sessionId } as Checkpoint, stored, headVersionstamp, chunkWrites)
        .catch(() => null);
      if (staging === null) continue;
      // Changed since read (another deletion made it whole meanwhile): the commit fails and it is read again.
      const op = this.#kv.atomic().check({ key: keys.checkpoint(id), versionstamp: found.versionstamp });
      if (staging) op.check({ key: staging.key, versionstamp: staging.versionstamp }).delete(staging.key);
      else for (const [key, value] of chunkWrites) op.set(key, value);
      for (const [key, value] of sets) op.set(key, value);
      for (const key of deletes) op.delete(key);
      if (trash) op.set(trash.key, trash.value);
      if ((await op.commit()).ok) {
        if (trash) await this.#payloads.emptyTrash(trash.record);
        return;
      }
      if (staging) await this.#payloads.discardQuietly(staging);
    }
    throw new StorageError("kv", `delete checkpoint ${base}`, {
      detail: `concurrent writes kept changing ${id}, a delta on it`,
    });
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
        const { sessionId } = decodeRecord(summary.parentId, entry.value).stored;
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
