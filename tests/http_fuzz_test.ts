// Fuzzing the HTTP API. Generated requests (tests/_http_fuzz_requests.ts: methods, routes with hostile ids,
// query strings, content types, accepts, authorization headers, random and invalid JSON, wrong types,
// `__proto__`/`constructor` keys, deep nesting, bodies around and over the limit, chunked or not; and issue
// 13's attacks: POSTs that are not JSON (CORS simple requests), bytes that are not UTF-8, ids with lone
// surrogates or undecodable percent-encoding, forks into named sessions, DAG outputs and state of up to 40
// levels) go to the demo workflows plus one that fails on a given input and one that outputs DAGs, through
// `app.request` (one at a time: a seed replays exactly) and through a real @hono/node-server server on
// 127.0.0.1 (four at a time: resumes, deletes and reads of the same ids race).
//
// Every answer: 2xx JSON or SSE, or a problem document whose `status` is the HTTP status; no 5xx but executor
// failures, whose problems name their run's session; 413 exactly when the body is over the limit; the
// attacks refused (415, 400) before authorize; no answer over 1 MiB; no stack trace, source path, internal
// message or the executor's secret (tests/_http_fuzz.ts). Afterwards: no built-in prototype changed and the
// app still serves. With bearer tokens (examples/auth.ts) the fuzz runs as token A after token B made
// sessions, one of whose checkpoints is damaged: B's sessions and checkpoints are unchanged, no 2xx answer
// to A names or shows any of B's ids, and A owns the sessions of its own failed runs. Two more tests pin the
// body limit exactly, one damages libSQL checkpoints, one tries every spelling of B's ids as A.
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
import { createClient } from "@libsql/client";
import { serve } from "@hono/node-server";
import { createWorkflowApp, type WorkflowApp } from "../adapters/hono/mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import {
  type Checkpoint,
  CheckpointCorruptError,
  type CheckpointStorage,
  MemoryCheckpointStorage,
} from "../mod.ts";
import { createBearerTokenApp } from "../examples/auth.ts";
import { prototypeFingerprint } from "./_exact.ts";
import { Budget, figure, scale, SEED } from "./_stress.ts";
import { type Answer, ANSWER_LIMIT, checkAnswer, fuzzWorkflows, sendFetch, sendHttp } from "./_http_fuzz.ts";
import { BODY_LIMIT, build, type Built, IdPools, jsonRequest, requestArb } from "./_http_fuzz_requests.ts";

const REQUESTS = scale(300, 10_000);
/** Requests in flight at once against the real server: racing resumes, deletes and reads of the same ids. */
const PARALLEL = 4;
const TOKEN_A = "token-a-7c1e";
const TOKEN_B = "token-b-52d0";
const dir = mkdtempSync(join(tmpdir(), "superstep-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Send = (built: Built) => Promise<Answer>;
type Checked = ReturnType<typeof checkAnswer>;

/**
 * Send `REQUESTS` generated requests, `parallel` at a time (1: in order, so a seed replays exactly), check
 * every answer and print the status distribution.
 */
async function fuzz(name: string, seed: number, send: Send, pools: IdPools, options: {
  tokens: string[];
  parallel?: number;
  onAnswer?: (built: Built, answer: Answer, checked: Checked) => void;
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
      const checked = checkAnswer(built, answer);
      const { label, result, problem } = checked;
      labels.set(label, (labels.get(label) ?? 0) + 1);
      if (built.refused) labels.set("(attacks refused)", (labels.get("(attacks refused)") ?? 0) + 1);
      if (result && answer.status === 200) pools.learn(result);
      // A failed run's session is the caller's too, and stays resumable.
      if (typeof problem?.sessionId === "string") pools.learn(problem);
      options.onAnswer?.(built, answer, checked);
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
  assert.deepEqual(workflows.map((w: { name: string }) => w.name), [
    "wordlen",
    "approval",
    "picky",
    "shared",
  ]);
  const shared = await call("POST", "/workflows/shared/runs", { input: 40 });
  assert.deepEqual(shared.outputs[0].r, { $ref: "#/outputs/0/l" });
  const words = await call("POST", "/workflows/wordlen/runs", { input: "still healthy" });
  assert.deepEqual(words.outputs, [5, 7]);
  const paused = await call("POST", "/workflows/approval/runs", { input: "health" });
  const responses = { [paused.pendingRequests[0].requestId]: "yes" };
  const done = await call("POST", `/checkpoints/${paused.checkpointId}/resume`, { responses });
  assert.deepEqual(done.outputs, [{ approved: true, draft: "Release note: health" }]);
}

/** Everything stored for some sessions: every checkpoint in full (or "damaged"), and the heads. */
async function snapshot(storage: CheckpointStorage, sessions: string[]) {
  const out: Record<string, { head?: string; checkpoints: (Checkpoint | "damaged" | undefined)[] }> = {};
  const load = (id: string) =>
    storage.load(id).catch((error) => {
      if (error instanceof CheckpointCorruptError) return "damaged" as const;
      throw error;
    });
  for (const sessionId of sessions) {
    const summaries = await storage.list({ sessionId });
    out[sessionId] = {
      head: await storage.head(sessionId),
      checkpoints: await Promise.all(summaries.map((s) => load(s.id))),
    };
  }
  return out;
}

/**
 * `fn` with libSQL storage on `url` (its own client, closed afterwards) and a function that damages a stored
 * checkpoint's payload (its summary columns stay readable).
 */
async function withLibsql(
  url: string,
  fn: (storage: LibsqlCheckpointStorage, damage: (id: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const client = createClient({ url });
  const storage = new LibsqlCheckpointStorage({ client });
  const damage = async (id: string) => {
    await client.execute({
      sql: "UPDATE superstep_checkpoints SET payload = ? WHERE id = ?",
      args: ["{bad", id],
    });
  };
  try {
    await fn(storage, damage);
  } finally {
    await storage.close();
    client.close();
  }
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

/**
 * Fuzz the bearer-token app as token A after B made sessions, one of B's checkpoints damaged (a non-head
 * one: B still answers its waiting run); B's data must come through untouched.
 */
async function fuzzAsA(
  name: string,
  seed: number,
  send: Send,
  storage: CheckpointStorage,
  owners: Map<string, string>,
  damage: (id: string) => Promise<void>,
  parallel = 1,
) {
  const pools = new IdPools();
  await makeForeignSessions(send, storage, pools);
  const [answered] = await storage.list({ sessionId: pools.foreign.session[3] }).then((all) => all.slice(-1));
  await damage(answered.id);
  const before = await snapshot(storage, pools.foreign.session);
  assert.equal(before[pools.foreign.session[3]].checkpoints.at(-1), "damaged");
  const foreignIds = [...pools.foreign.session, ...pools.foreign.checkpoint, ...pools.foreign.request];
  let denied = 0;
  let failedRuns = 0;
  await fuzz(name, seed, send, pools, {
    tokens: [TOKEN_A],
    parallel,
    onAnswer: (built, answer, { problem }) => {
      if (typeof problem?.sessionId === "string") {
        failedRuns++;
        assert.equal(owners.get(problem.sessionId), TOKEN_A, "A owns the session of its failed run");
      }
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
    `${name}: ${denied} requests as A named B's ids, none answered 2xx; B's ${pools.foreign.session.length} sessions unchanged (one checkpoint damaged); A owned the sessions of its ${failedRuns} failed runs`,
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
  return createWorkflowApp({
    workflows: fuzzWorkflows(),
    storage,
    bodyLimit: BODY_LIMIT,
    responseLimit: ANSWER_LIMIT,
  });
}

/** The fuzz workflows behind examples/auth.ts with tokens A and B; `owners` is filled as sessions are made. */
function tokenApp(storage: CheckpointStorage, owners: Map<string, string>): WorkflowApp {
  return createBearerTokenApp({
    workflows: fuzzWorkflows(),
    storage,
    owners,
    tokens: [TOKEN_A, TOKEN_B],
    bodyLimit: BODY_LIMIT,
    responseLimit: ANSWER_LIMIT,
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
    await withLibsql(":memory:", async (storage, damage) => {
      const owners = new Map<string, string>();
      const send = appSend(tokenApp(storage, owners));
      await fuzzAsA("app.request, bearer tokens, libSQL", SEED + 1, send, storage, owners, damage);
    });
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
    await withLibsql(pathToFileURL(join(dir, "tokens.db")).href, async (storage, damage) => {
      const owners = new Map<string, string>();
      const server = await listen(tokenApp(storage, owners));
      try {
        const name = "node-server, bearer tokens, libSQL file";
        await fuzzAsA(name, SEED + 3, server.send, storage, owners, damage, PARALLEL);
      } finally {
        await server.close();
      }
    });
  });
});

describe("HTTP and damaged libSQL checkpoints", () => {
  test("examples/auth.ts on libSQL: a damaged checkpoint is 401/403 as a nonexistent one to others, 500 checkpoint-corrupt to its owner", async () => {
    const as = (token?: string): [string, string][] =>
      token === undefined ? [] : [["authorization", `Bearer ${token}`]];
    await withLibsql(":memory:", async (storage, damage) => {
      const send = appSend(tokenApp(storage, new Map()));
      const paused = JSON.parse(
        (await send(jsonRequest("POST", "/workflows/approval/runs", { input: "b" }, as(TOKEN_B)))).text,
      );
      await damage(paused.checkpointId);
      const requests = (id: string, headers: [string, string][]): Built[] => [
        jsonRequest("GET", `/checkpoints/${id}`, undefined, headers),
        jsonRequest("GET", `/checkpoints/${id}/lineage`, undefined, headers),
        jsonRequest("POST", `/checkpoints/${id}/resume`, {}, headers),
        jsonRequest("POST", `/checkpoints/${id}/resume`, { fork: true }, headers),
        jsonRequest("POST", `/checkpoints/${id}/resume`, {}, [...headers, ["accept", "text/event-stream"]]),
      ];
      for (const [token, status] of [[undefined, 401], [TOKEN_A, 403]] as const) {
        const damaged = requests(paused.checkpointId, as(token));
        const missing = requests("01JNOTHERE00000000000000000", as(token));
        for (let i = 0; i < damaged.length; i++) {
          const [a, b] = [await send(damaged[i]), await send(missing[i])];
          assert.equal(a.status, status, `${damaged[i].method} ${damaged[i].path}: ${a.text}`);
          assert.equal(a.text, b.text);
        }
      }
      for (const request of requests(paused.checkpointId, as(TOKEN_B))) {
        const answer = await send(request);
        assert.equal(answer.status, 500, answer.text);
        assert.equal(JSON.parse(answer.text).type, "urn:superstep:problem:checkpoint-corrupt");
        assert.equal(JSON.parse(answer.text).checkpointId, paused.checkpointId);
      }
    });
  });
});

describe("HTTP ids across principals", () => {
  test("examples/auth.ts on libSQL: no spelling of B's ids (lone surrogates vs U+FFFD, percent-encodings, case, normalization) lets A list, read, resume, fork into or delete B's sessions", async () => {
    // B owns named sessions; A "owns" names that differ only where UTF-8 storage would make them one: a lone
    // surrogate where B has U+FFFD. A policy comparing strings sees two sessions; libSQL would store one.
    const owners = new Map<string, string>([
      ["b-\ufffd", TOKEN_B],
      ["b-\u00e9", TOKEN_B],
      ["b-\ud800", TOKEN_A],
      ["b-\udfff", TOKEN_A],
      ["b-e\u0301", TOKEN_A],
    ]);
    await withLibsql(":memory:", async (storage) => {
      const send = appSend(tokenApp(storage, owners));
      const a: [string, string][] = [["authorization", `Bearer ${TOKEN_A}`]];
      const b: [string, string][] = [["authorization", `Bearer ${TOKEN_B}`]];
      const call = async (path: string, body: unknown, headers: [string, string][]) => {
        const answer = await send(jsonRequest("POST", path, body, headers));
        assert.equal(answer.status, 200, answer.text);
        return JSON.parse(answer.text);
      };
      const bSessions = ["b-\ufffd", "b-\u00e9"];
      const bRuns = [];
      for (const sessionId of bSessions) {
        bRuns.push(await call("/workflows/approval/runs", { input: "b's", sessionId }, b));
      }
      bRuns.push(await call("/workflows/approval/runs", { input: "b's fresh" }, b));
      bSessions.push(bRuns[2].sessionId);
      const mine = await call("/workflows/approval/runs", { input: "a's" }, a);
      const before = await snapshot(storage, bSessions);
      const bCheckpoints = Object.values(before).flatMap((s) => s.checkpoints)
        .map((c) => (c as Checkpoint).id);

      /** Spellings of an id: as is, its case swapped, its normalizations, U+FFFD ⇄ lone surrogates. */
      const spellings = (id: string) => [
        ...new Set([
          id,
          id.toUpperCase(),
          id.toLowerCase(),
          id.normalize("NFC"),
          id.normalize("NFD"),
          id.replaceAll("\ufffd", "\ud800"),
          id.replaceAll("\ufffd", "\udfff"),
          id.replaceAll("\ufffd", "\udbff\udbff"),
          id + "\ud800",
          ` ${id}`,
        ]),
      ];
      /** Ways to put an id in a path segment: percent-encoded UTF-8 (upper and lower hex), or invalid encodings. */
      const segments = (id: string) => [
        ...new Set([
          encodeURIComponent(id.replace(/\p{Cs}/gu, "\ufffd")),
          encodeURIComponent(id.replace(/\p{Cs}/gu, "\ufffd")).toLowerCase(),
          encodeURIComponent(id.replace(/\p{Cs}/gu, "\ufffd")).replaceAll("%EF%BF%BD", "%ED%A0%80"),
          encodeURIComponent(id.replace(/\p{Cs}/gu, "\ufffd")).replaceAll("%EF%BF%BD", "%ED%BF%BF"),
          encodeURIComponent(encodeURIComponent(id.replace(/\p{Cs}/gu, "\ufffd"))),
        ]),
      ];
      // Each request with the id it acts on as the app should read it; A may act only on the ones it owns
      // (another spelling that is a distinct id of A's, such as an NFD name), and B's data must not change.
      const requests: [Built, string | undefined][] = [];
      const decoded = (segment: string) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return undefined; // not UTF-8: refused
        }
      };
      for (const session of bSessions) {
        for (const spelling of spellings(session)) {
          const run = { input: "a", sessionId: spelling };
          requests.push([jsonRequest("POST", "/workflows/wordlen/runs", run, a), spelling]);
          const fork = jsonRequest("POST", `/checkpoints/${mine.checkpointId}/resume`, {
            sessionId: spelling,
          }, a);
          requests.push([fork, spelling]);
          for (const segment of segments(spelling)) {
            requests.push([
              jsonRequest("GET", `/sessions/${segment}/checkpoints`, undefined, a),
              decoded(segment),
            ]);
            requests.push([jsonRequest("DELETE", `/sessions/${segment}`, undefined, a), decoded(segment)]);
          }
        }
      }
      for (const checkpoint of bCheckpoints) {
        for (const spelling of spellings(checkpoint)) {
          for (const segment of segments(spelling)) {
            for (
              const [method, path, body] of [
                ["GET", `/checkpoints/${segment}`],
                ["GET", `/checkpoints/${segment}/lineage`],
                ["POST", `/checkpoints/${segment}/resume`, {}],
                ["POST", `/checkpoints/${segment}/resume`, { fork: true }],
                ["GET", `/sessions/${mine.sessionId}/checkpoints?before=${segment}`],
              ] as const
            ) {
              requests.push([
                jsonRequest(method, path, body, a),
                path.startsWith("/sessions/") ? mine.sessionId : undefined,
              ]);
            }
          }
        }
      }
      const statuses = new Map<number, number>();
      for (const [request, target] of requests) {
        const answer = await send(request);
        const body = new TextDecoder().decode(request.body ?? new Uint8Array());
        const context = `${request.method} ${request.path} ${body} → ${answer.status} ${answer.text}`;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (target === undefined || owners.get(target) !== TOKEN_A) {
          assert.ok(answer.status >= 400 && answer.status < 500, context);
        } else if (answer.status === 200) {
          for (const id of [...bSessions, ...bCheckpoints]) {
            assert.ok(!answer.text.includes(id), `A's answer shows B's ${JSON.stringify(id)}: ${context}`);
          }
        }
      }
      assert.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(403) ?? 0) > 0, JSON.stringify([...statuses]));
      assert.deepEqual(await snapshot(storage, bSessions), before, "B's sessions are unchanged");
      for (const session of bSessions) assert.equal(owners.get(session), TOKEN_B);
      figure(
        "fuzz",
        `ids across principals: ${requests.length} requests as A spelling B's ${bSessions.length} sessions and ${bCheckpoints.length} checkpoints, none 2xx but on A's own sessions (${
          [...statuses].sort().map(([status, n]) => `${status}: ${n}`).join(", ")
        })`,
      );
    });
  });
});
