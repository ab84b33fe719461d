/**
 * Conformance cases of what must never be mixed up (package-private): ids that are not well-formed Unicode
 * (two of them could map to one stored key), and a deleted session that a late save would bring back.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CheckpointStorage } from "../src/checkpoint.ts";
import { ids, isConflict, type Register } from "./_cases_helpers.ts";

/** Whether `error` is a TypeError (by name: an adapter may bundle its own copy of the package). */
function isTypeError(error: unknown): boolean {
  return error instanceof Error && error.name === "TypeError";
}

/** `promise` rejects with a conflict whose `reason` is `reason`. */
async function rejectsConflict(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isConflict(error), `expected a CheckpointConflictError, got ${String(error)}`);
    assert.strictEqual((error as { reason?: unknown }).reason, reason);
    return true;
  });
}

/** Registers the cases with `it`. */
export function integrityCases(it: Register): void {
  it(
    "every method refuses an id holding a lone surrogate with a TypeError, and keeps its look-alike apart",
    async (storage, s) => {
      const base = s.session();
      // Stored as UTF-8, "\ud800" would become U+FFFD: the two sessions would be one.
      const lone = `${base}\ud800`;
      const alike = `${base}\ufffd`;
      const [kept] = await s.chain(1, { sessionId: alike });
      const refused = (call: (storage: CheckpointStorage) => Promise<unknown>) =>
        assert.rejects(call(storage), isTypeError);
      await refused((st) => st.save(s.checkpoint({ sessionId: lone })));
      await refused((st) => st.save(s.checkpoint({ id: `${kept.id}\udc00` })));
      await refused((st) => st.save(s.checkpoint({ workflowName: `${s.workflowName}\ud83d` })));
      await refused((st) => st.save(s.checkpoint({ sessionId: alike, parentId: `${kept.id}\ud800` })));
      await refused((st) =>
        st.save(s.checkpoint({ pendingRequests: [{ requestId: "r\udfff", executorId: "e", data: null }] }))
      );
      await refused((st) => st.load(`${kept.id}\ud800`));
      await refused((st) => st.head(lone));
      await refused((st) => st.list({ sessionId: lone }));
      await refused((st) => st.list({ workflowName: `${s.workflowName}\ud800` }));
      await refused((st) => st.list({ before: `${kept.id}\ud800` }));
      await refused((st) => st.delete(`${kept.id}\ud800`));
      await refused((st) => st.deleteSession(lone));
      if (storage.lineage) await refused((st) => st.lineage!(`${kept.id}\ud800`));
      // Nothing of the refused calls reached the look-alike: it is whole, and its session its own.
      assert.strictEqual(await storage.head(alike), kept.id);
      assert.deepStrictEqual(await ids(storage, { sessionId: alike }), [kept.id]);
      assert.deepStrictEqual(await storage.load(kept.id), kept);
      // A well-formed pair (a real surrogate pair) is an ordinary id.
      const [emoji] = await s.chain(1, { sessionId: `${base}\ud83d\ude00` });
      assert.strictEqual(await storage.head(`${base}\ud83d\ude00`), emoji.id);
    },
  );

  it(
    "save() after deleteSession() of its parent's session is refused (parent-missing): the session stays deleted",
    async (storage, s) => {
      const [a, b] = await s.chain(2);
      assert.strictEqual(await storage.deleteSession(a.sessionId), 2);
      // A run of the session still in flight writes its next checkpoint.
      const late = s.checkpoint({ sessionId: a.sessionId, parentId: b.id, superstep: 2 });
      await rejectsConflict(storage.save(late), "parent-missing");
      assert.strictEqual(await storage.head(a.sessionId), undefined);
      assert.strictEqual(await storage.load(late.id), undefined);
      assert.deepStrictEqual(await ids(storage, { sessionId: a.sessionId }), []);
      // A new lineage may start the session anew.
      const fresh = s.checkpoint({ sessionId: a.sessionId, parentId: null });
      await storage.save(fresh);
      assert.strictEqual(await storage.head(a.sessionId), fresh.id);
    },
  );

  it(
    "save() into a session without a head is refused unless its parent is null or a checkpoint of another session",
    async (storage, s) => {
      const [a1, a2] = await s.chain(2);
      // Its parent never existed.
      await rejectsConflict(storage.save(s.checkpoint({ parentId: `${a2.id}-none` })), "parent-missing");
      // Its parent was deleted: after delete() of every checkpoint, the session has no head either.
      assert.strictEqual(await storage.delete(a2.id), true);
      assert.strictEqual(await storage.delete(a1.id), true);
      const follower = s.checkpoint({ sessionId: a1.sessionId, parentId: a2.id, superstep: 2 });
      await rejectsConflict(storage.save(follower), "parent-missing");
      // A fork: the parent is a checkpoint of another session.
      const [b1] = await s.chain(1);
      const fork = s.checkpoint({ parentId: b1.id });
      await storage.save(fork);
      assert.strictEqual(await storage.head(fork.sessionId), fork.id);
    },
  );
}
