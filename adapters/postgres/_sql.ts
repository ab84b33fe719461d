/**
 * The SQL of the Postgres checkpoint storage (package-private): every statement it runs on its tables, for
 * one schema, kept apart so that tests can `EXPLAIN` exactly what the adapter executes.
 *
 * Parameters are positional (`$1`, `$2` …) and cast where Postgres could not infer their type, so the
 * same text prepares on a server (Postgres.js) and in PGlite.
 *
 * @module
 */
import type { CheckpointQuery, SessionQuery } from "../../src/checkpoint.ts";
import type { CheckedRequestQuery, EncodedCheckpoint, StoredIndex } from "../../src/storage_kit.ts";

/** One statement and its parameters. */
export interface Statement {
  text: string;
  params: unknown[];
}

/** The summary columns, in `CheckpointSummary` order (see `toSummary` in mod.ts). */
const SUMMARY = ["id", "parent_id", "session_id", "workflow_name", "superstep", "created_at", "metadata"];

/** A schema name the storage accepts: a lowercase SQL identifier, so it never needs quoting rules. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The statements of the storage in `schema` (already checked against {@linkcode SCHEMA_NAME}). */
export class Sql {
  readonly schema: string;
  readonly checkpoints: string;
  readonly heads: string;
  readonly leases: string;
  readonly requests: string;
  readonly migrations: string;
  readonly #summary: string;
  readonly #save: string;
  readonly #leasedSave: string;
  readonly #delete: string;
  readonly #lineage: string;

  constructor(schema: string) {
    this.schema = schema;
    const C = this.checkpoints = `"${schema}".superstep_checkpoints`;
    const H = this.heads = `"${schema}".superstep_heads`;
    const R = this.requests = `"${schema}".superstep_requests`;
    this.migrations = `"${schema}".superstep_migrations`;
    const L = this.leases = `"${schema}".superstep_leases`;
    this.#summary = SUMMARY.join(", ");
    const parentElsewhere = `EXISTS (SELECT 1 FROM ${C} WHERE id = $2 AND session_id <> $3)`;
    // One statement, so one implicit transaction and one round trip:
    // - `moved` is the head compare-and-set: a new session's head row is inserted, an existing one moves
    //   from the parent to `id` (ON CONFLICT DO UPDATE locks the row and re-checks its WHERE against the
    //   committed head, so of concurrent saves with the same parent exactly one moves it). A session whose
    //   head row is a tombstone (NULL: it was emptied or deleted) takes only a new lineage or a fork, like
    //   a session with no row: a save following a checkpoint of a deleted session must not revive it.
    //   Only when no head row exists does the insert need the fork check itself; when one exists the
    //   insert is only the way into DO UPDATE.
    // - the checkpoint is inserted only if `moved` moved the head. An id that exists already violates the
    //   primary key and the whole statement, head move included, rolls back (mod.ts maps it to id-taken).
    // A leased save (`fence`) also requires the session's lease row to hold its token, locked FOR SHARE:
    // a claim taking the session over commits before the lock (the re-check then sees the new token and
    // moves nothing) or waits for the save.
    // The index rides on the same statement: the head row takes the session's workflow and status, the
    // inbox drops the old head's requests that the new head no longer holds and upserts the new head's
    // (a request still pending keeps its row, moved to the new head), all only if `moved` moved the head.
    const save = (fence: string) =>
      `WITH ${fence}moved AS (
        INSERT INTO ${H} AS h (session_id, head_id, workflow_name, status)
        SELECT $3::text, $1::text, $4::text, $9::text
          WHERE ${fence ? "EXISTS (SELECT 1 FROM fence) AND " : ""}(
            $2::text IS NULL OR EXISTS (SELECT 1 FROM ${H} WHERE session_id = $3) OR ${parentElsewhere}
          )
        ON CONFLICT (session_id) DO UPDATE SET head_id = excluded.head_id,
          workflow_name = excluded.workflow_name, status = excluded.status
          WHERE h.head_id = $2 OR (h.head_id IS NULL AND ($2::text IS NULL OR ${parentElsewhere}))
        RETURNING 1
      ), answered AS (
        DELETE FROM ${R} WHERE session_id = $3 AND EXISTS (SELECT 1 FROM moved)
          AND request_id <> ALL (ARRAY(SELECT e ->> 'requestId' FROM jsonb_array_elements($10::text::jsonb) AS e))
      ), pending AS (
        INSERT INTO ${R} (session_id, request_id, checkpoint_id, workflow_name, executor_id, data, path, created_at)
        SELECT $3::text, e ->> 'requestId', $1::text, $4::text, e ->> 'executorId', e ->> 'data', e ->> 'path',
            $6::text
          FROM jsonb_array_elements($10::text::jsonb) AS e WHERE EXISTS (SELECT 1 FROM moved)
        ON CONFLICT (session_id, request_id) DO UPDATE SET checkpoint_id = excluded.checkpoint_id,
          workflow_name = excluded.workflow_name, executor_id = excluded.executor_id, data = excluded.data,
          path = excluded.path, created_at = excluded.created_at
      ), waited AS (
        -- The session waits no more at the head it follows: that head's resume copy goes.
        UPDATE ${C} SET copy = NULL
          WHERE id = $13::text AND session_id = $3 AND copy IS NOT NULL AND EXISTS (SELECT 1 FROM moved)
      )
      INSERT INTO ${C}
          (id, parent_id, session_id, workflow_name, superstep, created_at, metadata, payload, status, requests,
            base_id, copy)
        SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text, $7::text, $8::text, $9::text,
            $10::text, $11::text, $12::text
          FROM moved
      RETURNING 1`;
    this.#save = save("");
    this.#leasedSave = save(
      `fence AS (SELECT 1 FROM ${L} WHERE session_id = $3 AND token = $14::text FOR SHARE), `,
    );
    // One statement: the row goes, and if it was its session's head the head moves to its parent (when
    // that is in the same session and exists), else to the session's newest other checkpoint, else to NULL
    // (a tombstone). The UPDATE re-checks `head_id = $1` against the committed row, so a save that moved
    // the head meanwhile keeps it. Nothing happens while a delta payload is based on the row: mod.ts makes
    // those dependents whole first, in the same transaction.
    this.#delete = `WITH target AS (
        SELECT parent_id, session_id FROM ${C} WHERE id = $1
      ), removed AS (
        DELETE FROM ${C} WHERE id = $1 AND NOT EXISTS (
          SELECT 1 FROM ${C} AS k WHERE k.base_id = $1
        ) RETURNING 1
      ), successor AS (
        SELECT t.session_id, coalesce(
          (SELECT p.id FROM ${C} AS p WHERE p.id = t.parent_id AND p.session_id = t.session_id AND p.id <> $1),
          (SELECT o.id FROM ${C} AS o WHERE o.session_id = t.session_id AND o.id <> $1
            ORDER BY o.id DESC LIMIT 1)
        ) AS head_id FROM target AS t
      ), moved AS (
        UPDATE ${H} AS h SET head_id = s.head_id FROM successor AS s
          WHERE h.session_id = s.session_id AND h.head_id = $1 AND EXISTS (SELECT 1 FROM removed)
        RETURNING 1
      )
      SELECT count(*) FROM removed`;
    // Each step reads the parent's summary by primary key; the summaries travel through the recursion, so
    // no join with the whole table follows it. `UNION` (not `UNION ALL`) drops a row seen before, so parent
    // pointers that form a cycle end the walk; a deleted parent has no row, which ends it too. The rows come
    // unordered: mod.ts follows the pointers.
    this.#lineage = `WITH RECURSIVE ancestry AS (
        SELECT ${this.#summary} FROM ${C} WHERE id = $1
        UNION
        SELECT ${SUMMARY.map((column) => `c.${column}`).join(", ")}
          FROM ${C} AS c JOIN ancestry AS a ON c.id = a.parent_id
      )
      SELECT ${this.#summary} FROM ancestry`;
  }

  /**
   * A save; it returns one row exactly when the checkpoint was stored and made the head (with `leaseToken`:
   * only while the session's lease holds that token).
   */
  save(
    { summary, payload, base, copy, dropCopy, index }: Pick<
      EncodedCheckpoint,
      "summary" | "payload" | "base" | "copy" | "dropCopy" | "index"
    >,
    leaseToken?: string,
  ): Statement {
    const { id, parentId, sessionId, workflowName, superstep, createdAt, metadata } = summary;
    const params = [
      id,
      parentId,
      sessionId,
      workflowName,
      superstep,
      createdAt,
      metadata,
      payload,
      index.status,
      index.requestsJson,
      base,
      copy,
      dropCopy,
    ];
    if (leaseToken === undefined) return { text: this.#save, params };
    return { text: this.#leasedSave, params: [...params, leaseToken] };
  }

  /**
   * Claim a session's lease: inserted, or taken over only when it lapsed (ON CONFLICT DO UPDATE locks the
   * row and re-checks the WHERE against the committed lease, so of concurrent claimants one wins). One row
   * when claimed.
   */
  claimLease(sessionId: string, owner: string, token: string, expiresAt: number, now: number): Statement {
    return {
      text: `INSERT INTO ${this.leases} AS l (session_id, owner, token, expires_at)
        VALUES ($1::text, $2::text, $3::text, $4::bigint)
        ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
          expires_at = excluded.expires_at
          WHERE l.expires_at <= $5::bigint
        RETURNING 1`,
      params: [sessionId, owner, token, expiresAt, now],
    };
  }

  /** Extend a lease while it holds `token`; one row when renewed. */
  renewLease(sessionId: string, token: string, expiresAt: number): Statement {
    return {
      text:
        `UPDATE ${this.leases} SET expires_at = $3::bigint WHERE session_id = $1 AND token = $2 RETURNING 1`,
      params: [sessionId, token, expiresAt],
    };
  }

  /** Drop a lease while it holds `token`; one row when dropped. */
  releaseLease(sessionId: string, token: string): Statement {
    return {
      text: `DELETE FROM ${this.leases} WHERE session_id = $1 AND token = $2 RETURNING 1`,
      params: [sessionId, token],
    };
  }

  /** Whether the session's lease holds `token` (one row, one boolean). */
  holdsLease(sessionId: string, token: string): Statement {
    return {
      text: `SELECT EXISTS (SELECT 1 FROM ${this.leases} WHERE session_id = $1 AND token = $2)`,
      params: [sessionId, token],
    };
  }

  /**
   * After a delete, or to index a head of an older schema: make the session's index entry its head's (the
   * status and workflow from the head's row, the inbox from its `requests`), or remove it when the session
   * has no head. Three statements of one transaction, each by the session's keys.
   */
  reindexSession(sessionId: string): Statement[] {
    const { checkpoints: C, heads: H, requests: R } = this;
    return [
      {
        text: `UPDATE ${H} AS h SET status = c.status, workflow_name = c.workflow_name FROM ${C} AS c
          WHERE h.session_id = $1 AND c.id = h.head_id`,
        params: [sessionId],
      },
      {
        text: `DELETE FROM ${R} WHERE session_id = $1 AND checkpoint_id IS DISTINCT FROM
          (SELECT head_id FROM ${H} WHERE session_id = $1)`,
        params: [sessionId],
      },
      {
        text: `INSERT INTO ${R}
            (session_id, request_id, checkpoint_id, workflow_name, executor_id, data, path, created_at)
          SELECT h.session_id, e ->> 'requestId', c.id, c.workflow_name, e ->> 'executorId', e ->> 'data',
              e ->> 'path', c.created_at
            FROM ${H} AS h JOIN ${C} AS c ON c.id = h.head_id, jsonb_array_elements(c.requests::jsonb) AS e
            WHERE h.session_id = $1
          ON CONFLICT (session_id, request_id) DO NOTHING`,
        params: [sessionId],
      },
    ];
  }

  /** Index a head of an older schema: its row's status and requests, while it is still the head. */
  indexHead(
    sessionId: string,
    headId: string,
    index: Pick<StoredIndex, "status" | "requestsJson">,
  ): Statement[] {
    return [
      {
        text: `UPDATE ${this.checkpoints} SET status = $3::text, requests = $4::text WHERE id = $2
          AND EXISTS (SELECT 1 FROM ${this.heads} WHERE session_id = $1 AND head_id = $2)`,
        params: [sessionId, headId, index.status, index.requestsJson],
      },
      ...this.reindexSession(sessionId),
    ];
  }

  /** Heads not indexed yet (written before the index), at most `limit`. */
  unindexed(limit: number): Statement {
    return {
      text: `SELECT session_id, head_id FROM ${this.heads} WHERE status IS NULL AND head_id IS NOT NULL
        LIMIT $1::bigint`,
      params: [limit],
    };
  }

  /** The session index, newest head first. `limit` must already be validated. */
  listSessions({ workflowName, status, limit, before }: SessionQuery): Statement {
    const where = ["h.status IS NOT NULL"];
    const params: unknown[] = [];
    const bind = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
    if (workflowName !== undefined) where.push(`h.workflow_name = ${bind(workflowName, "text")}`);
    if (status !== undefined) where.push(`h.status = ${bind(status, "text")}`);
    if (before !== undefined) where.push(`h.head_id < ${bind(before, "text")}`);
    let text = `SELECT h.status, json_array_length(c.requests::json),
        ${SUMMARY.map((column) => `c.${column}`).join(", ")}
      FROM ${this.heads} AS h JOIN ${this.checkpoints} AS c ON c.id = h.head_id
      WHERE ${where.join(" AND ")} ORDER BY h.head_id DESC`;
    if (limit !== undefined) text += ` LIMIT ${bind(Math.min(limit, Number.MAX_SAFE_INTEGER), "bigint")}`;
    return { text, params };
  }

  /** The inbox, newest request first (then by session), from the `before` entry on. */
  listRequests({ workflowName, sessionId, requestId, limit, before }: CheckedRequestQuery): Statement {
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
    if (workflowName !== undefined) where.push(`workflow_name = ${bind(workflowName, "text")}`);
    if (sessionId !== undefined) where.push(`session_id = ${bind(sessionId, "text")}`);
    if (requestId !== undefined) where.push(`request_id = ${bind(requestId, "text")}`);
    if (before !== undefined) {
      where.push(
        `(request_id, session_id) < (${bind(before.requestId, "text")}, ${bind(before.sessionId, "text")})`,
      );
    }
    let text =
      `SELECT request_id, executor_id, data, path, session_id, workflow_name, checkpoint_id, created_at
      FROM ${this.requests}`;
    if (where.length > 0) text += ` WHERE ${where.join(" AND ")}`;
    text += " ORDER BY request_id DESC, session_id DESC";
    if (limit !== undefined) text += ` LIMIT ${bind(Math.min(limit, Number.MAX_SAFE_INTEGER), "bigint")}`;
    return { text, params };
  }

  /** After a save stored nothing: the session's head (NULL for none) and whether the id is taken. */
  conflict(checkpoint: { id: string; sessionId: string }): Statement {
    return {
      text: `SELECT (SELECT head_id FROM ${this.heads} WHERE session_id = $1),
        EXISTS (SELECT 1 FROM ${this.checkpoints} WHERE id = $2)`,
      params: [checkpoint.sessionId, checkpoint.id],
    };
  }

  /** One checkpoint's payload, with its session and workflow (named if the payload is damaged). */
  load(id: string): Statement {
    return {
      text: `SELECT payload, session_id, workflow_name, copy FROM ${this.checkpoints} WHERE id = $1`,
      params: [id],
    };
  }

  /**
   * The stored payloads from `id` back along their delta bases (`base_id`) to a keyframe, at most `count`,
   * in one recursive query, `id` first.
   */
  chain(id: string, count: number): Statement {
    return {
      text: `WITH RECURSIVE chain AS (
          SELECT id, base_id, payload, 1 AS depth FROM ${this.checkpoints} WHERE id = $1
          UNION ALL
          SELECT c.id, c.base_id, c.payload, a.depth + 1
            FROM ${this.checkpoints} AS c JOIN chain AS a ON c.id = a.base_id
            WHERE a.depth < $2::integer
        )
        SELECT id, payload FROM chain ORDER BY depth`,
      params: [id, Math.min(count, 2 ** 31 - 1)],
    };
  }

  /** The checkpoints stored as deltas on `id` (its dependents), with their payloads. */
  dependents(id: string): Statement {
    return {
      text: `SELECT id, payload FROM ${this.checkpoints} WHERE base_id = $1`,
      params: [id],
    };
  }

  /**
   * Lock the head row of `id`'s session (a save into the session waits until the transaction ends), so
   * that no delta on `id` can be saved while a delete makes its dependents whole.
   */
  lockHeadOf(id: string): Statement {
    return {
      text: `SELECT 1 FROM ${this.heads}
        WHERE session_id = (SELECT session_id FROM ${this.checkpoints} WHERE id = $1) FOR UPDATE`,
      params: [id],
    };
  }

  /** The session of checkpoint `id` (no row if there is none). */
  sessionOf(id: string): Statement {
    return { text: `SELECT session_id FROM ${this.checkpoints} WHERE id = $1`, params: [id] };
  }

  /** Whether checkpoint `id` exists (one row, one boolean). */
  exists(id: string): Statement {
    return { text: `SELECT EXISTS (SELECT 1 FROM ${this.checkpoints} WHERE id = $1)`, params: [id] };
  }

  /** `payload` stored in place of `id`'s (a dependent made whole before its base is deleted). */
  rewrite(id: string, payload: string): Statement {
    return {
      text: `UPDATE ${this.checkpoints} SET payload = $2::text, base_id = NULL, copy = NULL WHERE id = $1`,
      params: [id, payload],
    };
  }

  /** A session's head (no row for none, a tombstone included). */
  head(sessionId: string): Statement {
    return {
      text: `SELECT head_id FROM ${this.heads} WHERE session_id = $1 AND head_id IS NOT NULL`,
      params: [sessionId],
    };
  }

  /** Summaries, newest first. `limit` must already be validated. */
  list({ workflowName, sessionId, limit, before }: CheckpointQuery): Statement {
    const where: string[] = [];
    const params: unknown[] = [];
    if (sessionId !== undefined) {
      params.push(sessionId);
      where.push(`session_id = $${params.length}`);
    }
    if (workflowName !== undefined) {
      params.push(workflowName);
      where.push(`workflow_name = $${params.length}`);
    }
    if (before !== undefined) {
      params.push(before);
      where.push(`id < $${params.length}`);
    }
    let text = `SELECT ${this.#summary} FROM ${this.checkpoints}`;
    if (where.length > 0) text += ` WHERE ${where.join(" AND ")}`;
    text += " ORDER BY id DESC";
    if (limit !== undefined) {
      params.push(Math.min(limit, Number.MAX_SAFE_INTEGER));
      text += ` LIMIT $${params.length}::bigint`;
    }
    return { text, params };
  }

  /** The summaries of `id` and all its ancestors, in one recursive query, unordered. */
  lineage(id: string): Statement {
    return { text: this.#lineage, params: [id] };
  }

  /** A delete that moves the head if `id` is one; it returns the number of rows deleted (0 or 1). */
  delete(id: string): Statement {
    return { text: this.#delete, params: [id] };
  }

  /**
   * A session delete, as two statements of one transaction. The first makes the head a tombstone, and so
   * locks it: a save into the session waits, then finds no head to follow. The second, a statement of its
   * own (a new snapshot), then also sees every checkpoint a save committed before the lock, and deletes
   * them; it returns how many.
   */
  deleteSession(sessionId: string): [Statement, Statement, Statement] {
    return [
      {
        text:
          `UPDATE ${this.heads} SET head_id = NULL, status = NULL, workflow_name = NULL WHERE session_id = $1`,
        params: [sessionId],
      },
      {
        text: `WITH removed AS (DELETE FROM ${this.checkpoints} WHERE session_id = $1 RETURNING 1)
          SELECT count(*) FROM removed`,
        params: [sessionId],
      },
      { text: `DELETE FROM ${this.requests} WHERE session_id = $1`, params: [sessionId] },
    ];
  }
}
