// Raw reads and writes of the KV adapter's keys (its default prefix, ["superstep"]), for the tests that check
// what a crash or a fault left behind and that damage stored checkpoints on purpose. The layout is the one of
// adapters/kv/_layout.ts.
import assert from "node:assert/strict";
import type { KvHandle, KvKeyPart } from "../adapters/kv/mod.ts";
import type { CheckpointStorage } from "../mod.ts";

const PREFIX = "superstep";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The keys under `[PREFIX, ...prefix]`, in order. */
export async function kvKeys(kv: KvHandle, ...prefix: string[]): Promise<(readonly unknown[])[]> {
  const out: (readonly unknown[])[] = [];
  for await (const entry of kv.list({ prefix: [PREFIX, ...prefix] })) out.push(entry.key);
  return out;
}

/**
 * A checkpoint's stored summary (the JSON under `checkpoint/<id>`, which a newline and the payload follow when
 * the payload is inline: then `chunks` is 0; a resume copy of `copy` bytes may follow the payload).
 */
export interface RawSummary {
  id: string;
  sessionId: string;
  workflowName: string;
  token: string;
  chunks: number;
  bytes: number;
  [field: string]: unknown;
}

/** The parts of a checkpoint's record: its summary, its inline payload and its resume copy (if any). */
interface RawRecord {
  summary: RawSummary;
  inline?: Uint8Array;
  copy?: Uint8Array;
}

/** The summary, the inline payload (if any) and the resume copy (if any) of a checkpoint's record. */
function splitRecord(value: Uint8Array): RawRecord {
  const end = value.indexOf(0x0a);
  if (end === -1) return { summary: JSON.parse(decoder.decode(value)) as RawSummary };
  const summary = JSON.parse(decoder.decode(value.subarray(0, end))) as RawSummary;
  const inline = value.subarray(end + 1, end + 1 + summary.bytes);
  const rest = value.subarray(end + 1 + summary.bytes);
  return rest.length === 0 ? { summary, inline } : { summary, inline, copy: rest };
}

/** The record of checkpoint `id`. */
async function rawRecord(kv: KvHandle, id: string): Promise<RawRecord> {
  const entry = await kv.get([PREFIX, "checkpoint", id]);
  assert.ok(entry.value instanceof Uint8Array, `checkpoint ${id} has a summary`);
  return splitRecord(entry.value);
}

/** The stored summary of checkpoint `id`. */
export async function rawSummary(kv: KvHandle, id: string): Promise<RawSummary> {
  return (await rawRecord(kv, id)).summary;
}

/** Every committed checkpoint's summary, by id. */
async function rawSummaries(kv: KvHandle): Promise<Map<string, RawSummary>> {
  const out = new Map<string, RawSummary>();
  for await (const entry of kv.list({ prefix: [PREFIX, "checkpoint"] })) {
    out.set(String(entry.key[2]), splitRecord(entry.value as Uint8Array).summary);
  }
  return out;
}

/**
 * Assert that the store keeps nothing of a save that never committed: no staged save, no payload awaiting
 * deletion, and exactly the chunks the committed summaries name (their save token, their chunk count).
 */
export async function assertNoOrphanedChunks(kv: KvHandle): Promise<void> {
  assert.deepStrictEqual(await kvKeys(kv, "staging"), [], "no staged save is left");
  assert.deepStrictEqual(await kvKeys(kv, "trash"), [], "no payload awaits deletion");
  const chunks = new Map<string, number>();
  for (const key of await kvKeys(kv, "chunk")) {
    const name = `${key[2]}/${key[3]}`;
    chunks.set(name, (chunks.get(name) ?? 0) + 1);
  }
  const expected = new Map(
    [...(await rawSummaries(kv))].filter(([, summary]) => summary.chunks > 0)
      .map(([id, summary]) => [`${id}/${summary.token}`, summary.chunks]),
  );
  assert.deepStrictEqual(chunks, expected, "the stored chunks are exactly those of committed checkpoints");
}

/** The resume copy in checkpoint `id`'s record, as text, or `undefined` if it carries none. */
export async function rawCopy(kv: KvHandle, id: string): Promise<string | undefined> {
  const { copy } = await rawRecord(kv, id);
  return copy === undefined ? undefined : decoder.decode(copy);
}

/** The payload bytes of checkpoint `id`: inline in its record, or its chunks joined. */
export async function rawPayload(kv: KvHandle, id: string): Promise<Uint8Array> {
  const { summary: { token, bytes }, inline } = await rawRecord(kv, id);
  if (inline !== undefined) return inline;
  const out = new Uint8Array(bytes);
  let offset = 0;
  for await (const entry of kv.list({ prefix: [PREFIX, "chunk", id, token] })) {
    out.set(entry.value as Uint8Array, offset);
    offset += (entry.value as Uint8Array).length;
  }
  return out;
}

/** The adapter's chunk size (adapters/kv/_layout.ts). */
const CHUNK_BYTES = 60 * 1024;

/**
 * Replace the payload of checkpoint `id` by `payload` (text or bytes), written as a new save of a large
 * payload would (new token, 60 KiB chunks), with a summary that agrees: so any damage is in the payload
 * itself, not its framing.
 */
export async function rewritePayload(kv: KvHandle, id: string, payload: string | Uint8Array): Promise<void> {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  // A record in chunks carries no resume copy.
  const { copy: _, ...old } = await rawSummary(kv, id);
  const token = crypto.randomUUID();
  const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  // Ten chunks per atomic stay under KV's 800 KiB per atomic.
  for (let start = 0; start < chunks; start += 10) {
    const op = kv.atomic();
    for (let i = start; i < Math.min(chunks, start + 10); i++) {
      op.set([PREFIX, "chunk", id, token, i], bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    }
    assert.ok((await op.commit()).ok);
  }
  const op = kv.atomic();
  writeSummary(op, { ...old, token, chunks, bytes: bytes.length });
  assert.ok((await op.commit()).ok);
  for (let start = 0; start < old.chunks; start += 100) {
    const op = kv.atomic();
    for (let i = start; i < Math.min(old.chunks, start + 100); i++) {
      op.delete([PREFIX, "chunk", id, old.token, i]);
    }
    assert.ok((await op.commit()).ok);
  }
}

/** Set the summary of a checkpoint, under its key and both index keys. */
function writeSummary(op: ReturnType<KvHandle["atomic"]>, summary: RawSummary): void {
  const value = encoder.encode(JSON.stringify(summary));
  op.set([PREFIX, "checkpoint", summary.id], value);
  op.set([PREFIX, "by_session", summary.sessionId, summary.id], value);
  op.set([PREFIX, "by_workflow", summary.workflowName, summary.id], value);
}

/** Write raw bytes under one of the adapter's keys. */
export async function rawSet(kv: KvHandle, key: KvKeyPart[], value: Uint8Array): Promise<void> {
  assert.ok((await kv.atomic().set([PREFIX, ...key], value).commit()).ok);
}

/** Delete one of the adapter's keys. */
export async function rawDelete(kv: KvHandle, key: KvKeyPart[]): Promise<void> {
  assert.ok((await kv.atomic().delete([PREFIX, ...key]).commit()).ok);
}

/**
 * Assert that `storage`'s session is consistent whatever was interrupted: its head is absent or names a
 * checkpoint that loads, and every checkpoint it lists loads.
 */
export async function assertSessionConsistent(
  storage: CheckpointStorage,
  sessionId: string,
  context: string,
): Promise<void> {
  const head = await storage.head(sessionId);
  if (head !== undefined) assert.ok(await storage.load(head), `${context}: the head ${head} loads`);
  for (const summary of await storage.list({ sessionId })) {
    assert.ok(await storage.load(summary.id), `${context}: ${summary.id} loads`);
  }
}
