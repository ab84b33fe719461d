// Shared fixtures of the Hono adapter tests (tests/hono_test.ts, tests/hono_hostile_test.ts and
// tests/runtime/*): workflows, a tracked app, one with a token policy, an SSE parser, problem checks.
import assert from "node:assert/strict";
import {
  type CheckpointStorage,
  defineExecutor,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
} from "../mod.ts";
import type { WorkflowRun } from "../mod.ts";
import {
  type AuthorizeRequest,
  createWorkflowApp,
  type WorkflowApp,
  type WorkflowAppOptions,
} from "../adapters/hono/mod.ts";
import { deferred } from "./_helpers.ts";

/** One parsed Server-Sent Event. */
export interface SseEvent {
  event: string;
  id: number;
  data: unknown;
}

/** Parse a whole `text/event-stream` body. */
export function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    let event = "message";
    let id = NaN;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      const [field, ...rest] = line.split(": ");
      const value = rest.join(": ");
      if (field === "event") event = value;
      else if (field === "id") id = Number(value);
      else if (field === "data") data.push(value);
    }
    return { event, id, data: JSON.parse(data.join("\n")) };
  });
}

/**
 * A probe the `blocker` workflow reports to: on its first call it enters, then waits for `ctx.signal` to
 * abort; later calls output "resumed".
 */
export interface BlockerProbe {
  entered: Promise<void>;
  sawAbort: Promise<void>;
}

/** The fixtures: an app over the test workflows, with every run handle the app started. */
export interface Fixture {
  app: WorkflowApp;
  storage: CheckpointStorage;
  /** Every run/resume handle the app started, in order (await one to learn how it ended). */
  runs: WorkflowRun[];
  blocker: BlockerProbe;
  /** Resolves once `count` gate runs are inside their executor. */
  gateEntered(count: number): Promise<void>;
  /** Lets every gate run finish. */
  openGate(): void;
}

/**
 * The `approval` workflow. `askerId` renames the executor that asks: then its checkpoints hold a request of an
 * executor the graph no longer has, which no resume can deliver (a changed graph that does not fit).
 */
export function approvalWorkflow(askerId = "ask"): Workflow {
  const ask = defineExecutor({
    id: askerId,
    handle: async (question: string, ctx) => {
      await ctx.requestInfo({ question });
    },
    onResponse: async (answer, _request, ctx) => {
      await ctx.yieldOutput(`answer: ${answer}`);
    },
  });
  return new WorkflowBuilder({ name: "approval", start: ask }).build();
}

/** Build the test app. `options` override the defaults (memory storage, no authorization). */
export function makeFixture(options: Partial<WorkflowAppOptions> = {}): Fixture {
  const storage = (options.storage as CheckpointStorage | undefined) ?? new MemoryCheckpointStorage();
  const runs: WorkflowRun[] = [];
  const entered = deferred();
  const sawAbort = deferred();
  let gate = deferred();
  let gateCount = 0;
  let blockerCalls = 0;
  const gateWaiters: { count: number; resolve: () => void }[] = [];
  const track = (workflow: Workflow): Workflow => {
    const run = workflow.run.bind(workflow);
    const resume = workflow.resume.bind(workflow);
    workflow.run = (...args) => {
      const handle = run(...args);
      runs.push(handle);
      return handle;
    };
    workflow.resume = (...args) => {
      const handle = resume(...args);
      runs.push(handle);
      return handle;
    };
    return workflow;
  };
  const workflows: Record<string, () => Workflow> = {
    echo: () =>
      new WorkflowBuilder({
        name: "echo",
        start: defineExecutor({ id: "echo", handle: (value: unknown, ctx) => ctx.yieldOutput(value) }),
      }).build(),
    approval: () => approvalWorkflow(),
    boom: () =>
      new WorkflowBuilder({
        name: "boom",
        start: defineExecutor({
          id: "boom",
          handle: () => {
            throw new Error("secret: the database password is hunter2");
          },
        }),
      }).build(),
    weird: () =>
      new WorkflowBuilder({
        name: "weird",
        start: defineExecutor({
          id: "weird",
          handle: async (_: unknown, ctx) => {
            const cyclic: Record<string, unknown> = { name: "loop" };
            cyclic.self = cyclic;
            for (const value of [10n, new Map([["a", 1]]), new Set([1, 2]), new Error("oops"), cyclic, NaN]) {
              await ctx.yieldOutput(value);
            }
          },
        }),
      }).build(),
    gate: () =>
      new WorkflowBuilder({
        name: "gate",
        start: defineExecutor({
          id: "gate",
          handle: async (value: unknown, ctx) => {
            gateCount++;
            for (const waiter of gateWaiters) if (gateCount >= waiter.count) waiter.resolve();
            await gate.promise;
            await ctx.yieldOutput(value);
          },
        }),
      }).build(),
    blocker: () =>
      new WorkflowBuilder({
        name: "blocker",
        start: defineExecutor({
          id: "blocker",
          // Blocks on its first call only, so a resumed run finishes.
          handle: async (_: unknown, ctx) => {
            if (blockerCalls++ > 0) return ctx.yieldOutput("resumed");
            entered.resolve();
            await new Promise<void>((resolve) => {
              if (ctx.signal.aborted) resolve();
              ctx.signal.addEventListener("abort", () => resolve(), { once: true });
            });
            sawAbort.resolve();
          },
        }),
      }).build(),
    ...options.workflows,
  };
  const tracked = Object.fromEntries(
    Object.entries(workflows).map(([name, factory]) => [name, () => track(factory())]),
  );
  const app = createWorkflowApp({ ...options, storage: options.storage ?? storage, workflows: tracked });
  return {
    app,
    storage,
    runs,
    blocker: { entered: entered.promise, sawAbort: sawAbort.promise },
    gateEntered(count) {
      if (gateCount >= count) return Promise.resolve();
      const waiter = deferred();
      gateWaiters.push({ count, resolve: () => waiter.resolve() });
      return waiter.promise;
    },
    openGate() {
      gate.resolve();
      gate = deferred();
      gate.resolve();
    },
  };
}

/** JSON request init. */
export function json(body: unknown, init: RequestInit = {}): RequestInit {
  return {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** Request init for an SSE run. */
export function sse(body: unknown, init: RequestInit = {}): RequestInit {
  return json(body, {
    ...init,
    headers: { accept: "text/event-stream", ...(init.headers as Record<string, string>) },
  });
}

/** The tokens `authFixture` knows. */
export const TOKENS = ["alice", "bob"];

/** The `authorization` header of a bearer token. */
export function as(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * The test app with an `authorize` that lets a known token (`TOKENS`) touch the sessions `owners` gives it,
 * start fresh runs and list the workflows; `asked` records every request it was asked about.
 */
export function authFixture(options: Partial<WorkflowAppOptions> = {}) {
  const owners = new Map<string, string>();
  const asked: AuthorizeRequest[] = [];
  const fixture = makeFixture({
    ...options,
    authorize: (c, request) => {
      asked.push(request);
      const token = c.req.header("authorization")?.replace(/^Bearer /, "");
      if (token === undefined || !TOKENS.includes(token)) return false;
      if (request.sessionId === undefined) {
        return request.action === "run" || request.action === "list-workflows";
      }
      return owners.get(request.sessionId) === token;
    },
  });
  return { ...fixture, owners, asked };
}

const PROBLEM = "urn:superstep:problem:";

/** Assert an answer is the problem document `slug` with `status`, without stack traces or secrets. */
export async function expectProblem(
  res: Response,
  status: number,
  slug: string,
): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.type, PROBLEM + slug, text);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  assert.doesNotMatch(text, /\bat .*:\d+:\d+|hunter2|stack/);
  return body;
}

/** Run `approval` (as whoever `headers` say) until it waits for an answer. */
export async function pendingApproval(app: WorkflowApp, headers: Record<string, string> = {}) {
  const res = await app.request("/workflows/approval/runs", json({ input: "ship it?" }, { headers }));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "idle-pending-requests");
  return body as { checkpointId: string; sessionId: string; pendingRequests: { requestId: string }[] };
}
