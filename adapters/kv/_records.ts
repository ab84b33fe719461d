// The records the Deno KV checkpoint storage stores (package-private): checkpoint summaries, staged saves and
// payloads awaiting deletion, each as UTF-8 JSON bytes.
//
// A checkpoint's own record (`checkpoint/<id>`) may carry its payload inline: the summary's JSON, a newline
// (0x0A, which `JSON.stringify` never writes: it escapes control characters in strings), then the payload
// bytes; its summary then says `chunks: 0`. Index copies of the summary never carry the payload, and a
// record without the newline is a summary whose payload is in chunks (every record of before inlining).
// A record with an inline payload may carry the checkpoint's resume copy (`EncodedCheckpoint.copy`) right
// after it: its summary then says how many bytes it takes (`copy`), and the payload is `bytes` long. The
// save that answers the session cuts the copy off (the record then ends after the payload, its summary
// unchanged: a record as long as its payload has no copy).
//
// Every value is a `Uint8Array` (UTF-8 JSON or raw payload bytes): KV stores bytes as they are, so the
// adapter never goes through V8 serialization, which `@deno/kv` cannot do on Bun and which would tie the
// data to one runtime's serializer.
import { CheckpointCorruptError } from "../../src/errors.ts";
import { checkStoredSummary, type StoredSummary as SummaryColumns } from "../../src/storage_kit.ts";
import type { SessionStatus } from "../../src/checkpoint.ts";
import { MAX_VALUE_BYTES } from "./_limits.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A summary as stored: the kit's summary columns, and where the payload is. */
export interface StoredSummary extends SummaryColumns {
  /** The save that wrote the payload: chunks live under `chunk/<id>/<token>/<n>`. */
  token: string;
  /** How many chunks; 0 for a payload inline in the checkpoint's record. */
  chunks: number;
  /** The payload's length in bytes. */
  bytes: number;
  /**
   * The checkpoint its delta payload is based on; absent for a whole payload, and in summaries of before
   * bases were kept (whose deltas are all on their parents).
   */
  base?: string;
  /**
   * Only in the checkpoint's own record, never in the index copies: the base's own bases, in order, back to
   * a keyframe (`EncodedCheckpoint.bases` after the base), so that a load reads its whole chain at once.
   * Absent when the base is a keyframe, and in records of before chains were kept.
   */
  chain?: string[];
  /**
   * Only in the checkpoint's own record, and only with an inline payload: the length in bytes of its resume
   * copy, which follows the payload in the record. Absent when it has none.
   */
  copy?: number;
  /** What it gives its session as a head (the kit's index); absent in summaries of before the index. */
  status?: SessionStatus;
  /** Its pending requests as the inbox stores them (the kit's `requestsJson`); absent like `status`. */
  requests?: string;
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

/**
 * UTF-8 bytes of a checkpoint's summary.
 *
 * @throws {RangeError} If they pass KV's value limit (ids and metadata too large).
 */
export function encodeSummary(stored: StoredSummary): Uint8Array {
  const summary = encodeRecord(stored);
  if (summary.length > MAX_VALUE_BYTES) {
    throw new RangeError(
      `kv: cannot save checkpoint ${stored.id}: its summary (ids and metadata) takes ${summary.length} ` +
        `bytes, over the ${MAX_VALUE_BYTES}-byte KV value limit`,
    );
  }
  return summary;
}

/** The newline between a record's summary and its inline payload. */
const NEWLINE = 0x0a;

/**
 * A checkpoint's record with its payload inline: the summary's bytes, a newline, the payload's bytes, then
 * the resume copy's bytes if there is one.
 */
export function inlineRecord(summary: Uint8Array, payload: Uint8Array, copy?: Uint8Array): Uint8Array {
  const out = new Uint8Array(summary.length + 1 + payload.length + (copy?.length ?? 0));
  out.set(summary);
  out[summary.length] = NEWLINE;
  out.set(payload, summary.length + 1);
  if (copy !== undefined) out.set(copy, summary.length + 1 + payload.length);
  return out;
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

/** The JSON object a value holds; `undefined` if it holds none. */
export function parseJson(value: unknown): Record<string, unknown> | undefined {
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
 * A stored summary, checked (its metadata is decoded only by whoever needs it: `decodeSummary` of the kit),
 * from an index copy (`by_session`, `by_workflow`), which never carries a payload: a checkpoint's own record
 * may, and is read with {@linkcode decodeRecord}.
 *
 * @throws {CheckpointCorruptError} Naming `id`, if the value is not a summary of `id`.
 */
export function decodeStored(id: string, value: unknown): StoredSummary {
  return checkSummary(id, parseJson(value), false);
}

/** A checkpoint's record, decoded: its summary, and views into the record's bytes. */
export interface DecodedRecord {
  stored: StoredSummary;
  /** The inline payload's bytes; absent when the payload is in chunks. */
  inline?: Uint8Array;
  /** The resume copy's bytes; absent when the record carries none. */
  copy?: Uint8Array;
}

/**
 * A checkpoint's record (`checkpoint/<id>`): its summary, checked, and its inline payload's and resume
 * copy's bytes if it has them (views into `value`). Only the summary's bytes are parsed.
 *
 * @throws {CheckpointCorruptError} Naming `id`, if the value is not a summary of `id`, or what follows it
 *   is not as long as the summary says.
 */
export function decodeRecord(id: string, value: unknown): DecodedRecord {
  const end = value instanceof Uint8Array ? value.indexOf(NEWLINE) : -1;
  if (end === -1) return { stored: checkSummary(id, parseJson(value), false) };
  const bytes = value as Uint8Array;
  const stored = checkSummary(id, parseJson(bytes.subarray(0, end)), true);
  const start = end + 1;
  const rest = bytes.length - start;
  const copied = rest === stored.bytes ? 0 : stored.copy ?? 0;
  if (rest !== stored.bytes + copied) {
    throw new CheckpointCorruptError(
      id,
      `kv: its inline payload takes ${rest - copied} bytes, not the ${stored.bytes} its summary says`,
      stored,
    );
  }
  const inline = bytes.subarray(start, start + stored.bytes);
  return copied === 0 ? { stored, inline } : { stored, inline, copy: bytes.subarray(start + stored.bytes) };
}

/**
 * A checkpoint's record without its resume copy (the same bytes up to the end of its payload), with its
 * summary as the index copies hold it (the record's, without `chain` and `copy`); `undefined` if the record
 * carries no copy.
 *
 * @throws {CheckpointCorruptError} Naming `id`, like {@linkcode decodeRecord}.
 */
export function withoutCopy(
  id: string,
  value: unknown,
): { stored: StoredSummary; record: Uint8Array; summary: Uint8Array } | undefined {
  const { stored, copy } = decodeRecord(id, value);
  if (copy === undefined) return undefined;
  const bytes = value as Uint8Array;
  const fields = parseJson(bytes.subarray(0, bytes.indexOf(NEWLINE)))!;
  delete fields.chain;
  delete fields.copy;
  // The copy is the record's last bytes.
  return {
    stored,
    record: bytes.slice(0, bytes.length - copy.length),
    summary: encodeText(JSON.stringify(fields)),
  };
}

/** `record` as a summary of `id` (`inline`: followed by a payload, so it must name no chunks). */
function checkSummary(
  id: string,
  record: Record<string, unknown> | undefined,
  inline: boolean,
): StoredSummary {
  if (
    record === undefined || record.id !== id || typeof record.token !== "string" || !isCount(record.chunks) ||
    !isCount(record.bytes) || (inline && record.chunks !== 0)
  ) {
    throw new CheckpointCorruptError(id, "kv: its stored summary is not valid");
  }
  const { token, chunks, bytes } = record as { token: string; chunks: number; bytes: number };
  const stored: StoredSummary = { ...checkStoredSummary("kv", record), token, chunks, bytes };
  if (typeof record.base === "string") stored.base = record.base;
  if (Array.isArray(record.chain) && record.chain.every((id) => typeof id === "string")) {
    stored.chain = record.chain;
  }
  if (inline && isCount(record.copy) && record.copy > 0) stored.copy = record.copy;
  if (typeof record.status === "string" && typeof record.requests === "string") {
    stored.status = record.status as SessionStatus;
    stored.requests = record.requests;
  }
  return stored;
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
