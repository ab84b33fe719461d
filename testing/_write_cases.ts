/**
 * Conformance cases that write: the head compare-and-set, forks, lineage and deletes (package-private).
 *
 * @module
 */
import assert from "node:assert/strict";
import { toSummary } from "../src/checkpoint.ts";
import { lineage } from "../src/ancestry.ts";
import { newId } from "../src/_ulid.ts";
import { ids, isConflict, type Register, withoutLineage } from "./_cases_helpers.ts";

/** Registers the cases with `it`. */
export function writeCases(it: Register): void {
  it("save() with a stale parent is a CheckpointConflictError and writes nothing", async (storage, s) => {
    const [a, b] = await s.chain(2);
    const stale = s.checkpoint({ sessionId: a.sessionId, parentId: a.id, superstep: 1 });
    await assert.rejects(storage.save(stale), isConflict);
    assert.strictEqual(await storage.load(stale.id), undefined);
    assert.strictEqual(await storage.head(a.sessionId), b.id);
    assert.deepStrictEqual(await ids(storage, { sessionId: a.sessionId }), [b.id, a.id]);
  });

  it(
    "save() conflicts carry their facts: reason, adapter, checkpoint, session, expected parent, actual head",
    async (storage, s) => {
      const [a, b] = await s.chain(2);
      const stale = s.checkpoint({ sessionId: a.sessionId, parentId: a.id, superstep: 1 });
      const moved = await storage.save(stale).then(() => undefined, (error: unknown) => error);
      assertConflict(moved, {
        reason: "head-moved",
        checkpointId: stale.id,
        sessionId: a.sessionId,
        expectedHead: a.id,
        actualHead: b.id,
      });
      const again = { ...a, parentId: b.id };
      const taken = await storage.save(again).then(() => undefined, (error: unknown) => error);
      assertConflict(taken, { reason: "id-taken", checkpointId: a.id, sessionId: a.sessionId });
    },
  );

  it(
    "save() with parentId null into a session that has a head is a CheckpointConflictError",
    async (storage, s) => {
      const [a] = await s.chain(1);
      const root = s.checkpoint({ sessionId: a.sessionId, parentId: null });
      await assert.rejects(storage.save(root), isConflict);
      assert.strictEqual(await storage.load(root.id), undefined);
      assert.strictEqual(await storage.head(a.sessionId), a.id);
    },
  );

  it(
    "save() of an id that exists is a CheckpointConflictError and keeps the stored one",
    async (storage, s) => {
      const [a] = await s.chain(1, { state: { version: "original" } });
      const sameSession = { ...a, parentId: a.id, state: { version: "duplicate" } };
      await assert.rejects(storage.save(sameSession), isConflict);
      const otherSession = { ...a, sessionId: s.session(), state: { version: "duplicate" } };
      await assert.rejects(storage.save(otherSession), isConflict);
      assert.deepStrictEqual(await storage.load(a.id), a);
      assert.strictEqual(await storage.head(a.sessionId), a.id);
      assert.strictEqual(await storage.head(otherSession.sessionId), undefined);
      assert.deepStrictEqual(await ids(storage, { workflowName: s.workflowName }), [a.id]);
    },
  );

  it("save() of 8 concurrent children of the head: exactly one succeeds", async (storage, s) => {
    const [root] = await s.chain(1);
    const contenders = Array.from(
      { length: 8 },
      (_, i) => s.checkpoint({ sessionId: root.sessionId, parentId: root.id, superstep: 1, state: { i } }),
    );
    const results = await Promise.allSettled(contenders.map((cp) => storage.save(cp)));
    const winners = contenders.filter((_, i) => results[i].status === "fulfilled");
    assert.strictEqual(winners.length, 1, "exactly one concurrent save must win");
    for (const result of results) {
      if (result.status === "rejected") assert.ok(isConflict(result.reason), String(result.reason));
    }
    const [winner] = winners;
    assert.strictEqual(await storage.head(root.sessionId), winner.id);
    for (const cp of contenders) {
      if (cp !== winner) assert.strictEqual(await storage.load(cp.id), undefined);
    }
    assert.deepStrictEqual(await ids(storage, { sessionId: root.sessionId }), [winner.id, root.id]);
    assert.deepStrictEqual(await storage.load(winner.id), winner);
  }, "concurrent-saves");

  it(
    "save() of 8 concurrent first checkpoints of a new session: exactly one succeeds",
    async (storage, s) => {
      const sessionId = s.session();
      const contenders = Array.from({ length: 8 }, () => s.checkpoint({ sessionId }));
      const results = await Promise.allSettled(contenders.map((cp) => storage.save(cp)));
      const winners = contenders.filter((_, i) => results[i].status === "fulfilled");
      assert.strictEqual(winners.length, 1, "exactly one concurrent save must win");
      for (const result of results) {
        if (result.status === "rejected") assert.ok(isConflict(result.reason), String(result.reason));
      }
      assert.strictEqual(await storage.head(sessionId), winners[0].id);
      assert.deepStrictEqual(await ids(storage, { sessionId }), [winners[0].id]);
    },
    "concurrent-saves",
  );

  it(
    "save() accepts a parent in another session for a new session's first checkpoint (a fork)",
    async (storage, s) => {
      const [a1, a2, a3] = await s.chain(3);
      const [b1, b2] = await s.chain(2, { parentId: a2.id });
      assert.strictEqual(await storage.head(a1.sessionId), a3.id);
      assert.strictEqual(await storage.head(b1.sessionId), b2.id);
      const expected = [b2, b1, a2, a1].map(toSummary);
      assert.deepStrictEqual(await lineage(withoutLineage(storage), b2.id), expected);
      assert.deepStrictEqual(await lineage(storage, b2.id), expected);
      assert.deepStrictEqual(await lineage(storage, a1.id), [toSummary(a1)]);
    },
  );

  it("lineage() returns id back to the root and stops at a deleted parent", async (storage, s) => {
    const [a1, a2, a3] = await s.chain(3);
    const [b1] = await s.chain(1, { parentId: a3.id });
    const walk = withoutLineage(storage);
    assert.deepStrictEqual(await lineage(storage, b1.id), [b1, a3, a2, a1].map(toSummary));
    assert.strictEqual(await storage.delete(a2.id), true);
    assert.deepStrictEqual(await lineage(storage, b1.id), [b1, a3].map(toSummary));
    assert.deepStrictEqual(await lineage(walk, b1.id), [b1, a3].map(toSummary));
    await assert.rejects(lineage(storage, a2.id), { name: "CheckpointNotFoundError" });
    // The optional fast path reports an unknown id as [], not as an error.
    if (storage.lineage) assert.deepStrictEqual(await storage.lineage(a2.id), []);
  });

  it(
    "delete() removes one checkpoint and moves its session's head back to its parent",
    async (storage, s) => {
      const [a1, a2, a3] = await s.chain(3);
      const [other] = await s.chain(1);
      assert.strictEqual(await storage.delete(a3.id), true);
      assert.strictEqual(await storage.delete(a3.id), false);
      assert.strictEqual(await storage.delete(newId()), false);
      assert.strictEqual(await storage.load(a3.id), undefined);
      assert.strictEqual(await storage.head(a1.sessionId), a2.id);
      assert.deepStrictEqual(await ids(storage, { sessionId: a1.sessionId }), [a2.id, a1.id]);
      assert.deepStrictEqual(await storage.load(other.id), other);
      assert.strictEqual(await storage.head(other.sessionId), other.id);
      const next = s.checkpoint({ sessionId: a1.sessionId, parentId: a2.id, superstep: 2 });
      await storage.save(next);
      assert.strictEqual(await storage.head(a1.sessionId), next.id);
    },
  );

  it(
    "delete() of a head whose parent is gone moves the head to the newest remaining checkpoint",
    async (storage, s) => {
      const [a1] = await s.chain(1);
      const [b1, b2, b3] = await s.chain(3, { parentId: a1.id });
      const sessionId = b1.sessionId;
      assert.strictEqual(await storage.delete(b2.id), true);
      assert.strictEqual(await storage.head(sessionId), b3.id, "deleting a non-head keeps the head");
      assert.strictEqual(await storage.delete(b3.id), true);
      assert.strictEqual(await storage.head(sessionId), b1.id);
      // b1's parent a1 exists but is in another session: the head must not move there.
      assert.strictEqual(await storage.delete(b1.id), true);
      assert.strictEqual(await storage.head(sessionId), undefined);
      assert.deepStrictEqual(await ids(storage, { sessionId }), []);
      assert.strictEqual(await storage.head(a1.sessionId), a1.id);
      assert.deepStrictEqual(await storage.load(a1.id), a1);
      const restart = s.checkpoint({ sessionId, parentId: null });
      await storage.save(restart);
      assert.strictEqual(await storage.head(sessionId), restart.id, "an emptied session starts anew");
    },
  );

  it("delete() of a head never moves the head into another session", async (storage, s) => {
    const [a1] = await s.chain(1);
    // Ids that sort out of save order (as with clock skew) make the session's newest remaining checkpoint
    // not an ancestor of the head.
    const prefix = newId();
    const sessionId = s.session();
    const m = s.checkpoint({ id: `${prefix}-m`, sessionId, parentId: a1.id });
    const c = s.checkpoint({ id: `${prefix}-c`, sessionId, parentId: m.id });
    const d = s.checkpoint({ id: `${prefix}-d`, sessionId, parentId: c.id });
    const z = s.checkpoint({ id: `${prefix}-z`, sessionId, parentId: d.id });
    for (const cp of [m, c, d, z]) await storage.save(cp);
    assert.strictEqual(await storage.delete(d.id), true);
    assert.strictEqual(await storage.delete(z.id), true);
    assert.strictEqual(await storage.head(sessionId), m.id, "parent gone: the newest remaining by id");
    assert.strictEqual(await storage.delete(m.id), true);
    assert.strictEqual(
      await storage.head(sessionId),
      c.id,
      "parent in another session: the newest remaining",
    );
    assert.strictEqual(await storage.head(a1.sessionId), a1.id);
  });

  it("deleteSession() removes every checkpoint of the session and nothing else", async (storage, s) => {
    const chain = await s.chain(3);
    const fork = await s.chain(2, { parentId: chain[1].id });
    const sessionId = fork[0].sessionId;
    assert.strictEqual(await storage.deleteSession(sessionId), 2);
    assert.strictEqual(await storage.deleteSession(sessionId), 0);
    assert.strictEqual(await storage.deleteSession(s.session()), 0);
    for (const cp of fork) assert.strictEqual(await storage.load(cp.id), undefined);
    assert.strictEqual(await storage.head(sessionId), undefined);
    assert.deepStrictEqual(await ids(storage, { sessionId }), []);
    assert.deepStrictEqual(
      await ids(storage, { workflowName: s.workflowName }),
      chain.map((c) => c.id).reverse(),
    );
    for (const cp of chain) assert.deepStrictEqual(await storage.load(cp.id), cp);
    assert.strictEqual(await storage.head(chain[0].sessionId), chain[2].id);
    assert.deepStrictEqual(await lineage(storage, chain[2].id), chain.map(toSummary).reverse());
  });
}

/** `error` is a conflict with these facts, named by an adapter whose name starts its message. */
function assertConflict(error: unknown, facts: Record<string, unknown>): void {
  assert.ok(isConflict(error), `expected a CheckpointConflictError, got ${String(error)}`);
  const conflict = error as Error & Record<string, unknown>;
  for (const [field, value] of Object.entries(facts)) {
    assert.strictEqual(conflict[field], value, `CheckpointConflictError.${field}`);
  }
  assert.ok(typeof conflict.adapter === "string" && conflict.adapter.length > 0, "the adapter is named");
  assert.ok(conflict.message.startsWith(`${conflict.adapter}: cannot save checkpoint ${facts.checkpointId}`));
}
