// Benchmark 9's sessions (runtime-neutral, and bundled into the workerd bench's worker): how many
// checkpoints, whether the state grows, whether the head waits; and the checkpoints of one such session.
import type { Checkpoint } from "../../mod.ts";
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
