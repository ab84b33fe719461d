// answerRequest: answering a waiting request by its id alone, in one process and across processes.
//
// Across processes (a libSQL file, a KV file, a PostgreSQL database): two children find the same head of one
// session waiting for two answers, and answer one request each at the same moment. Exactly one wins the
// head; the other's save conflicts, it reloads the head (which still holds its request) and answers there:
// both succeed, the second after a retry, and the session ends with both answers.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  answerRequest,
  defineExecutor,
  listPendingRequests,
  listSessions,
  MemoryCheckpointStorage,
  WorkflowBuilder,
} from "../mod.ts";
import { lastJson, spawnFixture } from "./_child.ts";
import { approvals } from "./fixtures/hitl_workflow.ts";
import { openStorage, type StorageKind } from "./fixtures/open_storage.ts";
import { freshDatabase, usePostgres } from "./_postgres.ts";

const KINDS: StorageKind[] = ["libsql", "kv", "postgres"];
usePostgres();
const dir = mkdtempSync(join(tmpdir(), "superstep-answer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface AnswerReport {
  ok: boolean;
  name?: string;
  message?: string;
  outputs?: string[];
  status?: string;
  retries: string[];
}

async function freshStore(kind: StorageKind): Promise<{ location: string; remove(): Promise<void> }> {
  if (kind === "postgres") {
    const database = await freshDatabase("answer");
    return { location: database.url, remove: database.drop };
  }
  const path = join(dir, `answer-${crypto.randomUUID()}.${kind === "libsql" ? "sqlite" : "kv"}`);
  return { location: kind === "libsql" ? pathToFileURL(path).href : path, remove: () => Promise.resolve() };
}

describe("answerRequest() across processes", () => {
  for (const kind of KINDS) {
    test(`${kind}: two processes answering different requests of one session at once both succeed`, async () => {
      const { location, remove } = await freshStore(kind);
      const storage = await openStorage(kind, location);
      try {
        const paused = await approvals(storage).run(["a", "b"]);
        assert.equal(paused.status, "idle-pending-requests");
        const waiting = await listPendingRequests(storage, { sessionId: paused.sessionId });
        assert.equal(waiting.length, 2);
        const children = waiting.map((request) =>
          spawnFixture("answer_child.ts", [
            kind,
            location,
            request.requestId,
            `by-${request.requestId}`,
            "--wait",
          ])
        );
        await Promise.all(children.map((child) => child.waitForLine((line) => line === "ready")));
        for (const child of children) child.sendLine("go");
        const reports = await Promise.all(
          children.map(async (child) => lastJson<AnswerReport>(await child.exited)),
        );
        assert.ok(reports.every((report) => report.ok), JSON.stringify(reports));
        const retried = reports.filter((report) => report.retries.includes("conflict"));
        assert.equal(retried.length, 1, `exactly one lost the head and retried: ${JSON.stringify(reports)}`);
        assert.deepEqual(reports.find((report) => report.retries.length === 0)?.retries, []);
        const items = new Map(
          waiting.map((request) => [request.requestId, (request.data as { item: string }).item]),
        );
        const outputs = reports.flatMap((report) => report.outputs!).sort();
        assert.deepEqual(outputs, waiting.map((r) => `${items.get(r.requestId)}=by-${r.requestId}`).sort());
        assert.equal(
          reports.filter((report) => report.status === "idle").length,
          1,
          "the last answer completes it",
        );
        const [session] = await listSessions(storage, { workflowName: "cross-process-approvals" });
        assert.equal(session.status, "completed");
        assert.deepEqual(await listPendingRequests(storage, { sessionId: paused.sessionId }), []);
      } finally {
        await storage.close();
        await remove();
      }
    });
  }
});

describe("answerRequest()", () => {
  function asker(storage: MemoryCheckpointStorage, name = "asker") {
    const ask = defineExecutor({
      id: "ask",
      handle: async (n: number, ctx) => {
        for (let i = 0; i < n; i++) await ctx.requestInfo({ i });
      },
      onResponse: async (answer, _request, ctx) => await ctx.yieldOutput(answer),
    });
    return () => new WorkflowBuilder({ name, start: ask }).withCheckpointing(storage).build();
  }

  test("two answers to one session at once in one process both land, one after a retry", async () => {
    const storage = new MemoryCheckpointStorage();
    const factory = asker(storage);
    const paused = await factory().run(2);
    const [one, two] = await listPendingRequests(storage, { sessionId: paused.sessionId });
    const retries: string[] = [];
    const onRetry = ({ reason }: { reason: string }) => void retries.push(reason);
    const results = await Promise.all([
      answerRequest({ storage, factory, requestId: one.requestId, response: "one", onRetry }),
      answerRequest({ storage, factory, requestId: two.requestId, response: "two", onRetry }),
    ]);
    assert.deepEqual(results.flatMap((result) => result.outputs).sort(), ["one", "two"]);
    assert.ok(retries.includes("conflict"), `a retry: ${retries}`);
    assert.equal((await listSessions(storage, { workflowName: "asker" }))[0].status, "completed");
  });

  test("an answered request is a RequestNotPendingError naming it; events stream the answering run only", async () => {
    const storage = new MemoryCheckpointStorage();
    const factory = asker(storage);
    await factory().run(1);
    const [waiting] = await listPendingRequests(storage);
    const run = answerRequest({ storage, factory, requestId: waiting.requestId, response: "yes" });
    const types: string[] = [];
    for await (const event of run) types.push(event.type);
    assert.equal(types[0], "started");
    assert.ok(types.includes("output"));
    assert.equal((await run).status, "idle");
    const again = answerRequest({ storage, factory, requestId: waiting.requestId, response: "no" });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of again) seen.push(event.type);
      })(),
      { name: "RequestNotPendingError", requestId: waiting.requestId },
    );
    assert.deepEqual(seen, ["failed", "status"]);
  });

  test("a request a fork holds too needs its sessionId: else AmbiguousRequestError", async () => {
    const storage = new MemoryCheckpointStorage();
    const factory = asker(storage);
    const paused = await factory().run(1);
    const forked = await factory().resume(paused.checkpointId!, { fork: true });
    const [waiting] = await listPendingRequests(storage, { sessionId: paused.sessionId });
    await assert.rejects(answerRequest({ storage, factory, requestId: waiting.requestId, response: 1 }), {
      name: "AmbiguousRequestError",
      sessionIds: [paused.sessionId, forked.sessionId].sort().reverse(),
    });
    const result = await answerRequest({
      storage,
      factory,
      requestId: waiting.requestId,
      response: "fork's",
      sessionId: forked.sessionId,
    });
    assert.equal(result.sessionId, forked.sessionId);
    assert.deepEqual(result.outputs, ["fork's"]);
    assert.equal(
      (await listPendingRequests(storage, { requestId: waiting.requestId }))[0].sessionId,
      paused.sessionId,
    );
  });

  test("bad options are refused synchronously", () => {
    const storage = new MemoryCheckpointStorage();
    const factory = asker(storage);
    assert.throws(() => answerRequest({ storage, requestId: "r", response: 1 }), TypeError);
    assert.throws(
      () => answerRequest({ storage, factory, workflow: factory(), requestId: "r", response: 1 }),
      TypeError,
    );
    assert.throws(() => answerRequest({ storage, factory, requestId: "\ud800", response: 1 }), TypeError);
    assert.throws(
      () => answerRequest({ storage, factory, requestId: "r", response: 1, maxAttempts: 0 }),
      RangeError,
    );
    const bare = { ...storage, save: storage.save.bind(storage) } as unknown as MemoryCheckpointStorage;
    assert.throws(() => answerRequest({ storage: bare, factory, requestId: "r", response: 1 }), {
      name: "StorageCapabilityError",
    });
  });
});
