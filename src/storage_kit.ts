/**
 * The storage kit: the rules every checkpoint storage adapter shares, for adapter authors. An adapter file
 * holds only what is specific to its backend (SQL, KV keys, atomics); what every backend must agree on —
 * how a checkpoint is encoded for storage, which list queries are valid, what a conflict error says, how
 * stored summaries are decoded, how lineage is walked and where a head moves when it is deleted — lives
 * here, once.
 *
 * @example A toy storage built on the kit
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Checkpoint, type CheckpointSummary } from "@superstep/superstep";
 * import { checkListQuery, decodeSummary, encodeForStorage, headMoved } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const rows = new Map<string, ReturnType<typeof encodeForStorage>>();
 * const heads = new Map<string, string>();
 * function save(checkpoint: Checkpoint): void {
 *   const head = heads.get(checkpoint.sessionId);
 *   if (head !== undefined && head !== checkpoint.parentId) throw headMoved("toy", checkpoint, head);
 *   rows.set(checkpoint.id, encodeForStorage("toy", checkpoint));
 *   heads.set(checkpoint.sessionId, checkpoint.id);
 * }
 * function list(query = {}): CheckpointSummary[] {
 *   const { limit = Infinity } = checkListQuery("toy", query);
 *   return [...rows.values()].map((row) => decodeSummary("toy", row.summary)).reverse().slice(0, limit);
 * }
 *
 * const root = makeCheckpoint();
 * save(root);
 * assert.throws(() => save(makeCheckpoint({ sessionId: root.sessionId })), { name: "CheckpointConflictError" });
 * assert.deepEqual(list({ limit: 1 }).map((summary) => summary.id), [root.id]);
 * ```
 *
 * @module
 */
import type {
  Checkpoint,
  CheckpointQuery,
  CheckpointSummary,
  SessionStatus,
  SessionSummary,
} from "./checkpoint.ts";
import { indexOf, STATUSES, type StoredIndex } from "./_session_index.ts";
import { decodeCheckpoint, decodeValue, encodeCheckpoint, encodeValue } from "./codec.ts";
import { describeType } from "./_describe.ts";
import { idProblem } from "./_ids.ts";
import { CheckpointConflictError, CheckpointCorruptError } from "./errors.ts";
import { DeltaCodec, isDeltaPayload, type ReadChain } from "./_delta.ts";

export {
  afterCursor,
  type CheckedRequestQuery,
  checkPendingRequestQuery,
  checkSessionQuery,
  compareWaiting,
  decodeWaitingRequest,
  indexOf,
  requestCursor,
  type StoredIndex,
  type StoredRequest,
  type StoredWaitingRequest,
} from "./_session_index.ts";
export { deltaBase, DeltaCodec, type DeltaOptions, isDeltaPayload, type ReadChain } from "./_delta.ts";
export {
  type CheckedLeaseClaim,
  checkLease,
  checkLeaseClaim,
  checkLeaseRequest,
  leaseFree,
  leaseLost,
  newLease,
} from "./_leases.ts";

/** A summary as adapters store it: the summary's fields, with the metadata encoded by the core codec. */
export interface StoredSummary extends Omit<CheckpointSummary, "metadata"> {
  /** The metadata, encoded with `encodeValue`. */
  metadata: string;
}

/** A checkpoint encoded for storage: the checkpoint's text and its summary's columns. */
export interface EncodedCheckpoint {
  /**
   * The checkpoint's text: the whole checkpoint (`encodeCheckpoint`), or with a {@linkcode DeltaCodec} a
   * delta payload (the change since its `base`; {@linkcode isDeltaPayload}). Store it as it is.
   */
  payload: string;
  /**
   * The checkpoint the payload is a delta on (an ancestor in the same session: its parent, or the parent's
   * own base), or `null` when it loads alone. Keep it where a delete can find it (a column, a key): before
   * deleting a checkpoint, rewrite each stored payload whose base it is with {@linkcode DeltaCodec.rebase}.
   */
  base: string | null;
  /**
   * Every checkpoint a load of the payload reads besides itself: its `base` first, back to a keyframe (none
   * for a whole payload). An adapter that cannot follow bases in one query may keep it, to read them all
   * at once; the load still checks each link.
   */
  bases: readonly string[];
  /**
   * A resume copy (with `copies`): the checkpoint whole, beside its delta payload, when its session waits
   * at it (it has pending requests), so that resuming reads one payload, not a chain; else `null`. Keep it
   * with the checkpoint (a column, a key read with it) and pass it to {@linkcode loadStoredCheckpoint}.
   */
  copy: string | null;
  /**
   * The checkpoint whose resume copy the save removes, in the same write where the store allows it, else
   * right after (a copy left behind is only bytes: it is that checkpoint whole) (with `copies`): the parent,
   * unless the codec knows it has none or is of another session (a fork); else `null`. Remove it only if it
   * is in the saved checkpoint's session (the codec may not know the parent).
   */
  dropCopy: string | null;
  /** The summary, with its metadata encoded apart so `list` never reads a payload. */
  summary: StoredSummary;
  /** What the session index and the inbox hold for the checkpoint while it is its session's head. */
  index: StoredIndex;
  /**
   * Tell the delta codec the payload is stored (call it once the save committed, never after a failed
   * one): the checkpoint's children can then be written as deltas on it. Does nothing without a codec.
   */
  stored(): void;
}

/**
 * Check an id an adapter is given (a session, checkpoint, workflow, request or executor id): a string of
 * well-formed Unicode. Backends store ids as UTF-8, where a lone surrogate would become U+FFFD,
 * so two distinct ids (`"proj\ud800"`, `"proj\ufffd"`) could map to one stored key; every adapter refuses
 * the ill-formed one the same way.
 *
 * @param adapter The adapter's name, which starts the message.
 * @param operation What the call was about to do, as a verb phrase (`"read the head"`).
 * @param what Which id (`"session id"`).
 * @param value The id.
 * @returns The id.
 * @throws {TypeError} If it is not a string, or holds a lone surrogate.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkId } from "@superstep/superstep/storage-kit";
 *
 * assert.equal(checkId("toy", "read the head", "session id", "proj\ufffd"), "proj\ufffd");
 * assert.throws(() => checkId("toy", "read the head", "session id", "proj\ud800"), TypeError);
 * ```
 */
export function checkId(adapter: string, operation: string, what: string, value: unknown): string {
  // An empty id is a valid lookup that finds nothing; `encodeForStorage` refuses to store one.
  return refuseBadId(adapter, operation, what, value, idProblem(value, true));
}

function refuseBadId(
  adapter: string,
  operation: string,
  what: string,
  value: unknown,
  problem?: string,
): string {
  if (problem !== undefined) {
    throw new TypeError(
      `${adapter}: cannot ${operation}: invalid ${what} ${JSON.stringify(value)}: ${problem}`,
    );
  }
  return value as string;
}

/**
 * Encode a checkpoint for storage, before anything is written: a checkpoint that cannot be stored exactly
 * is refused whole (a value the codec cannot encode, or an id that is not well-formed Unicode: see
 * {@linkcode checkId}).
 *
 * @param adapter The adapter's name, which starts the message of an invalid id.
 * @param checkpoint The checkpoint to save.
 * @param deltas The adapter's delta codec, to store a delta payload.
 * @param options `copies`: the adapter keeps resume copies (see {@linkcode EncodedCheckpoint.copy}).
 * @returns Its payload text and summary columns.
 * @throws {CheckpointEncodeError} If a value cannot be encoded; `path` names it.
 * @throws {TypeError} If the checkpoint is malformed, or one of its ids (its own, its parent's, its
 *   session's, its workflow's, its queued messages' executors, its pending requests') is invalid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeForStorage } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const { summary } = encodeForStorage("toy", makeCheckpoint({ metadata: { step: "review" } }));
 * assert.equal(typeof summary.metadata, "string");
 * assert.throws(() => encodeForStorage("toy", makeCheckpoint({ sessionId: "\udfff" })), TypeError);
 * ```
 */
export function encodeForStorage(
  adapter: string,
  checkpoint: Checkpoint,
  deltas?: DeltaCodec,
  options: { copies?: boolean } = {},
): EncodedCheckpoint {
  const copies = options.copies === true && deltas !== undefined;
  const delta = deltas?.encode(checkpoint, copies && checkpoint.pendingRequests.length > 0);
  const payload = delta?.payload ?? encodeCheckpoint(checkpoint);
  checkIds(adapter, checkpoint);
  // Field by field: a spread of a rest object makes Node 20's V8 a new hidden class on every save.
  const summary: StoredSummary = {
    id: checkpoint.id,
    parentId: checkpoint.parentId,
    sessionId: checkpoint.sessionId,
    workflowName: checkpoint.workflowName,
    superstep: checkpoint.superstep,
    createdAt: checkpoint.createdAt,
    metadata: encodeValue(checkpoint.metadata),
  };
  return {
    payload,
    base: delta?.base ?? null,
    bases: delta?.bases ?? [],
    copy: delta?.copy ?? null,
    dropCopy: copies && checkpoint.parentId !== null &&
        deltas.mayHaveCopy(checkpoint.parentId, checkpoint.sessionId)
      ? checkpoint.parentId
      : null,
    summary,
    index: indexOf(checkpoint),
    stored: delta?.remember ?? noop,
  };
}

function noop(): void {}

/** Every id a checkpoint holds, checked (after `encodeCheckpoint` checked its shape). */
function checkIds(adapter: string, checkpoint: Checkpoint): void {
  const check = (what: string, value: unknown) => {
    const problem = idProblem(value);
    // The message is made only for a refusal: this runs for every id of every save.
    if (problem !== undefined) {
      refuseBadId(adapter, `save checkpoint ${JSON.stringify(checkpoint.id)}`, what, value, problem);
    }
  };
  check("checkpoint id", checkpoint.id);
  if (checkpoint.parentId !== null) check("parent id", checkpoint.parentId);
  check("session id", checkpoint.sessionId);
  check("workflow name", checkpoint.workflowName);
  for (const message of checkpoint.messages) {
    check("message source", message.source);
    if (message.to !== undefined) check("message target", message.to);
  }
  for (const request of checkpoint.pendingRequests) {
    check("request id", request.requestId);
    check("requesting executor id", request.executorId);
  }
  for (const { request } of checkpoint.answers ?? []) {
    check("answered request id", request.requestId);
    check("answered executor id", request.executorId);
  }
}

/**
 * Check a `list` query before it reaches the backend.
 *
 * @param adapter The adapter's name, which starts the error message.
 * @param query The query, or `undefined` for all checkpoints.
 * @returns The query (a new object; `{}` for `undefined`).
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {TypeError} If `sessionId`, `workflowName` or `before` is not a valid id (see {@linkcode checkId}).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkListQuery } from "@superstep/superstep/storage-kit";
 *
 * assert.deepEqual(checkListQuery("toy", { limit: 10 }), { limit: 10 });
 * assert.throws(() => checkListQuery("toy", { limit: 0 }), RangeError);
 * ```
 */
export function checkListQuery(adapter: string, query: CheckpointQuery | undefined): CheckpointQuery {
  const { limit, sessionId, workflowName, before } = query ?? {};
  if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) {
    throw new RangeError(
      `${adapter}: cannot list checkpoints: limit must be a positive integer, got ${limit}`,
    );
  }
  if (sessionId !== undefined) checkId(adapter, "list checkpoints", "session id", sessionId);
  if (workflowName !== undefined) checkId(adapter, "list checkpoints", "workflow name", workflowName);
  if (before !== undefined) checkId(adapter, "list checkpoints", "before cursor", before);
  return { ...query };
}

/**
 * The conflict of a save whose id exists already.
 *
 * @param adapter The adapter's name.
 * @param checkpoint The checkpoint that was not saved.
 * @returns The error to throw.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idTaken } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const error = idTaken("toy", makeCheckpoint({ id: "01JB" }));
 * assert.equal(error.message, "toy: cannot save checkpoint 01JB: the id exists already");
 * ```
 */
export function idTaken(adapter: string, checkpoint: Checkpoint): CheckpointConflictError {
  return new CheckpointConflictError({
    reason: "id-taken",
    adapter,
    checkpointId: checkpoint.id,
    sessionId: checkpoint.sessionId,
    expectedHead: checkpoint.parentId,
  });
}

/**
 * The conflict of a save whose parent is not its session's head (another writer extended the session).
 *
 * @param adapter The adapter's name.
 * @param checkpoint The checkpoint that was not saved.
 * @param actualHead The session's head now (`undefined` or `null`: it has none).
 * @returns The error to throw.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headMoved } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const error = headMoved("toy", makeCheckpoint({ parentId: "01JA" }), "01JC");
 * assert.equal(error.expectedHead, "01JA");
 * assert.equal(error.actualHead, "01JC");
 * ```
 */
export function headMoved(
  adapter: string,
  checkpoint: Checkpoint,
  actualHead: string | null | undefined,
): CheckpointConflictError {
  return new CheckpointConflictError({
    reason: "head-moved",
    adapter,
    checkpointId: checkpoint.id,
    sessionId: checkpoint.sessionId,
    expectedHead: checkpoint.parentId,
    actualHead: actualHead ?? null,
  });
}

/**
 * The conflict of a save into a session that has no head, whose parent is not a checkpoint of another
 * session: not a new lineage (`parentId` null) and not a fork, so the session was deleted while a run still
 * wrote to it (or the parent was). Refusing it keeps a deleted session deleted.
 *
 * @param adapter The adapter's name.
 * @param checkpoint The checkpoint that was not saved.
 * @returns The error to throw.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parentMissing } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const error = parentMissing("toy", makeCheckpoint({ parentId: "01JA" }));
 * assert.equal(error.reason, "parent-missing");
 * assert.equal(error.actualHead, null);
 * ```
 */
export function parentMissing(adapter: string, checkpoint: Checkpoint): CheckpointConflictError {
  return new CheckpointConflictError({
    reason: "parent-missing",
    adapter,
    checkpointId: checkpoint.id,
    sessionId: checkpoint.sessionId,
    expectedHead: checkpoint.parentId,
    actualHead: null,
  });
}

/**
 * Decode a stored summary, checking every field: what a backend hands back is not trusted.
 *
 * @param adapter The adapter's name, named in errors.
 * @param stored The stored fields. `superstep` may be a `number`, a `bigint` or a decimal string (database
 *   drivers return integers in all three forms); ids may be any value that is a string.
 * @returns The summary, with its metadata decoded (a fresh copy each call).
 * @throws {CheckpointCorruptError} Naming the checkpoint, if a field is missing or mistyped, or the
 *   metadata does not decode to an object.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSummary, encodeForStorage } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const { summary } = encodeForStorage("toy", makeCheckpoint({ metadata: { by: "ana" } }));
 * assert.deepEqual(decodeSummary("toy", summary).metadata, { by: "ana" });
 * assert.throws(() => decodeSummary("toy", { ...summary, metadata: "[1]" }), { name: "CheckpointCorruptError" });
 * ```
 */
export function decodeSummary(adapter: string, stored: StoredFields): CheckpointSummary {
  const checked = checkStoredSummary(adapter, stored);
  return { ...checked, metadata: decodeMetadata(adapter, checked.id, checked.metadata) };
}

/** Fields read back from a backend, not trusted yet (see {@linkcode checkStoredSummary}). */
export type StoredFields = Readonly<Partial<Record<keyof StoredSummary, unknown>>>;

/**
 * Check a stored summary's fields without decoding its metadata (for walks and deletes that need only the
 * ids).
 *
 * @param adapter The adapter's name, named in errors.
 * @param stored The stored fields (`superstep` as a `number`, `bigint` or decimal string).
 * @returns The summary as stored, `superstep` a number.
 * @throws {CheckpointCorruptError} Naming the checkpoint, if a field is missing or mistyped.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkStoredSummary } from "@superstep/superstep/storage-kit";
 *
 * const stored = { id: "01JA", parentId: null, sessionId: "s", workflowName: "w", superstep: 3n,
 *   createdAt: "2026-12-01T00:00:00.000Z", metadata: "[{}]" };
 * assert.equal(checkStoredSummary("toy", stored).superstep, 3);
 * ```
 */
export function checkStoredSummary(adapter: string, stored: StoredFields): StoredSummary {
  const id = typeof stored.id === "string" ? stored.id : undefined;
  const superstep = typeof stored.superstep === "string" && /^\d+$/.test(stored.superstep)
    ? Number(stored.superstep)
    : typeof stored.superstep === "bigint"
    ? Number(stored.superstep)
    : stored.superstep;
  const valid = id !== undefined && (stored.parentId === null || typeof stored.parentId === "string") &&
    typeof stored.sessionId === "string" && typeof stored.workflowName === "string" &&
    typeof superstep === "number" && Number.isSafeInteger(superstep) && superstep >= 0 &&
    typeof stored.createdAt === "string" && typeof stored.metadata === "string";
  if (!valid) throw new CheckpointCorruptError(id, `${adapter}: its stored summary is not valid`);
  return {
    id,
    parentId: stored.parentId as string | null,
    sessionId: stored.sessionId as string,
    workflowName: stored.workflowName as string,
    superstep: superstep as number,
    createdAt: stored.createdAt as string,
    metadata: stored.metadata as string,
  };
}

/**
 * Decode a checkpoint's stored metadata.
 *
 * @param adapter The adapter's name, named in errors.
 * @param id The checkpoint's id, named in errors.
 * @param text What was stored (the text `encodeForStorage` made).
 * @returns The metadata, a fresh copy.
 * @throws {CheckpointCorruptError} If it is not text that decodes to an object.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMetadata } from "@superstep/superstep/storage-kit";
 * import { encodeValue } from "@superstep/superstep";
 *
 * assert.deepEqual(decodeMetadata("toy", "01JA", encodeValue({ a: 1 })), { a: 1 });
 * ```
 */
export function decodeMetadata(adapter: string, id: string, text: unknown): Record<string, unknown> {
  let metadata: unknown;
  try {
    metadata = typeof text === "string" ? decodeValue(text) : undefined;
  } catch (error) {
    throw new CheckpointCorruptError(id, `${adapter}: its stored metadata does not decode`, { cause: error });
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new CheckpointCorruptError(id, `${adapter}: its stored metadata is not an object`);
  }
  return metadata as Record<string, unknown>;
}

/**
 * Decode a stored payload, the checkpoint `summary` describes. When it is damaged, the
 * `CheckpointCorruptError` carries the summary's session and workflow, so that a server can authorize the
 * caller on that session before it tells anyone about the damage.
 *
 * @param adapter The adapter's name, named in errors.
 * @param summary What the adapter still read of the checkpoint: its id, session and workflow.
 * @param payload What was stored (the `payload` text of `encodeForStorage`).
 * @returns The checkpoint, a fresh copy.
 * @throws {CheckpointCorruptError} If the payload is not text, does not decode, or is another checkpoint.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeStoredCheckpoint } from "@superstep/superstep/storage-kit";
 *
 * const summary = { id: "01JA", sessionId: "s1", workflowName: "orders" };
 * assert.throws(() => decodeStoredCheckpoint("toy", summary, "{not json"), {
 *   name: "CheckpointCorruptError",
 *   sessionId: "s1",
 * });
 * ```
 */
export function decodeStoredCheckpoint(
  adapter: string,
  summary: Pick<CheckpointSummary, "id" | "sessionId" | "workflowName">,
  payload: unknown,
): Checkpoint {
  const facts = { sessionId: summary.sessionId, workflowName: summary.workflowName };
  if (typeof payload !== "string") {
    const detail = `${adapter}: the stored payload is not text (got ${describeType(payload)})`;
    throw new CheckpointCorruptError(summary.id, detail, facts);
  }
  try {
    return decodeCheckpoint(payload, summary.id);
  } catch (error) {
    if (!(error instanceof CheckpointCorruptError)) throw error;
    throw new CheckpointCorruptError(summary.id, error.detail, { cause: error.cause, ...facts });
  }
}

/**
 * Load a stored payload, whole or delta (see {@linkcode DeltaCodec}): what `load` returns. A delta payload
 * is rebuilt from its base chain, which `read` reads (unless `deltas` still knows its base).
 *
 * @param adapter The adapter's name, which starts the message of a corrupt payload.
 * @param summary The stored summary's `id`, `sessionId` and `workflowName`.
 * @param payload The stored payload.
 * @param deltas The adapter's delta codec (needed for a delta payload).
 * @param read Reads stored payloads by id, with their ancestors (see {@linkcode ReadChain}).
 * @param copy Its resume copy as stored ({@linkcode EncodedCheckpoint.copy}), `null` if it has none, or
 *   `undefined` if the adapter keeps none: read instead of the chain while it matches the payload.
 * @returns The checkpoint, a fresh copy.
 * @throws {CheckpointCorruptError} If the payload, or a payload of its base chain, does not decode.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeltaCodec, encodeForStorage, loadStoredCheckpoint } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const deltas = new DeltaCodec();
 * const root = makeCheckpoint({ state: { items: [1, 2, 3] } });
 * const child = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, state: { items: [1, 2, 3, 4] } });
 * const stored = new Map<string, string>();
 * for (const checkpoint of [root, child]) {
 *   const encoded = encodeForStorage("toy", checkpoint, deltas);
 *   stored.set(checkpoint.id, encoded.payload);
 *   encoded.stored();
 * }
 * const read = (id: string) => Promise.resolve(stored.has(id) ? [{ id, payload: stored.get(id)! }] : []);
 * const fresh = new DeltaCodec(); // another process: it reads the base chain
 * const loaded = await loadStoredCheckpoint("toy", child, stored.get(child.id)!, fresh, read);
 * assert.deepEqual(loaded.state, { items: [1, 2, 3, 4] });
 * ```
 */
export async function loadStoredCheckpoint(
  adapter: string,
  summary: Pick<CheckpointSummary, "id" | "sessionId" | "workflowName">,
  payload: unknown,
  deltas: DeltaCodec | undefined,
  read: ReadChain,
  copy?: unknown,
): Promise<Checkpoint> {
  if (typeof payload !== "string" || !isDeltaPayload(payload)) {
    return decodeStoredCheckpoint(adapter, summary, payload);
  }
  const facts = { sessionId: summary.sessionId, workflowName: summary.workflowName };
  try {
    return await (deltas ?? new DeltaCodec()).decode(summary.id, payload, read, copy);
  } catch (error) {
    if (!(error instanceof CheckpointCorruptError)) throw error;
    throw new CheckpointCorruptError(summary.id, `${adapter}: ${error.detail}`, {
      cause: error.cause,
      ...facts,
    });
  }
}

/**
 * Walk parent pointers from `id` back to the root: `read` each, then its parent, until a root, a parent
 * that does not exist (deleted), or a checkpoint seen before (a new session's first checkpoint may name any
 * parent, so pointers can form a cycle; the walk never visits one twice).
 *
 * @typeParam T What `read` returns for one checkpoint.
 * @param id Where to start.
 * @param read One checkpoint by id, or `undefined` if there is none.
 * @param parentOf The parent id of what `read` returned.
 * @returns What `read` returned, `id` first; empty if `id` does not exist.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { walkLineage } from "@superstep/superstep/storage-kit";
 *
 * const parents = new Map<string, string | null>([["c", "b"], ["b", "a"], ["a", null]]);
 * const path = await walkLineage("c", (id) => parents.has(id) ? id : undefined, (id) => parents.get(id)!);
 * assert.deepEqual(path, ["c", "b", "a"]);
 * ```
 */
export async function walkLineage<T>(
  id: string,
  read: (id: string) => T | undefined | Promise<T | undefined>,
  parentOf: (item: T) => string | null,
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let current: string | null = id;
  while (current !== null && !seen.has(current)) {
    seen.add(current);
    const item = await read(current);
    if (item === undefined) break;
    out.push(item);
    current = parentOf(item);
  }
  return out;
}

/**
 * Where a session's head goes when its head is deleted: to the deleted checkpoint's parent if that parent
 * exists and is in the same session, else to the session's newest remaining checkpoint (by id), else
 * nowhere (the session has no head left).
 *
 * @param deleted The summary of the head being deleted.
 * @param parentSessionId The session of its parent, or `undefined` if it has none or it does not exist.
 * @param newestRemaining The newest other checkpoint of the session, or `undefined` if it has none.
 * @returns The new head, or `undefined` for none.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headAfterDelete } from "@superstep/superstep/storage-kit";
 *
 * const deleted = { id: "c", parentId: "b", sessionId: "s" };
 * assert.equal(headAfterDelete(deleted, "s", "d"), "b");
 * assert.equal(headAfterDelete(deleted, "fork-source", "d"), "d");
 * assert.equal(headAfterDelete(deleted, undefined, undefined), undefined);
 * ```
 */
export function headAfterDelete(
  deleted: Pick<CheckpointSummary, "id" | "parentId" | "sessionId">,
  parentSessionId: string | undefined,
  newestRemaining: string | undefined,
): string | undefined {
  if (deleted.parentId !== null && parentSessionId === deleted.sessionId) return deleted.parentId;
  return newestRemaining;
}

/** A session index row read back from a backend, not trusted yet. */
export interface StoredSession {
  /** The status stored with the head. */
  status: unknown;
  /** The head's stored requests (`StoredIndex.requestsJson`), or their count. */
  pendingRequests: unknown;
  /** The head's summary, as `decodeSummary` takes it. */
  head: StoredFields;
}

/**
 * Decode a session index row, checking every field.
 *
 * @param adapter The adapter's name, named in errors.
 * @param stored The row: status, pending request count (or the stored requests' JSON) and the head summary.
 * @returns The session's summary.
 * @throws {CheckpointCorruptError} Naming the head, if a field is missing or mistyped.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSession, encodeForStorage } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const { summary, index } = encodeForStorage("toy", makeCheckpoint());
 * const session = decodeSession("toy", { status: index.status, pendingRequests: 0, head: summary });
 * assert.equal(session.status, "completed");
 * ```
 */
export function decodeSession(
  adapter: string,
  stored: StoredSession,
): SessionSummary {
  const head = decodeSummary(adapter, stored.head);
  const status = stored.status as SessionStatus;
  let pending = stored.pendingRequests;
  if (typeof pending === "string") {
    try {
      const parsed: unknown = JSON.parse(pending);
      pending = Array.isArray(parsed) ? parsed.length : undefined;
    } catch {
      pending = undefined;
    }
  } else if (typeof pending === "bigint") pending = Number(pending);
  if (!STATUSES.includes(status) || typeof pending !== "number" || !Number.isSafeInteger(pending)) {
    throw new CheckpointCorruptError(head.id, `${adapter}: its session index entry is not valid`, {
      sessionId: head.sessionId,
      workflowName: head.workflowName,
    });
  }
  return {
    sessionId: head.sessionId,
    workflowName: head.workflowName,
    status,
    pendingRequests: pending,
    head,
  };
}
