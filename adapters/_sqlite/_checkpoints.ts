// The checkpoint storage every SQLite adapter is (package-private): the storage kit's rules — ids and
// queries checked, checkpoints encoded, the payload split under the backend's row limit, conflicts made
// structured errors, stored summaries and payloads checked as they are decoded, lineage walked — on top of
// an EncodedStore. The adapters' public classes delegate to it and document their backend.
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
import * as kit from "../../src/storage_kit.ts";
import { joinPayload, planRows, splitUtf8, type StoredPayload, utf8Length } from "./_payload.ts";
import type { PayloadRewrite } from "./_sql.ts";
import type { EncodedStore } from "./_store.ts";

/** How often a delete retries when a delta on the checkpoint was saved while it made its dependents whole. */
const DELETE_ATTEMPTS = 5;

export class SqlCheckpoints implements CheckpointStorage {
  readonly #adapter: string;
  readonly #store: EncodedStore;
  readonly #maxRowBytes: number;
  readonly #deltas: kit.DeltaCodec | undefined;

  /**
   * @param adapter The adapter's name, which starts every error message.
   * @param store The backend.
   * @param maxRowBytes The backend's cap on a row, in UTF-8 bytes: a larger payload is stored in parts.
   * @param deltas Store checkpoints as deltas (`true` or the codec's options), or whole (`false`).
   */
  constructor(
    adapter: string,
    store: EncodedStore,
    maxRowBytes = Infinity,
    deltas: boolean | kit.DeltaOptions | undefined = true,
  ) {
    if (
      deltas !== undefined && typeof deltas !== "boolean" && (typeof deltas !== "object" || deltas === null)
    ) {
      throw new TypeError(`${adapter}: cannot create the storage: deltas must be a boolean or delta options`);
    }
    this.#adapter = adapter;
    this.#store = store;
    this.#maxRowBytes = maxRowBytes;
    this.#deltas = deltas === false
      ? undefined
      : new kit.DeltaCodec(typeof deltas === "object" ? deltas : {});
  }

  async save(checkpoint: Checkpoint, options: SaveOptions = {}): Promise<void> {
    const adapter = this.#adapter;
    const encoded = kit.encodeForStorage(adapter, checkpoint, this.#deltas, { copies: true });
    const { lease } = options;
    if (lease !== undefined) {
      kit.checkLease(adapter, "save a checkpoint", lease);
      if (lease.sessionId !== checkpoint.sessionId) throw kit.leaseLost(adapter, lease);
    }
    const rows = planRows(adapter, encoded, this.#maxRowBytes);
    const outcome = await this.#store.save(lease === undefined ? rows : { ...rows, leaseToken: lease.token });
    if (outcome.saved) {
      encoded.stored();
      return;
    }
    if (outcome.conflict === "lease-lost") throw kit.leaseLost(adapter, lease!);
    if (outcome.conflict === "id-taken") throw kit.idTaken(adapter, checkpoint);
    if (outcome.conflict === "parent-missing") throw kit.parentMissing(adapter, checkpoint);
    throw kit.headMoved(adapter, checkpoint, outcome.head);
  }

  async load(id: string): Promise<Checkpoint | undefined> {
    kit.checkId(this.#adapter, "load a checkpoint", "checkpoint id", id);
    // The row alone, its resume copy with it: a waiting head (what a resume loads) is one short statement,
    // as a whole checkpoint is. A delta without a copy reads its base next, unless the codec knows it.
    const stored = await this.#store.load(id, false);
    if (stored === undefined) return undefined;
    const summary = { id, sessionId: String(stored.sessionId), workflowName: String(stored.workflowName) };
    const payload = joinPayload(this.#adapter, id, stored);
    return await kit.loadStoredCheckpoint(
      this.#adapter,
      summary,
      payload,
      this.#deltas,
      this.#readAfter(stored),
      stored.copy,
    );
  }

  /**
   * Reads base chains, starting from the base's row that came with `stored` (if it did): a delta on a
   * keyframe needs no other read.
   */
  #readAfter(stored: StoredPayload): kit.ReadChain {
    const base = baseOf(stored);
    if (base === undefined) return this.#read;
    return async (at, count) => {
      if (at !== base.id || count < 1) return await this.#read(at, count);
      const next = count === 1 ? null : kit.deltaBase(base.payload);
      return next === null ? [base] : [base, ...await this.#read(next, count - 1)];
    };
  }

  /**
   * Stored payloads from `id` back along its delta bases, at most `count`: in one query where the store
   * has one (a payload stored in parts read on its own), else one read for each two.
   */
  #read: kit.ReadChain = async (id, count) => {
    const chain: { id: string; payload: string }[] = [];
    for (let at: string | null = id; at !== null && chain.length < count;) {
      // A plain load brings two payloads and costs about half the recursive query.
      const left = count - chain.length;
      const found = this.#store.bases === undefined || left < 3 ? [] : await this.#store.bases(at, left);
      if (found.length > 0) {
        chain.push(...found);
        at = kit.deltaBase(found[found.length - 1].payload);
        continue;
      }
      const stored = await this.#store.load(at, left > 1);
      if (stored === undefined) break;
      const payload = joinPayload(this.#adapter, at, stored);
      if (typeof payload !== "string") break;
      chain.push({ id: at, payload });
      at = kit.deltaBase(payload);
      const base = baseOf(stored);
      if (at === null || base?.id !== at || chain.length === count) continue;
      chain.push(base);
      at = kit.deltaBase(base.payload);
    }
    return chain;
  };

  async list(query?: CheckpointQuery): Promise<CheckpointSummary[]> {
    const checked = kit.checkListQuery(this.#adapter, query);
    return (await this.#store.list(checked)).map((row) => kit.decodeSummary(this.#adapter, row));
  }

  async head(sessionId: string): Promise<string | undefined> {
    kit.checkId(this.#adapter, "read the head", "session id", sessionId);
    return await this.#store.head(sessionId);
  }

  async delete(id: string): Promise<boolean> {
    kit.checkId(this.#adapter, "delete a checkpoint", "checkpoint id", id);
    // Delta payloads may be stored even when this storage writes none (by another, or an earlier one).
    const deltas = this.#deltas ?? new kit.DeltaCodec();
    for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
      // A delta on `id` is stored whole in the same batch: nothing may need a deleted payload.
      const dependents = await this.#store.dependents(id);
      const rewrites: PayloadRewrite[] = [];
      for (const dependent of dependents) {
        const stored = await this.#store.load(dependent);
        if (stored === undefined) continue;
        const payload = joinPayload(this.#adapter, dependent, stored);
        if (typeof payload !== "string") continue;
        // Its base's row (the checkpoint being deleted) came with it.
        const whole = await deltas.rebase(dependent, payload, id, this.#readAfter(stored));
        if (whole !== undefined) rewrites.push(this.#rewrite(dependent, whole));
      }
      if (await this.#store.delete(id, rewrites, dependents)) {
        deltas.forget(id);
        return true;
      }
      if (await this.#store.load(id, false) === undefined) return false;
    }
    throw new TypeError(
      `${this.#adapter}: cannot delete checkpoint ${id}: checkpoints kept being saved on it (a session head ` +
        `under constant extension); retry`,
    );
  }

  /** `payload` as the stored payload of `id`, in parts if its row would pass the backend's cap. */
  #rewrite(id: string, payload: string): PayloadRewrite {
    if (this.#maxRowBytes === Infinity || payload.length * 3 + 1024 <= this.#maxRowBytes) {
      return { id, payload, chunks: [] };
    }
    if (utf8Length(payload) + 1024 <= this.#maxRowBytes) return { id, payload, chunks: [] };
    return { id, payload: "", chunks: splitUtf8(payload, this.#maxRowBytes) };
  }

  async deleteSession(sessionId: string): Promise<number> {
    kit.checkId(this.#adapter, "delete a session", "session id", sessionId);
    return await this.#store.deleteSession(sessionId);
  }

  async lineage(id: string): Promise<CheckpointSummary[]> {
    kit.checkId(this.#adapter, "read the lineage", "checkpoint id", id);
    const byId = new Map<string, CheckpointSummary>();
    for (const row of await this.#store.lineage(id)) {
      const summary = kit.decodeSummary(this.#adapter, row);
      byId.set(summary.id, summary);
    }
    // The query returns the ancestors unordered: follow the parent pointers.
    return await kit.walkLineage(id, (current) => byId.get(current), (summary) => summary.parentId);
  }

  async listSessions(query?: SessionQuery): Promise<SessionSummary[]> {
    const checked = kit.checkSessionQuery(this.#adapter, query);
    await this.#indexOldHeads();
    return (await this.#store.listSessions(checked)).map((row) => kit.decodeSession(this.#adapter, row));
  }

  async listPendingRequests(query?: PendingRequestQuery): Promise<WaitingRequest[]> {
    const checked = kit.checkPendingRequestQuery(this.#adapter, query);
    await this.#indexOldHeads();
    return (await this.#store.listRequests(checked)).map((row) =>
      kit.decodeWaitingRequest(this.#adapter, row)
    );
  }

  /**
   * Index the heads written before the index existed (a database migrated from an older schema, or a head
   * a delete moved back onto such a checkpoint): each loaded once, whole, and indexed as `save` would have.
   * Nothing to do — one indexed query — once they all are.
   */
  async #indexOldHeads(): Promise<void> {
    const seen = new Set<string>();
    while (true) {
      const heads = (await this.#store.unindexed(100)).filter(({ headId }) => !seen.has(headId));
      // Each head is tried once per call: one that cannot be indexed (its row is gone) does not loop.
      if (heads.length === 0) return;
      for (const { sessionId, headId } of heads) {
        seen.add(headId);
        const checkpoint = await this.load(headId);
        // A head whose row went meanwhile: the delete that removed it moved the head and its index.
        if (checkpoint === undefined) continue;
        await this.#store.reindex(sessionId, headId, kit.indexOf(checkpoint));
      }
    }
  }

  async claimLease(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined> {
    const lease = kit.newLease(kit.checkLeaseClaim(this.#adapter, sessionId, owner, request));
    const claimed = await this.#store.claimLease(sessionId, owner, lease.token, lease.expiresAt, request.now);
    return claimed ? lease : undefined;
  }

  async renewLease(lease: Lease, request: LeaseRequest): Promise<Lease | undefined> {
    kit.checkLease(this.#adapter, "renew a lease", lease);
    const { expiresAt } = kit.checkLeaseRequest(this.#adapter, request);
    const renewed = await this.#store.renewLease(lease.sessionId, lease.token, expiresAt);
    return renewed ? { ...lease, expiresAt } : undefined;
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    kit.checkLease(this.#adapter, "release a lease", lease);
    return await this.#store.releaseLease(lease.sessionId, lease.token);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

/** The base row read with a stored checkpoint, when its payload is whole in the row. */
function baseOf(stored: StoredPayload): { id: string; payload: string } | undefined {
  const { base } = stored;
  if (base === undefined || typeof base.id !== "string" || typeof base.payload !== "string") return undefined;
  return Number(base.chunks) === 0 ? { id: base.id, payload: base.payload } : undefined;
}
