// Benchmark 9's sessions (runtime-neutral, and bundled into the workerd bench's worker): how many
// checkpoints, whether the state grows, whether the head waits; and the checkpoints of one such session.
import type { Checkpoint } from "../../mod.ts";
import { DeltaCodec, encodeForStorage } from "../../src/storage_kit.ts";
import { planRows } from "../../adapters/_sqlite/_payload.ts";
import { saveStatements, type SqlStatement } from "../../adapters/_sqlite/_sql.ts";
import { makeCheckpoint } from "../../testing/make_checkpoint.ts";
import { growthRecord, makeItems } from "./_shapes.ts";

const template = { workflowName: "history", metadata: { source: "bench" } };
const baseItems = makeItems(4096);

/**
 * A load case: how many checkpoints, whether the state grows (else a cursor moves), and whether the session
 * waits at its head for an answer (the head a resume loads; else it was interrupted, by a crash say).
 */
export interface LoadCase {
  length: number;
  grows: boolean;
  waits: boolean;
}

/**
 * The cases at these lengths: a moving cursor whose head waits at each, then a growing state of 1,000
 * whose head waits, and the same whose head does not (an interrupted run's, which loads through its chain).
 */
export function loadCases(lengths: number[]): LoadCase[] {
  return [
    ...lengths.map((length) => ({ length, grows: false, waits: true })),
    { length: 1000, grows: true, waits: true },
    { length: 1000, grows: true, waits: false },
  ];
}

/** The name of a case's row. */
export function caseName({ length, grows, waits }: LoadCase): string {
  return `${waits ? "waiting head" : "interrupted head"} load · ${
    length.toLocaleString("en-US")
  } checkpoints${grows ? ", +1 record each" : ""}`;
}

/** The checkpoints of one session of `load`, oldest first (a new session id each call). */
export function* session(
  { length, grows, waits }: LoadCase,
): Generator<Checkpoint> {
  const sessionId = crypto.randomUUID();
  let parentId: string | null = null;
  const items: { id: number; text: string }[] = [];
  for (let i = 0; i < length; i++) {
    if (grows) items.push(growthRecord(i, 30));
    const checkpoint: Checkpoint = makeCheckpoint({
      ...template,
      sessionId,
      parentId,
      superstep: i,
      // A growing state is a new array each time, as a reducer makes it.
      state: grows ? { items: [...items] } : { items: baseItems, cursor: i },
      ...waits && i === length - 1 && {
        pendingRequests: [{
          requestId: `review-${i}`,
          executorId: "review",
          data: { question: "approve?" },
        }],
      },
    });
    yield checkpoint;
    parentId = checkpoint.id;
  }
}

/**
 * Writes a session of `load` with a SQLite adapter's own save statements (as deltas through a fresh codec,
 * or whole), at least `batchSize` statements a call of `write`, into a database the adapter migrated.
 *
 * @returns The head's id.
 */
export async function writeSession(
  adapter: string,
  load: LoadCase,
  deltas: boolean,
  { maxRowBytes, batchSize, write }: {
    maxRowBytes: number;
    batchSize: number;
    write(statements: SqlStatement[]): Promise<unknown>;
  },
): Promise<string> {
  const codec = deltas ? new DeltaCodec() : undefined;
  let batch: SqlStatement[] = [];
  let head = "";
  for (const checkpoint of session(load)) {
    const encoded = encodeForStorage(adapter, checkpoint, codec, { copies: true });
    batch.push(...saveStatements(planRows(adapter, encoded, maxRowBytes)));
    encoded.stored();
    head = checkpoint.id;
    if (batch.length >= batchSize) {
      await write(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await write(batch);
  return head;
}
