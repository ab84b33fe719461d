/**
 * The `./retry` plugin: a flaky "fetch" executor fails twice, is retried with exponential backoff and jitter,
 * and its failed attempts leave no trace in what the workflow passes on: `summarize` receives one message,
 * `result.outputs` and the checkpoints hold no duplicates. Each retry is an `executor-retried` event.
 *
 * Run it: `npx tsx examples/plugins_retry.ts` (Node), `npx deno run -A examples/plugins_retry.ts`,
 * `npx bun examples/plugins_retry.ts`.
 *
 * @module
 */
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import { retry } from "../plugins/retry.ts";

let calls = 0;
const fetchPrice = defineExecutor({
  id: "fetch-price",
  handle: async (sku: string, ctx) => {
    calls++;
    // Sent before the failure: a retry discards it, so `summarize` sees only the successful attempt's.
    await ctx.send({ sku, attempt: calls, price: 42 });
    if (calls < 3) throw new Error(`upstream 503 (call ${calls})`);
  },
});
const summarize = defineExecutor({
  id: "summarize",
  handle: (quote: { sku: string; attempt: number; price: number }, ctx) =>
    ctx.yieldOutput(`${quote.sku} costs ${quote.price} (attempt ${quote.attempt})`),
});

const storage = new MemoryCheckpointStorage();
const workflow = new WorkflowBuilder({ name: "prices", start: fetchPrice })
  .addEdge(fetchPrice, summarize)
  .withCheckpointing(storage)
  .use(retry({ executors: (id) => id.startsWith("fetch-"), attempts: 5, baseDelayMs: 50, maxDelayMs: 1_000 }))
  .build();

for await (const event of workflow.run("SKU-1")) {
  if (event.type === "executor-retried") {
    console.log(
      `retry: ${event.executorId} attempt ${event.attempt} after: ${(event.error as Error).message}`,
    );
  }
  if (event.type === "output") console.log(`output: ${event.data}`);
}
const checkpoints = await storage.list();
const sent = checkpoints.find((c) => c.superstep === 1)!;
console.log(`messages queued after fetch-price: ${(await storage.load(sent.id))!.messages.length}`);
