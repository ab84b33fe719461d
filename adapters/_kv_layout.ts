/**
 * The key layout, stored records, per-atomic limits and save errors of the Deno KV checkpoint storage
 * (package-private).
 *
 * Every value is a `Uint8Array` (UTF-8 JSON or raw payload bytes): KV stores bytes as they are, so the
 * adapter never goes through V8 serialization, which `@deno/kv` cannot do on Bun and which would tie the
 * data to one runtime's serializer.
 *
 * @module
 */
import type { Checkpoint, CheckpointSummary } from "../src/checkpoint.ts";
import { decodeValue } from "../src/codec.ts";
import { CheckpointConflictError, CheckpointCorruptError } from "../src/errors.ts";

/** One part of a KV key (the types every KV implementation accepts). */
export type KeyPart = Uint8Array | string | number | bigint | boolean;
/** A KV key. */
export type Key = readonly KeyPart[];

/** Payload bytes per chunk: under the 64 KiB value limit, with room to spare. */
export const CHUNK_BYTES = 60 * 1024;
/** KV's value limit. */
export const MAX_VALUE_BYTES = 64 * 1024;
/** KV allows 1000 mutations per atomic; we leave room for the fixed mutations of a commit. */
export const MAX_MUTATIONS = 990;
/** `@deno/kv` allows 10 checks per atomic (Deno itself 100); we stay under the smaller limit. */
export const MAX_CHECKS = 10;
/** KV allows 800 KiB of keys and values per atomic; our estimate of key sizes is rough, so keep a margin. */
export const MAX_ATOMIC_BYTES = 700 * 1024;
/** KV allows 80 KiB of keys per atomic. */
export const MAX_ATOMIC_KEY_BYTES = 64 * 1024;
/** KV's `list` batches hold at most 500 entries. */
export const MAX_LIST_BATCH = 500;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The keys of one storage, all under `prefix`. */
export class Layout {
  readonly #prefix: Key;

  constructor(prefix: Key) {
    this.#prefix = prefix;
  }

  /** A checkpoint's summary; the `checkpoint` range is also the global index, by id. */
  checkpoint(id: string): Key {
    return [...this.#prefix, "checkpoint", id];
  }
  checkpoints(): Key {
    return [...this.#prefix, "checkpoint"];
  }
  /** The index by session: a copy of the summary under the session and the id. */
  bySession(sessionId: string, id?: string): Key {
    return id === undefined
      ? [...this.#prefix, "by_session", sessionId]
      : [...this.#prefix, "by_session", sessionId, id];
  }
  /** The index by workflow: a copy of the summary under the workflow name and the id. */
  byWorkflow(workflowName: string, id?: string): Key {
    return id === undefined
      ? [...this.#prefix, "by_workflow", workflowName]
      : [...this.#prefix, "by_workflow", workflowName, id];
  }
  /** A session's head: the id its next checkpoint must follow (the compare-and-set key). */
  head(sessionId: string): Key {
    return [...this.#prefix, "head", sessionId];
  }
  /** Payload chunk `index` of one save (`token`) of checkpoint `id`. */
  chunk(id: string, token: string, index: number): Key {
    return [...this.#prefix, "chunk", id, token, index];
  }
  chunks(id: string, token: string): Key {
    return [...this.#prefix, "chunk", id, token];
  }
  /** A save whose chunks are staged but not committed yet. */
  staging(sessionId?: string, token?: string): Key {
    if (sessionId === undefined) return [...this.#prefix, "staging"];
    return token === undefined
      ? [...this.#prefix, "staging", sessionId]
      : [...this.#prefix, "staging", sessionId, token];
  }
  /** The chunks of a deleted checkpoint that did not fit into the deleting atomic. */
  trash(id?: string, token?: string): Key {
    if (id === undefined) return [...this.#prefix, "trash"];
    return [...this.#prefix, "trash", id, token!];
  }
}

/** A summary as stored: the public fields, the metadata encoded, and where the payload is. */
export interface StoredSummary extends Omit<CheckpointSummary, "metadata"> {
  /** The metadata, encoded with the core codec. */
  metadata: string;
  /** The save that wrote the payload: chunks live under `chunk/<id>/<token>/<n>`. */
  token: string;
  /** How many chunks. */
  chunks: number;
  /** The payload's length in bytes. */
  bytes: number;
}

/** A save in progress whose chunks are staged; `abandoned` once a cleaner claimed it. */
export interface StagingRecord {
  id: string;
  sessionId: string;
  token: string;
  chunks: number;
  /** The session head's versionstamp the save will compare-and-set against (`null`: a new session). */
  headVersionstamp: string | null;
  /** `Date.now()` when staging began. */
  startedAt: number;
  abandoned?: true;
}

/** The chunks of a deleted checkpoint still to purge. */
export interface TrashRecord {
  id: string;
  token: string;
  chunks: number;
}

/** UTF-8 bytes of JSON. */
export function encodeRecord(record: StoredSummary | StagingRecord | TrashRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

/** UTF-8 bytes of a string. */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A string from UTF-8 bytes; `undefined` if `value` is not valid UTF-8 bytes. */
export function decodeText(value: unknown): string | undefined {
  if (!(value instanceof Uint8Array)) return undefined;
  try {
    return decoder.decode(value);
  } catch {
    return undefined;
  }
}

function parseJson(value: unknown): Record<string, unknown> | undefined {
  const text = decodeText(value);
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? parsed as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

/**
 * A stored summary, checked.
 *
 * @throws {CheckpointCorruptError} Naming `id`, if the value is not a summary of `id`.
 */
export function decodeSummary(id: string, value: unknown): StoredSummary {
  const record = parseJson(value);
  const valid = record !== undefined && record.id === id &&
    (record.parentId === null || typeof record.parentId === "string") &&
    typeof record.sessionId === "string" && typeof record.workflowName === "string" &&
    isCount(record.superstep) && typeof record.createdAt === "string" &&
    typeof record.metadata === "string" && typeof record.token === "string" &&
    isCount(record.chunks) && isCount(record.bytes);
  if (!valid) throw new CheckpointCorruptError(id, "kv: its stored summary is not valid");
  return record as unknown as StoredSummary;
}

/** The public summary (metadata decoded: a fresh copy each call). */
export function toPublicSummary(stored: StoredSummary): CheckpointSummary {
  let metadata: unknown;
  try {
    metadata = decodeValue(stored.metadata);
  } catch (error) {
    throw new CheckpointCorruptError(stored.id, "kv: its stored metadata does not decode", { cause: error });
  }
  return {
    id: stored.id,
    parentId: stored.parentId,
    sessionId: stored.sessionId,
    workflowName: stored.workflowName,
    superstep: stored.superstep,
    createdAt: stored.createdAt,
    metadata: metadata as Record<string, unknown>,
  };
}

/** A staging record, or `undefined` if the value is not one. */
export function decodeStaging(value: unknown): StagingRecord | undefined {
  const record = parseJson(value);
  const valid = record !== undefined && typeof record.id === "string" &&
    typeof record.sessionId === "string" && typeof record.token === "string" && isCount(record.chunks) &&
    (record.headVersionstamp === null || typeof record.headVersionstamp === "string") &&
    typeof record.startedAt === "number";
  return valid ? record as unknown as StagingRecord : undefined;
}

/** A trash record, or `undefined` if the value is not one. */
export function decodeTrash(value: unknown): TrashRecord | undefined {
  const record = parseJson(value);
  const valid = record !== undefined && typeof record.id === "string" && typeof record.token === "string" &&
    isCount(record.chunks);
  return valid ? record as unknown as TrashRecord : undefined;
}

/** An upper bound of a key's encoded size (KV escapes 0x00 in strings and bytes, and tags every part). */
export function keySize(key: Key): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "string") {
      const bytes = encoder.encode(part);
      size += 2 + bytes.length + zeros(bytes);
    } else if (part instanceof Uint8Array) size += 2 + part.length + zeros(part);
    else if (typeof part === "bigint") size += 2 + Math.ceil(part.toString(16).length / 2);
    else size += 9;
  }
  return size;
}

function zeros(bytes: Uint8Array): number {
  let n = 0;
  for (const byte of bytes) if (byte === 0) n++;
  return n;
}

/** Splits `bytes` into chunks of at most {@linkcode CHUNK_BYTES} (views, not copies). At least one. */
export function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    out.push(bytes.subarray(offset, offset + CHUNK_BYTES));
  }
  if (out.length === 0) out.push(bytes);
  return out;
}

/** The size of a mutation against the per-atomic limits. */
export interface MutationSize {
  keyBytes: number;
  valueBytes: number;
}

/**
 * Greedily groups mutations into atomics that respect KV's per-atomic limits, given what every atomic of
 * the group carries already (`fixed`: e.g. a check and its key).
 *
 * @returns Index ranges `[start, end)` into `sizes`.
 */
export function planBatches(
  sizes: readonly MutationSize[],
  fixed: { mutations: number; keyBytes: number; valueBytes: number } = {
    mutations: 0,
    keyBytes: 0,
    valueBytes: 0,
  },
): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let mutations = fixed.mutations;
  let keyBytes = fixed.keyBytes;
  let bytes = fixed.keyBytes + fixed.valueBytes;
  for (let i = 0; i < sizes.length; i++) {
    const { keyBytes: k, valueBytes: v } = sizes[i];
    const full = mutations + 1 > MAX_MUTATIONS || keyBytes + k > MAX_ATOMIC_KEY_BYTES ||
      bytes + k + v > MAX_ATOMIC_BYTES;
    if (full && i > start) {
      out.push([start, i]);
      start = i;
      mutations = fixed.mutations;
      keyBytes = fixed.keyBytes;
      bytes = fixed.keyBytes + fixed.valueBytes;
    }
    mutations += 1;
    keyBytes += k;
    bytes += k + v;
  }
  if (start < sizes.length) out.push([start, sizes.length]);
  return out;
}

/** The sizes of `[key, value]` mutations. */
export function sizesOf(mutations: [Key, Uint8Array][]): MutationSize[] {
  return mutations.map(([key, value]) => ({ keyBytes: keySize(key), valueBytes: value.length }));
}

/** Whether extra mutations fit into one atomic next to `fixed` ones. */
export function fitsOneAtomic(sizes: readonly MutationSize[], checks: number): boolean {
  if (checks > MAX_CHECKS || sizes.length > MAX_MUTATIONS) return false;
  let keyBytes = 0;
  let bytes = 0;
  for (const { keyBytes: k, valueBytes: v } of sizes) {
    keyBytes += k;
    bytes += k + v;
  }
  return keyBytes <= MAX_ATOMIC_KEY_BYTES && bytes <= MAX_ATOMIC_BYTES;
}

/** A save of an id that exists. */
export function idExists(id: string): CheckpointConflictError {
  return new CheckpointConflictError(`kv: cannot save checkpoint ${id}: the id exists already`);
}

/** A save whose parent is not its session's head (`head`: the head's id now, if any). */
export function headMoved(checkpoint: Checkpoint, head: string | undefined): CheckpointConflictError {
  return new CheckpointConflictError(
    `kv: cannot save checkpoint ${checkpoint.id}: session head moved (session ` +
      `${JSON.stringify(checkpoint.sessionId)} head is ${head ?? "none"}, parent is ${checkpoint.parentId})`,
  );
}
