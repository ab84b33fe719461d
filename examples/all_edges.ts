/**
 * A tour of Superstep in one workflow: every edge kind (edge with a condition,
 * chain, fan-out with select, switch with default, fan-in), shared state,
 * outputs, checkpoints with their ancestry, and cancellation.
 *
 * Run it: `npx tsx examples/all_edges.ts [memory|libsql|kv]` (Node), `npx deno run -A examples/all_edges.ts …`,
 * `npx bun examples/all_edges.ts …`. The argument picks the checkpoint storage (default: memory).
 *
 * @module
 */
import { defineExecutor, lineage, WorkflowBuilder } from "../mod.ts";
import { args, openExampleStorage } from "./_storage.ts";

interface Order {
  id: string;
  items: string[];
  total: number;
}

const receive = defineExecutor({
  id: "receive",
  handle: async (order: Order, ctx) => {
    ctx.state.set("order", order.id);
    await ctx.send(order);
  },
});
// Switch: route by size; small orders skip the review.
const review = defineExecutor({
  id: "review",
  handle: async (order: Order, ctx) => await ctx.send({ ...order, total: Math.round(order.total * 0.95) }),
});
const accept = defineExecutor({ id: "accept", handle: (order: Order, ctx) => ctx.send(order) });
// Fan-out with select: only the departments an order needs.
const dispatch = defineExecutor({ id: "dispatch", handle: (order: Order, ctx) => ctx.send(order) });
const kitchen = defineExecutor({
  id: "kitchen",
  handle: (order: Order, ctx) => ctx.send(`kitchen packed ${order.items.filter((i) => i !== "book").length}`),
});
const library = defineExecutor({
  id: "library",
  handle: (order: Order, ctx) => ctx.send(`library packed ${order.items.filter((i) => i === "book").length}`),
});
// Fan-in: the invoice waits for both departments and gets their reports in source order.
const invoice = defineExecutor({
  id: "invoice",
  handle: async (reports: string[], ctx) => {
    await ctx.yieldOutput(`order ${ctx.state.get("order")}: ${reports.join(", ")}`);
    await ctx.send(reports.length);
  },
});
// A chain with a conditional edge at its end.
const archive = defineExecutor({ id: "archive", handle: (n: number, ctx) => ctx.send(n) });
const notify = defineExecutor({
  id: "notify",
  handle: async (n: number, ctx) => await ctx.yieldOutput(`notified about ${n} reports`),
});

const { name, storage, close } = await openExampleStorage(args()[0]);
console.log(`checkpoint storage: ${name}`);
const workflow = new WorkflowBuilder({ name: "orders", start: receive })
  .addSwitch(receive, [{ when: (o: Order) => o.total > 100, to: review }], { default: accept })
  .addEdge(review, dispatch)
  .addEdge(accept, dispatch)
  .addFanOut(dispatch, [kitchen, library], {
    select: (o: Order, ids) => o.items.includes("book") ? ids : ids.filter((id) => id !== "library"),
  })
  .addFanIn([kitchen, library], invoice)
  .addChain([invoice, archive])
  .addEdge(archive, notify, { when: (n: number) => n > 0 })
  .withCheckpointing(storage)
  .build();

console.log(workflow.toMermaid());

const result = await workflow.run({ id: "A-1", items: ["tea", "book", "cake"], total: 120 });
console.log(result.status, result.outputs);
const chain = await lineage(storage, result.checkpointId!);
console.log(`checkpoints: ${chain.map((c) => `#${c.superstep}`).join(" <- ")}`);

// Cancellation: abort while the run is streaming; the last checkpoint stays resumable.
const controller = new AbortController();
const events: string[] = [];
const run = workflow.run({ id: "A-2", items: ["tea", "book"], total: 20 }, { signal: controller.signal });
for await (const event of run) {
  events.push(event.type);
  if (event.type === "superstep-completed" && event.superstep === 2) controller.abort();
}
const cancelled = await run;
console.log(cancelled.status, `resumable from ${cancelled.checkpointId}`);
const resumed = await workflow.resume(cancelled.checkpointId!);
console.log("resumed:", resumed.status, resumed.outputs);
await close();
