/**
 * A checkpoint storage on Deno KV: `Deno.openKv()` (a file, `:memory:`, Deno Deploy) on Deno, or the
 * `@deno/kv` client on Node and Bun. Many processes can share one store: every save compare-and-sets its
 * session's head inside one `atomic()`.
 *
 * Payloads of any size are split into chunks under KV's 64 KiB value limit. A checkpoint too large for one
 * atomic stages its chunks first and becomes visible only at its final commit, so no reader ever sees a
 * partial checkpoint; the chunks of a save that failed are removed (see
 * {@linkcode KvCheckpointStorage.vacuum}).
 *
 * @example
 * ```ts
 * import { KvCheckpointStorage } from "@superstep/superstep/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const storage = new KvCheckpointStorage({ kv });
 * console.assert((await storage.list()).length === 0);
 * kv.close();
 * ```
 *
 * On Node or Bun: `const kv = await openKv("checkpoints.db")` with `import { openKv } from "@deno/kv"`.
 *
 * @module
 */
import type { Checkpoint, CheckpointQuery, CheckpointStorage, CheckpointSummary } from "../src/checkpoint.ts";
import { decodeCheckpoint, encodeCheckpoint, encodeValue } from "../src/codec.ts";
import { CheckpointConflictError, CheckpointCorruptError } from "../src/errors.ts";
import {
  decodeSummary,
  decodeText,
  encodeRecord,
  encodeText,
  fitsOneAtomic,
  headMoved,
  idExists,
  type Key,
  keySize,
  Layout,
  MAX_CHECKS,
  MAX_LIST_BATCH,
  MAX_VALUE_BYTES,
  type MutationSize,
  sizesOf,
  splitChunks,
  type StoredSummary,
  toPublicSummary,
  type TrashRecord,
} from "./_kv_layout.ts";
import { Payloads, type Staging } from "./_kv_payloads.ts";
import { type Atomic, type Kv, retryingLocks } from "./_kv_retry.ts";

/**
 * One part of a KV key.
 *
 * @example
 * ```ts
 * import type { KvKeyPart } from "@superstep/superstep/kv";
 * const part: KvKeyPart = "superstep";
 * ```
 */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean;

/**
 * A KV key: a sequence of parts, ordered part by part.
 *
 * @example
 * ```ts
 * import type { KvKey } from "@superstep/superstep/kv";
 * const prefix: KvKey = ["apps", "orders", "checkpoints"];
 * ```
 */
export type KvKey = readonly KvKeyPart[];

/**
 * The atomic operation of a {@linkcode KvHandle}: the part of `Deno.AtomicOperation` the storage uses.
 *
 * @example
 * ```ts
 * import type { KvAtomicOperation } from "@superstep/superstep/kv";
 *
 * function claim(op: KvAtomicOperation) {
 *   return op.check({ key: ["k"], versionstamp: null }).set(["k"], new Uint8Array([1])).commit();
 * }
 * ```
 */
export interface KvAtomicOperation {
  /** Make the commit fail (`ok: false`) unless each key has this versionstamp (`null`: absent). */
  check(...checks: { key: KvKey; versionstamp: string | null }[]): this;
  /** Set a key (the storage only ever stores bytes). */
  set(key: KvKey, value: Uint8Array): this;
  /** Delete a key. */
  delete(key: KvKey): this;
  /** Apply everything, or nothing if a check fails. */
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}

/**
 * The KV handle the storage needs: the part of `Deno.Kv` it uses, so a `Deno.Kv` from `Deno.openKv()` and
 * the `@deno/kv` client of Node and Bun both fit, and tests can wrap one.
 *
 * @example
 * ```ts
 * import type { KvHandle } from "@superstep/superstep/kv";
 * const kv: KvHandle = await Deno.openKv(":memory:");
 * ```
 */
export interface KvHandle {
  /** Read one key. */
  get(key: KvKey): Promise<{ value: unknown; versionstamp: string | null }>;
  /** Read up to 10 keys at one consistent snapshot. */
  getMany(keys: KvKey[]): Promise<{ value: unknown; versionstamp: string | null }[]>;
  /** Iterate a range of keys. */
  list(
    selector: { prefix: KvKey } | { prefix: KvKey; end: KvKey },
    options?: { limit?: number; reverse?: boolean; batchSize?: number },
  ): AsyncIterable<{ key: readonly unknown[]; value: unknown; versionstamp: string }>;
  /** Start an atomic operation. */
  atomic(): KvAtomicOperation;
}

/**
 * Options of {@linkcode KvCheckpointStorage}.
 *
 * @example
 * ```ts
 * import type { KvCheckpointStorageOptions } from "@superstep/superstep/kv";
 * const options: KvCheckpointStorageOptions = { kv: await Deno.openKv(":memory:"), prefix: ["orders"] };
 * ```
 */
export interface KvCheckpointStorageOptions {
  /**
   * The KV store: a `Deno.Kv` from `Deno.openKv()`, or the client of `openKv()` from `@deno/kv` on Node and
   * Bun. The storage never closes it: its lifetime is yours.
   */
  kv: KvHandle;
  /**
   * Where the storage keeps its keys. Storages with different prefixes in one KV store do not see each
   * other's checkpoints.
   *
   * @default {["superstep"]}
   */
  prefix?: KvKey;
  /**
   * After how long a save whose chunks are staged but not committed counts as abandoned (its process
   * crashed), so that a later save of its session or {@linkcode KvCheckpointStorage.vacuum} removes its
   * chunks. Must exceed the longest save; the clocks of the processes sharing the store must roughly agree.
   *
   * @default {900000} (15 minutes)
   */
  staleAfterMs?: number;
}

/**
 * Options of {@linkcode KvCheckpointStorage.vacuum}.
 *
 * @example
 * ```ts
 * import type { KvVacuumOptions } from "@superstep/superstep/kv";
 * const options: KvVacuumOptions = { olderThanMs: 60 * 60_000 };
 * ```
 */
export interface KvVacuumOptions {
  /**
   * Remove staged saves at least this old even if they could still commit. `0` removes every staged save,
   * including ones in flight in other processes (which then fail): only for a store nobody writes to.
   *
   * @default {the storage's `staleAfterMs`}
   */
  olderThanMs?: number;
}

/**
 * What {@linkcode KvCheckpointStorage.vacuum} removed.
 *
 * @example
 * ```ts
 * import type { KvVacuumResult } from "@superstep/superstep/kv";
 * const result: KvVacuumResult = { abandonedSaves: 0, deletedPayloads: 0 };
 * ```
 */
export interface KvVacuumResult {
  /** Saves that staged chunks and never committed: their chunks are gone. */
  abandonedSaves: number;
  /** Payloads of deleted checkpoints whose chunk removal had not finished. */
  deletedPayloads: number;
}

const DEFAULT_STALE_AFTER_MS = 15 * 60_000;
/** How many staged saves of its session one save looks at (and may clean up). */
const SWEEP_LIMIT = 16;
/** Chunk deletions of one checkpoint done inside its deleting atomic; beyond that, a trash record. */
const INLINE_CHUNK_DELETES = 64;
/** The most key bytes those inline chunk deletions may take (KV allows 80 KiB of keys per atomic). */
const INLINE_KEY_BYTES = 16 * 1024;
/** Attempts of an optimistic delete before it gives up under contention. */
const MAX_ATTEMPTS = 64;

/** A checkpoint about to be deleted: its summary and the versionstamp of its save. */
interface Doomed {
  summary: StoredSummary;
  versionstamp: string;
}

/** The mutations that delete one checkpoint. */
interface Deletion {
  doomed: Doomed;
  /** The summary's key first. */
  deletes: Key[];
  trash?: { key: Key; record: TrashRecord; value: Uint8Array };
  sizes: MutationSize[];
}

/**
 * A {@linkcode CheckpointStorage} on Deno KV, for many processes sharing one store.
 *
 * Keys, under `prefix`: `checkpoint/<id>` (the summary; the range is the index by id),
 * `by_session/<session>/<id>` and `by_workflow/<workflow>/<id>` (copies of the summary, so `list` is one
 * range read), `head/<session>` (the compare-and-set key), `chunk/<id>/<token>/<n>` (the payload: the
 * core codec's text as UTF-8, in 60 KiB chunks), `staging/<session>/<token>` (a save in progress) and
 * `trash/<id>/<token>` (chunks of a deleted checkpoint still to remove). Every value is bytes, so the store
 * never depends on a runtime's V8 serializer and is shared unchanged between Deno, Node and Bun.
 *
 * A save is one `atomic()` that checks the session head's versionstamp and that the id is absent, then
 * writes the summary, both indexes and the new head. A checkpoint whose chunks do not fit into that atomic
 * (KV allows 1000 mutations and 800 KiB per atomic) writes them first, under its save's token, in as many
 * atomics as needed; they are unreachable until the final commit writes the summary that names them.
 * Reads and commits that find a local KV file locked by another handle ("database is locked": neither
 * `Deno.openKv` nor `@deno/kv` waits for the lock) are retried with a short backoff.
 *
 * Ordering: ids are key parts, so `list` is newest first by the UTF-8 byte order of ids (the string order
 * for the ASCII ids of the core). Limits: a summary (ids and metadata) must encode to at most 64 KiB, and
 * each key (prefix plus a session id, workflow name or checkpoint id) to at most 2 KiB.
 *
 * @example
 * ```ts
 * import { KvCheckpointStorage } from "@superstep/superstep/kv";
 * import { WorkflowBuilder, defineExecutor } from "@superstep/superstep";
 *
 * const kv = await Deno.openKv(":memory:");
 * const echo = defineExecutor({ id: "echo", handle: async (text: string, ctx) => await ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo })
 *   .withCheckpointing(new KvCheckpointStorage({ kv }))
 *   .build();
 * const result = await workflow.run("hi");
 * console.assert(result.checkpointId !== undefined);
 * kv.close();
 * ```
 */
export class KvCheckpointStorage implements CheckpointStorage {
  readonly #kv: Kv;
  readonly #keys: Layout;
  readonly #payloads: Payloads;
  readonly #staleAfterMs: number;

  /**
   * Create a storage on a KV store.
   *
   * @param options The KV store, the key prefix and the staleness rule.
   * @throws {TypeError} If `kv` is not a KV handle or `prefix` not an array.
   * @throws {RangeError} If `staleAfterMs` is negative or not a number.
   * @example
   * ```ts
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:"), prefix: ["orders"] });
   * ```
   */
  constructor(options: KvCheckpointStorageOptions) {
    const { kv, prefix = ["superstep"], staleAfterMs = DEFAULT_STALE_AFTER_MS } = options ?? {};
    if (typeof kv !== "object" || kv === null || typeof kv.atomic !== "function") {
      throw new TypeError(`kv: cannot create the storage: options.kv must be a Deno.Kv, got ${describe(kv)}`);
    }
    if (!Array.isArray(prefix)) {
      throw new TypeError(`kv: cannot create the storage: options.prefix must be an array of key parts`);
    }
    if (typeof staleAfterMs !== "number" || !(staleAfterMs >= 0)) {
      throw new RangeError(
        `kv: cannot create the storage: staleAfterMs must be a non-negative number, got ${staleAfterMs}`,
      );
    }
    this.#kv = retryingLocks(kv);
    this.#keys = new Layout([...prefix]);
    this.#payloads = new Payloads(this.#kv, this.#keys, staleAfterMs);
    this.#staleAfterMs = staleAfterMs;
  }

  /**
   * Store a checkpoint and make it its session's head: a compare-and-set on the head, in one atomic commit.
   * Afterwards, removes the staged chunks of saves of the same session that can no longer commit.
   *
   * @param checkpoint The checkpoint to store (encoded at once: later changes to it are not seen).
   * @returns Once committed.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it (or another writer moved it first). Nothing is visible.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @throws {RangeError} If the summary (ids and metadata) encodes to more than 64 KiB.
   * @example
   * ```ts
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const kv = await Deno.openKv(":memory:");
   * const storage = new KvCheckpointStorage({ kv });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * console.assert((await storage.head(checkpoint.sessionId)) === checkpoint.id);
   * kv.close();
   * ```
   */
  async save(checkpoint: Checkpoint): Promise<void> {
    const text = encodeCheckpoint(checkpoint);
    const { id, sessionId, parentId, workflowName } = checkpoint;
    const keys = this.#keys;
    const token = crypto.randomUUID();
    const payload = encodeText(text);
    const chunks = splitChunks(payload);
    const stored: StoredSummary = {
      id,
      parentId,
      sessionId,
      workflowName,
      superstep: checkpoint.superstep,
      createdAt: checkpoint.createdAt,
      metadata: encodeValue(checkpoint.metadata),
      token,
      chunks: chunks.length,
      bytes: payload.length,
    };
    const summary = encodeRecord(stored);
    if (summary.length > MAX_VALUE_BYTES) {
      throw new RangeError(
        `kv: cannot save checkpoint ${id}: its summary (ids and metadata) takes ${summary.length} bytes, ` +
          `over the ${MAX_VALUE_BYTES}-byte KV value limit`,
      );
    }
    const headKey = keys.head(sessionId);
    const idKey = keys.checkpoint(id);
    const [[head, existing], staged] = await Promise.all([
      this.#kv.getMany([headKey, idKey]),
      collect(this.#kv.list({ prefix: keys.staging(sessionId) }, { limit: SWEEP_LIMIT })),
    ]);
    if (existing.versionstamp !== null) throw idExists(id);
    if (head.versionstamp !== null && decodeText(head.value) !== parentId) {
      throw headMoved(checkpoint, decodeText(head.value));
    }

    const visible: [Key, Uint8Array][] = [
      [idKey, summary],
      [keys.bySession(sessionId, id), summary],
      [keys.byWorkflow(workflowName, id), summary],
      [headKey, encodeText(id)],
    ];
    const chunkWrites: [Key, Uint8Array][] = chunks.map((chunk, i) => [keys.chunk(id, token, i), chunk]);
    const inline = fitsOneAtomic(sizesOf([...visible, ...chunkWrites]), 2);
    const staging = inline
      ? undefined
      : await this.#payloads.stage(checkpoint, stored, head.versionstamp, chunkWrites);
    let committed: string;
    try {
      const op = this.#kv.atomic().check(
        { key: headKey, versionstamp: head.versionstamp },
        { key: idKey, versionstamp: null },
      );
      if (staging) op.check({ key: staging.key, versionstamp: staging.versionstamp }).delete(staging.key);
      else for (const [key, value] of chunkWrites) op.set(key, value);
      for (const [key, value] of visible) op.set(key, value);
      const result = await op.commit();
      if (!result.ok) throw await this.#explainFailedCommit(checkpoint, head.versionstamp, staging);
      committed = result.versionstamp;
    } catch (error) {
      if (staging) await this.#payloads.discardQuietly(staging);
      throw error;
    }
    await this.#payloads.sweep(staged, committed);
  }

  /**
   * Load a checkpoint: its summary first, then the chunks the summary names.
   *
   * @param id The checkpoint's id.
   * @returns A fresh copy of the checkpoint, or `undefined` if there is none with that id (also when it is
   *   deleted while being read).
   * @throws {CheckpointCorruptError} Naming `id`, if its summary or a chunk is missing or damaged.
   * @example
   * ```ts
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * console.assert((await storage.load("01JABC")) === undefined);
   * ```
   */
  async load(id: string): Promise<Checkpoint | undefined> {
    const key = this.#keys.checkpoint(id);
    for (let attempt = 0;; attempt++) {
      const entry = await this.#kv.get(key);
      if (entry.versionstamp === null) return undefined;
      const stored = decodeSummary(id, entry.value);
      const payload = await this.#payloads.read(stored);
      if (typeof payload === "string") {
        const again = await this.#kv.get(key);
        // Deleted (or deleted and saved again) while we read its chunks: not damage.
        if (again.versionstamp === null) return undefined;
        if (again.versionstamp !== entry.versionstamp && attempt < 2) continue;
        throw new CheckpointCorruptError(id, `kv: ${payload}`);
      }
      const text = decodeText(payload);
      if (text === undefined) throw new CheckpointCorruptError(id, "kv: its payload is not valid UTF-8");
      return decodeCheckpoint(text, id);
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
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * const page = await storage.list({ sessionId: "s1", limit: 10 });
   * ```
   */
  async list(query: CheckpointQuery = {}): Promise<CheckpointSummary[]> {
    const { workflowName, sessionId, limit, before } = query;
    if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) {
      throw new RangeError(`kv: cannot list checkpoints: limit must be a positive integer, got ${limit}`);
    }
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
    for await (const entry of entries) {
      const stored = decodeSummary(lastPart(entry.key), entry.value);
      if (filter && stored.workflowName !== workflowName) continue;
      out.push(toPublicSummary(stored));
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
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * console.assert((await storage.head("s1")) === undefined);
   * ```
   */
  async head(sessionId: string): Promise<string | undefined> {
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
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * console.assert((await storage.delete("01JABC")) === false);
   * ```
   */
  async delete(id: string): Promise<boolean> {
    const keys = this.#keys;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(keys.checkpoint(id));
      if (entry.versionstamp === null) return false;
      const summary = decodeSummary(id, entry.value);
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
    throw new Error(`kv: cannot delete checkpoint ${id}: concurrent writes kept changing its session`);
  }

  /**
   * Delete every checkpoint of a session (up to ten per atomic), then its head.
   *
   * @param sessionId The session.
   * @returns How many checkpoints this call deleted (0 for an unknown session).
   * @throws {Error} If concurrent saves kept extending the session for 64 rounds.
   * @example
   * ```ts
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * console.assert((await storage.deleteSession("s1")) === 0);
   * ```
   */
  async deleteSession(sessionId: string): Promise<number> {
    const headKey = this.#keys.head(sessionId);
    let count = 0;
    for (let round = 0; round < MAX_ATTEMPTS; round++) {
      const page = await collect(this.#kv.list({ prefix: this.#keys.bySession(sessionId) }, { limit: 100 }));
      if (page.length === 0) {
        const head = await this.#kv.get(headKey);
        if (head.versionstamp === null) return count;
        // A save that commits meanwhile changes the head's versionstamp: then go round again.
        const result = await this.#kv.atomic().check({ key: headKey, versionstamp: head.versionstamp })
          .delete(headKey).commit();
        if (result.ok) return count;
        continue;
      }
      const doomed = page.map((entry) => ({
        summary: decodeSummary(lastPart(entry.key), entry.value),
        // An index entry is written in the same commit as its summary, so they share the versionstamp.
        versionstamp: entry.versionstamp,
      }));
      count += await this.#deleteAll(doomed);
    }
    throw new Error(
      `kv: cannot delete session ${JSON.stringify(sessionId)}: concurrent saves kept extending it`,
    );
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
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * console.assert((await storage.lineage("01JABC")).length === 0);
   * ```
   */
  async lineage(id: string): Promise<CheckpointSummary[]> {
    const out: CheckpointSummary[] = [];
    // A new session's first checkpoint may name any parent, even a later one: parents can form a cycle.
    const seen = new Set<string>();
    let current: string | null = id;
    while (current !== null && !seen.has(current)) {
      seen.add(current);
      const entry = await this.#kv.get(this.#keys.checkpoint(current));
      if (entry.versionstamp === null) break;
      const stored = decodeSummary(current, entry.value);
      out.push(toPublicSummary(stored));
      current = stored.parentId;
    }
    return out;
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
   * import { KvCheckpointStorage } from "@superstep/superstep/kv";
   * const storage = new KvCheckpointStorage({ kv: await Deno.openKv(":memory:") });
   * const { abandonedSaves } = await storage.vacuum();
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
  ): Promise<Error> {
    const keys = [this.#keys.head(checkpoint.sessionId), this.#keys.checkpoint(checkpoint.id)];
    if (staging) keys.push(staging.key);
    const [head, existing, record] = await this.#kv.getMany(keys);
    if (existing.versionstamp !== null) return idExists(checkpoint.id);
    if (head.versionstamp !== headVersionstamp) {
      return headMoved(checkpoint, head.versionstamp === null ? undefined : decodeText(head.value));
    }
    if (staging && record.versionstamp !== staging.versionstamp) {
      return await this.#payloads.lostStaging(checkpoint, staging);
    }
    return new CheckpointConflictError(
      `kv: cannot save checkpoint ${checkpoint.id}: a concurrent write to session ` +
        `${JSON.stringify(checkpoint.sessionId)} failed the commit's checks`,
    );
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
  #addDeletion(op: Atomic, { doomed, deletes, trash }: Deletion): void {
    op.check({ key: deletes[0], versionstamp: doomed.versionstamp });
    for (const key of deletes) op.delete(key);
    if (trash) op.set(trash.key, trash.value);
  }

  /** Deletes checkpoints, several per atomic; returns how many this call deleted. */
  async #deleteAll(doomed: Doomed[]): Promise<number> {
    const plans = doomed.map((entry) => this.#planDeletion(entry));
    let count = 0;
    let start = 0;
    while (start < plans.length) {
      // One check per checkpoint (KV allows ten per atomic); stop before any other limit.
      let end = start + 1;
      while (
        end < plans.length && end - start < MAX_CHECKS &&
        fitsOneAtomic(plans.slice(start, end + 1).flatMap((plan) => plan.sizes), end + 1 - start)
      ) end++;
      const group = plans.slice(start, end);
      start = end;
      const op = this.#kv.atomic();
      for (const plan of group) this.#addDeletion(op, plan);
      if ((await op.commit()).ok) {
        count += group.length;
        for (const plan of group) if (plan.trash) await this.#payloads.emptyTrash(plan.trash.record);
        continue;
      }
      // Someone else deleted one of them: go one by one, counting only ours.
      for (const plan of group) {
        const single = this.#kv.atomic();
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
    if (summary.parentId !== null) {
      const parent = await this.#kv.get(this.#keys.checkpoint(summary.parentId));
      if (
        parent.versionstamp !== null &&
        decodeSummary(summary.parentId, parent.value).sessionId === summary.sessionId
      ) {
        return { id: summary.parentId, versionstamp: parent.versionstamp };
      }
    }
    const newest = this.#kv.list({ prefix: this.#keys.bySession(summary.sessionId) }, {
      reverse: true,
      limit: 2,
    });
    for await (const entry of newest) {
      const id = lastPart(entry.key);
      if (id !== summary.id) return { id, versionstamp: entry.versionstamp };
    }
    return undefined;
  }
}

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

/** The id at the end of an index or summary key. */
function lastPart(key: readonly unknown[]): string {
  const id = key[key.length - 1];
  if (typeof id !== "string") {
    throw new CheckpointCorruptError(undefined, "kv: an index key does not end in an id");
  }
  return id;
}

function describe(value: unknown): string {
  return value === null ? "null" : typeof value;
}
