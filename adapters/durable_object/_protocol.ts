// The protocol between a CheckpointObjectStorage (in a Worker) and its CheckpointObject (package-private):
// one POST per storage call, its JSON body `{ superstep: 1, op, …arguments }`, answered `{ value }` (200)
// or `{ error: { name, message, … } }` (400 for a request the object refuses, 405, 415, 500). The calls
// are the encoded store's (adapters/_sqlite/_store.ts): the payload is encoded and decoded by the Worker,
// the object only stores text. The object checks every request as untrusted input.
import type { CheckpointQuery, PendingRequestQuery, SessionQuery } from "../../src/checkpoint.ts";
import * as kit from "../../src/storage_kit.ts";
import type { IndexColumns, PayloadRewrite, RowsToSave } from "../_sqlite/_sql.ts";
import type { EncodedStore } from "../_sqlite/_store.ts";
import { ADAPTER } from "./_connection.ts";

/** The protocol's version: an object answers 400 to any other. */
export const PROTOCOL = 4;

/** The URL a client posts to (an object's stub takes any). */
export const OBJECT_URL = "https://checkpoint-object.superstep/";

/** One storage call, as the client sends it (without `superstep`). */
export type Call =
  | { op: "save"; rows: RowsToSave }
  | { op: "load" | "delete" | "lineage" | "dependents"; id: string }
  | { op: "bases"; id: string; count: number }
  | { op: "delete"; id: string; rewrites: readonly PayloadRewrite[]; dependents: readonly string[] }
  | { op: "head" | "deleteSession"; sessionId: string }
  | { op: "list"; query: CheckpointQuery }
  | { op: "listSessions"; query: SessionQuery }
  | { op: "listRequests"; query: kit.CheckedRequestQuery }
  | { op: "unindexed"; limit: number }
  | { op: "reindex"; sessionId: string; headId: string; index: IndexColumns }
  | { op: "claimLease"; sessionId: string; owner: string; token: string; expiresAt: number; now: number }
  | { op: "renewLease"; sessionId: string; token: string; expiresAt: number }
  | { op: "releaseLease"; sessionId: string; token: string };

/** The body of an error answer. */
export interface ErrorBody {
  name: string;
  message: string;
  storedVersion?: number;
  supportedVersion?: number;
}

/** Run one call on the object's store. */
export function perform(store: EncodedStore, call: Call): Promise<unknown> {
  switch (call.op) {
    case "save":
      return store.save(call.rows);
    case "load":
      return store.load(call.id);
    case "delete":
      return "dependents" in call
        ? store.delete(call.id, call.rewrites, call.dependents)
        : store.delete(call.id);
    case "dependents":
      return store.dependents(call.id);
    case "bases":
      return store.bases!(call.id, call.count);
    case "lineage":
      return store.lineage(call.id);
    case "head":
      return store.head(call.sessionId);
    case "deleteSession":
      return store.deleteSession(call.sessionId);
    case "list":
      return store.list(call.query);
    case "listSessions":
      return store.listSessions(call.query);
    case "listRequests":
      return store.listRequests(call.query);
    case "unindexed":
      return store.unindexed(call.limit);
    case "reindex":
      return store.reindex(call.sessionId, call.headId, call.index);
    case "claimLease":
      return store.claimLease(call.sessionId, call.owner, call.token, call.expiresAt, call.now);
    case "renewLease":
      return store.renewLease(call.sessionId, call.token, call.expiresAt);
    case "releaseLease":
      return store.releaseLease(call.sessionId, call.token);
  }
}

const OPERATION = "serve a storage request";

/**
 * The call a request body holds, checked.
 *
 * @throws {TypeError} If it is not one (another protocol version, an unknown op, a missing or ill-formed
 *   argument).
 * @throws {RangeError} If a list `limit` is not a positive integer.
 */
export function parseCall(body: unknown): Call {
  const fields = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (fields.superstep !== PROTOCOL) {
    throw new TypeError(
      `${ADAPTER}: cannot ${OPERATION}: protocol version ${
        JSON.stringify(fields.superstep)
      } is not ${PROTOCOL}`,
    );
  }
  const id = (name: string) => kit.checkId(ADAPTER, OPERATION, name, fields[name]);
  switch (fields.op) {
    case "delete":
      if (fields.dependents !== undefined) {
        return {
          op: "delete",
          id: id("id"),
          rewrites: parseRewrites(fields.rewrites),
          dependents: parseIds(fields.dependents),
        };
      }
      return { op: "delete", id: id("id") };
    case "load":
    case "lineage":
    case "dependents":
      return { op: fields.op, id: id("id") };
    case "bases": {
      const { count } = fields;
      if (!(Number.isSafeInteger(count) && (count as number) > 0)) {
        throw new RangeError(
          `${ADAPTER}: cannot ${OPERATION}: count must be a positive integer, got ${count}`,
        );
      }
      return { op: "bases", id: id("id"), count: count as number };
    }
    case "head":
    case "deleteSession":
      return { op: fields.op, sessionId: id("sessionId") };
    case "list": {
      const query = fields.query;
      if (typeof query !== "object" || query === null || Array.isArray(query)) {
        throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: query must be an object`);
      }
      const { sessionId, workflowName, limit, before } = query as Record<string, unknown>;
      const known = { sessionId, workflowName, limit, before } as CheckpointQuery;
      for (const key of Object.keys(known) as (keyof CheckpointQuery)[]) {
        if (known[key] === undefined) delete known[key];
      }
      return { op: "list", query: kit.checkListQuery(ADAPTER, known) };
    }
    case "listSessions": {
      const { workflowName, status, limit, before } = queryOf(fields.query);
      return {
        op: "listSessions",
        query: kit.checkSessionQuery(
          ADAPTER,
          defined({ workflowName, status, limit, before }) as SessionQuery,
        ),
      };
    }
    case "listRequests": {
      const { workflowName, sessionId, requestId, limit, before } = queryOf(fields.query);
      // The client sends `before` split; the object checks it joined, as the kit's cursor.
      const cursor = before === undefined
        ? undefined
        : (typeof before === "object" && before !== null
          ? kit.requestCursor(
            String((before as Record<string, unknown>).requestId),
            String((before as Record<string, unknown>).sessionId),
          )
          : String(before));
      const query = defined({
        workflowName,
        sessionId,
        requestId,
        limit,
        before: cursor,
      }) as PendingRequestQuery;
      return { op: "listRequests", query: kit.checkPendingRequestQuery(ADAPTER, query) };
    }
    case "unindexed": {
      const limit = fields.limit;
      if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
        throw new RangeError(`${ADAPTER}: cannot ${OPERATION}: limit must be a positive integer`);
      }
      return { op: "unindexed", limit: limit as number };
    }
    case "reindex":
      return {
        op: "reindex",
        sessionId: id("sessionId"),
        headId: id("headId"),
        index: parseIndex(fields.index),
      };
    case "save":
      return { op: "save", rows: parseRows(fields.rows) };
    case "claimLease":
      return {
        op: "claimLease",
        sessionId: id("sessionId"),
        owner: id("owner"),
        token: id("token"),
        expiresAt: time(fields.expiresAt),
        now: time(fields.now),
      };
    case "renewLease":
      return {
        op: "renewLease",
        sessionId: id("sessionId"),
        token: id("token"),
        expiresAt: time(fields.expiresAt),
      };
    case "releaseLease":
      return { op: "releaseLease", sessionId: id("sessionId"), token: id("token") };
    default:
      throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: unknown op ${JSON.stringify(fields.op)}`);
  }
}

/** A lease time (ms since the epoch), checked. */
function time(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: a lease time must be a finite number`);
  }
  return value;
}

function queryOf(query: unknown): Record<string, unknown> {
  if (typeof query !== "object" || query === null || Array.isArray(query)) {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: query must be an object`);
  }
  return query as Record<string, unknown>;
}

/** `fields` without its `undefined` members. */
function defined<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

/**
 * A checkpoint's index columns, checked: a status, and its requests as the JSON array `indexOf` makes (the
 * object expands it with `json_each`, so every entry must have its fields, as text).
 */
function parseIndex(value: unknown): IndexColumns {
  const { status, requestsJson } = (typeof value === "object" && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  let requests: unknown;
  try {
    requests = typeof requestsJson === "string" ? JSON.parse(requestsJson) : undefined;
  } catch {
    requests = undefined;
  }
  const valid = ["waiting", "interrupted", "completed"].includes(status as string) &&
    Array.isArray(requests) &&
    requests.every((entry) => {
      const { requestId, executorId, data, path } = (entry ?? {}) as Record<string, unknown>;
      return typeof requestId === "string" && requestId !== "" && typeof executorId === "string" &&
        typeof data === "string" && (path === null || typeof path === "string") &&
        kit.checkId(ADAPTER, OPERATION, "request id", requestId) === requestId;
    });
  if (!valid) throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: the checkpoint's index is not valid`);
  return { status: status as IndexColumns["status"], requestsJson: requestsJson as string };
}

function parseRows(value: unknown): RowsToSave {
  const { summary, payload, base, chunks, copy, dropCopy, index, leaseToken } =
    (typeof value === "object" && value !== null ? value : {}) as Record<
      string,
      unknown
    >;
  const fields = (typeof summary === "object" && summary !== null ? summary : {}) as kit.StoredFields;
  let checked: kit.StoredSummary;
  try {
    checked = kit.checkStoredSummary(ADAPTER, fields);
  } catch {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: the checkpoint's summary is not valid`);
  }
  for (const [what, text] of [["checkpoint id", checked.id], ["session id", checked.sessionId]] as const) {
    kit.checkId(ADAPTER, OPERATION, what, text);
  }
  if (checked.id === "" || checked.sessionId === "" || checked.workflowName === "") {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: the checkpoint's ids must not be empty`);
  }
  if (checked.parentId !== null) kit.checkId(ADAPTER, OPERATION, "parent id", checked.parentId);
  kit.checkId(ADAPTER, OPERATION, "workflow name", checked.workflowName);
  const parts = chunks ?? [];
  if (
    typeof payload !== "string" || !Array.isArray(parts) || !parts.every((part) => typeof part === "string")
  ) {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: the payload must be text, or parts of text`);
  }
  if (parts.length > 0 && payload !== "") {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: a payload in parts leaves the row's payload empty`);
  }
  if (copy !== undefined && copy !== null && (typeof copy !== "string" || parts.length > 0)) {
    throw new TypeError(
      `${ADAPTER}: cannot ${OPERATION}: a resume copy must be text, beside a payload in the row`,
    );
  }
  const rows: RowsToSave = {
    summary: checked,
    payload,
    base: base === undefined || base === null ? null : kit.checkId(ADAPTER, OPERATION, "base id", base),
    chunks: parts,
    copy: typeof copy === "string" ? copy : null,
    dropCopy: dropCopy === undefined || dropCopy === null
      ? null
      : kit.checkId(ADAPTER, OPERATION, "checkpoint id", dropCopy),
    index: parseIndex(index),
  };
  if (leaseToken !== undefined) rows.leaseToken = kit.checkId(ADAPTER, OPERATION, "lease token", leaseToken);
  return rows;
}

function parseIds(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: dependents must be an array of ids`);
  }
  return value.map((dependent) => kit.checkId(ADAPTER, OPERATION, "dependent id", dependent));
}

function parseRewrites(value: unknown): PayloadRewrite[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: rewrites must be an array`);
  }
  return value.map((entry) => {
    const { id, payload, chunks } = (typeof entry === "object" && entry !== null ? entry : {}) as Record<
      string,
      unknown
    >;
    const parts = chunks ?? [];
    if (
      typeof payload !== "string" || !Array.isArray(parts) || !parts.every((part) =>
        typeof part === "string"
      ) ||
      (parts.length > 0 && payload !== "")
    ) {
      throw new TypeError(
        `${ADAPTER}: cannot ${OPERATION}: a rewrite's payload must be text, or parts of text`,
      );
    }
    return { id: kit.checkId(ADAPTER, OPERATION, "rewritten id", id), payload, chunks: parts as string[] };
  });
}
