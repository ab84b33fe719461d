// Benchmark 8, Superstep's process (see _rss.ts).
import { measureRss, RSS_SHAPES } from "./_rss.ts";
import { buildWorkflow, runWorkflow } from "./_shapes.ts";

const workflows = RSS_SHAPES.map((shape) => buildWorkflow(shape));
await measureRss("superstep", async () => {
  for (const workflow of workflows) await runWorkflow(workflow, true);
});
