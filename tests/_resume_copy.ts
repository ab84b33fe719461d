// A check of the SQLite adapters' resume copies (libSQL, D1, Durable Objects), over any SQL access to the
// database: the head a session waits at is stored whole beside its delta payload, a cold storage loads it
// with every other payload of its chain damaged, and the save that answers it clears the copy.
import assert from "node:assert/strict";
import { type Checkpoint, CheckpointCorruptError, type CheckpointStorage } from "../mod.ts";
import { makeCheckpoint } from "../testing/mod.ts";

/** Rows of one SQL statement with `?1`… arguments. */
export type Sql = (sql: string, ...args: (string | number | null)[]) => Promise<Record<string, unknown>[]>;

/** 12 checkpoints of a state that grows (a document that stays put beside it); the last waits. */
export async function waitingSession(storage: CheckpointStorage): Promise<Checkpoint[]> {
  const first = makeCheckpoint({ state: { doc: "a document. ".repeat(400), items: [] } });
  const chain = [first];
  await storage.save(first);
  for (let i = 1; i < 12; i++) {
    const parent = chain[i - 1];
    const waits = i === 11;
    const checkpoint = makeCheckpoint({
      sessionId: first.sessionId,
      parentId: parent.id,
      superstep: i,
      state: { doc: parent.state.doc, items: [...parent.state.items as unknown[], { n: i }] },
      messages: waits ? [] : [{ source: "a", data: i }],
      pendingRequests: waits ? [{ requestId: "r1", executorId: "review", data: "ok?" }] : [],
    });
    await storage.save(checkpoint);
    chain.push(checkpoint);
  }
  return chain;
}

/**
 * Saves a waiting session through `open()`, checks its copy in the table, damages the rest of its chain and
 * loads the head through a second `open()`, then answers it there and checks the copy is gone.
 */
export async function assertResumeCopy(open: () => CheckpointStorage, sql: Sql): Promise<void> {
  const chain = await waitingSession(open());
  const head = chain.at(-1)!;
  const copied = async () =>
    (await sql(
      "SELECT id FROM superstep_checkpoints WHERE session_id = ?1 AND copy IS NOT NULL",
      head.sessionId,
    )).map((row) => row.id);
  assert.deepStrictEqual(await copied(), [head.id], "only the waiting head has a copy");
  const [row] = await sql("SELECT base_id FROM superstep_checkpoints WHERE id = ?1", head.id);
  assert.notStrictEqual(row.base_id, null, "its payload is a delta");

  // Every other payload of the session damaged: only the copy can still give the head.
  await sql(
    "UPDATE superstep_checkpoints SET payload = '~2{' WHERE session_id = ?1 AND id <> ?2",
    head.sessionId,
    head.id,
  );
  const cold = open();
  assert.deepStrictEqual(await cold.load(head.id), head);
  await assert.rejects(open().load(chain[10].id), CheckpointCorruptError);

  // The answer's save clears the copy (the session waits there no more); the new head loads.
  const answered = makeCheckpoint({
    sessionId: head.sessionId,
    parentId: head.id,
    superstep: 12,
    state: { ...head.state, answer: "yes" },
  });
  await cold.save(answered);
  assert.deepStrictEqual(await copied(), []);
  assert.deepStrictEqual(await cold.load(answered.id), answered);
}
