/**
 * Human in the loop across processes: one process starts an order approval and exits while it waits for
 * an answer; another process (any runtime) answers it from the checkpoint and finishes the run.
 *
 * ```sh
 * npx tsx examples/approval.ts libsql start                  # prints the checkpoint to answer
 * npx tsx examples/approval.ts libsql answer <checkpoint> yes # a new process finishes the run
 * ```
 *
 * The first argument picks the storage (`libsql` or `kv`): `memory` is refused, since it cannot outlive the
 * process that would have to answer. Bad usage prints the usage line and exits with code 2; an answer to a
 * checkpoint that does not exist exits with code 1.
 *
 * @module
 */
import process from "node:process";
import { defineExecutor, lineage, type PendingRequest, WorkflowBuilder } from "../mod.ts";
import { args, openExampleStorage } from "./_storage.ts";

const USAGE = "usage: approval.ts <libsql|kv> start | answer <checkpoint id> [yes|no]";
const [storageName, command, checkpointId, answer = "yes", ...extra] = args();
// Checked before any storage is opened: bad usage writes no file.
if (storageName === "memory") {
  console.error(
    "memory storage does not outlive this process: use libsql or kv, so another process can answer",
  );
  console.error(USAGE);
  process.exit(2);
}
const answering = command === "answer" && checkpointId !== undefined && (answer === "yes" || answer === "no");
const starting = command === "start" && checkpointId === undefined;
if (!["libsql", "kv"].includes(storageName) || !(answering || starting) || extra.length > 0) {
  console.error(USAGE);
  process.exit(2);
}
const { storage, close } = await openExampleStorage(storageName);

// Every process builds the same graph: its signature must match the checkpoint's.
const review = defineExecutor({
  id: "review",
  handle: async (order: { id: string; total: number }, ctx) => {
    await ctx.requestInfo({ question: `approve order ${order.id} of ${order.total}?` });
  },
  onResponse: async (approved: unknown, request: PendingRequest, ctx) => {
    await ctx.send({ request: request.data, approved: approved === "yes" });
  },
});
const ship = defineExecutor({
  id: "ship",
  handle: async (decision: { approved: boolean }, ctx) =>
    await ctx.yieldOutput(decision.approved ? "shipped" : "cancelled"),
});
const workflow = new WorkflowBuilder({ name: "approval", start: review })
  .addEdge(review, ship)
  .withCheckpointing(storage)
  .build();

try {
  if (command === "start") {
    const paused = await workflow.run({ id: "A-7", total: 250 });
    console.log(`status: ${paused.status}`);
    for (const request of paused.pendingRequests) console.log(`asks: ${JSON.stringify(request.data)}`);
    console.log(`answer it with: examples/approval.ts ${storageName} answer ${paused.checkpointId} yes`);
  } else {
    await answerIt(checkpointId!);
  }
} finally {
  await close();
}

/** Answer every request the checkpoint waits on with `answer`, in this (new) process. */
async function answerIt(id: string): Promise<void> {
  const checkpoint = await storage.load(id);
  if (!checkpoint) {
    console.error(`no checkpoint ${id} in ${storageName}`);
    process.exitCode = 1;
    return;
  }
  const responses = Object.fromEntries(checkpoint.pendingRequests.map((r) => [r.requestId, answer]));
  const done = await workflow.resume(id, { responses });
  console.log(`status: ${done.status}, outputs: ${JSON.stringify(done.outputs)}`);
  const chain = await lineage(storage, done.checkpointId!);
  console.log(`lineage: ${chain.map((c) => `#${c.superstep}`).join(" <- ")}`);
}
