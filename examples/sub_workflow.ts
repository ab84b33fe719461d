/**
 * A sub-workflow with a person in the loop: the outer `publishing` workflow runs the `editorial`
 * workflow (a style check, then an editor's approval) for every article, as one executor. The editor's
 * request is a request of the outer run, with the path that leads to it; answered from the checkpoint
 * alone, on a fresh instance, it reaches the inner executor that asked, which picks up where it stopped.
 *
 * ```sh
 * npx tsx examples/sub_workflow.ts                            # memory: pause, answer, finish, in one go
 * npx tsx examples/sub_workflow.ts libsql start               # prints the checkpoint to answer, then exits
 * npx tsx examples/sub_workflow.ts libsql answer <checkpoint> yes   # another process (or runtime) finishes
 * ```
 *
 * @module
 */
import process from "node:process";
import {
  type CheckpointStorage,
  defineExecutor,
  type PendingRequest,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowExecutor,
  type WorkflowResult,
} from "../mod.ts";
import { args, openExampleStorage } from "./_storage.ts";

interface Article {
  title: string;
  words: number;
}

/** Every process builds the same graphs: the outer signature covers the inner graph too. */
function publishing(storage: CheckpointStorage): Workflow<Article[], string> {
  const style = defineExecutor({
    id: "style",
    handle: async (article: Article, ctx: WorkflowContext<Article, string>) => {
      if (article.words > 2000) return await ctx.yieldOutput(`${article.title}: too long, returned`);
      await ctx.send(article);
    },
  });
  const editor = defineExecutor({
    id: "editor",
    handle: async (article: Article, ctx: WorkflowContext<never, string>) => {
      await ctx.requestInfo({ question: `publish "${article.title}" (${article.words} words)?`, article });
    },
    onResponse: async (answer: unknown, request: PendingRequest, ctx: WorkflowContext<never, string>) => {
      const { article } = request.data as { article: Article };
      await ctx.yieldOutput(`${article.title}: ${answer === "yes" ? "approved" : "rejected"}`);
    },
  });
  const editorial = new WorkflowBuilder({ name: "editorial", start: style }).addEdge(style, editor).build();

  const split = defineExecutor({
    id: "split",
    handle: async (articles: Article[], ctx: WorkflowContext<Article, never>) => {
      for (const article of articles) await ctx.send(article);
    },
  });
  const review = new WorkflowExecutor("review", editorial);
  const publish = defineExecutor({
    id: "publish",
    handle: (verdict: string, ctx: WorkflowContext<never, string>) =>
      ctx.yieldOutput(verdict.endsWith("approved") ? `published ${verdict.split(":")[0]}` : verdict),
  });
  return new WorkflowBuilder({ name: "publishing", start: split })
    .addEdge(split, review)
    .addEdge(review, publish)
    .withCheckpointing(storage)
    .build();
}

const ARTICLES: Article[] = [
  { title: "Supersteps explained", words: 1200 },
  { title: "Everything about everything", words: 9000 },
];

function show(result: WorkflowResult<string>): void {
  for (const output of result.outputs) console.log(`output: ${output}`);
  for (const request of result.pendingRequests) {
    console.log(
      `waiting: ${(request.data as { question: string }).question}  [path ${request.path?.join(" → ")}]`,
    );
  }
  if (result.status === "idle-pending-requests") console.log(`checkpoint: ${result.checkpointId}`);
}

/** Answer every waiting request with `answer`, from the checkpoint alone, on a fresh instance. */
async function answerAll(storage: CheckpointStorage, checkpointId: string, answer: string) {
  const checkpoint = await storage.load(checkpointId);
  if (checkpoint === undefined) throw new Error(`no checkpoint ${checkpointId}`);
  const responses = Object.fromEntries(checkpoint.pendingRequests.map((r) => [r.requestId, answer]));
  return await publishing(storage).resume(checkpointId, { responses });
}

const [storageName = "memory", command = "all", checkpointId, answer = "yes"] = args();
const usage = "usage: sub_workflow.ts [memory|libsql|kv] [all | start | answer <checkpoint> <yes|no>]";
if (!["all", "start", "answer"].includes(command) || (command === "answer" && checkpointId === undefined)) {
  console.error(usage);
  process.exit(2);
}
if (storageName === "memory" && command !== "all") {
  console.error("memory storage does not outlive this process: use libsql or kv to start and answer apart");
  process.exit(2);
}
const { storage, close } = await openExampleStorage(storageName);
try {
  if (command === "answer") {
    show(await answerAll(storage, checkpointId, answer));
  } else {
    const paused = await publishing(storage).run(ARTICLES);
    show(paused);
    if (command === "all") {
      console.log(`the editor answers "${answer}" (a fresh instance, from the checkpoint alone):`);
      const done = await answerAll(storage, paused.checkpointId!, answer);
      show(done);
      if (done.status !== "idle") process.exitCode = 1;
    }
  }
} finally {
  await close();
}
