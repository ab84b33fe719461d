// Opening the stores the durable benchmarks write to, and filling them fast (runtime-neutral: the node:
// built-ins used here exist on Deno and Bun too). Long histories are written in bulk with the adapters' own
// record formats (the libSQL adapter's statements, the KV adapter's key layout), then checked through the
// adapters: saving 100,000 checkpoints one transaction at a time would take minutes and measure nothing.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { Checkpoint } from "../../mod.ts";
import { type DeltaCodec, encodeForStorage } from "../../src/storage_kit.ts";
import type { KvHandle, KvKey as Key } from "../../adapters/kv/mod.ts";
import { LibsqlCheckpointStorage } from "../../adapters/libsql/mod.ts";
import { saveStatements } from "../../adapters/_sqlite/_sql.ts";
import { planRows } from "../../adapters/_sqlite/_payload.ts";
import { Layout } from "../../adapters/kv/_layout.ts";
import { encodeText, type StoredSummary } from "../../adapters/kv/_records.ts";
import { placePayload } from "../../adapters/kv/_payloads.ts";
import { makeCheckpoint } from "../../testing/make_checkpoint.ts";

/** A KV handle this process opened. */
export type OpenKv = KvHandle & {
  close(): void;
  set(key: Key, value: Uint8Array): Promise<unknown>;
};

/** A temporary directory, removed by `dispose`. */
export async function tempDir(): Promise<
  { path: string; dispose(): Promise<void> }
> {
  const path = await mkdtemp(join(tmpdir(), "superstep-bench-"));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

/** The size of a file, 0 if it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function noV8(): never {
  throw new Error("the KV adapter must never use V8 serialization");
}

/** Open a KV store with this runtime's client: `Deno.openKv`, or `@deno/kv` on Node and Bun. */
export async function openKv(path: string): Promise<OpenKv> {
  const deno = (globalThis as { Deno?: { openKv(path: string): Promise<OpenKv> } }).Deno;
  if (deno) return await deno.openKv(path);
  const { openKv } = await import("@deno/kv");
  return await openKv(path, {
    encodeV8: noV8,
    decodeV8: noV8,
  }) as unknown as OpenKv;
}

/** A libSQL client on a file (WAL, busy timeout: what the adapter sets up for a `url`). */
export async function openLibsqlFile(path: string) {
  const client = createClient({ url: `file:${path}`, timeout: 5000 });
  await client.execute("PRAGMA journal_mode = WAL");
  return client;
}

/** A chain of `length` checkpoints of one session, made lazily (a 100,000 chain never sits in memory). */
export function* chain(length: number, template: Partial<Checkpoint>): Generator<Checkpoint> {
  const sessionId = template.sessionId ?? crypto.randomUUID();
  let parentId: string | null = null;
  for (let i = 0; i < length; i++) {
    const checkpoint: Checkpoint = makeCheckpoint({
      ...template,
      sessionId,
      parentId,
      superstep: i,
    });
    yield checkpoint;
    parentId = checkpoint.id;
  }
}

/** Write a chain into a libSQL database that the adapter migrated, 1,000 checkpoints per transaction. */
export async function bulkLibsql(storage: LibsqlCheckpointStorage, client: {
  batch(statements: { sql: string; args: (string | number | null)[] }[], mode: "write"): Promise<unknown>;
  execute(sql: string): Promise<unknown>;
}, checkpoints: Iterable<Checkpoint>): Promise<string[]> {
  await storage.head("migrate"); // the adapter creates its schema on first use
  const ids: string[] = [];
  let batch: { sql: string; args: (string | number | null)[] }[] = [];
  for (const checkpoint of checkpoints) {
    ids.push(checkpoint.id);
    // The adapter's own save statements: the head compare-and-set, the session index and the insert.
    batch.push(...saveStatements(planRows("libsql", encodeForStorage("libsql", checkpoint), Infinity)));
    if (batch.length >= 2000) {
      await client.batch(batch, "write");
      batch = [];
    }
  }
  if (batch.length > 0) await client.batch(batch, "write");
  // Leave the database as a long-running one is: its WAL folded back into the file.
  await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  return ids;
}

/**
 * Write a chain into a KV store with the KV adapter's key layout (under `prefix`, the adapter's default
 * unless given), many checkpoints per atomic, then its head: whole, or as deltas through `deltas` (with each
 * base's dependents index, as the adapter's save writes it). Checkpoints must fit one chunk each.
 */
export async function bulkKv(
  kv: OpenKv,
  checkpoints: Iterable<Checkpoint>,
  deltas?: DeltaCodec,
  prefix: string[] = ["superstep"],
): Promise<string[]> {
  const keys = new Layout(prefix);
  const ids: string[] = [];
  let op = kv.atomic();
  let mutations = 0;
  let bytes = 0;
  let last: Checkpoint | undefined;
  for (const checkpoint of checkpoints) {
    const { id, sessionId, workflowName } = checkpoint;
    const encoded = encodeForStorage("kv", checkpoint, deltas, { copies: true });
    const payload = encodeText(encoded.payload);
    const stored: StoredSummary = {
      ...encoded.summary,
      token: crypto.randomUUID(),
      chunks: 0,
      bytes: payload.length,
    };
    if (encoded.base !== null) stored.base = encoded.base;
    if (encoded.bases.length > 1) stored.chain = encoded.bases.slice(1);
    encoded.stored();
    // The adapter's own placement: inline in the record when it fits one value, else in chunks.
    // A head its session waits at carries its resume copy, as the adapter's save writes it (only the last here).
    const copy = encoded.copy === null ? undefined : encodeText(encoded.copy);
    const { summary, record, chunks } = placePayload(keys, stored, payload, () => true, copy);
    const writes: [Key, Uint8Array][] = [
      [keys.checkpoint(id), record],
      [keys.bySession(sessionId, id), summary],
      [keys.byWorkflow(workflowName, id), summary],
      ...chunks,
      ...encoded.base === null
        ? []
        : [[keys.dependent(encoded.base, id), new Uint8Array(0)] as [Key, Uint8Array]],
    ];
    const size = writes.reduce((sum, [, value]) => sum + value.length + 200, 0);
    if (mutations + writes.length > 900 || bytes + size > 600 * 1024) {
      await commit(op);
      op = kv.atomic();
      mutations = 0;
      bytes = 0;
    }
    for (const [key, value] of writes) op.set(key, value);
    mutations += writes.length;
    bytes += size;
    ids.push(id);
    last = checkpoint;
  }
  if (last) op.set(keys.head(last.sessionId), encodeText(last.id));
  await commit(op);
  return ids;
}

async function commit(op: ReturnType<KvHandle["atomic"]>): Promise<void> {
  const result = await op.commit();
  if (!result.ok) throw new Error("bulk KV write failed");
}

export { LibsqlCheckpointStorage };
