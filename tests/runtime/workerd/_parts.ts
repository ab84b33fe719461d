// What the D1 and Durable Object tests share about payloads stored in parts.
import assert from "node:assert/strict";

/** A state whose text takes about `bytes` UTF-8 bytes, of 1-, 2- and 4-byte characters (surrogate pairs). */
export function bigState(bytes: number): Record<string, string> {
  return { text: "abcé😀".repeat(Math.floor(bytes / 9)) };
}

/** Runs a query on the storage's database; its rows. */
export type Query = (sql: string, ...args: (string | number)[]) => Promise<Record<string, unknown>[]>;

/**
 * Checkpoint `id` is stored in parts: its row's payload empty, its parts numbered 0…n-1 as the row counts,
 * each at most `maxBytes` UTF-8 bytes, and more than one.
 */
export async function assertStoredInParts(query: Query, id: string, maxBytes: number): Promise<number> {
  const [row] = await query(
    "SELECT length(CAST(payload AS BLOB)) AS bytes, payload_chunks AS chunks FROM superstep_checkpoints WHERE id = ?1",
    id,
  );
  const parts = await query(
    "SELECT seq, length(CAST(data AS BLOB)) AS bytes FROM superstep_payload_chunks WHERE checkpoint_id = ?1 ORDER BY seq",
    id,
  );
  assert.strictEqual(row.bytes, 0, "the row's payload is empty");
  assert.ok(parts.length > 1, `stored in ${parts.length} part(s)`);
  assert.strictEqual(row.chunks, parts.length);
  assert.deepStrictEqual(parts.map((part) => part.seq), parts.map((_, i) => i));
  for (const { seq, bytes } of parts) {
    assert.ok(Number(bytes) <= maxBytes, `part ${seq} takes ${bytes} bytes, over ${maxBytes}`);
  }
  return parts.length;
}
