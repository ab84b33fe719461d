// The HTTP fuzzer's apps, transports and checks (tests/http_fuzz_test.ts): the workflows served, two ways
// to send a request (a fetch handler such as `app.request`, or a real socket with node:http), and what every
// answer must satisfy. The requests themselves come from tests/_http_fuzz_requests.ts.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineExecutor, type Workflow, WorkflowBuilder } from "../mod.ts";
import { demoWorkflows } from "../examples/_demo_workflows.ts";
import { BODY_LIMIT, type Built } from "./_http_fuzz_requests.ts";
import { parseSse } from "./_hono_helpers.ts";
import { dagOf } from "./_hono_hostile.ts";

/** Thrown by the `picky` executor; no answer may ever contain it. */
export const SECRET = "hunter2-a9f3";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The largest answer a fuzzed app may give (and its `responseLimit`): a few copies of the largest input. */
export const ANSWER_LIMIT = 16 * BODY_LIMIT;

/**
 * The demo workflows plus `picky`, which echoes its input but fails on `"fail"` or `{ fail: true }`, and
 * `shared`, which outputs and puts in state a DAG of as many levels as its input says (0–40; 23 for any
 * other input): 2^levels paths through a few dozen objects.
 */
export function fuzzWorkflows(): Record<string, () => Workflow> {
  const picky = () =>
    new WorkflowBuilder({
      name: "picky",
      start: defineExecutor({
        id: "picky",
        handle: async (input: unknown, ctx) => {
          if (input === "fail" || (input as { fail?: unknown } | null)?.fail === true) {
            throw new Error(`picky refuses (secret ${SECRET})`);
          }
          await ctx.yieldOutput(input);
        },
      }),
    }).build();
  const shared = () =>
    new WorkflowBuilder({
      name: "shared",
      start: defineExecutor({
        id: "shared",
        handle: async (input: unknown, ctx) => {
          const levels = Number.isInteger(input) && (input as number) >= 0 && (input as number) <= 40
            ? input as number
            : 23;
          const dag = dagOf(levels);
          ctx.state.set("dag", dag);
          await ctx.yieldOutput(dag);
        },
      }),
    }).build();
  return { ...demoWorkflows, picky, shared };
}

/** What came back. */
export interface Answer {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

/** Send with `fetch(request)` (e.g. `app.request`). */
export async function sendFetch(
  fetch: (request: Request) => Response | Promise<Response>,
  built: Built,
): Promise<Answer> {
  const body = built.body && (built.chunked ? chunks(built.body) : built.body);
  const request = new Request(`http://localhost${built.path}`, {
    method: built.method,
    headers: built.headers,
    body,
    ...(built.chunked ? { duplex: "half" } : {}),
  } as RequestInit);
  const response = await fetch(request);
  const text = await response.text();
  return { status: response.status, header: (name) => response.headers.get(name) ?? undefined, text };
}

function chunks(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const half = Math.ceil(bytes.length / 2);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.subarray(0, half));
      controller.enqueue(bytes.subarray(half));
      controller.close();
    },
  });
}

/** Send over a real socket to 127.0.0.1:`port` with node:http (a new connection per request). */
export function sendHttp(port: number, built: Built): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = [...built.headers];
    // Explicit framing: node:http sends a DELETE or OPTIONS body unframed unless told.
    if (built.body) {
      headers.push(
        built.chunked ? ["transfer-encoding", "chunked"] : ["content-length", String(built.body.length)],
      );
    }
    const request = httpRequest({
      host: "127.0.0.1",
      port,
      method: built.method,
      path: built.path,
      headers: Object.fromEntries(headers),
      agent: false,
    }, (response) => {
      const parts: Uint8Array[] = [];
      response.on("data", (chunk: Uint8Array) => parts.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const value = (name: string) => response.headers[name];
        resolve({
          status: response.statusCode!,
          header: (name) => [value(name)].flat()[0],
          text: new TextDecoder().decode(concat(parts)),
        });
      });
    });
    request.on("error", reject);
    request.setTimeout(
      60_000,
      () => request.destroy(new Error(`no answer in 60 s: ${built.method} ${built.path}`)),
    );
    if (built.body && built.chunked) {
      const half = Math.ceil(built.body.length / 2);
      request.write(built.body.subarray(0, half));
      request.end(built.body.subarray(half));
    } else request.end(built.body);
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What leaks look like: stack frames, source paths, internal error messages, the executor's secret. */
const LEAKS = [
  /\bat .*:\d+:\d+/,
  /file:\/\//,
  /node:internal|ext:core|node_modules/,
  /Maximum call stack|SQLITE_|is not a function|Cannot read prop|Cannot convert|\(reading '/,
  new RegExp(SECRET),
  new RegExp(ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
];

/** A problem document as the adapter sends it, with `status` equal to the HTTP status. */
export function assertProblem(
  text: string,
  status: number,
  context: string,
): { type: string; [extension: string]: unknown } {
  const doc = JSON.parse(text);
  assert.equal(typeof doc?.type, "string", context);
  assert.match(doc.type, /^urn:superstep:problem:[a-z0-9-]+$/, context);
  assert.ok(typeof doc.title === "string" && doc.title.length > 0, context);
  assert.equal(doc.status, status, context);
  assert.equal(typeof doc.detail, "string", context);
  return doc;
}

/**
 * Check one answer and classify it (`<status> <problem type>`). Allowed: 2xx JSON or SSE; any 4xx as a
 * problem document (a 405 with an `Allow` that leaves out its method); a 5xx only as `executor-failed` (also
 * as an SSE stream's closing `problem`); a body over the limit always 413, one within it never; for one of
 * issue 13's attacks (`built.refused`) only its statuses; no answer over `ANSWER_LIMIT` (shared references
 * are written once); nothing that leaks.
 */
export function checkAnswer(
  built: Built,
  answer: Answer,
): { label: string; result?: Record<string, unknown>; problem?: Record<string, unknown> } {
  const sent = built.body
    ? ` ${built.body.length} bytes: ${new TextDecoder().decode(built.body.subarray(0, 160))}`
    : "";
  const context = `${built.method} ${built.path.slice(0, 200)}${sent}\n→ ${answer.status} ${
    answer.text.slice(0, 300)
  }`;
  for (const leak of LEAKS) assert.doesNotMatch(answer.text, leak, `a leak: ${context}`);
  assert.ok(answer.text.length <= ANSWER_LIMIT, `an answer of ${answer.text.length} characters: ${context}`);
  if (built.refused) {
    assert.ok(
      built.refused.statuses.includes(answer.status),
      `${built.refused.why} must be refused with ${built.refused.statuses.join(" or ")}: ${context}`,
    );
  }
  const type = answer.header("content-type") ?? "";
  const size = built.body?.length;
  if (size !== undefined && size > BODY_LIMIT) assert.equal(answer.status, 413, context);
  if (size !== undefined && size <= BODY_LIMIT) assert.notEqual(answer.status, 413, context);
  if (answer.status >= 200 && answer.status < 300) {
    if (built.method === "HEAD") return { label: `${answer.status} (HEAD, no body)` };
    if (type.startsWith("text/event-stream")) {
      const events = parseSse(answer.text);
      const last = events.at(-1);
      assert.ok(last?.event === "result" || last?.event === "problem", context);
      if (last.event === "problem") {
        const doc = assertProblem(JSON.stringify(last.data), 500, context);
        assert.equal(doc.type, "urn:superstep:problem:executor-failed", context);
        assertStartedRun(doc, context);
        return { label: `${answer.status} stream ending in ${doc.type.slice(22)}`, problem: doc };
      }
      return { label: `${answer.status} stream`, result: last.data as Record<string, unknown> };
    }
    assert.match(type, /^application\/json/, context);
    return { label: `${answer.status}`, result: JSON.parse(answer.text) };
  }
  assert.match(type, /^application\/problem\+json/, context);
  if (answer.status === 401) assert.match(answer.header("www-authenticate") ?? "", /^Bearer /, context);
  if (answer.status === 405) {
    const allow = answer.header("allow") ?? "";
    assert.match(allow, /^[A-Z]+(, [A-Z]+)*$/, `405 with Allow: ${context}`);
    assert.ok(!allow.split(", ").includes(built.method), `405 with Allow: ${context}`);
  }
  if (built.method === "HEAD") return { label: `${answer.status} (HEAD, no body)` };
  const doc = assertProblem(answer.text, answer.status, context);
  if (answer.status >= 500) {
    assert.equal(doc.type, "urn:superstep:problem:executor-failed", context);
    assertStartedRun(doc, context);
  }
  return { label: `${answer.status} ${doc.type.slice(22)}`, problem: doc };
}

/** An executor failed, so its run started: the problem names the session and the last checkpoint. */
function assertStartedRun(doc: Record<string, unknown>, context: string): void {
  assert.equal(typeof doc.sessionId, "string", `the problem of a started run names its session: ${context}`);
  assert.ok(typeof doc.checkpointId === "string" || doc.checkpointId === null, context);
}
