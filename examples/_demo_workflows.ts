/**
 * The demo workflows every example server serves (Deno, Node, Bun, the Cloudflare worker).
 *
 * - `wordlen`: splits a sentence and outputs the length of each word (two supersteps, no questions).
 * - `approval`: drafts a release note, asks a human to approve it (human in the loop), then publishes or
 *   shelves it. Its run ends `idle-pending-requests`; answer with `POST /checkpoints/:id/resume`
 *   `{ "responses": { "<requestId>": "yes" } }`.
 *
 * Each value is a factory: the Hono adapter calls it once per request, so requests never share executors.
 *
 * @module
 */
import { defineExecutor, type Workflow, WorkflowBuilder } from "../mod.ts";

/** Build the `wordlen` workflow: `"hello big world"` → outputs `[5, 3, 5]`. */
export function wordlen(): Workflow<string, number> {
  const split = defineExecutor<string, string, never>({
    id: "split",
    // Declared, so that another input fails the run loudly (a 422 over HTTP) instead of being split.
    accepts: (text) => typeof text === "string",
    handle: async (text, ctx) => {
      for (const word of text.split(/\s+/).filter(Boolean)) await ctx.send(word);
    },
  });
  const len = defineExecutor<string, never, number>({
    id: "len",
    handle: (word, ctx) => ctx.yieldOutput(word.length),
  });
  return new WorkflowBuilder({ name: "wordlen", start: split }).addEdge(split, len).build();
}

/** What `approval` asks its human (the `data` of its pending request). */
export interface ApprovalQuestion {
  /** The question. */
  question: string;
  /** The draft to approve. */
  draft: string;
}

/** The output of `approval`. */
export interface ApprovalOutcome {
  /** Whether the answer was `"yes"` (or `true`). */
  approved: boolean;
  /** The draft that was approved or shelved. */
  draft: string;
}

/** Build the `approval` workflow: draft → review (asks a human) → publish. */
export function approval(): Workflow<string, ApprovalOutcome> {
  const draft = defineExecutor<string, string, never>({
    id: "draft",
    handle: (topic, ctx) => ctx.send(`Release note: ${String(topic)}`),
  });
  const review = defineExecutor<string, ApprovalOutcome, never>({
    id: "review",
    handle: async (text, ctx) => {
      const question: ApprovalQuestion = { question: "Publish this draft? (yes/no)", draft: text };
      await ctx.requestInfo(question);
    },
    // The answer arrives on any instance, in any process: the draft comes back from the checkpoint.
    onResponse: async (answer, request, ctx) => {
      const { draft } = request.data as ApprovalQuestion;
      await ctx.send({ approved: answer === "yes" || answer === true, draft });
    },
  });
  const publish = defineExecutor<ApprovalOutcome, never, ApprovalOutcome>({
    id: "publish",
    handle: (outcome, ctx) => ctx.yieldOutput(outcome),
  });
  return new WorkflowBuilder({ name: "approval", start: draft }).addChain([draft, review, publish]).build();
}

/**
 * The demo workflows by name, as `createWorkflowApp({ workflows })` takes them; typed, so a client of the
 * demo app (`hc<DemoApp>`, examples/_demo_app.ts) knows their inputs and outputs.
 */
export const demoWorkflows: { wordlen: typeof wordlen; approval: typeof approval } = { wordlen, approval };
