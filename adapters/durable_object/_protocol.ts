// The protocol between a CheckpointObjectStorage (in a Worker) and its CheckpointObject (package-private):
// one POST per storage call, its JSON body `{ superstep: 1, op, …arguments }`, answered `{ value }` (200)
// or `{ error: { name, message, … } }` (400 for a request the object refuses, 405, 415, 500). The calls
// are the encoded store's (adapters/_sqlite/_store.ts): the payload is encoded and decoded by the Worker,
// the object only stores text. The object checks every request as untrusted input.
import type { CheckpointQuery } from "../../src/checkpoint.ts";
import * as kit from "../../src/storage_kit.ts";
import type { PayloadRewrite, RowsToSave } from "../_sqlite/_sql.ts";
import type { EncodedStore } from "../_sqlite/_store.ts";
import { ADAPTER } from "./_connection.ts";

/** The protocol's version: an object answers 400 to any other. */
export const PROTOCOL = 1;

/** The URL a client posts to (an object's stub takes any). */
export const OBJECT_URL = "https://checkpoint-object.superstep/";

/** One storage call, as the client sends it (without `superstep`). */
export type Call =
  | { op: "save"; rows: RowsToSave }
  | { op: "load" | "delete" | "lineage" | "children"; id: string }
  | { op: "delete"; id: string; rewrites: readonly PayloadRewrite[]; children: readonly string[] }
  | { op: "head" | "deleteSession"; sessionId: string }
  | { op: "list"; query: CheckpointQuery };

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
      return "children" in call ? store.delete(call.id, call.rewrites, call.children) : store.delete(call.id);
    case "children":
      return store.children(call.id);
    case "lineage":
      return store.lineage(call.id);
    case "head":
      return store.head(call.sessionId);
    case "deleteSession":
      return store.deleteSession(call.sessionId);
    case "list":
      return store.list(call.query);
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
      if (fields.children !== undefined) {
        return {
          op: "delete",
          id: id("id"),
          rewrites: parseRewrites(fields.rewrites),
          children: parseIds(fields.children),
        };
      }
      return { op: "delete", id: id("id") };
    case "load":
    case "lineage":
    case "children":
      return { op: fields.op, id: id("id") };
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
    case "save":
      return { op: "save", rows: parseRows(fields.rows) };
    default:
      throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: unknown op ${JSON.stringify(fields.op)}`);
  }
}

function parseRows(value: unknown): RowsToSave {
  const { summary, payload, chunks } = (typeof value === "object" && value !== null ? value : {}) as Record<
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
  return { summary: checked, payload, chunks: parts };
}

function parseIds(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${ADAPTER}: cannot ${OPERATION}: children must be an array of ids`);
  }
  return value.map((child) => kit.checkId(ADAPTER, OPERATION, "child id", child));
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
