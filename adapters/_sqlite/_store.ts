// The SQLite checkpoint store (package-private): the storage contract on encoded checkpoints — what a save,
// a load, a list … reads and writes, as stored — over one SqlConnection. `_checkpoints.ts` puts the
// encoding, checks and decoding on top; the Durable Object adapter also serves this level over its
// protocol, so that the payload is encoded and decoded in the caller's isolate, not in the object.
import type { CheckpointQuery, SessionQuery } from "../../src/checkpoint.ts";
import type {
  CheckedRequestQuery,
  StoredFields,
  StoredSession,
  StoredWaitingRequest,
} from "../../src/storage_kit.ts";
import type { SqlConnection } from "./_connection.ts";
import { GroupCommit } from "./_group_commit.ts";
import type { StoredPayload } from "./_payload.ts";
import {
  BASES_SEPARATOR,
  basesStatement,
  claimLeaseStatement,
  conflictStatement,
  DELETED_SESSION_CHECKPOINTS,
  deleteSessionStatements,
  deleteStatements,
  dependentsStatement,
  headStatement,
  type IndexColumns,
  lineageStatement,
  listRequestsStatement,
  listSessionsStatement,
  listStatement,
  loadStatement,
  type PayloadRewrite,
  reindexStatements,
  releaseLeaseStatement,
  renewLeaseStatement,
  rowStatement,
  type RowsToSave,
  saveStatements,
  unindexedStatement,
} from "./_sql.ts";

/** Why a save wrote nothing. */
export type SaveConflict = "id-taken" | "parent-missing" | "head-moved" | "lease-lost";

/** What a save did: stored the checkpoint, or nothing, for a conflict and the session's head now. */
export type SaveOutcome = { saved: true } | { saved: false; conflict: SaveConflict; head: string | null };

/** The storage contract on encoded checkpoints; ids and queries are checked before they reach it. */
export interface EncodedStore {
  /** Store the rows and make the checkpoint its session's head, atomically; or nothing, and say why. */
  save(rows: RowsToSave): Promise<SaveOutcome>;
  /** A checkpoint's payload as stored, or `undefined`. */
  /** `withBase`: also its delta base's row, if it has one (else it may come or not). */
  load(id: string, withBase?: boolean): Promise<StoredPayload | undefined>;
  /** Summaries as stored, newest first. */
  list(query: CheckpointQuery): Promise<StoredFields[]>;
  /** A session's head. */
  head(sessionId: string): Promise<string | undefined>;
  /**
   * Delete a checkpoint (moving its session's head); whether it was deleted. With `dependents`: first
   * store `rewrites`, all only while the payloads based on `id` are exactly `dependents` (else nothing, and
   * `false`).
   */
  delete(id: string, rewrites?: readonly PayloadRewrite[], dependents?: readonly string[]): Promise<boolean>;
  /** The ids of the checkpoints whose payload is a delta on `id`. */
  dependents(id: string): Promise<string[]>;
  /**
   * Optional fast path: the payloads from `id` back along their delta bases towards a keyframe, at most
   * `count`, `id` first, in one query; it ends before a payload stored in parts (read that with `load`).
   */
  bases?(id: string, count: number): Promise<{ id: string; payload: string }[]>;
  /** Delete a session's checkpoints and head; how many. */
  deleteSession(sessionId: string): Promise<number>;
  /** The summaries of `id` and its ancestors as stored, unordered. */
  lineage(id: string): Promise<StoredFields[]>;
  /** The session index as stored, newest head first (heads not indexed yet left out). */
  listSessions(query: SessionQuery): Promise<StoredSession[]>;
  /** The inbox as stored, newest request first. */
  listRequests(query: CheckedRequestQuery): Promise<StoredWaitingRequest[]>;
  /** Heads written before the index, not indexed yet: at most `limit`. */
  unindexed(limit: number): Promise<{ sessionId: string; headId: string }[]>;
  /** Index a head written before the index, while it is still the head. */
  reindex(sessionId: string, headId: string, index: IndexColumns): Promise<void>;
  /** Claim a session's lease for `owner` with `token` until `expiresAt`, if it has none or it lapsed at `now`. */
  claimLease(
    sessionId: string,
    owner: string,
    token: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean>;
  /** Extend a session's lease to `expiresAt` while it holds `token`. */
  renewLease(sessionId: string, token: string, expiresAt: number): Promise<boolean>;
  /** Drop a session's lease while it holds `token`. */
  releaseLease(sessionId: string, token: string): Promise<boolean>;
  /** Stop; later calls reject. */
  close(): Promise<void>;
}

/** The {@linkcode EncodedStore} of a SQLite database, in the shared schema (`_schema.ts`). */
export class SqlStore implements EncodedStore {
  readonly #connection: SqlConnection;
  /** Where saves go: the connection, or a group commit sharing one transaction between concurrent saves. */
  readonly #saves: Pick<SqlConnection, "batch">;

  /** @param options.groupCommit Let concurrent saves share one write transaction (`_group_commit.ts`). */
  constructor(connection: SqlConnection, options: { groupCommit?: boolean } = {}) {
    this.#connection = connection;
    this.#saves = options.groupCommit ? new GroupCommit(connection) : connection;
  }

  async save(rows: RowsToSave): Promise<SaveOutcome> {
    const { summary } = rows;
    const action = `save checkpoint ${summary.id}`;
    const results = await this.#saves.batch(action, saveStatements(rows));
    if (results[0].changes === 1 && results[results.length - 1].changes === 1) return { saved: true };
    // A conflict (rare): read what explains it only now, so that a save is one batch and nothing more.
    const { rows: [row] } = await this.#connection.execute(
      action,
      conflictStatement(summary, rows.leaseToken ?? null),
    );
    const head = row?.head === null || row?.head === undefined ? null : String(row.head);
    if (rows.leaseToken !== undefined && Number(row?.leased ?? 0) === 0) {
      return { saved: false, conflict: "lease-lost", head };
    }
    if (Number(row?.taken ?? 0) !== 0) return { saved: false, conflict: "id-taken", head };
    if (head === null && summary.parentId !== null) return { saved: false, conflict: "parent-missing", head };
    return { saved: false, conflict: "head-moved", head };
  }

  async bases(id: string, count: number): Promise<{ id: string; payload: string }[]> {
    const { rows: [row] } = await this.#connection.execute(
      `load checkpoint ${id}`,
      basesStatement(id, count),
    );
    const found = Number(row?.count ?? 0);
    if (found === 0 || typeof row.payloads !== "string" || typeof row.ids !== "string") return [];
    const payloads = row.payloads.split(BASES_SEPARATOR);
    const ids = row.ids.split(BASES_SEPARATOR);
    const depths = String(row.depths).split(BASES_SEPARATOR).map(Number);
    // A split that does not give one of each per row (a damaged payload): read them one by one instead.
    if (payloads.length !== found || ids.length !== found || depths.length !== found) return [];
    const order = depths.map((_, i) => i);
    if (depths.some((depth, i) => depth !== i + 1)) order.sort((a, b) => depths[a] - depths[b]);
    return order.map((i) => ({ id: ids[i], payload: payloads[i] }));
  }

  async load(id: string, withBase = true): Promise<StoredPayload | undefined> {
    const action = `load checkpoint ${id}`;
    const [found] = (await this.#connection.execute(action, rowStatement(id, withBase))).rows;
    if (found === undefined) return undefined;
    if (Number(found.chunks) === 0) {
      return {
        sessionId: found.session_id,
        workflowName: found.workflow_name,
        payload: found.data,
        chunks: found.chunks,
        parts: [],
        base: found.base_id === null || found.base_id === undefined
          ? undefined
          : { id: found.base_id, payload: found.base_payload, chunks: found.base_chunks },
        copy: found.copy,
      };
    }
    // In parts: the row and its parts again, in one statement (a delete cannot come between them).
    return await this.#loadInParts(id, withBase);
  }

  async #loadInParts(id: string, withBase: boolean): Promise<StoredPayload | undefined> {
    const { rows } = await this.#connection.execute(`load checkpoint ${id}`, loadStatement(id, withBase));
    let row: Record<string, unknown> | undefined;
    let base: StoredPayload["base"];
    const parts: StoredPayload["parts"] = [];
    for (const found of rows) {
      const seq = Number(found.seq);
      if (seq === -1) row = found;
      else if (seq === -2) base = { id: found.session_id, payload: found.data, chunks: found.chunks };
      else parts.push({ seq: found.seq, data: found.data });
    }
    if (row === undefined) return undefined;
    return {
      sessionId: row.session_id,
      workflowName: row.workflow_name,
      payload: row.data,
      chunks: row.chunks,
      parts,
      base,
      copy: row.copy,
    };
  }

  async list(query: CheckpointQuery): Promise<StoredFields[]> {
    const { rows } = await this.#connection.execute("list checkpoints", listStatement(query));
    return rows.map(toStoredFields);
  }

  async head(sessionId: string): Promise<string | undefined> {
    const { rows } = await this.#connection.execute(
      `read the head of session ${sessionId}`,
      headStatement(sessionId),
    );
    return rows.length === 0 ? undefined : String(rows[0].head_id);
  }

  async delete(
    id: string,
    rewrites?: readonly PayloadRewrite[],
    dependents?: readonly string[],
  ): Promise<boolean> {
    const results = await this.#connection.batch(
      `delete checkpoint ${id}`,
      deleteStatements(id, rewrites, dependents),
    );
    return results[results.length - 1].changes > 0;
  }

  async dependents(id: string): Promise<string[]> {
    const { rows } = await this.#connection.execute(
      `read the checkpoints based on ${id}`,
      dependentsStatement(id),
    );
    return rows.map((row) => String(row.id));
  }

  async deleteSession(sessionId: string): Promise<number> {
    const results = await this.#connection.batch(
      `delete session ${sessionId}`,
      deleteSessionStatements(sessionId),
    );
    return results[DELETED_SESSION_CHECKPOINTS].changes;
  }

  async lineage(id: string): Promise<StoredFields[]> {
    const action = `read the lineage of checkpoint ${id}`;
    const { rows } = await this.#connection.execute(action, lineageStatement(id));
    return rows.map(toStoredFields);
  }

  async listSessions(query: SessionQuery): Promise<StoredSession[]> {
    const { rows } = await this.#connection.execute("list sessions", listSessionsStatement(query));
    return rows.map((row) => ({
      status: row.index_status,
      pendingRequests: row.index_pending,
      head: toStoredFields(row),
    }));
  }

  async listRequests(query: CheckedRequestQuery): Promise<StoredWaitingRequest[]> {
    const { rows } = await this.#connection.execute("list pending requests", listRequestsStatement(query));
    return rows.map((row) => ({
      requestId: row.request_id,
      executorId: row.executor_id,
      data: row.data,
      path: row.path,
      sessionId: row.session_id,
      workflowName: row.workflow_name,
      checkpointId: row.checkpoint_id,
      createdAt: row.created_at,
    }));
  }

  async unindexed(limit: number): Promise<{ sessionId: string; headId: string }[]> {
    const { rows } = await this.#connection.execute("find heads to index", unindexedStatement(limit));
    return rows.map((row) => ({ sessionId: String(row.session_id), headId: String(row.head_id) }));
  }

  async reindex(sessionId: string, headId: string, index: IndexColumns): Promise<void> {
    await this.#connection.batch(
      `index the head of session ${sessionId}`,
      reindexStatements(sessionId, headId, index),
    );
  }

  async claimLease(
    sessionId: string,
    owner: string,
    token: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    const statement = claimLeaseStatement(sessionId, owner, token, expiresAt, now);
    const [result] = await this.#connection.batch(`claim session ${JSON.stringify(sessionId)}`, [statement]);
    return result.changes === 1;
  }

  async renewLease(sessionId: string, token: string, expiresAt: number): Promise<boolean> {
    const action = `renew the lease of session ${JSON.stringify(sessionId)}`;
    const [result] = await this.#connection.batch(action, [renewLeaseStatement(sessionId, token, expiresAt)]);
    return result.changes === 1;
  }

  async releaseLease(sessionId: string, token: string): Promise<boolean> {
    const action = `release the lease of session ${JSON.stringify(sessionId)}`;
    const [result] = await this.#connection.batch(action, [releaseLeaseStatement(sessionId, token)]);
    return result.changes === 1;
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** A summary row's columns, not checked yet (the storage kit checks them). */
function toStoredFields(row: Record<string, unknown>): StoredFields {
  return {
    id: row.id,
    parentId: row.parent_id,
    sessionId: row.session_id,
    workflowName: row.workflow_name,
    superstep: row.superstep,
    createdAt: row.created_at,
    metadata: row.metadata,
  };
}
