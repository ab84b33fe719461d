/**
 * The `./logger` plugin: every event of a run as one line of JSON. Here the sink is `console.log` at level
 * `debug`; pass any function (a file, a log shipper) as `sink`, and `filter` to keep only some events.
 *
 * Run it: `npx tsx examples/plugins_logger.ts` (Node), `npx deno run -A examples/plugins_logger.ts`,
 * `npx bun examples/plugins_logger.ts`.
 *
 * @module
 */
import { defineExecutor, WorkflowBuilder } from "../mod.ts";
import { logger } from "../plugins/logger.ts";

const split = defineExecutor({
  id: "split",
  handle: async (text: string, ctx) => {
    for (const word of text.split(" ")) await ctx.send(word);
  },
});
const count = defineExecutor({
  id: "count",
  handle: async (word: string, ctx) => {
    // BigInt and Map outputs are logged safely (as a string and as [key, value] pairs).
    await ctx.yieldOutput(new Map([[word, BigInt(word.length)]]));
  },
});

const workflow = new WorkflowBuilder({ name: "words", start: split })
  .addEdge(split, count)
  .use(logger({ level: "debug", filter: (event) => event.type !== "status" }))
  .build();
await workflow.run("log every step");
