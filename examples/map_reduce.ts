/**
 * Map-reduce over a number of items known only at run time: `split` sends one message per document,
 * `count` handles up to 8 of them at once (`concurrency`), every count adds into one state key through a
 * reducer, and `addCollect` hands `report` all the counts of that superstep as one array, in a
 * deterministic order. A resume between the map and the collect loses nothing.
 *
 * Run it: `npx tsx examples/map_reduce.ts [memory|libsql|kv] [documents]` (Node), `npx deno run -A
 * examples/map_reduce.ts …`, `npx bun examples/map_reduce.ts …`. Defaults: memory, 200 documents.
 *
 * @module
 */
import process from "node:process";
import { defineExecutor, WorkflowBuilder, type WorkflowContext } from "../mod.ts";
import { args, openExampleStorage } from "./_storage.ts";

interface Tally {
  doc: string;
  words: number;
}

const split = defineExecutor({
  id: "split",
  handle: async (docs: string[], ctx: WorkflowContext<string, never>) => {
    for (const doc of docs) await ctx.send(doc);
  },
});
const count = defineExecutor({
  id: "count",
  concurrency: 8,
  handle: async (doc: string, ctx: WorkflowContext<Tally, never>) => {
    // Stands for slow work (a model call, a fetch): eight of these run at once.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const [title, text] = doc.split(": ");
    const words = text.split(/\s+/).filter(Boolean).length;
    ctx.state.set("total", words); // an update: the reducer below adds it to the committed total
    await ctx.send({ doc: title, words });
  },
});
const report = defineExecutor({
  id: "report",
  handle: (tallies: Tally[], ctx: WorkflowContext<never, string>) =>
    ctx.yieldOutput(
      `${tallies.length} documents, ${ctx.state.get<number>("total")} words; longest: ` +
        tallies.reduce((a, b) => (b.words > a.words ? b : a)).doc,
    ),
});

const [storageName, howMany = "200"] = args();
const documents = Array.from(
  { length: Number(howMany) },
  (_, i) => `document ${i}: ` + "word ".repeat(i % 17 + 1),
);
const { name, storage, close } = await openExampleStorage(storageName);
const build = () =>
  new WorkflowBuilder({
    name: "word-count",
    start: split,
    reducers: { total: (current: number | undefined, update: number) => (current ?? 0) + update },
  })
    .addEdge(split, count)
    .addCollect(count, report)
    .withCheckpointing(storage)
    .build();

try {
  const result = await build().run(documents);
  console.log(`storage: ${name}`);
  for (const line of result.outputs) console.log(line);
  const expected = documents.reduce(
    (sum, doc) => sum + doc.split(": ")[1].split(/\s+/).filter(Boolean).length,
    0,
  );
  console.log(`sequential check: ${expected} words`);

  // Resume, on a fresh instance, the checkpoint written after the map and before the collect.
  const afterMap = result.events.filter((event) => event.type === "superstep-completed").at(-2)!;
  const again = await build().resume(afterMap.checkpointId!, { fork: true });
  console.log(`resumed between map and collect: ${again.outputs[0]}`);
  if (again.outputs[0] !== result.outputs[0] || !result.outputs[0].includes(` ${expected} words`)) {
    process.exitCode = 1;
  }
} finally {
  await close();
}
