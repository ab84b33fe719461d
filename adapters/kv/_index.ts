// The session index and the inbox of the Deno KV storage (package-private): ordered keys written and deleted
// in the very atomic that moves a session's head (save, delete, deleteSession), so that the index is never
// out of step with the heads.
//
// Per session `idx_session/<session>` records what its head put in the index (to take it out again); the
// head's entry is under `idx_sessions/all/<head>`, `…/status/<status>/<head>`, `…/workflow/<wf>/<head>`
// and `…/workflow_status/<wf>/<status>/<head>`; each pending request under `idx_requests/all/<request>/
// <session>`, `…/workflow/<wf>/<request>/<session>` and `…/session/<session>/<request>`. Newest first is a
// reverse range read of one prefix, paged with an exclusive `end` key.
import type { SessionQuery, SessionStatus, SessionSummary, WaitingRequest } from "../../src/checkpoint.ts";
import * as kit from "../../src/storage_kit.ts";
import { CheckpointCorruptError } from "../../src/errors.ts";
import type { KvAtomicOperation, KvHandle, KvKey } from "./handle.ts";
import type { Layout } from "./_layout.ts";
import { encodeText, parseJson, type StoredSummary } from "./_records.ts";

/** What a session's head put in the index. */
export interface SessionEntry {
  headId: string;
  workflowName: string;
  status: SessionStatus;
  requestIds: string[];
}

/** The largest index value KV takes (64 KiB), less room for its JSON framing. */
const MAX_ENTRY_BYTES = 65_000;

/** The index keys of one storage. */
export class KvIndex {
  readonly #kv: KvHandle;
  readonly #prefix: KvKey;

  constructor(kv: KvHandle, keys: Layout) {
    this.#kv = kv;
    this.#prefix = keys.indexPrefix();
  }

  /** The key of a session's record of what its head put in the index. */
  entryKey(sessionId: string): KvKey {
    return [...this.#prefix, "idx_session", sessionId];
  }

  /** A session's record, with its versionstamp (a deleting or saving atomic checks it). */
  async entry(sessionId: string): Promise<{ entry?: SessionEntry; versionstamp: string | null }> {
    const read = await this.#kv.get(this.entryKey(sessionId));
    return { entry: decodeEntry(read.value), versionstamp: read.versionstamp };
  }

  /** A session's record from a value read with others. */
  decode(value: unknown): SessionEntry | undefined {
    return decodeEntry(value);
  }

  #sessionKeys(entry: Pick<SessionEntry, "headId" | "workflowName" | "status">): KvKey[] {
    const at = [...this.#prefix, "idx_sessions"];
    const { headId, workflowName, status } = entry;
    return [
      [...at, "all", headId],
      [...at, "status", status, headId],
      [...at, "workflow", workflowName, headId],
      [...at, "workflow_status", workflowName, status, headId],
    ];
  }

  #requestKeys(sessionId: string, workflowName: string, requestId: string): KvKey[] {
    const at = [...this.#prefix, "idx_requests"];
    return [
      [...at, "all", requestId, sessionId],
      [...at, "workflow", workflowName, requestId, sessionId],
      [...at, "session", sessionId, requestId],
    ];
  }

  /**
   * What moves a session's index entry from `old` (what its previous head put there) to `head` (the stored
   * summary of its new head, with its index), or removes it when `head` is `undefined`: the keys to set and
   * to delete, for the atomic that moves the head.
   *
   * @throws {RangeError} If a pending request of `head` is too large for a KV value (64 KiB).
   */
  plan(
    sessionId: string,
    old: SessionEntry | undefined,
    head: StoredSummary | undefined,
  ): { sets: [KvKey, Uint8Array][]; deletes: KvKey[] } {
    const sets: [KvKey, Uint8Array][] = [];
    const deletes: KvKey[] = [];
    if (old !== undefined) {
      deletes.push(...this.#sessionKeys(old));
      for (const requestId of old.requestIds) {
        deletes.push(...this.#requestKeys(sessionId, old.workflowName, requestId));
      }
    }
    if (head === undefined || head.status === undefined) {
      deletes.push(this.entryKey(sessionId));
      return { sets, deletes };
    }
    const requests = requestsOf(head);
    const { id, parentId, workflowName, superstep, createdAt, metadata, status } = head;
    const summary = { id, parentId, sessionId, workflowName, superstep, createdAt, metadata };
    const session = encodeText(JSON.stringify({ status, pendingRequests: requests.length, head: summary }));
    for (const key of this.#sessionKeys({ headId: id, workflowName, status })) sets.push([key, session]);
    for (const request of requests) {
      const value = encodeText(
        JSON.stringify({ ...request, sessionId, workflowName, checkpointId: id, createdAt }),
      );
      if (value.length > MAX_ENTRY_BYTES) {
        throw new RangeError(
          `kv: cannot save checkpoint ${id}: its pending request ${request.requestId} takes ${value.length} ` +
            `bytes, more than a KV value of the inbox holds (${MAX_ENTRY_BYTES})`,
        );
      }
      for (const key of this.#requestKeys(sessionId, workflowName, request.requestId)) {
        sets.push([key, value]);
      }
    }
    const entry: SessionEntry = {
      headId: id,
      workflowName,
      status,
      requestIds: requests.map((r) => r.requestId),
    };
    sets.push([this.entryKey(sessionId), encodeText(JSON.stringify(entry))]);
    // A key both set and deleted (a request still pending, a status kept) is only set.
    const kept = new Set(sets.map(([key]) => keyText(key)));
    return { sets, deletes: deletes.filter((key) => !kept.has(keyText(key))) };
  }

  /** Add a plan to an atomic. */
  static apply(op: KvAtomicOperation, plan: { sets: [KvKey, Uint8Array][]; deletes: KvKey[] }): void {
    for (const key of plan.deletes) op.delete(key);
    for (const [key, value] of plan.sets) op.set(key, value);
  }

  /** The session index, newest head first. */
  async listSessions(query: SessionQuery): Promise<SessionSummary[]> {
    const { workflowName, status, limit, before } = query;
    const at = [...this.#prefix, "idx_sessions"];
    const prefix = workflowName !== undefined && status !== undefined
      ? [...at, "workflow_status", workflowName, status]
      : workflowName !== undefined
      ? [...at, "workflow", workflowName]
      : status !== undefined
      ? [...at, "status", status]
      : [...at, "all"];
    const out: SessionSummary[] = [];
    const selector = before === undefined ? { prefix } : { prefix, end: [...prefix, before] };
    for await (const { value } of this.#kv.list(selector, { reverse: true, ...limitOf(limit) })) {
      const parsed = parseJson(value);
      if (parsed === undefined) {
        throw new CheckpointCorruptError(undefined, "kv: a session index entry is not valid");
      }
      const { status, pendingRequests, head } = parsed as {
        status: unknown;
        pendingRequests: unknown;
        head: unknown;
      };
      out.push(kit.decodeSession("kv", { status, pendingRequests, head: (head ?? {}) as kit.StoredFields }));
    }
    return out;
  }

  /** The inbox, newest request first (then by session). */
  async listRequests(query: kit.CheckedRequestQuery): Promise<WaitingRequest[]> {
    const { workflowName, sessionId, requestId, limit, before } = query;
    const at = [...this.#prefix, "idx_requests"];
    const base = sessionId !== undefined
      ? [...at, "session", sessionId]
      : workflowName !== undefined
      ? [...at, "workflow", workflowName]
      : [...at, "all"];
    if (sessionId !== undefined && requestId !== undefined) {
      // One key exactly (a prefix read would leave out the key equal to the prefix).
      const { value, versionstamp } = await this.#kv.get([...base, requestId]);
      if (versionstamp === null) return [];
      const entry = kit.decodeWaitingRequest("kv", parseJson(value) ?? {});
      const wanted = (workflowName === undefined || entry.workflowName === workflowName) &&
        kit.afterCursor(entry, before);
      return wanted ? [entry] : [];
    }
    const prefix = requestId !== undefined ? [...base, requestId] : base;
    // The cursor as an exclusive end key where the key order is the inbox order; else (a request's few
    // entries, or a cursor of another session) it is applied to what is read.
    let end: KvKey | undefined;
    if (before !== undefined && requestId === undefined) {
      if (sessionId === undefined) end = [...base, before.requestId, before.sessionId];
      else if (sessionId >= before.sessionId) end = [...base, before.requestId];
    }
    const out: WaitingRequest[] = [];
    const selector = end === undefined ? { prefix } : { prefix, end };
    for await (const { value } of this.#kv.list(selector, { reverse: true })) {
      const parsed = parseJson(value) ?? {};
      const entry = kit.decodeWaitingRequest("kv", parsed);
      if (workflowName !== undefined && entry.workflowName !== workflowName) continue;
      if (!kit.afterCursor(entry, before)) continue;
      out.push(entry);
      if (limit !== undefined && out.length >= limit) break;
    }
    return out;
  }
}

/** The requests a stored summary holds pending as its index (none for a summary of before the index). */
function requestsOf(head: StoredSummary): kit.StoredRequest[] {
  if (head.requests === undefined) return [];
  return JSON.parse(head.requests) as kit.StoredRequest[];
}

/** A key as text, to compare keys (parts of any type). */
function keyText(key: KvKey): string {
  return key.map((part) => `${typeof part}:${part instanceof Uint8Array ? part.join(",") : String(part)}`)
    .join("\u0000");
}

function limitOf(limit: number | undefined): { limit?: number } {
  return limit === undefined ? {} : { limit: Math.min(limit, Number.MAX_SAFE_INTEGER) };
}

function decodeEntry(value: unknown): SessionEntry | undefined {
  if (value === null || value === undefined) return undefined;
  const record = parseJson(value);
  const valid = record !== undefined && typeof record.headId === "string" &&
    typeof record.workflowName === "string" && typeof record.status === "string" &&
    Array.isArray(record.requestIds) && record.requestIds.every((id) => typeof id === "string");
  if (!valid) throw new CheckpointCorruptError(undefined, "kv: a session index record is not valid");
  return record as unknown as SessionEntry;
}
