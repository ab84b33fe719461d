// A load test with autocannon against the Node example server: the demo app (examples/_demo_app.ts) over a
// libSQL file, then over a PostgreSQL database (on the server of tests/_postgres.ts), on @hono/node-server
// at 127.0.0.1, in a child process of the runtime running the test (tests/fixtures/load_server.ts). Every
// connection loops over: a `wordlen` run, an `approval` run (it stops for a human answer), the resume of
// that run's checkpoint with the answer and, from another connection, a second resume of a head some other
// connection is resuming at the same moment (so exactly one of the two wins, the other is a 409), or a read
// of its own session when no head is waiting.
//
// Checked: no response but 200s and the 409 checkpoint conflicts of the contested heads; no socket errors or
// timeouts; exactly one resume of each head won; and afterwards the database holds exactly the checkpoints
// the answered runs and resumes wrote, session by session (counted from the server's ledger of answers, since
// the requests in flight when autocannon stops complete on the server unseen), each session's head being the
// checkpoint of its last answer.
//
// `npm test`: 10 connections for 2 s. `npm run test:stress`: 50 connections for 10 s (see tests/_stress.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import autocannonUntyped from "autocannon";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { PostgresCheckpointStorage } from "../adapters/postgres/mod.ts";
import { type CheckpointStorage, MemoryCheckpointStorage } from "../mod.ts";
import { approval, wordlen } from "../examples/_demo_workflows.ts";
import { spawnFixture } from "./_child.ts";
import { figure, scale } from "./_stress.ts";
import type { LedgerEntry } from "./fixtures/load_server.ts";
import { freshDatabase, usePostgres } from "./_postgres.ts";

/** The part of autocannon's programmatic API this test uses (the package ships no types). */
interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: LoadRequest, context: Context) => LoadRequest | undefined;
  onResponse?: (status: number, body: string, context: Context) => void;
}
interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
const autocannon = autocannonUntyped as unknown as (options: {
  url: string;
  connections: number;
  duration: number;
  requests: LoadRequest[];
}) => Promise<LoadResult>;

/** What a connection remembers during one pass over the requests (autocannon resets it every pass). */
interface Context {
  paused?: Paused;
  contested?: Paused;
}
interface Paused {
  checkpointId: string;
  requestId: string;
  sessionId: string;
}

const CONNECTIONS = scale(10, 50);
const SECONDS = scale(2, 10);
const JSON_HEADERS = { "content-type": "application/json" };
const WORDS = ["checkpoint", "superstep", "resume", "lineage", "fork", "head", "session", "edge"];

usePostgres();
const dir = mkdtempSync(join(tmpdir(), "superstep-load-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The stores the app runs on: a libSQL file, and a PostgreSQL database (dropped when the test is done). */
const BACKENDS = {
  "libSQL file": () =>
    Promise.resolve({
      url: pathToFileURL(join(dir, "load.db")).href,
      open: (url: string) => new LibsqlCheckpointStorage({ url }),
      remove: () => Promise.resolve(),
    }),
  "PostgreSQL": async () => {
    const database = await freshDatabase("load");
    return {
      url: database.url,
      open: (url: string) => new PostgresCheckpointStorage({ url }),
      remove: database.drop,
    };
  },
};

/** How many checkpoints each kind of call writes. */
interface PerCall {
  wordlen: number;
  approval: number;
  resume: number;
}

/** The answer of a run or resume. */
interface RunAnswer {
  checkpointId: string;
  sessionId: string;
  pendingRequests: { requestId: string }[];
}

/** How many checkpoints each kind of call writes, measured on a memory storage. */
async function checkpointsPerCall(): Promise<PerCall> {
  const storage = new MemoryCheckpointStorage();
  const count = async (sessionId: string) => (await storage.list({ sessionId })).length;
  const words = await wordlen().run("one two three", { storage });
  const paused = await approval().run("a topic", { storage });
  const started = await count(paused.sessionId);
  const [{ requestId }] = paused.pendingRequests;
  const done = await approval().resume(paused.checkpointId!, { storage, responses: { [requestId]: "yes" } });
  assert.equal(done.status, "idle");
  return {
    wordlen: await count(words.sessionId),
    approval: started,
    resume: await count(done.sessionId) - started,
  };
}

/** How many checkpoints are stored, by session. */
async function storedBySession(storage: CheckpointStorage): Promise<Map<string, number>> {
  const sessions = new Map<string, number>();
  for (const { sessionId } of await storage.list()) {
    sessions.set(sessionId, (sessions.get(sessionId) ?? 0) + 1);
  }
  return sessions;
}

function sortedEntries<V>(map: Map<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

/** What the clients saw: answers by request kind and status, and the checkpoints of their 200s. */
interface Seen {
  labels: Map<string, number>;
  checkpoints: Set<string>;
}

/** Run autocannon against the server at `port`: the request mix of this file's header. */
async function drive(port: number): Promise<{ result: LoadResult; seen: Seen }> {
  const seen: Seen = { labels: new Map(), checkpoints: new Set() };
  const waiting: Paused[] = [];
  let runs = 0;
  let approvals = 0;
  let pausedRuns = 0;
  const tally = (kind: string, status: number, body: string) => {
    let label = `${kind} ${status}`;
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(body);
      if (status !== 200) label += ` ${parsed?.type}`;
      else if (typeof parsed?.checkpointId === "string") seen.checkpoints.add(parsed.checkpointId);
    } catch {
      label += " (no JSON)";
    }
    seen.labels.set(label, (seen.labels.get(label) ?? 0) + 1);
    return status === 200 ? parsed : undefined;
  };
  const resume = (request: LoadRequest, paused: Paused, answer: string): LoadRequest => ({
    ...request,
    method: "POST",
    // Fresh headers: autocannon keeps the previous build's Content-Length in a request's headers.
    headers: { ...JSON_HEADERS },
    path: `/checkpoints/${paused.checkpointId}/resume`,
    body: JSON.stringify({ responses: { [paused.requestId]: answer } }),
  });
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: "POST",
        path: "/workflows/wordlen/runs",
        headers: JSON_HEADERS,
        setupRequest: (request) => {
          const n = runs++;
          const words = Array.from({ length: 1 + n % 5 }, (_, i) => WORDS[(n + i) % WORDS.length]);
          return { ...request, body: JSON.stringify({ input: words.join(" ") }) };
        },
        onResponse: (status, body) => void tally("run wordlen", status, body),
      },
      {
        method: "POST",
        path: "/workflows/approval/runs",
        headers: JSON_HEADERS,
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ input: `topic ${approvals++}` }) }),
        onResponse: (status, body, context) => {
          const answer = tally("run approval", status, body) as RunAnswer | undefined;
          if (answer === undefined) return;
          const { checkpointId, sessionId, pendingRequests: [{ requestId }] } = answer;
          context.paused = { checkpointId, requestId, sessionId };
          // Every other paused run is also resumed by another connection while its own resumes it.
          if (pausedRuns++ % 2 === 0) waiting.push(context.paused);
        },
      },
      {
        // Without a paused run (its start failed, which fails the test) autocannon starts the loop over.
        setupRequest: (request, context) => context.paused && resume(request, context.paused, "yes"),
        onResponse: (status, body) => void tally("resume own", status, body),
      },
      {
        setupRequest: (request, context) => {
          const index = waiting.findLastIndex((paused) => paused !== context.paused);
          context.contested = index === -1 ? undefined : waiting.splice(index, 1)[0];
          if (context.contested) return resume(request, context.contested, "no");
          const path = `/sessions/${context.paused?.sessionId}/checkpoints`;
          return { ...request, method: "GET", path, headers: {}, body: undefined };
        },
        onResponse: (status, body, context) =>
          void tally(context.contested ? "resume other" : "read own", status, body),
      },
    ],
  });
  return { result, seen };
}

/**
 * Check the server's ledger and derive what the database must hold: checkpoints per session and each
 * session's head. `why` is added to failure messages (the server's stderr).
 */
function account(ledger: LedgerEntry[], perCall: PerCall, why: string) {
  const winners = new Map<string, number>();
  const resumed = new Map<string, number>();
  const expected = new Map<string, number>();
  const heads = new Map<string, string>();
  let cutOff = 0;
  for (const entry of ledger) {
    const context = `${JSON.stringify(entry)}\n${why}`;
    if (entry.status !== 200 && entry.status !== 409) {
      // When autocannon stops it closes its connections, each with at most one request in flight: one whose
      // body the server had not read yet is answered "the body ended early" (Deno's node:http reads bodies
      // lazily), and nothing runs.
      assert.match(entry.detail ?? "", /^Cannot read the body/, context);
      cutOff++;
      continue;
    }
    // A resume answers after the run it resumes, so each session's run comes first in the ledger.
    if (entry.route === "run") {
      assert.equal(entry.status, 200, context);
      expected.set(entry.sessionId!, entry.target === "wordlen" ? perCall.wordlen : perCall.approval);
      heads.set(entry.sessionId!, entry.checkpointId!);
      continue;
    }
    resumed.set(entry.target, (resumed.get(entry.target) ?? 0) + 1);
    if (entry.status === 409) {
      assert.equal(entry.type, "urn:superstep:problem:checkpoint-conflict", context);
      continue;
    }
    winners.set(entry.target, (winners.get(entry.target) ?? 0) + 1);
    expected.set(entry.sessionId!, expected.get(entry.sessionId!)! + perCall.resume);
    heads.set(entry.sessionId!, entry.checkpointId!);
  }
  assert.ok(cutOff <= CONNECTIONS, `${cutOff} requests cut off, more than the ${CONNECTIONS} connections`);
  for (const [checkpointId, count] of resumed) {
    assert.equal(winners.get(checkpointId), 1, `one of the ${count} resumes of ${checkpointId} won`);
  }
  const contested = [...resumed.values()].filter((count) => count > 1).length;
  assert.ok(contested > 0, "some heads were resumed twice at once");
  return { expected, heads, contested, cutOff };
}

describe("load: the example server (demo app, @hono/node-server) under autocannon", () => {
  for (const [backend, make] of Object.entries(BACKENDS)) {
    test(`${backend}: ${CONNECTIONS} connections for ${SECONDS} s of runs and resumes: only 200s and the expected 409s, every checkpoint accounted for`, async () => {
      const store = await make();
      try {
        await loadAndAccount(backend, store.url, store.open);
      } finally {
        await store.remove();
      }
    });
  }
});

/** Drive the server over `database`, then check what it answered and what the database holds. */
async function loadAndAccount(
  backend: string,
  database: string,
  open: (url: string) => CheckpointStorage & { close(): Promise<void> },
): Promise<void> {
  const perCall = await checkpointsPerCall();
  const ledgerFile = join(dir, `ledger-${backend.replace(/\W+/g, "-")}.json`);
  const server = spawnFixture("load_server.ts", [database, ledgerFile]);
  let driven: Awaited<ReturnType<typeof drive>>;
  try {
    const port = Number((await server.waitForLine((line) => line.startsWith("listening "))).split(" ")[1]);
    driven = await drive(port);
  } catch (error) {
    server.kill();
    throw error;
  }
  const { result, seen } = driven;
  server.sendLine("drain");
  await server.waitForLine((line) => line === "drained");
  const exited = await server.exited;
  assert.equal(exited.code, 0, exited.stderr);
  const ledger = JSON.parse(readFileSync(ledgerFile, "utf8")) as LedgerEntry[];

  // What the clients saw: 200s, and 409 checkpoint conflicts of resumes only.
  const statuses = sortedEntries(seen.labels).map(([label, count]) => `${label}: ${count}`).join(", ");
  for (const [label] of seen.labels) {
    assert.match(
      label,
      /^(run (wordlen|approval)|read own) 200$|^resume (own|other) (200|409 urn:superstep:problem:checkpoint-conflict)$/,
      statuses,
    );
  }
  const conflicts = [...seen.labels].filter(([label]) => label.includes(" 409 ")).reduce(
    (n, [, c]) => n + c,
    0,
  );
  assert.equal(result.non2xx, conflicts, statuses);
  assert.equal(result.errors, 0, "no socket errors");
  assert.equal(result.timeouts, 0, "no timeouts");

  // What the server answered, including what the clients did not wait for.
  const { expected, heads, contested, cutOff } = account(ledger, perCall, exited.stderr);
  const answered = new Set(ledger.map((entry) => entry.checkpointId));
  for (const id of seen.checkpoints) assert.ok(answered.has(id), `the server's ledger has ${id}`);

  // The database: exactly the checkpoints of the answered calls, session by session, heads where they ended.
  const storage = open(database);
  try {
    const stored = await storedBySession(storage);
    assert.deepEqual(sortedEntries(stored), sortedEntries(expected), "checkpoints per session");
    for (const [sessionId, head] of heads) assert.equal(await storage.head(sessionId), head, sessionId);
    const total = [...stored.values()].reduce((a, b) => a + b, 0);
    const want = [...expected.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, want);

    const n = (x: number) => x.toLocaleString("en-US");
    const unseen = ledger.filter((e) => e.status === 200 && !seen.checkpoints.has(e.checkpointId!)).length;
    figure(
      "load",
      `${backend}: ${CONNECTIONS} connections × ${SECONDS} s: ` +
        `${n(result.requests.total)} requests answered, ` +
        `${n(Math.round(result.requests.average))} req/s; latency p50 ${n(result.latency.p50)} ms, ` +
        `p90 ${n(result.latency.p90)} ms, p99 ${n(result.latency.p99)} ms, max ${n(result.latency.max)} ms`,
    );
    figure("load", `${backend}: statuses seen by the clients: ${statuses}; 0 socket errors, 0 timeouts`);
    figure(
      "load",
      `${backend}: server ledger: ${n(ledger.length)} runs and resumes answered ` +
        `(${n(unseen)} of its 200s after the clients left, ${cutOff} cut off before their body was read), ` +
        `${n(contested)} heads resumed twice at once, each won once; ` +
        `checkpoints stored ${n(total)} = expected ${n(want)} in ${n(expected.size)} sessions`,
    );
  } finally {
    await storage.close();
  }
}
