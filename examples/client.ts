/**
 * A typed client for the demo server, with Hono's `hc<DemoApp>`: it starts an `approval` run and streams its
 * events (SSE), answers the request the run waits on, and prints the lineage of the last checkpoint. The
 * client knows the demo workflows: `approval` takes a string, and its outputs are `ApprovalOutcome`s.
 *
 * ```sh
 * npm start &                                    # or any demo server: examples/server_{node,deno,bun}.ts
 * npx tsx examples/client.ts                     # Node; or `npx bun examples/client.ts`,
 *                                                # or `npx deno run --allow-net=127.0.0.1 examples/client.ts`
 * npx tsx examples/client.ts --answer=no --token=alice --url=http://127.0.0.1:8787
 * ```
 *
 * Flags: `--url` (default http://127.0.0.1:8787), `--token` (for a server started with `--tokens`),
 * `--answer` (default `yes`), `--topic` (what the release note is about).
 *
 * @module
 */
import process from "node:process";
import { hc } from "hono/client";
import type { RunResponseBody } from "../adapters/hono/mod.ts";
import type { DemoApp } from "./_demo_app.ts";
import type { ApprovalOutcome, ApprovalQuestion } from "./_demo_workflows.ts";

/** Gives up on the server after this long. */
const TIMEOUT_MS = 30_000;

/** One Server-Sent Event. */
interface SseEvent {
  event: string;
  id: string;
  data: string;
}

/** Parse a `text/event-stream` body as it arrives, one event at a time. */
async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      buffer += decoder.decode(value, { stream: !done }).replaceAll("\r\n", "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: "message", id: "", data: "" };
        const data: string[] = [];
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":");
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event.event = value;
          else if (field === "id") event.id = value;
          else if (field === "data") data.push(value);
        }
        event.data = data.join("\n");
        yield event;
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

function flag(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((arg) => arg.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

const url = flag("url", "http://127.0.0.1:8787");
const token = flag("token", "");
const answer = flag("answer", "yes");
const topic = flag("topic", "Superstep 0.1");

const client = hc<DemoApp>(url, {
  headers: token ? { authorization: `Bearer ${token}` } : {},
  init: { signal: AbortSignal.timeout(TIMEOUT_MS) },
});

/** The error for a non-200 answer: its problem document. */
async function problemError(res: { status: number; text(): Promise<string> }): Promise<Error> {
  return new Error(`HTTP ${res.status}: ${await res.text()}`);
}

// 1. Which workflows does the server have?
const list = await client.workflows.$get();
if (list.status !== 200) throw await problemError(list);
const { workflows } = await list.json();
console.log(`workflows: ${workflows.map((w) => w.name).join(", ")}`);

// 2. Start a run and stream its events as they happen.
const started = await client.workflows.approval.runs.$post(
  { json: { input: topic } },
  { headers: { accept: "text/event-stream" } },
);
if (started.status !== 200 || started.body === null) throw await problemError(started);
let result: RunResponseBody<ApprovalOutcome> | undefined;
for await (const { event, id, data } of readSse(started.body)) {
  console.log(`  #${id} ${event} ${data.length > 110 ? `${data.slice(0, 107)}...` : data}`);
  if (event === "result") result = JSON.parse(data);
  if (event === "problem") throw new Error(`the run failed: ${data}`);
}
if (result === undefined) throw new Error("The stream ended without a result");
console.log(`run: ${result.status} in session ${result.sessionId}, checkpoint ${result.checkpointId}`);

// 3. Answer the pending request (a human would read the question first).
const [request] = result.pendingRequests;
if (request === undefined || result.checkpointId === null) throw new Error("The run asked nothing");
const { question, draft } = request.data as ApprovalQuestion;
console.log(`question: ${question} "${draft}" → ${answer}`);
const resumed = await client.checkpoints[":id"].resume.$post({
  param: { id: result.checkpointId },
  json: { responses: { [request.requestId]: answer } },
});
if (resumed.status !== 200) throw await problemError(resumed);
const done = await resumed.json();
// Typed as any demo workflow's outputs (a resume's URL does not name the workflow): here approval's.
const verdicts = done.outputs.flatMap((output) => typeof output === "object" ? [output] : []);
console.log(
  `resumed: ${done.status}, ${verdicts.map((v) => `${v.approved ? "published" : "shelved"}: ${v.draft}`)}`,
);

// 4. The ancestry of the last checkpoint, back to the run's entry checkpoint.
if (done.checkpointId === null) throw new Error("The resumed run wrote no checkpoint");
const lineage = await client.checkpoints[":id"].lineage.$get({ param: { id: done.checkpointId } });
if (lineage.status !== 200) throw await problemError(lineage);
console.log("lineage (newest first):");
for (const { id, parentId, superstep, sessionId } of (await lineage.json()).lineage) {
  console.log(`  ${id}  superstep ${superstep}  session ${sessionId}  parent ${parentId ?? "(root)"}`);
}
