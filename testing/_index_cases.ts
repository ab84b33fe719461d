/**
 * Conformance cases for the session index and the inbox (`listSessions`, `listPendingRequests`): statuses
 * through run, pause, answer, completion, crash, delete and fork, paging, filters, and a thousand sessions
 * (package-private).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Checkpoint, CheckpointStorage, SessionStatus } from "../src/checkpoint.ts";
import type { PendingRequest } from "../src/events.ts";
import { listPendingRequests, listSessions } from "../src/sessions.ts";
import { answerRequest } from "../src/answer_request.ts";
import { defineExecutor } from "../src/executor.ts";
import { WorkflowBuilder } from "../src/workflow_builder.ts";
import { newId } from "../src/_ulid.ts";
import type { CaseBody, Register, Scope } from "./_cases_helpers.ts";

function request(data: unknown = "ok?", extra: Partial<PendingRequest> = {}): PendingRequest {
  return { requestId: newId(), executorId: "ask", data, ...extra };
}

async function statusOf(
  storage: CheckpointStorage,
  s: Scope,
  sessionId: string,
): Promise<SessionStatus | "none"> {
  const sessions = await listSessions(storage, { workflowName: s.workflowName });
  return sessions.find((session) => session.sessionId === sessionId)?.status ?? "none";
}

async function inbox(
  storage: CheckpointStorage,
  s: Scope,
  query: { sessionId?: string; requestId?: string } = {},
) {
  return (await listPendingRequests(storage, { workflowName: s.workflowName, ...query })).map((entry) =>
    `${entry.sessionId}:${entry.requestId}@${entry.checkpointId}`
  );
}

/**
 * Registers the cases with `it`. A storage declares the index by implementing `listSessions` and
 * `listPendingRequests` (both or neither); on one without them each case checks that the helpers refuse it.
 */
export function indexCases(register: Register): void {
  const it = (title: string, body: CaseBody) =>
    register(title, async (storage, s) => {
      const has = [typeof storage.listSessions, typeof storage.listPendingRequests].filter((t) =>
        t === "function"
      );
      assert.notEqual(has.length, 1, "listSessions and listPendingRequests come together");
      if (has.length === 2) return await body(storage, s);
      await assert.rejects(listSessions(storage), { name: "StorageCapabilityError" });
      await assert.rejects(listPendingRequests(storage), { name: "StorageCapabilityError" });
    });
  it(
    "listSessions() follows the head: interrupted, waiting, interrupted with answers, completed",
    async (storage, s) => {
      const sessionId = s.session();
      const asked = request({ question: "Ship it?", at: new Date(0) }, { path: ["review", "ask"] });
      const steps: [Partial<Checkpoint>, SessionStatus][] = [
        [{ messages: [{ source: "__input__", data: "go" }] }, "interrupted"],
        [{ pendingRequests: [asked] }, "waiting"],
        [{ answers: [{ request: asked, response: "yes" }] }, "interrupted"],
        [{}, "completed"],
      ];
      let parentId: string | null = null;
      for (const [i, [fields, status]] of steps.entries()) {
        const checkpoint = s.checkpoint({ sessionId, parentId, superstep: i, ...fields });
        await storage.save(checkpoint);
        parentId = checkpoint.id;
        const [session] = await listSessions(storage, { workflowName: s.workflowName });
        assert.equal(session.status, status, `after step ${i}`);
        assert.equal(session.pendingRequests, checkpoint.pendingRequests.length);
        assert.deepStrictEqual(session.head, {
          id: checkpoint.id,
          parentId: checkpoint.parentId,
          sessionId,
          workflowName: s.workflowName,
          superstep: i,
          createdAt: checkpoint.createdAt,
          metadata: {},
        });
        const waiting = await listPendingRequests(storage, { sessionId });
        if (status === "waiting") {
          assert.equal(waiting.length, 1);
          const { cursor: _, ...entry } = waiting[0];
          assert.deepStrictEqual(entry, {
            ...asked,
            sessionId,
            workflowName: s.workflowName,
            checkpointId: checkpoint.id,
            createdAt: checkpoint.createdAt,
          });
        } else {
          assert.deepStrictEqual(waiting, [], `no request waits after step ${i}`);
        }
      }
    },
  );

  it(
    "a workflow run, paused, answered with answerRequest and completed moves the session through the index",
    async (storage, s) => {
      const ask = defineExecutor({
        id: "ask",
        handle: async (question: string, ctx) => {
          await ctx.requestInfo(`${question} (1)`);
          await ctx.requestInfo(`${question} (2)`);
        },
        onResponse: async (answer: unknown, _request, ctx) => await ctx.yieldOutput(answer),
      });
      const factory = () =>
        new WorkflowBuilder({ name: s.workflowName, start: ask }).withCheckpointing(storage).build();
      const paused = await factory().run("Ship it?");
      assert.equal(paused.status, "idle-pending-requests");
      assert.equal(await statusOf(storage, s, paused.sessionId), "waiting");
      const waiting = await listPendingRequests(storage, { workflowName: s.workflowName });
      assert.deepEqual(waiting.map((entry) => entry.data).sort(), ["Ship it? (1)", "Ship it? (2)"]);
      assert.ok(waiting.every((entry) => entry.checkpointId === paused.checkpointId));
      const [first, second] = waiting;
      const one = await answerRequest({ storage, factory, requestId: first.requestId, response: "a" });
      assert.equal(one.status, "idle-pending-requests");
      assert.deepEqual(await inbox(storage, s), [
        `${paused.sessionId}:${second.requestId}@${one.checkpointId}`,
      ]);
      await assert.rejects(
        answerRequest({ storage, factory, requestId: first.requestId, response: "again" }),
        { name: "RequestNotPendingError", requestId: first.requestId },
      );
      const two = await answerRequest({ storage, factory, requestId: second.requestId, response: "b" });
      assert.equal(two.status, "idle");
      assert.equal(await statusOf(storage, s, paused.sessionId), "completed");
      assert.deepEqual(await inbox(storage, s), []);
    },
  );

  it(
    "delete() of a head moves the index entry to the new head; deleteSession() removes it",
    async (storage, s) => {
      const asked = request();
      const waiting = s.checkpoint({ pendingRequests: [asked] });
      await storage.save(waiting);
      const done = s.checkpoint({ sessionId: waiting.sessionId, parentId: waiting.id, superstep: 1 });
      await storage.save(done);
      assert.equal(await statusOf(storage, s, waiting.sessionId), "completed");
      assert.deepEqual(await inbox(storage, s), []);
      assert.equal(await storage.delete(done.id), true);
      assert.equal(await statusOf(storage, s, waiting.sessionId), "waiting");
      assert.deepEqual(await inbox(storage, s), [`${waiting.sessionId}:${asked.requestId}@${waiting.id}`]);
      // Deleting a checkpoint that is not the head leaves the entry alone.
      const crashed = s.checkpoint({
        sessionId: waiting.sessionId,
        parentId: waiting.id,
        superstep: 1,
        messages: [{ source: "ask", data: 1 }],
      });
      await storage.save(crashed);
      assert.equal(await statusOf(storage, s, waiting.sessionId), "interrupted");
      assert.equal(await storage.delete(waiting.id), true);
      assert.equal(await statusOf(storage, s, waiting.sessionId), "interrupted");
      assert.equal(await storage.deleteSession(waiting.sessionId), 1);
      assert.equal(await statusOf(storage, s, waiting.sessionId), "none");
      assert.deepEqual(await listSessions(storage, { workflowName: s.workflowName }), []);
    },
  );

  it(
    "a head deleted down to a parent with no requests empties the inbox of the session",
    async (storage, s) => {
      const [root] = await s.chain(1, { messages: [{ source: "a", data: 1 }] });
      const asked = request();
      const head = s.checkpoint({ sessionId: root.sessionId, parentId: root.id, pendingRequests: [asked] });
      await storage.save(head);
      assert.equal((await inbox(storage, s)).length, 1);
      assert.equal(await storage.delete(head.id), true);
      assert.deepEqual(await inbox(storage, s), []);
      assert.equal(await statusOf(storage, s, root.sessionId), "interrupted");
    },
  );

  it(
    "a fork holds its source's requests under the same ids: the inbox lists both sessions",
    async (storage, s) => {
      const asked = request();
      const source = s.checkpoint({ pendingRequests: [asked] });
      await storage.save(source);
      const fork = s.checkpoint({ parentId: source.id, pendingRequests: [asked] });
      await storage.save(fork);
      const both = await listPendingRequests(storage, { requestId: asked.requestId });
      assert.deepEqual(
        both.map((entry) => entry.sessionId).sort(),
        [fork.sessionId, source.sessionId].sort(),
      );
      assert.deepEqual(await inbox(storage, s, { requestId: asked.requestId, sessionId: fork.sessionId }), [
        `${fork.sessionId}:${asked.requestId}@${fork.id}`,
      ]);
      // Paging one entry at a time splits the two sessions of one request id and loses neither.
      const [page1] = await listPendingRequests(storage, { workflowName: s.workflowName, limit: 1 });
      const page2 = await listPendingRequests(storage, {
        workflowName: s.workflowName,
        limit: 1,
        before: page1.cursor,
      });
      assert.equal(page2.length, 1);
      assert.notEqual(page2[0].sessionId, page1.sessionId);
      assert.deepEqual(
        await listPendingRequests(storage, { workflowName: s.workflowName, before: page2[0].cursor }),
        [],
      );
      assert.equal(await storage.deleteSession(source.sessionId), 1);
      assert.deepEqual(await inbox(storage, s), [`${fork.sessionId}:${asked.requestId}@${fork.id}`]);
    },
  );

  it("listSessions() and listPendingRequests() page newest first and filter", async (storage, s) => {
    const other = `${s.workflowName}-other`;
    const made: Checkpoint[] = [];
    for (let i = 0; i < 7; i++) {
      const checkpoint = s.checkpoint({
        pendingRequests: i % 2 === 0 ? [request(i), request(i + 0.5)] : [],
        ...(i === 3 && { workflowName: other }),
      });
      await storage.save(checkpoint);
      made.push(checkpoint);
    }
    const mine = made.filter((checkpoint) => checkpoint.workflowName === s.workflowName).reverse();
    const all = await listSessions(storage, { workflowName: s.workflowName });
    assert.deepEqual(all.map((session) => session.head.id), mine.map((checkpoint) => checkpoint.id));
    const page = await listSessions(storage, { workflowName: s.workflowName, limit: 2 });
    const rest = await listSessions(storage, { workflowName: s.workflowName, before: page[1].head.id });
    assert.deepEqual([...page, ...rest], all);
    const waiting = await listSessions(storage, { workflowName: s.workflowName, status: "waiting" });
    assert.deepEqual(
      waiting.map((session) => session.sessionId),
      mine.filter((checkpoint) => checkpoint.pendingRequests.length > 0).map((checkpoint) =>
        checkpoint.sessionId
      ),
    );
    assert.ok(waiting.every((session) => session.pendingRequests === 2));
    assert.deepEqual(
      (await listSessions(storage, { workflowName: other })).map((session) => session.sessionId),
      [made[3].sessionId],
    );
    const expected = mine.flatMap((checkpoint) => checkpoint.pendingRequests.map((r) => r.requestId)).sort()
      .reverse();
    const entries = await listPendingRequests(storage, { workflowName: s.workflowName });
    assert.deepEqual(entries.map((entry) => entry.requestId), expected);
    const paged: string[] = [];
    let before: string | undefined;
    while (true) {
      const next = await listPendingRequests(storage, { workflowName: s.workflowName, limit: 3, before });
      paged.push(...next.map((entry) => entry.requestId));
      if (next.length < 3) break;
      before = next[next.length - 1].cursor;
    }
    assert.deepEqual(paged, expected);
    await assert.rejects(listSessions(storage, { limit: 0 }), RangeError);
    await assert.rejects(listSessions(storage, { status: "done" as SessionStatus }), TypeError);
    await assert.rejects(listPendingRequests(storage, { limit: 1.5 }), RangeError);
    await assert.rejects(listPendingRequests(storage, { before: "not a cursor" }), TypeError);
    await assert.rejects(listPendingRequests(storage, { sessionId: "\ud800" }), TypeError);
  });

  it("a thousand sessions are listed by status from the index", async (storage, s) => {
    const statuses: SessionStatus[] = ["waiting", "interrupted", "completed"];
    const saved: Checkpoint[] = [];
    for (let i = 0; i < 1000; i++) {
      const status = statuses[i % 3];
      const checkpoint = s.checkpoint({
        ...(status === "waiting" && { pendingRequests: [request(i)] }),
        ...(status === "interrupted" && { messages: [{ source: "a", data: i }] }),
      });
      saved.push(checkpoint);
    }
    for (let i = 0; i < saved.length; i += 50) {
      await Promise.all(saved.slice(i, i + 50).map((c) => storage.save(c)));
    }
    for (const [index, status] of statuses.entries()) {
      const expected = saved.filter((_, i) => i % 3 === index).map((checkpoint) => checkpoint.id).reverse();
      const got: string[] = [];
      let before: string | undefined;
      while (true) {
        const page = await listSessions(storage, {
          workflowName: s.workflowName,
          status,
          limit: 100,
          before,
        });
        got.push(...page.map((session) => session.head.id));
        if (page.length < 100) break;
        before = page[page.length - 1].head.id;
      }
      assert.deepEqual(got, expected, status);
    }
    assert.equal((await listPendingRequests(storage, { workflowName: s.workflowName })).length, 334);
  });
}
