// Payloads in parts (package-private): D1 and Durable Object SQLite cap a string and a row (1-2 MB), so a
// checkpoint whose row would outgrow the cap is stored as an empty `payload` plus parts of at most
// `maxRowBytes` UTF-8 bytes each. A part never splits a surrogate pair (the codec's text is well-formed,
// and each part is stored as UTF-8 on its own).
import { CheckpointCorruptError } from "../../src/errors.ts";
import type { EncodedCheckpoint } from "../../src/storage_kit.ts";
import type { RowsToSave } from "./_sql.ts";

const encoder = new TextEncoder();

/**
 * The row cap D1 and Durable Object SQLite storages write under, in UTF-8 bytes: both cap a string, BLOB
 * or row (D1 at 1,000,000 bytes in its first limits, 2 MB since; Durable Objects at 2 MB), so rows stay
 * under the lower cap with 40 KB to spare for the ids and SQLite's record headers.
 */
export const CLOUDFLARE_MAX_ROW_BYTES = 960_000;

const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** The UTF-8 length of `text` (without allocating it). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else {
      // 3 bytes, a lone surrogate too; a surrogate pair is 4 bytes for its 2 units.
      bytes += 2;
      if (isHigh(unit) && isLow(text.charCodeAt(i + 1))) i++;
    }
  }
  return bytes;
}

/** `text` in parts of at most `maxBytes` UTF-8 bytes each, never splitting a surrogate pair. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const buffer = new Uint8Array(maxBytes);
  const parts: string[] = [];
  for (let at = 0; at < text.length;) {
    const window = text.slice(at, at + maxBytes);
    let { read } = encoder.encodeInto(window, buffer);
    // The window may end between the two halves of a pair, which encodeInto then takes for a lone one.
    if (isHigh(text.charCodeAt(at + read - 1)) && isLow(text.charCodeAt(at + read))) read--;
    parts.push(window.slice(0, read));
    at += read;
  }
  return parts;
}

/**
 * The rows of a save: the payload in the checkpoint's row when the row fits in `maxRowBytes`, else in parts.
 *
 * @throws {RangeError} If the summary alone (ids and metadata) takes more than `maxRowBytes`.
 */
export function planRows(adapter: string, encoded: EncodedCheckpoint, maxRowBytes: number): RowsToSave {
  const { summary, payload, copy } = encoded;
  if (maxRowBytes === Infinity) return encoded;
  // Cheap first: a row whose UTF-16 length times 3 fits needs no exact count.
  const fields = [summary.id, summary.parentId ?? "", summary.sessionId, summary.workflowName];
  const summaryUnits = fields.reduce((n, field) => n + field.length, summary.metadata.length);
  const copyUnits = copy?.length ?? 0;
  if ((summaryUnits + payload.length + copyUnits) * 3 <= maxRowBytes) return encoded;
  // A resume copy only where the row has room for it: without one, the session resumes through the chain.
  if (copy !== null && utf8Length(copy) + utf8Length(payload) + summaryUnits * 3 <= maxRowBytes) {
    return encoded;
  }
  const summaryBytes = fields.reduce((n, field) => n + utf8Length(field), utf8Length(summary.metadata));
  if (summaryBytes > maxRowBytes) {
    throw new RangeError(
      `${adapter}: cannot save checkpoint ${summary.id}: its summary (ids and metadata) takes ` +
        `${summaryBytes} bytes, over the ${maxRowBytes}-byte row limit`,
    );
  }
  const { base, dropCopy, index } = encoded;
  if (summaryBytes + utf8Length(payload) <= maxRowBytes) return { summary, payload, base, dropCopy, index };
  return { summary, payload: "", base, chunks: splitUtf8(payload, maxRowBytes), dropCopy, index };
}

/** A stored checkpoint's payload parts, as `loadStatement` reads them: the row (`seq` -1), its chunks, its base. */
export interface StoredPayload {
  /** The checkpoint's session, as stored. */
  sessionId: unknown;
  /** Its workflow, as stored. */
  workflowName: unknown;
  /** The row's payload (empty when it is in parts). */
  payload: unknown;
  /** How many parts the row says it has. */
  chunks: unknown;
  /** The parts found, in any order. */
  parts: { seq: unknown; data: unknown }[];
  /** For a delta, its base's row, read with it: its id, payload and chunk count. */
  base?: { id: unknown; payload: unknown; chunks: unknown };
  /** Its resume copy, as stored (`null`: none; absent: a store that keeps none). */
  copy?: unknown;
}

/**
 * The payload text of a stored checkpoint: the row's, or its parts joined in order.
 *
 * @throws {CheckpointCorruptError} If parts are missing, extra, out of range or not text.
 */
export function joinPayload(adapter: string, id: string, stored: StoredPayload): unknown {
  const count = Number(stored.chunks ?? 0);
  if (count === 0 && stored.parts.length === 0) return stored.payload;
  const facts = { sessionId: String(stored.sessionId), workflowName: String(stored.workflowName) };
  const texts: string[] = new Array(count);
  for (const { seq, data } of stored.parts) {
    const at = Number(seq);
    if (!(Number.isInteger(at) && at >= 0 && at < count) || typeof data !== "string") {
      throw new CheckpointCorruptError(id, `${adapter}: its payload part ${String(seq)} is not valid`, facts);
    }
    texts[at] = data;
  }
  const found = texts.filter((text) => text !== undefined).length;
  if (found !== count || stored.payload !== "") {
    throw new CheckpointCorruptError(id, `${adapter}: its payload has ${found} of ${count} parts`, facts);
  }
  return texts.join("");
}
