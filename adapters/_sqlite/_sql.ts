/**
 * The SQL of the SQLite checkpoint storages (package-private): every statement the libSQL, D1 and Durable
 * Object adapters run on their tables, kept apart so that tests can `EXPLAIN QUERY PLAN` exactly what the
 * adapters execute.
 *
 * Every statement is plain SQLite SQL with positional arguments (`?1`, `?2` …), so the same text runs over a
 * local libSQL connection (`file:`, `:memory:`), over Hrana (`libsql:`, `https:`), through a D1 binding and
 * through a Durable Object's `ctx.storage.sql`.
 *
 * @module
 */
import type { CheckpointQuery, SessionQuery } from "../../src/checkpoint.ts";
import type { CheckedRequestQuery, StoredIndex, StoredSummary } from "../../src/storage_kit.ts";

/** A statement with positional arguments (`?1` is `args[0]`). */
export interface SqlStatement {
  /** The SQL text. */
  sql: string;
  /** The values of `?1`, `?2` …; `[]` for none. */
  args: (string | number | null)[];
}

/**
 * What a save writes: the summary columns and either the whole payload in the checkpoint's row (`chunks`
 * empty or absent) or, when the row would outgrow the backend's row limit, `payload` empty and the payload
 * in `chunks`, one row each (see `_payload.ts`).
 */
export interface RowsToSave {
  /** The summary columns. */
  summary: StoredSummary;
  /** The payload, or `""` when it is in `chunks`. */
  payload: string;
  /** The checkpoint the payload is a delta on (`EncodedCheckpoint.base`); absent or `null`: none. */
  base?: string | null;
  /** The payload's parts, in order; empty (or absent) when it is in the row. */
  chunks?: readonly string[];
  /** A resume copy, kept in the row (`EncodedCheckpoint.copy`); absent or `null`: none. */
  copy?: string | null;
  /** The checkpoint of the same session whose resume copy the save clears (`EncodedCheckpoint.dropCopy`). */
  dropCopy?: string | null;
  /** What the session index and the inbox hold for the checkpoint as its session's head. */
  index: IndexColumns;
  /** A leased save: the token the session's lease must hold, or nothing is written. */
  leaseToken?: string;
}

/** The index columns of a checkpoint: its status as a head, and its pending requests as JSON. */
export type IndexColumns = Pick<StoredIndex, "status" | "requestsJson">;

/** The columns of an inbox row, from the `value` of `json_each` over a checkpoint's `requests`. */
const REQUEST_FIELDS = `json_extract(value, '$.requestId'), json_extract(value, '$.executorId'),
  json_extract(value, '$.data'), json_extract(value, '$.path')`;

/** The summary columns, in `CheckpointSummary` order. */
const SUMMARY = "id, parent_id, session_id, workflow_name, superstep, created_at, metadata";

/** The session whose head `?1` (the checkpoint id) is after statement 0 of a save, if that save proceeds. */
const SAVING = `EXISTS (SELECT 1 FROM superstep_heads WHERE session_id = ?2 AND head_id = ?1)
  AND NOT EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?1)`;

/**
 * A save, as one write batch:
 * 0. the head compare-and-set: insert the session's head (a new session) or move it from `parentId` to
 *    `id`, only if `id` is not taken; it changes one row exactly when the save may proceed. A session
 *    without a head takes only a new lineage (`parentId` null) or a fork (a parent in another session): a
 *    save that follows a checkpoint of a session deleted meanwhile must not bring the session back;
 * 1. … n. the payload's chunks, if any, each only while the head is `id` and no row `id` exists yet: that
 *    holds exactly when statement 0 moved the head (a head always names a stored checkpoint, so a head
 *    that was `id` already means `id` is taken);
 * last. the row, only if statement 0 made `id` the head and `id` is not taken (`ON CONFLICT DO NOTHING`):
 *    so exactly when 0 changed a row. It reads only the heads table: an `INSERT … SELECT` that also read
 *    `superstep_checkpoints` would make SQLite copy the row, payload included, through a temporary table.
 * A conflict is explained afterwards by {@linkcode conflictStatement}.
 */
export function saveStatements(
  { summary, payload, base = null, chunks = [], copy = null, dropCopy = null, index, leaseToken }: RowsToSave,
): SqlStatement[] {
  const { id, sessionId, parentId } = summary;
  const hasRequests = index.requestsJson !== "[]";
  return [
    {
      sql: `INSERT INTO superstep_heads (session_id, head_id, workflow_name, status)
        SELECT ?1, ?2, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?2) AND (
          ?3 IS NULL OR EXISTS (SELECT 1 FROM superstep_heads WHERE session_id = ?1)
          OR EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?3 AND session_id <> ?1)
        ) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM superstep_leases WHERE session_id = ?1 AND token = ?6))
        ON CONFLICT (session_id) DO UPDATE SET head_id = excluded.head_id,
          workflow_name = excluded.workflow_name, status = excluded.status
        WHERE superstep_heads.head_id = ?3`,
      args: [sessionId, id, parentId, summary.workflowName, index.status, leaseToken ?? null],
    },
    ...chunks.map((data, seq) => ({
      sql: `INSERT INTO superstep_payload_chunks (checkpoint_id, seq, data)
        SELECT ?1, ?3, ?4 WHERE ${SAVING}`,
      args: [id, sessionId, seq, data],
    })),
    // The inbox follows the head: the old head's requests go, the new head's come, in the same batch.
    { sql: `DELETE FROM superstep_requests WHERE session_id = ?2 AND ${SAVING}`, args: [id, sessionId] },
    ...hasRequests
      ? [{
        sql: `INSERT INTO superstep_requests
            (session_id, request_id, executor_id, data, path, checkpoint_id, workflow_name, created_at)
          SELECT ?2, ${REQUEST_FIELDS}, ?1, ?3, ?4 FROM json_each(?5) WHERE ${SAVING}`,
        args: [id, sessionId, summary.workflowName, summary.createdAt, index.requestsJson],
      }]
      : [],
    // The session waits no more at the checkpoint the save follows: its resume copy goes.
    ...dropCopy === null ? [] : [{
      sql:
        `UPDATE superstep_checkpoints SET copy = NULL WHERE id = ?3 AND session_id = ?2 AND copy IS NOT NULL
        AND ${SAVING}`,
      args: [id, sessionId, dropCopy],
    }],
    {
      sql: `INSERT INTO superstep_checkpoints
          (id, parent_id, session_id, workflow_name, superstep, created_at, metadata, payload, payload_chunks,
            status, requests, base_id, copy)
        SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
        WHERE EXISTS (SELECT 1 FROM superstep_heads WHERE session_id = ?3 AND head_id = ?1)
        ON CONFLICT (id) DO NOTHING`,
      args: [
        id,
        parentId,
        sessionId,
        summary.workflowName,
        summary.superstep,
        summary.createdAt,
        summary.metadata,
        payload,
        chunks.length,
        index.status,
        index.requestsJson,
        base,
        copy,
      ],
    },
  ];
}

/**
 * After a save changed nothing: the session's head, whether the id was taken and whether the session's
 * lease holds `leaseToken` (for a leased save), to explain the conflict.
 */
export function conflictStatement(
  checkpoint: { id: string; sessionId: string },
  leaseToken: string | null = null,
): SqlStatement {
  return {
    sql: `SELECT (SELECT head_id FROM superstep_heads WHERE session_id = ?1) AS head,
      EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?2) AS taken,
      EXISTS (SELECT 1 FROM superstep_leases WHERE session_id = ?1 AND token = ?3) AS leased`,
    args: [checkpoint.sessionId, checkpoint.id, leaseToken],
  };
}

/**
 * Claim a session's lease: inserted, or taken over only when it lapsed (`expires_at <= now`), in one
 * statement of one write transaction, so of concurrent claimants one wins. One change when claimed.
 */
export function claimLeaseStatement(
  sessionId: string,
  owner: string,
  token: string,
  expiresAt: number,
  now: number,
): SqlStatement {
  return {
    sql: `INSERT INTO superstep_leases (session_id, owner, token, expires_at) VALUES (?1, ?2, ?3, ?4)
      ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
        expires_at = excluded.expires_at
        WHERE superstep_leases.expires_at <= ?5`,
    args: [sessionId, owner, token, expiresAt, now],
  };
}

/** Extend a lease while it holds `token`; one change when renewed. */
export function renewLeaseStatement(sessionId: string, token: string, expiresAt: number): SqlStatement {
  return {
    sql: "UPDATE superstep_leases SET expires_at = ?3 WHERE session_id = ?1 AND token = ?2",
    args: [sessionId, token, expiresAt],
  };
}

/** Drop a lease while it holds `token`; one change when dropped. */
export function releaseLeaseStatement(sessionId: string, token: string): SqlStatement {
  return {
    sql: "DELETE FROM superstep_leases WHERE session_id = ?1 AND token = ?2",
    args: [sessionId, token],
  };
}

/**
 * One checkpoint's row: its payload (empty when in parts), chunk count, session, workflow and resume copy,
 * and for a delta without a copy its base's row (`base_id`, `base_payload`, `base_chunks`), by primary key
 * each. The common load, one short statement (a client that compiles each statement on every call pays for
 * its length); a payload in parts is read again with `loadStatement`, which brings the row and its parts at
 * once.
 */
export function rowStatement(id: string, withBase = true): SqlStatement {
  return withBase
    ? {
      sql: `SELECT c.payload AS data, c.payload_chunks AS chunks, c.session_id, c.workflow_name, c.copy,
          b.id AS base_id, b.payload AS base_payload, b.payload_chunks AS base_chunks
        FROM superstep_checkpoints AS c LEFT JOIN superstep_checkpoints AS b
          ON b.id = c.base_id AND c.copy IS NULL
        WHERE c.id = ?1`,
      args: [id],
    }
    : {
      sql: `SELECT payload AS data, payload_chunks AS chunks, session_id, workflow_name, copy
        FROM superstep_checkpoints WHERE id = ?1`,
      args: [id],
    };
}

/**
 * One checkpoint's payload, with its session and workflow (named if the payload is damaged), in one
 * statement so that a concurrent delete cannot come between the row and its chunks: the row (`seq` -1,
 * `chunks` its chunk count), its chunks, unordered (the caller orders them by `seq`), and for a delta its
 * base's row (`seq` -2, the base's id as `session_id`) unless `withBase` is false. Read for a payload in
 * parts (`rowStatement` reads every other).
 */
export function loadStatement(id: string, withBase = true): SqlStatement {
  const base = `
      UNION ALL
      SELECT -2, b.payload, b.payload_chunks, b.id, NULL, NULL
        FROM superstep_checkpoints AS c JOIN superstep_checkpoints AS b ON b.id = c.base_id
        WHERE c.id = ?1 AND c.copy IS NULL`;
  return {
    sql: `SELECT -1 AS seq, payload AS data, payload_chunks AS chunks, session_id, workflow_name, copy
        FROM superstep_checkpoints WHERE id = ?1
      UNION ALL
      SELECT seq, data, NULL, NULL, NULL, NULL FROM superstep_payload_chunks WHERE checkpoint_id = ?1${
      withBase ? base : ""
    }`,
    args: [id],
  };
}

/**
 * The separator of `basesStatement`'s joined columns: U+001E, which no stored payload holds (each is JSON
 * text, or a delta's JSON index and JSON segments, and JSON escapes every control character).
 */
export const BASES_SEPARATOR = "\u001e";

/**
 * The payloads from `id` back along their delta bases (`base_id`) towards a keyframe, at most `count`, in
 * one recursive query (each step by primary key) that answers one row: the payloads, ids and depths (1 for
 * `id`), each joined by BASES_SEPARATOR in the same order, and how many. One row, not one per payload: a
 * driver's cost per row is most of a chain's (@libsql/client defines each row's properties one by one).
 * The walk ends at a payload stored in parts, which is left out (the caller reads it whole). Unordered (an
 * ORDER BY in the aggregate costs a sort): the caller orders by depth.
 */
export function basesStatement(id: string, count: number): SqlStatement {
  return {
    sql: `WITH RECURSIVE bases(id, base_id, payload, chunks, depth) AS (
        SELECT id, base_id, payload, payload_chunks, 1 FROM superstep_checkpoints WHERE id = ?1
        UNION ALL
        SELECT c.id, c.base_id, c.payload, c.payload_chunks, a.depth + 1
          FROM bases AS a JOIN superstep_checkpoints AS c ON c.id = a.base_id
          WHERE a.depth < ?2 AND a.chunks = 0
      )
      SELECT group_concat(payload, char(30)) AS payloads, group_concat(id, char(30)) AS ids,
          group_concat(depth, char(30)) AS depths, count(*) AS count
        FROM bases WHERE chunks = 0`,
    args: [id, Math.min(count, 2 ** 31 - 1)],
  };
}

/** A session's head. */
export function headStatement(sessionId: string): SqlStatement {
  return { sql: "SELECT head_id FROM superstep_heads WHERE session_id = ?1", args: [sessionId] };
}

/** Summaries, newest first. `limit` must already be validated. */
export function listStatement({ workflowName, sessionId, limit, before }: CheckpointQuery): SqlStatement {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (sessionId !== undefined) {
    args.push(sessionId);
    where.push(`session_id = ?${args.length}`);
  }
  if (workflowName !== undefined) {
    args.push(workflowName);
    where.push(`workflow_name = ?${args.length}`);
  }
  if (before !== undefined) {
    args.push(before);
    where.push(`id < ?${args.length}`);
  }
  let sql = `SELECT ${SUMMARY} FROM superstep_checkpoints`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += " ORDER BY id DESC";
  if (limit !== undefined) {
    args.push(Math.min(limit, Number.MAX_SAFE_INTEGER));
    sql += ` LIMIT ?${args.length}`;
  }
  return { sql, args };
}

/**
 * The summaries of `id` and all its ancestors, in one recursive query, unordered (the caller orders them by
 * following `parent_id`). `UNION` (not `UNION ALL`) visits each id once, so parent pointers that form a
 * cycle end the walk; a parent that was deleted has no row, which ends it too.
 */
export function lineageStatement(id: string): SqlStatement {
  return {
    sql: `WITH RECURSIVE ancestry (id) AS (
        SELECT id FROM superstep_checkpoints WHERE id = ?1
        UNION
        SELECT c.parent_id FROM superstep_checkpoints AS c JOIN ancestry AS a ON c.id = a.id
          WHERE c.parent_id IS NOT NULL
      )
      SELECT ${SUMMARY.split(", ").map((column) => `c.${column}`).join(", ")}
        FROM ancestry AS a JOIN superstep_checkpoints AS c ON c.id = a.id`,
    args: [id],
  };
}

/** The ids of the checkpoints whose payload is a delta on `id` (its dependents: all in its session). */
export function dependentsStatement(id: string): SqlStatement {
  return { sql: "SELECT id FROM superstep_checkpoints WHERE base_id = ?1", args: [id] };
}

/** A payload stored in place of another (a dependent made whole before its base is deleted). */
export interface PayloadRewrite {
  /** The checkpoint whose payload it is. */
  id: string;
  /** The payload, or `""` when it is in `chunks`. */
  payload: string;
  /** Its parts, in order; empty when it is in the row. */
  chunks: readonly string[];
}

/**
 * A delete, as one write batch that moves the head if `id` is one (heads are found through `id`'s session,
 * by primary key); its last statement's changed-row count says whether `id` existed:
 * - first, each of `rewrites`: a payload stored in place of another (a dependent of `id` made whole);
 * - a session left with no other checkpoint loses its head;
 * - otherwise the head moves to the parent when the parent is in the same session and exists, else to the
 *   session's newest other checkpoint (by id);
 * - the payload's chunks go;
 * - the delete itself.
 * With `dependents`, every statement also requires that the payloads based on `id` are exactly those: a
 * delta on `id` saved after they were read would need `id`, and then the batch does nothing.
 */
export function deleteStatements(
  id: string,
  rewrites: readonly PayloadRewrite[] = [],
  dependents?: readonly string[],
): SqlStatement[] {
  const session = "(SELECT session_id FROM superstep_checkpoints WHERE id = ?1)";
  // With `dependents`: only while the payloads based on `id` are exactly those (a delta on `id` saved
  // meanwhile would need it); every statement holds the guard, so a batch that loses the race does nothing.
  // A rewritten one no longer has a base.
  const guard = dependents === undefined ? "1" : `NOT EXISTS (SELECT 1 FROM superstep_checkpoints
      WHERE base_id = ?1 AND id NOT IN (SELECT value FROM json_each(?9)))`;
  const known = JSON.stringify(dependents ?? []);
  const guarded = (statement: SqlStatement): SqlStatement => ({
    sql: `${statement.sql} AND ${guard}`,
    args: [...statement.args, ...Array(8 - statement.args.length).fill(null), known],
  });
  return [
    ...rewrites.flatMap(({ id: child, payload, chunks }) => [
      guarded({
        sql: `UPDATE superstep_checkpoints SET payload = ?2, payload_chunks = ?3, base_id = NULL, copy = NULL
          WHERE id = ?4`,
        args: [id, payload, chunks.length, child],
      }),
      guarded({ sql: "DELETE FROM superstep_payload_chunks WHERE checkpoint_id = ?2", args: [id, child] }),
      ...chunks.map((data, seq) =>
        guarded({
          sql: `INSERT INTO superstep_payload_chunks (checkpoint_id, seq, data) SELECT ?2, ?3, ?4 WHERE 1`,
          args: [id, child, seq, data],
        })
      ),
    ]),
  ].concat([
    {
      sql: `DELETE FROM superstep_heads WHERE session_id = ${session} AND head_id = ?1 AND NOT EXISTS (
        SELECT 1 FROM superstep_checkpoints WHERE session_id = superstep_heads.session_id AND id <> ?1
      )`,
      args: [id],
    },
    {
      sql: `UPDATE superstep_heads SET head_id = coalesce(
          (SELECT p.id FROM superstep_checkpoints AS c JOIN superstep_checkpoints AS p ON p.id = c.parent_id
            WHERE c.id = ?1 AND p.session_id = superstep_heads.session_id AND p.id <> ?1),
          (SELECT o.id FROM superstep_checkpoints AS o
            WHERE o.session_id = superstep_heads.session_id AND o.id <> ?1 ORDER BY o.id DESC LIMIT 1)
        )
        WHERE session_id = ${session} AND head_id = ?1`,
      args: [id],
    },
    // The index follows a head that moved: the new head's status, and its requests in place of the old's.
    {
      sql: `UPDATE superstep_heads SET
          status = (SELECT c.status FROM superstep_checkpoints AS c WHERE c.id = superstep_heads.head_id),
          workflow_name = (SELECT c.workflow_name FROM superstep_checkpoints AS c WHERE c.id = superstep_heads.head_id)
        WHERE session_id = ${session} AND head_id <> ?1`,
      args: [id],
    },
    { sql: "DELETE FROM superstep_requests WHERE checkpoint_id = ?1 AND 1", args: [id] },
    {
      sql: `INSERT INTO superstep_requests
          (session_id, request_id, executor_id, data, path, checkpoint_id, workflow_name, created_at)
        SELECT h.session_id, ${REQUEST_FIELDS}, c.id, c.workflow_name, c.created_at
          FROM superstep_heads AS h JOIN superstep_checkpoints AS c ON c.id = h.head_id, json_each(c.requests)
        WHERE h.session_id = ${session} AND h.head_id <> ?1 AND NOT EXISTS (
          SELECT 1 FROM superstep_requests AS r WHERE r.session_id = h.session_id AND r.checkpoint_id = h.head_id
        )`,
      args: [id],
    },
    { sql: "DELETE FROM superstep_payload_chunks WHERE checkpoint_id = ?1", args: [id] },
    { sql: "DELETE FROM superstep_checkpoints WHERE id = ?1", args: [id] },
  ].map((statement) => dependents === undefined ? statement : guarded(statement)));
}

/** Where the changed-row count of a session delete batch is the number of checkpoints deleted. */
export const DELETED_SESSION_CHECKPOINTS = 3;

/** A session delete, as one write batch ({@linkcode DELETED_SESSION_CHECKPOINTS}: the count). */
export function deleteSessionStatements(sessionId: string): SqlStatement[] {
  return [
    { sql: "DELETE FROM superstep_requests WHERE session_id = ?1", args: [sessionId] },
    { sql: "DELETE FROM superstep_heads WHERE session_id = ?1", args: [sessionId] },
    {
      sql: `DELETE FROM superstep_payload_chunks WHERE checkpoint_id IN (
        SELECT id FROM superstep_checkpoints WHERE session_id = ?1
      )`,
      args: [sessionId],
    },
    { sql: "DELETE FROM superstep_checkpoints WHERE session_id = ?1", args: [sessionId] },
  ];
}

/**
 * The session index, newest head first: each head's status, its pending request count and its summary.
 * `limit` must already be validated. Heads not indexed yet (`status` NULL: written before the index) are
 * left out until {@linkcode reindexStatements} indexes them.
 */
export function listSessionsStatement({ workflowName, status, limit, before }: SessionQuery): SqlStatement {
  const where = ["h.status IS NOT NULL"];
  const args: (string | number)[] = [];
  const bind = (value: string | number) => `?${args.push(value)}`;
  if (workflowName !== undefined) where.push(`h.workflow_name = ${bind(workflowName)}`);
  if (status !== undefined) where.push(`h.status = ${bind(status)}`);
  if (before !== undefined) where.push(`h.head_id < ${bind(before)}`);
  let sql = `SELECT h.status AS index_status, json_array_length(c.requests) AS index_pending,
      ${SUMMARY.split(", ").map((column) => `c.${column}`).join(", ")}
    FROM superstep_heads AS h JOIN superstep_checkpoints AS c ON c.id = h.head_id
    WHERE ${where.join(" AND ")} ORDER BY h.head_id DESC`;
  if (limit !== undefined) sql += ` LIMIT ${bind(Math.min(limit, Number.MAX_SAFE_INTEGER))}`;
  return { sql, args };
}

/** The inbox, newest request first (then by session), from the `before` entry on. */
export function listRequestsStatement(
  { workflowName, sessionId, requestId, limit, before }: CheckedRequestQuery,
): SqlStatement {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const bind = (value: string | number) => `?${args.push(value)}`;
  if (workflowName !== undefined) where.push(`workflow_name = ${bind(workflowName)}`);
  if (sessionId !== undefined) where.push(`session_id = ${bind(sessionId)}`);
  if (requestId !== undefined) where.push(`request_id = ${bind(requestId)}`);
  if (before !== undefined) {
    where.push(`(request_id, session_id) < (${bind(before.requestId)}, ${bind(before.sessionId)})`);
  }
  let sql = `SELECT session_id, request_id, checkpoint_id, workflow_name, executor_id, data, path, created_at
    FROM superstep_requests`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += " ORDER BY request_id DESC, session_id DESC";
  if (limit !== undefined) sql += ` LIMIT ${bind(Math.min(limit, Number.MAX_SAFE_INTEGER))}`;
  return { sql, args };
}

/** Heads not indexed yet (written before the index existed), at most `limit`. */
export function unindexedStatement(limit: number): SqlStatement {
  return {
    sql: "SELECT session_id, head_id FROM superstep_heads WHERE status IS NULL LIMIT ?1",
    args: [limit],
  };
}

/**
 * Index a head written before the index (what `save` would have stored for it), as one write batch, only
 * while it is still its session's head.
 */
export function reindexStatements(sessionId: string, headId: string, index: IndexColumns): SqlStatement[] {
  const isHead = "EXISTS (SELECT 1 FROM superstep_heads WHERE session_id = ?1 AND head_id = ?2)";
  return [
    {
      sql: `UPDATE superstep_checkpoints SET status = ?3, requests = ?4 WHERE id = ?2 AND ${isHead}`,
      args: [sessionId, headId, index.status, index.requestsJson],
    },
    { sql: `DELETE FROM superstep_requests WHERE session_id = ?1 AND ${isHead}`, args: [sessionId, headId] },
    {
      sql: `INSERT INTO superstep_requests
          (session_id, request_id, executor_id, data, path, checkpoint_id, workflow_name, created_at)
        SELECT ?1, ${REQUEST_FIELDS}, c.id, c.workflow_name, c.created_at
          FROM superstep_checkpoints AS c, json_each(c.requests) WHERE c.id = ?2 AND ${isHead}`,
      args: [sessionId, headId],
    },
    {
      sql: `UPDATE superstep_heads SET status = ?3,
          workflow_name = (SELECT workflow_name FROM superstep_checkpoints WHERE id = ?2)
        WHERE session_id = ?1 AND head_id = ?2`,
      args: [sessionId, headId, index.status],
    },
  ];
}
