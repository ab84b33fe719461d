/**
 * A checkpoint storage on Deno KV: `Deno.openKv()` (a file, `:memory:`, Deno Deploy) on Deno, or the
 * `@deno/kv` client on Node and Bun. Many processes can share one store: every save compare-and-sets its
 * session's head inside one `atomic()`.
 *
 * A payload that fits with its summary into one KV value (64 KiB) is stored in the checkpoint's record, so a
 * load is one read; larger payloads are split into chunks under that limit. A checkpoint too large for one
 * atomic stages its chunks first and becomes visible only at its final commit, so no reader ever sees a
 * partial checkpoint; the chunks of a save that failed are removed (see
 * {@linkcode KvCheckpointStorage.vacuum}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStorage } from "@superstep/superstep/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const storage = new KvCheckpointStorage({ kv });
 * assert.equal((await storage.list()).length, 0);
 * kv.close();
 * ```
 *
 * On Node or Bun: `const kv = await openKv("checkpoints.db")` with `import { openKv } from "@deno/kv"`.
 *
 * @module
 */
import type {
  Checkpoint,
  CheckpointQuery,
  CheckpointStorage,
  CheckpointSummary,
  Lease,
  LeaseRequest,
  PendingRequestQuery,
  SaveOptions,
  SessionQuery,
  SessionSummary,
  WaitingRequest,
} from "../../src/checkpoint.ts";
import { CheckpointConflictError, CheckpointCorruptError } from "../../src/errors.ts";
import * as kit from "../../src/storage_kit.ts";
import { describeType } from "../../src/_describe.ts";
import type {
  KvCheckpointStorageOptions,
  KvHandle,
  KvKey,
  KvVacuumOptions,
  KvVacuumResult,
} from "./handle.ts";
import { Deletions } from "./_deletion.ts";
import { KvIndex } from "./_index.ts";
import { collect, lastPart, Layout } from "./_layout.ts";
import { fitsOneAtomic, MAX_LIST_BATCH, MAX_VALUE_BYTES, sizesOf } from "./_limits.ts";
import { Payloads, placePayload, type Staging } from "./_payloads.ts";
import {
  decodeRecord,
  decodeStored,
  decodeText,
  encodeSummary,
  encodeText,
  type StoredSummary,
  withoutCopy,
} from "./_records.ts";
import { retryingLocks } from "./_retry.ts";

export { type KvQueue, KvWakeups, type KvWakeupsOptions } from "./wakeups.ts";
import { KvLeases } from "./_leases.ts";

/** Keys one `getMany` reads (Deno KV's limit): a load reads a record and up to 8 chunks at once. */
const MAX_GET_MANY = 10;

/**
 * The payload bytes of `stored` from its chunks as read (and the entry after the last, which must be absent),
 * or the index of the first missing, damaged or extra one.
 */
function joinChunks(
  stored: StoredSummary,
  chunks: { value: unknown; versionstamp: string | null }[],
): Uint8Array | number {
  if (chunks[stored.chunks].versionstamp !== null) return stored.chunks;
  const out = new Uint8Array(stored.bytes);
  let offset = 0;
  for (let index = 0; index < stored.chunks; index++) {
    const { value } = chunks[index];
    if (!(value instanceof Uint8Array) || offset + value.length > out.length) return index;
    out.set(value, offset);
    offset += value.length;
  }
  return offset === stored.bytes ? out : stored.chunks;
}

/** How many older checkpoints of a session `lineage` reads at once (see there). */
const LINEAGE_READ_AHEAD = 1000;

/** The value of a key whose presence is the fact. */
const EMPTY = new Uint8Array(0);

export type {
  KvAtomicOperation,
  KvCheckpointStorageOptions,
  KvHandle,
  KvKey,
  KvKeyPart,
  KvVacuumOptions,
  KvVacuumResult,
} from "./handle.ts";

const ADAPTER = "kv";
const DEFAULT_STALE_AFTER_MS = 15 * 60_000;
/** How many staged saves of its session one save looks at (and may clean up). */
const SWEEP_LIMIT = 16;

/**
 * A {@linkcode CheckpointStorage} on Deno KV, for many processes sharing one store.
 *
 * Keys, under `prefix`: `checkpoint/<id>` (the summary, followed by the payload when the two fit into one
 * 64 KiB value, and by the resume copy of a head its session waits at when that fits too; the range is the
 * index by id), `by_session/<session>/<id>` and
 * `by_workflow/<workflow>/<id>` (copies of the summary alone, so `list` is one range read of summaries),
 * `head/<session>` (the compare-and-set key), `chunk/<id>/<token>/<n>` (a payload too large for the record:
 * the core codec's text as UTF-8, in 60 KiB chunks), `staging/<session>/<token>` (a save in progress) and
 * `trash/<id>/<token>` (chunks of a deleted checkpoint still to remove). Every value is bytes, so the store
 * never depends on a runtime's V8 serializer and is shared unchanged between Deno, Node and Bun.
 *
 * A save is one `atomic()` that checks the session head's versionstamp and that the id is absent, then
 * writes the record, both indexes and the new head; a load of an inline payload is one `get`. A checkpoint
 * whose chunks do not fit into that atomic (KV allows 1000 mutations and 800 KiB per atomic) writes them
 * first, under its save's token, in as many atomics as needed; they are unreachable until the final commit
 * writes the summary that names them.
 * Reads and commits that find a local KV file locked by another handle ("database is locked": neither
 * `Deno.openKv` nor `@deno/kv` waits for the lock) are retried with a short backoff.
 *
 * Ordering: ids are key parts, so `list` is newest first by the UTF-8 byte order of ids (the string order
 * for the ASCII ids of the core). Limits: a summary (ids and metadata) must encode to at most 64 KiB, and
 * each key (prefix plus a session id, workflow name or checkpoint id) to at most 2 KiB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStorage } from "@superstep/superstep/kv";
 * import { WorkflowBuilder, defineExecutor } from "@superstep/superstep";
 *
 * const kv = await Deno.openKv(":memory:");
 * const echo = defineExecutor({ id: "echo", handle: async (text: string, ctx) => await ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo })
 *   .withCheckpointing(new KvCheckpointStorage({ kv }))
 *   .build();
 * const result = await workflow.run("hi");
 * assert.notEqual(result.checkpointId, undefined);
 * kv.close();
 * ```
 */
export class KvCheckpointStorage implements CheckpointStorage {
  readonly #kv: KvHandle;
  readonly #keys: Layout;
  readonly #payloads: Payloads;
  readonly #index: KvIndex;
  readonly #deletions: Deletions;
  readonly #staleAfterMs: number;
  readonly #deltas: kit.DeltaCodec | undefined;
  readonly #leases: KvLeases;

  /**
   * Create a storage on a KV store.
   *
   * @param options The KV store, the key prefix and the staleness rule.
   * @throws {TypeError} If `kv` is not a KV handle or `prefix` not an array.
   * @throws {RangeError} If `staleAfterMs` is negative or not a number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const kv = await Deno.openKv(":memory:");
   * assert.throws(() => new KvCheckpointStorage({ kv, staleAfterMs: -1 }), RangeError);
   * const storage = new KvCheckpointStorage({ kv, prefix: ["orders"] });
   * assert.equal(await storage.head("s1"), undefined);
   * kv.close();
   * ```
   */
  constructor(options: KvCheckpointStorageOptions) {
    const { kv, prefix = ["superstep"], staleAfterMs = DEFAULT_STALE_AFTER_MS, deltas = true } = options ??
      {};
    if (typeof kv !== "object" || kv === null || typeof kv.atomic !== "function") {
      throw new TypeError(
        `kv: cannot create the storage: options.kv must be a Deno.Kv, got ${describeType(kv)}`,
      );
    }
    if (!Array.isArray(prefix)) {
      throw new TypeError(`kv: cannot create the storage: options.prefix must be an array of key parts`);
    }
    if (typeof staleAfterMs !== "number" || !(staleAfterMs >= 0)) {
      throw new RangeError(
        `kv: cannot create the storage: staleAfterMs must be a non-negative number, got ${staleAfterMs}`,
      );
    }
    if (typeof deltas !== "boolean" && (typeof deltas !== "object" || deltas === null)) {
      throw new TypeError(`kv: cannot create the storage: deltas must be a boolean or delta options`);
    }
    this.#deltas = deltas === false ? undefined : new kit.DeltaCodec(deltas === true ? {} : deltas);
    this.#kv = retryingLocks(kv);
    this.#keys = new Layout([...prefix]);
    this.#payloads = new Payloads(this.#kv, this.#keys, staleAfterMs);
    // Delta payloads may be stored even when this storage writes none (by another, or an earlier one).
    this.#index = new KvIndex(this.#kv, this.#keys);
    this.#deletions = new Deletions(this.#kv, this.#keys, this.#payloads, {
      codec: this.#deltas ?? new kit.DeltaCodec(),
      payload: (id) => this.#payload(id),
      read: this.#read,
    }, this.#index);
    this.#staleAfterMs = staleAfterMs;
    this.#leases = new KvLeases(this.#kv, this.#keys);
  }

  /**
   * Store a checkpoint and make it its session's head: a compare-and-set on the head, in one atomic commit.
   * Afterwards, removes the staged chunks of saves of the same session that can no longer commit.
   *
   * @param checkpoint The checkpoint to store (encoded at once: later changes to it are not seen).
   * @param options `lease`: commit only while this lease is the session's (its key is checked in the commit).
   * @returns Once committed.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it (or another writer moved it first). Nothing is visible.
   * @throws {LeaseLostError} If `options.lease` is no longer the session's lease. Nothing is visible.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @throws {RangeError} If the summary (ids and metadata) encodes to more than 64 KiB.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * assert.equal((await storage.head(checkpoint.sessionId)), checkpoint.id);
   * kv.close();
   * ```
   */
  async save(checkpoint: Checkpoint, options: SaveOptions = {}): Promise<void> {
    const encoded = kit.encodeForStorage(ADAPTER, checkpoint, this.#deltas, { copies: true });
    const { lease } = options;
    const leaseCheck = lease === undefined
      ? undefined
      : await this.#leases.fence(lease, checkpoint.sessionId);
    const { id, sessionId, parentId, workflowName } = checkpoint;
    const keys = this.#keys;
    const token = crypto.randomUUID();
    const payload = encodeText(encoded.payload);
    const stored: StoredSummary = {
      ...encoded.summary,
      token,
      chunks: 0,
      bytes: payload.length,
      status: encoded.index.status,
      requests: encoded.index.requestsJson,
    };
    if (encoded.base !== null) stored.base = encoded.base;
    if (encoded.bases.length > 1) stored.chain = encoded.bases.slice(1);
    // Before any read; checked again as placed (with its chunk count).
    encodeSummary(stored);
    const headKey = keys.head(sessionId);
    const idKey = keys.checkpoint(id);
    const entryKey = this.#index.entryKey(sessionId);
    // The head this save answers may carry a resume copy in its record, which the save then cuts off.
    const copiedKey = encoded.dropCopy === null ? undefined : keys.checkpoint(encoded.dropCopy);
    const [[head, existing, indexed, copied], staged] = await Promise.all([
      this.#kv.getMany(
        copiedKey === undefined ? [headKey, idKey, entryKey] : [headKey, idKey, entryKey, copiedKey],
      ),
      collect(this.#kv.list({ prefix: keys.staging(sessionId) }, { limit: SWEEP_LIMIT })),
    ]);
    if (existing.versionstamp !== null) throw kit.idTaken(ADAPTER, checkpoint);
    if (head.versionstamp !== null && decodeText(head.value) !== parentId) {
      throw kit.headMoved(ADAPTER, checkpoint, decodeText(head.value));
    }
    // A session without a head takes a new lineage or a fork, never a follower of a deleted checkpoint; the
    // commit checks the fork's parent too, so deleting it meanwhile fails the save. (Read only then: a
    // parent's record may carry its payload.)
    let parentCheck: { key: KvKey; versionstamp: string } | undefined;
    if (head.versionstamp === null && parentId !== null) {
      const parentKey = keys.checkpoint(parentId);
      const parent = await this.#kv.get(parentKey);
      if (
        parent.versionstamp === null || decodeRecord(parentId, parent.value).stored.sessionId === sessionId
      ) {
        throw kit.parentMissing(ADAPTER, checkpoint);
      }
      parentCheck = { key: parentKey, versionstamp: parent.versionstamp };
    }

    // The session index moves with the head, in the same atomic (its record's versionstamp is checked).
    const index = this.#index.plan(sessionId, this.#index.decode(indexed.value), stored);
    const sets: [KvKey, Uint8Array][] = [[headKey, encodeText(id)], ...index.sets];
    // The base's deletion finds its dependents here and makes them whole first.
    if (encoded.base !== null) sets.push([keys.dependent(encoded.base, id), EMPTY]);
    const deletes = index.deletes;
    const deleted = deletes.map((key): [KvKey, Uint8Array] => [key, EMPTY]);
    const checks = 3 + (parentCheck ? 1 : 0) + (leaseCheck ? 1 : 0);
    const visible = (record: Uint8Array, summary: Uint8Array): [KvKey, Uint8Array][] => [
      [idKey, record],
      [keys.bySession(sessionId, id), summary],
      [keys.byWorkflow(workflowName, id), summary],
      ...sets,
    ];
    // A payload that fits into the checkpoint's own record goes there, so that a load is one read; the index
    // copies stay summaries, so that listing never reads payloads. A larger one goes into chunks.
    // A resume copy goes into the record after an inline payload, where there is room (so that a resume
    // loads in one read); else the session resumes through its chain.
    const placed = placePayload(
      keys,
      stored,
      payload,
      (record, summary) => fitsOneAtomic(sizesOf([...visible(record, summary), ...deleted]), checks),
      encoded.copy === null || encoded.copy.length > MAX_VALUE_BYTES ? undefined : encodeText(encoded.copy),
    );
    const writes = visible(placed.record, placed.summary);
    const chunkWrites = placed.chunks;
    const staging = chunkWrites.length === 0 ||
        fitsOneAtomic(sizesOf([...writes, ...deleted, ...chunkWrites]), checks)
      ? undefined
      : await this.#payloads.stage(checkpoint, stored, head.versionstamp, chunkWrites);
    let committed: string;
    try {
      const op = this.#kv.atomic().check(
        { key: headKey, versionstamp: head.versionstamp },
        { key: idKey, versionstamp: null },
        { key: entryKey, versionstamp: indexed.versionstamp },
      );
      for (const key of deletes) op.delete(key);
      if (parentCheck) op.check(parentCheck);
      if (leaseCheck) op.check(leaseCheck);
      if (staging) op.check({ key: staging.key, versionstamp: staging.versionstamp }).delete(staging.key);
      else for (const [key, value] of chunkWrites) op.set(key, value);
      for (const [key, value] of writes) op.set(key, value);
      const result = await op.commit();
      if (!result.ok) {
        if (lease && !await this.#leases.holds(lease)) throw kit.leaseLost(ADAPTER, lease);
        throw await this.#explainFailedCommit(checkpoint, head.versionstamp, staging, parentCheck);
      }
      committed = result.versionstamp;
    } catch (error) {
      if (staging) await this.#payloads.discardQuietly(staging);
      throw error;
    }
    encoded.stored();
    if (copied !== undefined && head.versionstamp !== null) await this.#dropCopy(encoded.dropCopy!, copied);
    await this.#payloads.sweep(staged, committed);
  }

  /**
   * Cuts the resume copy off the record of a head its session no longer waits at, unless the record changed
   * since it was read. Best effort, after the save committed: a copy left behind is only bytes, since it is
   * the whole checkpoint of that very id. The index copies are written again in the same atomic, unchanged,
   * so that they keep the record's versionstamp (a session's deletion checks each record on its entry's).
   */
  async #dropCopy(id: string, entry: { value: unknown; versionstamp: string | null }): Promise<void> {
    if (entry.versionstamp === null) return;
    try {
      const cut = withoutCopy(id, entry.value);
      if (cut === undefined) return;
      const { sessionId, workflowName } = cut.stored;
      const key = this.#keys.checkpoint(id);
      await this.#kv.atomic().check({ key, versionstamp: entry.versionstamp })
        .set(key, cut.record)
        .set(this.#keys.bySession(sessionId, id), cut.summary)
        .set(this.#keys.byWorkflow(workflowName, id), cut.summary)
        .commit();
    } catch {
      // A damaged record stays for its load to report; a store that is down keeps the copy.
    }
  }

  /**
   * Claim a session for `owner`: only when it has no lease or its lease lapsed (`expiresAt <= now`), in
   * one atomic checked on the lease key, so of concurrent claimants (any handles on one store) one wins.
   *
   * @param sessionId The session.
   * @param owner The claimant.
   * @param request The claimant's clock (`now`) and the lease's length (`ttlMs`).
   * @returns The lease, or `undefined` if another claim holds the session.
   * @throws {TypeError} If the session id or owner is invalid, or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * assert.equal((await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))?.owner, "a");
   * assert.equal(await storage.claimLease("s1", "b", { now: 10, ttlMs: 1000 }), undefined);
   * kv.close();
   * ```
   */
  claimLease(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined> {
    return this.#leases.claim(sessionId, owner, request);
  }

  /**
   * Extend a lease, if it is still its session's (expired or not).
   *
   * @param lease The lease.
   * @param request The claimant's clock (`now`) and the new length (`ttlMs`).
   * @returns The renewed lease, or `undefined` if another claim replaced it or it was released.
   * @throws {TypeError} If the lease is malformed or `now` is not a finite number.
   * @throws {RangeError} If `ttlMs` is not a positive finite number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * const lease = (await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal((await storage.renewLease(lease, { now: 500, ttlMs: 1000 }))?.expiresAt, 1500);
   * kv.close();
   * ```
   */
  renewLease(lease: Lease, request: LeaseRequest): Promise<Lease | undefined> {
    return this.#leases.renew(lease, request);
  }

  /**
   * Drop a lease, if it is still its session's.
   *
   * @param lease The lease.
   * @returns `true` if it was the session's lease.
   * @throws {TypeError} If the lease is malformed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * const lease = (await storage.claimLease("s1", "a", { now: 0, ttlMs: 1000 }))!;
   * assert.equal(await storage.releaseLease(lease), true);
   * kv.close();
   * ```
   */
  releaseLease(lease: Lease): Promise<boolean> {
    return this.#leases.release(lease);
  }

  /**
   * Load a checkpoint: one read of its record when the payload is inline there, else the record first, then
   * the chunks it names.
   *
   * @param id The checkpoint's id.
   * @returns A fresh copy of the checkpoint, or `undefined` if there is none with that id (also when it is
   *   deleted while being read).
   * @throws {CheckpointCorruptError} Naming `id`, if its summary or a chunk is missing or damaged.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * assert.equal((await storage.load("01JABC")), undefined);
   * ```
   */
  async load(id: string): Promise<Checkpoint | undefined> {
    kit.checkId(ADAPTER, "load a checkpoint", "checkpoint id", id);
    const found = await this.#payload(id);
    if (found === undefined) return undefined;
    // A waiting head's record carries its resume copy: then it loads in that one read (`null`: it has none).
    const copy = found.copy === undefined ? null : decodeText(found.copy) ?? null;
    return await kit.loadStoredCheckpoint(
      ADAPTER,
      found.stored,
      found.text,
      this.#deltas,
      this.#readAfter(found.stored),
      copy,
    );
  }

  /**
   * Reads base chains: the whole chain of `stored` at once when its record names it (`chain`), each link
   * still checked (a chain named before a delete made a base whole goes no further than it).
   */
  #readAfter(stored: StoredSummary): kit.ReadChain {
    const { base, chain } = stored;
    if (base === undefined || chain === undefined) return this.#read;
    return async (at, count) => {
      if (at !== base) return await this.#read(at, count);
      const ids = [base, ...chain].slice(0, count);
      const entries = await this.#records(ids);
      const out: { id: string; payload: string }[] = [];
      let next: string | null = at;
      for (const [i, id] of ids.entries()) {
        if (next !== id) break;
        // Decoded only once the walk reaches it: a record the chain no longer needs is never read.
        const text = inlinePayload(id, entries[i]);
        if (text === undefined) break;
        out.push({ id, payload: text });
        next = kit.deltaBase(text);
      }
      if (next === null || out.length === count) return out;
      return [...out, ...await this.#read(next, count - out.length)];
    };
  }

  /** The records of checkpoints, in parallel reads of up to MAX_GET_MANY keys. */
  async #records(ids: string[]): Promise<{ value: unknown; versionstamp: string | null }[]> {
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += MAX_GET_MANY) batches.push(ids.slice(i, i + MAX_GET_MANY));
    const read = await Promise.all(
      batches.map((batch) => this.#kv.getMany(batch.map((id) => this.#keys.checkpoint(id)))),
    );
    return read.flat();
  }

  /** Stored payloads from `id` back along its delta bases, at most `count`. */
  #read: kit.ReadChain = async (id, count) => {
    const chain: { id: string; payload: string }[] = [];
    for (let at: string | null = id; at !== null && chain.length < count;) {
      const found = await this.#payload(at);
      if (found === undefined) break;
      chain.push({ id: at, payload: found.text });
      at = kit.deltaBase(found.text);
    }
    return chain;
  };

  /** A checkpoint's summary and stored payload text, or `undefined` if there is none with that id. */
  async #payload(
    id: string,
  ): Promise<{ stored: StoredSummary; text: string; versionstamp: string; copy?: Uint8Array } | undefined> {
    const key = this.#keys.checkpoint(id);
    for (let attempt = 0;; attempt++) {
      const entry = await this.#kv.get(key);
      if (entry.versionstamp === null) return undefined;
      const { stored, inline, copy } = decodeRecord(id, entry.value);
      if (stored.chunks === 0) {
        // The payload is in the record: one read.
        const text = inline === undefined ? undefined : decodeText(inline);
        if (text === undefined) {
          throw new CheckpointCorruptError(
            id,
            inline === undefined
              ? "kv: its record names no chunks and holds no payload"
              : "kv: its payload is not valid UTF-8",
            stored,
          );
        }
        return { stored, text, versionstamp: entry.versionstamp, copy };
      }
      if (stored.chunks + 2 <= MAX_GET_MANY) {
        // One consistent read of the record, its chunks and the key after the last (there must be none): an
        // unchanged record, and the chunks of that very save.
        const [record, ...chunks] = await this.#kv.getMany([
          key,
          ...Array.from({ length: stored.chunks + 1 }, (_, i) => this.#keys.chunk(id, stored.token, i)),
        ]);
        if (record.versionstamp === null) return undefined;
        if (record.versionstamp === entry.versionstamp) {
          const joined = joinChunks(stored, chunks);
          if (typeof joined === "number") {
            throw new CheckpointCorruptError(
              id,
              `kv: chunk ${joined} of ${stored.chunks} is missing or damaged`,
              stored,
            );
          }
          const text = decodeText(joined);
          if (text === undefined) {
            throw new CheckpointCorruptError(id, "kv: its payload is not valid UTF-8", stored);
          }
          return { stored, text, versionstamp: entry.versionstamp, copy };
        }
        // Saved again meanwhile: read the new record.
        if (attempt < 2) continue;
      }
      const payload = await this.#payloads.read(stored);
      if (typeof payload === "string") {
        const again = await this.#kv.get(key);
        // Deleted (or deleted and saved again) while we read its chunks: not damage.
        if (again.versionstamp === null) return undefined;
        if (again.versionstamp !== entry.versionstamp && attempt < 2) continue;
        throw new CheckpointCorruptError(id, `kv: ${payload}`, stored);
      }
      const text = decodeText(payload);
      if (text === undefined) {
        throw new CheckpointCorruptError(id, "kv: its payload is not valid UTF-8", stored);
      }
      // The chunks are those of this record's save (its token), so the text is this version's.
      return { stored, text, versionstamp: entry.versionstamp, copy };
    }
  }

  /**
   * Summaries, newest first (by id): one reverse range read of an index.
   *
   * @param query Filters (`workflowName`, `sessionId`) and paging (`limit`: the newest N; `before`: an
   *   exclusive id cursor).
   * @returns The matching summaries, newest first.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * const page = await storage.list({ sessionId: checkpoint.sessionId, limit: 10 });
   * assert.deepEqual(page.map((summary) => summary.id), [checkpoint.id]);
   * kv.close();
   * ```
   */
  async list(query?: CheckpointQuery): Promise<CheckpointSummary[]> {
    const { workflowName, sessionId, limit, before } = kit.checkListQuery(ADAPTER, query);
    const keys = this.#keys;
    const prefix = sessionId !== undefined
      ? keys.bySession(sessionId)
      : workflowName !== undefined
      ? keys.byWorkflow(workflowName)
      : keys.checkpoints();
    // A session rarely mixes workflows: read its index and filter.
    const filter = sessionId !== undefined && workflowName !== undefined;
    const selector = before === undefined ? { prefix } : { prefix, end: [...prefix, before] };
    const max = limit ?? Infinity;
    const out: CheckpointSummary[] = [];
    const entries = this.#kv.list(selector, {
      reverse: true,
      limit: filter ? undefined : limit,
      batchSize: Math.min(filter ? 100 : limit ?? 100, MAX_LIST_BATCH),
    });
    // The range by id is the checkpoints' own records, which may carry their payloads (not decoded here).
    const decode = sessionId === undefined && workflowName === undefined
      ? (id: string, value: unknown) => decodeRecord(id, value).stored
      : decodeStored;
    for await (const entry of entries) {
      const stored = decode(lastPart(entry.key), entry.value);
      if (filter && stored.workflowName !== workflowName) continue;
      out.push(kit.decodeSummary(ADAPTER, stored));
      if (out.length >= max) break;
    }
    return out;
  }

  /**
   * The head of a session: the checkpoint its next checkpoint must follow.
   *
   * @param sessionId The session.
   * @returns The head's id, or `undefined` if the session has no checkpoints.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * assert.equal((await storage.head("s1")), undefined);
   * ```
   */
  async head(sessionId: string): Promise<string | undefined> {
    kit.checkId(ADAPTER, "read the head", "session id", sessionId);
    const entry = await this.#kv.get(this.#keys.head(sessionId));
    if (entry.versionstamp === null) return undefined;
    const id = decodeText(entry.value);
    if (id === undefined) {
      throw new CheckpointCorruptError(
        undefined,
        `kv: the head of session ${JSON.stringify(sessionId)} is damaged`,
      );
    }
    return id;
  }

  /**
   * Delete one checkpoint, its indexes and its chunks, in one atomic commit. If it was its session's head,
   * the head moves to its parent when that parent is in the same session and still exists, else to the
   * newest remaining checkpoint of the session; a session with no checkpoints left has no head.
   *
   * @param id The checkpoint's id.
   * @returns `true` if it existed (and this call deleted it).
   * @throws {Error} If concurrent writes kept changing the session for 64 attempts.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * assert.equal((await storage.delete("01JABC")), false);
   * ```
   */
  async delete(id: string): Promise<boolean> {
    return await this.#deletions.checkpoint(kit.checkId(ADAPTER, "delete a checkpoint", "checkpoint id", id));
  }

  /**
   * Delete every checkpoint of a session (up to ten per atomic), then its head.
   *
   * @param sessionId The session.
   * @returns How many checkpoints this call deleted (0 for an unknown session).
   * @throws {Error} If concurrent saves kept extending the session for 64 rounds.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * assert.equal((await storage.deleteSession("s1")), 0);
   * ```
   */
  async deleteSession(sessionId: string): Promise<number> {
    return await this.#deletions.session(kit.checkId(ADAPTER, "delete a session", "session id", sessionId));
  }

  /**
   * The session index: every session with a head, newest head first, with the status its head says, from
   * ordered index keys that the save and delete atomics write with the head (a reverse range read of one
   * prefix per filter; never a scan of the checkpoints). A head saved before the index existed enters it
   * when its session next moves.
   *
   * @param query Filters (`workflowName`, `status`) and paging (`limit`; `before`: an exclusive head id).
   * @returns The sessions.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `status` or an id is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * await storage.save(makeCheckpoint({ messages: [{ source: "a", data: 1 }] }));
   * assert.equal((await storage.listSessions({ status: "interrupted" })).length, 1);
   * kv.close();
   * ```
   */
  async listSessions(query?: SessionQuery): Promise<SessionSummary[]> {
    return await this.#index.listSessions(kit.checkSessionQuery(ADAPTER, query));
  }

  /**
   * The inbox: every request pending in a session head, newest request first, from index keys written with
   * the head (one reverse range read per filter).
   *
   * @param query Filters (`workflowName`, `sessionId`, `requestId`) and paging (`limit`; `before`: an
   *   entry's `cursor`).
   * @returns The waiting requests.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If an id or the cursor is invalid.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * await storage.save(makeCheckpoint({ pendingRequests: [{ requestId: "r1", executorId: "ask", data: 1 }] }));
   * assert.equal((await storage.listPendingRequests({ requestId: "r1" }))[0].data, 1);
   * kv.close();
   * ```
   */
  async listPendingRequests(query?: PendingRequestQuery): Promise<WaitingRequest[]> {
    return await this.#index.listRequests(kit.checkPendingRequestQuery(ADAPTER, query));
  }

  /**
   * The ancestry of a checkpoint: its summary, its parent's, and so on back to the root (one read per
   * ancestor, no payload read). The walk stops at a parent that was deleted.
   *
   * @param id The checkpoint to start from.
   * @returns The summaries, `id` first; empty if `id` does not exist.
   * @throws {CheckpointCorruptError} If a summary on the way is damaged.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * assert.equal((await storage.lineage("01JABC")).length, 0);
   * ```
   */
  async lineage(id: string): Promise<CheckpointSummary[]> {
    kit.checkId(ADAPTER, "read the lineage", "checkpoint id", id);
    const keys = this.#keys;
    // Read ahead: a parent is almost always an older checkpoint of the same session, so the session's index
    // just below the checkpoint holds the next ancestors; one list call brings hundreds of them, where a get
    // per ancestor made a 10,000-deep lineage 10,000 round trips. A parent not there (in another session: a
    // fork) is read by id.
    const ahead = new Map<string, StoredSummary>();
    const path = await kit.walkLineage(id, async (current) => {
      let stored = ahead.get(current);
      ahead.delete(current);
      if (stored === undefined) {
        const entry = await this.#kv.get(keys.checkpoint(current));
        if (entry.versionstamp === null) return undefined;
        stored = decodeRecord(current, entry.value).stored;
      }
      if (stored.parentId !== null && !ahead.has(stored.parentId)) {
        ahead.clear();
        const older = this.#kv.list({
          prefix: keys.bySession(stored.sessionId),
          end: keys.bySession(stored.sessionId, current),
        }, {
          reverse: true,
          limit: LINEAGE_READ_AHEAD,
          batchSize: MAX_LIST_BATCH,
        });
        for await (const entry of older) {
          const older = decodeStored(lastPart(entry.key), entry.value);
          ahead.set(older.id, older);
        }
      }
      return stored;
    }, (stored) => stored.parentId);
    return path.map((stored) => kit.decodeSummary(ADAPTER, stored));
  }

  /**
   * Remove what failed or crashed saves and deletes left behind. Never touches a committed checkpoint.
   *
   * A staged save is removed when it can no longer commit (its session's head moved after it staged), or
   * when it is at least `olderThanMs` old. Its record is first marked abandoned in an atomic that checks
   * it is unchanged, so a save committing at the same moment either commits (and its chunks stay) or
   * fails; only then are its chunks deleted. Payload chunks of deleted checkpoints still pending removal are
   * deleted too.
   *
   * Saves also clean up after themselves: a failed save removes its own staged chunks at once, and a
   * successful save removes those of its session's saves that its commit doomed.
   *
   * @param options How old a staged save must be to be removed even if it could still commit.
   * @returns How many abandoned saves and pending payloads were removed.
   * @throws {RangeError} If `olderThanMs` is negative or not a number.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const kv = await Deno.openKv(":memory:");
   * const { abandonedSaves } = await new KvCheckpointStorage({ kv }).vacuum();
   * assert.equal(abandonedSaves, 0);
   * kv.close();
   * ```
   */
  async vacuum(options: KvVacuumOptions = {}): Promise<KvVacuumResult> {
    const { olderThanMs = this.#staleAfterMs } = options;
    if (typeof olderThanMs !== "number" || !(olderThanMs >= 0)) {
      throw new RangeError(
        `kv: cannot vacuum: olderThanMs must be a non-negative number, got ${olderThanMs}`,
      );
    }
    return await this.#payloads.vacuum(olderThanMs);
  }

  /** The error for a final commit whose checks failed, from a fresh read. */
  async #explainFailedCommit(
    checkpoint: Checkpoint,
    headVersionstamp: string | null,
    staging: Staging | undefined,
    parentCheck: { key: KvKey; versionstamp: string } | undefined,
  ): Promise<Error> {
    const keys = [this.#keys.head(checkpoint.sessionId), this.#keys.checkpoint(checkpoint.id)];
    if (staging) keys.push(staging.key);
    if (parentCheck) keys.push(parentCheck.key);
    const [head, existing, ...rest] = await this.#kv.getMany(keys);
    const record = staging ? rest.shift()! : undefined;
    const parent = parentCheck ? rest.shift()! : undefined;
    if (existing.versionstamp !== null) return kit.idTaken(ADAPTER, checkpoint);
    if (head.versionstamp !== headVersionstamp) {
      return kit.headMoved(ADAPTER, checkpoint, head.versionstamp === null ? null : decodeText(head.value));
    }
    if (parent && parent.versionstamp !== parentCheck!.versionstamp) {
      return kit.parentMissing(ADAPTER, checkpoint);
    }
    if (staging && record!.versionstamp !== staging.versionstamp) {
      return await this.#payloads.lostStaging(checkpoint, staging);
    }
    return new CheckpointConflictError({
      reason: "concurrent-write",
      adapter: ADAPTER,
      checkpointId: checkpoint.id,
      sessionId: checkpoint.sessionId,
      expectedHead: checkpoint.parentId,
    });
  }
}

/** The payload inline in a checkpoint's record; `undefined` for a record that is missing or in chunks. */
function inlinePayload(
  id: string,
  entry: { value: unknown; versionstamp: string | null },
): string | undefined {
  if (entry.versionstamp === null) return undefined;
  const { stored, inline } = decodeRecord(id, entry.value);
  return stored.chunks === 0 && inline !== undefined ? decodeText(inline) : undefined;
}
