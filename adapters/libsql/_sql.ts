/**
 * The SQL of the libSQL checkpoint storage (package-private): every statement the adapter runs on its
 * tables, kept apart so that tests can `EXPLAIN QUERY PLAN` exactly what the adapter executes.
 *
 * Every statement is plain SQLite SQL with positional arguments (`?1`, `?2` …), so the same text runs over a
 * local connection (`file:`, `:memory:`) and over Hrana (`libsql:`, `https:`).
 *
 * @module
 */
import type { CheckpointQuery } from "../../src/checkpoint.ts";
import type { EncodedCheckpoint } from "../../src/storage_kit.ts";
import type { LibsqlStatement } from "./client.ts";

/** The summary columns, in `CheckpointSummary` order. */
const SUMMARY = "id, parent_id, session_id, workflow_name, superstep, created_at, metadata";

/**
 * A save, as one write batch:
 * 0. the head compare-and-set: insert the session's head (a new session) or move it from `parentId` to
 *    `id`, only if `id` is not taken; it changes one row exactly when the save may proceed. A session
 *    without a head takes only a new lineage (`parentId` null) or a fork (a parent in another session): a
 *    save that follows a checkpoint of a session deleted meanwhile must not bring the session back;
 * 1. the insert, only if statement 0 made `id` the head and `id` is not taken (`ON CONFLICT DO NOTHING`):
 *    so exactly when 0 changed a row, since a head always names a stored checkpoint. It reads only the
 *    heads table: an `INSERT … SELECT` that also read `superstep_checkpoints` would make SQLite copy the
 *    row, payload included, through a temporary table first.
 * A conflict is explained afterwards by {@linkcode conflictStatement}.
 */
export function saveStatements({ summary, payload }: EncodedCheckpoint): LibsqlStatement[] {
  const { id, sessionId, parentId } = summary;
  return [
    {
      sql: `INSERT INTO superstep_heads (session_id, head_id)
        SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?2) AND (
          ?3 IS NULL OR EXISTS (SELECT 1 FROM superstep_heads WHERE session_id = ?1)
          OR EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?3 AND session_id <> ?1)
        )
        ON CONFLICT (session_id) DO UPDATE SET head_id = excluded.head_id WHERE superstep_heads.head_id = ?3`,
      args: [sessionId, id, parentId],
    },
    {
      sql: `INSERT INTO superstep_checkpoints
          (id, parent_id, session_id, workflow_name, superstep, created_at, metadata, payload)
        SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
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
      ],
    },
  ];
}

/** After a save changed nothing: the session's head and whether the id was taken, to explain the conflict. */
export function conflictStatement(checkpoint: { id: string; sessionId: string }): LibsqlStatement {
  return {
    sql: `SELECT (SELECT head_id FROM superstep_heads WHERE session_id = ?1) AS head,
      EXISTS (SELECT 1 FROM superstep_checkpoints WHERE id = ?2) AS taken`,
    args: [checkpoint.sessionId, checkpoint.id],
  };
}

/** One checkpoint's payload, with its session and workflow (named if the payload is damaged). */
export function loadStatement(id: string): LibsqlStatement {
  return {
    sql: "SELECT payload, session_id, workflow_name FROM superstep_checkpoints WHERE id = ?1",
    args: [id],
  };
}

/** A session's head. */
export function headStatement(sessionId: string): LibsqlStatement {
  return { sql: "SELECT head_id FROM superstep_heads WHERE session_id = ?1", args: [sessionId] };
}

/** Summaries, newest first. `limit` must already be validated. */
export function listStatement({ workflowName, sessionId, limit, before }: CheckpointQuery): LibsqlStatement {
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
export function lineageStatement(id: string): LibsqlStatement {
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

/**
 * A delete, as one write batch that moves the head if `id` is one (heads are found through `id`'s session,
 * by primary key):
 * 0. a session left with no other checkpoint loses its head;
 * 1. otherwise the head moves to the parent when the parent is in the same session and exists, else to the
 *    session's newest other checkpoint (by id);
 * 2. the delete itself: the changed-row count says whether `id` existed.
 */
export function deleteStatements(id: string): LibsqlStatement[] {
  const session = "(SELECT session_id FROM superstep_checkpoints WHERE id = ?1)";
  return [
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
    { sql: "DELETE FROM superstep_checkpoints WHERE id = ?1", args: [id] },
  ];
}

/** A session delete, as one write batch; statement 1's changed-row count is the number deleted. */
export function deleteSessionStatements(sessionId: string): LibsqlStatement[] {
  return [
    { sql: "DELETE FROM superstep_heads WHERE session_id = ?1", args: [sessionId] },
    { sql: "DELETE FROM superstep_checkpoints WHERE session_id = ?1", args: [sessionId] },
  ];
}
