// A demo server on Node: the Hono adapter over @hono/node-server, on 127.0.0.1:8787.
// Run: npx tsx examples/server_node.ts   (then try the curl commands of the README)
// Storage: memory for now (checkpoints vanish on exit); it moves to a libSQL file once that adapter lands.
import { serve } from "@hono/node-server";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import { createWorkflowApp } from "../adapters/hono.ts";

/** Splits a sentence, measures each word, then asks a human to approve the total. */
function wordlen() {
  const split = defineExecutor({
    id: "split",
    handle: async (text: string, ctx) => {
      for (const word of String(text).split(" ")) await ctx.send(word);
    },
  });
  const len = defineExecutor({
    id: "len",
    handle: async (word: string, ctx) => await ctx.yieldOutput(word.length),
  });
  return new WorkflowBuilder({ name: "wordlen", start: split }).addEdge(split, len).build();
}

function approval() {
  const ask = defineExecutor({
    id: "ask",
    handle: async (question: string, ctx) => {
      await ctx.requestInfo({ question });
    },
    onResponse: async (answer, _request, ctx) => await ctx.yieldOutput({ approved: answer === "yes" }),
  });
  return new WorkflowBuilder({ name: "approval", start: ask }).build();
}

const app = createWorkflowApp({
  workflows: { wordlen, approval },
  storage: new MemoryCheckpointStorage(),
});

serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 8787 }, (info) => {
  console.log(`Superstep demo on http://127.0.0.1:${info.port} (try GET /workflows)`);
});
