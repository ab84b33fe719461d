// The checkpoint storage every SQLite adapter is (package-private): the storage kit's rules — ids and
// queries checked, checkpoints encoded, the payload split under the backend's row limit, conflicts made
// structured errors, stored summaries and payloads checked as they are decoded, lineage walked — on top of
// an EncodedStore. The adapters' public classes delegate to it and document their backend.
import type {
  Checkpoint,
  CheckpointQuery,
  CheckpointStorage,
  CheckpointSummary,
} from "../../src/checkpoint.ts";
import * as kit from "../../src/storage_kit.ts";
import { joinPayload, planRows } from "./_payload.ts";
import type { EncodedStore } from "./_store.ts";

export class SqlCheckpoints implements CheckpointStorage {
  readonly #adapter: string;
  readonly #store: EncodedStore;
  readonly #maxRowBytes: number;

  /**
   * @param adapter The adapter's name, which starts every error message.
   * @param store The backend.
   * @param maxRowBytes The backend's cap on a row, in UTF-8 bytes: a larger payload is stored in parts.
   */
  constructor(adapter: string, store: EncodedStore, maxRowBytes = Infinity) {
    this.#adapter = adapter;
    this.#store = store;
    this.#maxRowBytes = maxRowBytes;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const adapter = this.#adapter;
    const rows = planRows(adapter, kit.encodeForStorage(adapter, checkpoint), this.#maxRowBytes);
    const outcome = await this.#store.save(rows);
    if (outcome.saved) return;
    if (outcome.conflict === "id-taken") throw kit.idTaken(adapter, checkpoint);
    if (outcome.conflict === "parent-missing") throw kit.parentMissing(adapter, checkpoint);
    throw kit.headMoved(adapter, checkpoint, outcome.head);
  }

  async load(id: string): Promise<Checkpoint | undefined> {
    kit.checkId(this.#adapter, "load a checkpoint", "checkpoint id", id);
    const stored = await this.#store.load(id);
    if (stored === undefined) return undefined;
    const summary = { id, sessionId: String(stored.sessionId), workflowName: String(stored.workflowName) };
    return kit.decodeStoredCheckpoint(this.#adapter, summary, joinPayload(this.#adapter, id, stored));
  }

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
    return await this.#store.delete(id);
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

  close(): Promise<void> {
    return this.#store.close();
  }
}
