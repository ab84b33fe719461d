// Fuzzing the HTTP API. Generated requests (tests/_http_fuzz_requests.ts: methods, routes with hostile ids,
// query strings, content types, accepts, authorization headers, random and invalid JSON, wrong types,
// `__proto__`/`constructor` keys, deep nesting, bodies around and over the limit, chunked or not) go to the
// demo workflows plus one that fails on a given input, through `app.request` (one at a time: a seed replays
// exactly) and through a real @hono/node-server server on 127.0.0.1 (four at a time: resumes, deletes and
// reads of the same ids race).
//
// Every answer: 2xx JSON or SSE, or a problem document whose `status` is the HTTP status; no 5xx but executor
// failures; 413 exactly when the body is over the limit; no stack trace, source path, internal message or
// the executor's secret (tests/_http_fuzz.ts). Afterwards: no built-in prototype changed and the app still
// serves. With bearer tokens (examples/auth.ts) the fuzz runs as token A after token B made sessions: B's
// sessions and checkpoints are unchanged, and no 2xx answer to A names or shows any of B's ids. Two more
// tests pin the body limit exactly.
//
// `npm test`: 300 requests per case. `npm run test:stress`: 10,000 (see tests/_stress.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { serve } from "@hono/node-server";
import { createWorkflowApp, type WorkflowApp } from "../adapters/hono/mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { type Checkpoint, type CheckpointStorage, MemoryCheckpointStorage } from "../mod.ts";
import { createBearerTokenApp } from "../examples/auth.ts";
import { prototypeFingerprint } from "./_exact.ts";
import { Budget, figure, scale, SEED } from "./_stress.ts";
import { type Answer, checkAnswer, fuzzWorkflows, sendFetch, sendHttp } from "./_http_fuzz.ts";
import { BODY_LIMIT, build, type Built, IdPools, jsonRequest, requestArb } from "./_http_fuzz_requests.ts";

const REQUESTS = scale(300, 10_000);
/** Requests in flight at once against the real server: racing resumes, deletes and reads of the same ids. */
const PARALLEL = 4;
const TOKEN_A = "token-a-7c1e";
const TOKEN_B = "token-b-52d0";
const dir = mkdtempSync(join(tmpdir(), "superstep-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Send = (built: Built) => Promise<Answer>;

/**
 * Send `REQUESTS` generated requests, `parallel` at a time (1: in order, so a seed replays exactly), check
 * every answer and print the status distribution.
 */
async function fuzz(name: string, seed: number, send: Send, pools: IdPools, options: {
  tokens: string[];
  parallel?: number;
  onAnswer?: (built: Built, answer: Answer) => void;
}) {
  const fingerprint = prototypeFingerprint();
  const requests = fc.sample(requestArb(options.tokens), { seed, numRuns: REQUESTS });
  const budget = new Budget(REQUESTS);
  const labels = new Map<string, number>();
  const started = Date.now();
  const worker = async () => {
    while (budget.next()) {
      const built = build(requests[budget.done - 1], pools);
      const answer = await send(built);
      const { label, result } = checkAnswer(built, answer);
      labels.set(label, (labels.get(label) ?? 0) + 1);
      if (result && answer.status === 200) pools.learn(result);
      options.onAnswer?.(built, answer);
      assert.equal(
        prototypeFingerprint(),
        fingerprint,
        `a prototype changed after ${built.method} ${built.path}`,
      );
      assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 1 }, worker));
  const statuses = [...labels].sort(([a], [b]) => a < b ? -1 : 1).map(([label, n]) => `${label}: ${n}`);
  figure(
    "fuzz",
    `${name}: ${budget.done} requests, ${options.parallel ?? 1} at a time, in ${
      ((Date.now() - started) / 1000).toFixed(1)
    } s ` +
      `(seed ${seed})${budget.cut ? `, time limit reached before ${budget.count}` : ""}; ${
        statuses.join(", ")
      }`,
  );
}

/** The app still serves: the workflow list, a run, and a human-in-the-loop run answered. */
async function assertHealthy(send: Send, headers: [string, string][] = []) {
  const call = async (method: string, path: string, body?: unknown) => {
    const answer = await send(jsonRequest(method, path, body, headers));
    assert.equal(answer.status, 200, answer.text);
    return JSON.parse(answer.text);
  };
  const { workflows } = await call("GET", "/workflows");
  assert.deepEqual(workflows.map((w: { name: string }) => w.name), ["wordlen", "approval", "picky"]);
  const words = await call("POST", "/workflows/wordlen/runs", { input: "still healthy" });
  assert.deepEqual(words.outputs, [5, 7]);
  const paused = await call("POST", "/workflows/approval/runs", { input: "health" });
  const responses = { [paused.pendingRequests[0].requestId]: "yes" };
  const done = await call("POST", `/checkpoints/${paused.checkpointId}/resume`, { responses });
  assert.deepEqual(done.outputs, [{ approved: true, draft: "Release note: health" }]);
}

/** Everything stored for some sessions: every checkpoint in full, and the heads. */
async function snapshot(storage: CheckpointStorage, sessions: string[]) {
  const out: Record<string, { head?: string; checkpoints: (Checkpoint | undefined)[] }> = {};
  for (const sessionId of sessions) {
    const summaries = await storage.list({ sessionId });
    out[sessionId] = {
      head: await storage.head(sessionId),
      checkpoints: await Promise.all(summaries.map((s) => storage.load(s.id))),
    };
  }
  return out;
}

/**
 * Token B's sessions, made through the app: a run of each workflow, a run waiting for an answer, an answered
 * one with a run appended to its session, and a fork. Their ids go to `pools.foreign`.
 */
async function makeForeignSessions(send: Send, storage: CheckpointStorage, pools: IdPools): Promise<void> {
  const call = async (path: string, body: unknown) => {
    const answer = await send(jsonRequest("POST", path, body, [["authorization", `Bearer ${TOKEN_B}`]]));
    assert.equal(answer.status, 200, answer.text);
    const result = JSON.parse(answer.text);
    pools.learn(result, "foreign");
    return result;
  };
  await call("/workflows/wordlen/runs", { input: "b owns this" });
  await call("/workflows/picky/runs", { input: { b: 1 } });
  await call("/workflows/approval/runs", { input: "b waits" });
  const answered = await call("/workflows/approval/runs", { input: "b answers" });
  const responses = (answer: string) => ({ [answered.pendingRequests[0].requestId]: answer });
  await call(`/checkpoints/${answered.checkpointId}/resume`, { responses: responses("no") });
  await call(`/checkpoints/${answered.checkpointId}/resume`, { responses: responses("yes"), fork: true });
  await call("/workflows/approval/runs", { input: "b appends", sessionId: answered.sessionId });
  // Every checkpoint of B's sessions, not only the ones answered.
  for (const sessionId of pools.foreign.session) {
    for (const { id } of await storage.list({ sessionId })) {
      if (!pools.foreign.checkpoint.includes(id)) pools.foreign.checkpoint.push(id);
    }
  }
}

/** Fuzz the bearer-token app as token A after B made sessions; B's data must come through untouched. */
async function fuzzAsA(
  name: string,
  seed: number,
  send: Send,
  storage: CheckpointStorage,
  owners: Map<string, string>,
  parallel = 1,
) {
  const pools = new IdPools();
  await makeForeignSessions(send, storage, pools);
  const before = await snapshot(storage, pools.foreign.session);
  const foreignIds = [...pools.foreign.session, ...pools.foreign.checkpoint, ...pools.foreign.request];
  let denied = 0;
  await fuzz(name, seed, send, pools, {
    tokens: [TOKEN_A],
    parallel,
    onAnswer: (built, answer) => {
      const named = built.names.filter((value) => foreignIds.includes(value));
      if (answer.status >= 200 && answer.status < 300) {
        assert.deepEqual(named, [], `A got ${answer.status} on B's ${named}: ${built.method} ${built.path}`);
        const shown = foreignIds.filter((id) => answer.text.includes(id));
        assert.deepEqual(shown, [], `A's ${built.method} ${built.path} shows B's ids`);
      } else if (named.length > 0) denied++;
    },
  });
  assert.ok(denied > 0, "some requests named B's sessions or checkpoints");
  assert.deepEqual(await snapshot(storage, pools.foreign.session), before, "B's sessions are unchanged");
  for (const sessionId of pools.foreign.session) assert.equal(owners.get(sessionId), TOKEN_B);
  for (const sessionId of pools.own.session) assert.notEqual(owners.get(sessionId), TOKEN_B);
  figure(
    "fuzz",
    `${name}: ${denied} requests as A named B's ids, none answered 2xx; B's ${pools.foreign.session.length} sessions unchanged`,
  );
  await assertHealthy(send, [["authorization", `Bearer ${TOKEN_A}`]]);
  // B still answers its waiting run.
  const [waiting] = pools.foreign.request;
  const head = await storage.head(pools.foreign.session[2]);
  const body = { responses: { [waiting]: "yes" } };
  const answer = await send(
    jsonRequest("POST", `/checkpoints/${head}/resume`, body, [["authorization", `Bearer ${TOKEN_B}`]]),
  );
  assert.equal(answer.status, 200, answer.text);
}

/** A body of exactly the limit is served, one byte more is 413: runs and resumes, JSON and SSE, framed or chunked. */
async function assertBodyLimits(send: Send) {
  const cases: string[] = [];
  for (const accept of ["application/json", "text/event-stream"]) {
    for (const chunked of [false, true]) {
      for (const over of [0, 1]) {
        const paused = JSON.parse(
          (await send(jsonRequest("POST", "/workflows/approval/runs", { input: "x" }))).text,
        );
        const requestId = JSON.stringify(paused.pendingRequests[0].requestId);
        const bodies: [string, string, string][] = [
          ["/workflows/wordlen/runs", '{"input":"', '"}'],
          [`/checkpoints/${paused.checkpointId}/resume`, `{"responses":{${requestId}:"`, '"}}'],
        ];
        for (const [path, prefix, suffix] of bodies) {
          const text = prefix + "x".repeat(BODY_LIMIT + over - prefix.length - suffix.length) + suffix;
          const headers: [string, string][] = [["content-type", "application/json"], ["accept", accept]];
          const built = {
            method: "POST",
            path,
            headers,
            body: new TextEncoder().encode(text),
            chunked,
            names: [],
          };
          const answer = await send(built);
          const { label } = checkAnswer(built, answer);
          assert.equal(
            label,
            over ? "413 body-too-large" : accept === "application/json" ? "200" : "200 stream",
          );
          cases.push(label);
        }
      }
    }
  }
  assert.equal(cases.length, 16);
}

/** The fuzz workflows without authorization. */
function openApp(storage: CheckpointStorage): WorkflowApp {
  return createWorkflowApp({ workflows: fuzzWorkflows(), storage, bodyLimit: BODY_LIMIT });
}

/** The fuzz workflows behind examples/auth.ts with tokens A and B; `owners` is filled as sessions are made. */
function tokenApp(storage: CheckpointStorage, owners: Map<string, string>): WorkflowApp {
  return createBearerTokenApp({
    workflows: fuzzWorkflows(),
    storage,
    owners,
    tokens: [TOKEN_A, TOKEN_B],
    bodyLimit: BODY_LIMIT,
  });
}

function appSend(app: WorkflowApp): Send {
  return (built) => sendFetch((request) => app.fetch(request), built);
}

/** Serve `app` with @hono/node-server on 127.0.0.1 on a free port. */
function listen(app: WorkflowApp): Promise<{ send: Send; close(): Promise<void> }> {
  return new Promise((resolve) => {
    // Without overrideGlobalObjects: false it replaces the global Request and Response, and Bun, which runs
    // every test file in one process, would then refuse the Responses of its own Bun.serve test.
    const options = { fetch: app.fetch, hostname: "127.0.0.1", port: 0, overrideGlobalObjects: false };
    const server = serve(options, (info: AddressInfo) => {
      resolve({
        send: (built) => sendHttp(info.port, built),
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => error ? fail(error) : done());
            (server as Server).closeAllConnections?.();
          }),
      });
    });
  });
}

describe("HTTP fuzzing through app.request()", () => {
  test(`${REQUESTS} generated requests to the open app: only executor failures are 5xx, every error a problem document, nothing leaks, the app stays healthy`, async () => {
    const app = openApp(new MemoryCheckpointStorage());
    await fuzz("app.request, open app, memory", SEED, appSend(app), new IdPools(), { tokens: [TOKEN_A] });
    await assertHealthy(appSend(app));
  });

  test(`${REQUESTS} generated requests as token A to the bearer-token app: B's sessions unchanged, A never gets a 2xx on them`, async () => {
    const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
    const owners = new Map<string, string>();
    const app = tokenApp(storage, owners);
    try {
      await fuzzAsA("app.request, bearer tokens, libSQL", SEED + 1, appSend(app), storage, owners);
    } finally {
      await storage.close();
    }
  });
});

describe("HTTP body limits", () => {
  test(`createWorkflowApp() serves a body of exactly bodyLimit bytes and answers 413 to one more byte (JSON and SSE, framed and chunked), through app.request()`, async () => {
    await assertBodyLimits(appSend(openApp(new MemoryCheckpointStorage())));
  });

  test(`createWorkflowApp() serves a body of exactly bodyLimit bytes and answers 413 to one more byte (JSON and SSE, framed and chunked), on a real @hono/node-server server`, async () => {
    const server = await listen(openApp(new MemoryCheckpointStorage()));
    try {
      await assertBodyLimits(server.send);
    } finally {
      await server.close();
    }
  });
});

describe("HTTP fuzzing of a real @hono/node-server server", () => {
  test(`${REQUESTS} generated requests over sockets to the open app (libSQL file)`, async () => {
    const storage = new LibsqlCheckpointStorage({ url: pathToFileURL(join(dir, "open.db")).href });
    const server = await listen(openApp(storage));
    try {
      await fuzz("node-server, open app, libSQL file", SEED + 2, server.send, new IdPools(), {
        tokens: [TOKEN_A],
        parallel: PARALLEL,
      });
      await assertHealthy(server.send);
    } finally {
      await server.close();
      await storage.close();
    }
  });

  test(`${REQUESTS} generated requests over sockets as token A to the bearer-token app (libSQL file)`, async () => {
    const storage = new LibsqlCheckpointStorage({ url: pathToFileURL(join(dir, "tokens.db")).href });
    const owners = new Map<string, string>();
    const app = tokenApp(storage, owners);
    const server = await listen(app);
    try {
      await fuzzAsA(
        "node-server, bearer tokens, libSQL file",
        SEED + 3,
        server.send,
        storage,
        owners,
        PARALLEL,
      );
    } finally {
      await server.close();
      await storage.close();
    }
  });
});
