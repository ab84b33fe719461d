// KV's per-atomic limits and how the storage stays under them (package-private): chunk sizes, key sizes and
// the grouping of many mutations into as few atomics as the limits allow.
import type { KvKey } from "./handle.ts";

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

/** An upper bound of a key's encoded size (KV escapes 0x00 in strings and bytes, and tags every part). */
export function keySize(key: KvKey): number {
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
export function sizesOf(mutations: [KvKey, Uint8Array][]): MutationSize[] {
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
