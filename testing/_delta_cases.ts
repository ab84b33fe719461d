/**
 * Conformance cases for long chains, forks and deletes, the shapes delta payloads must survive (an adapter
 * storing checkpoints whole passes them too) (package-private).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Checkpoint, CheckpointStorage } from "../src/checkpoint.ts";
import type { Register, Scope } from "./_cases_helpers.ts";
import { prune } from "../src/prune.ts";

/** A second storage on the same backend, when the adapter has one (cold: it has read nothing yet). */
export type Second = (body: (other: CheckpointStorage) => Promise<void>) => Promise<void>;

/** A chain of `length` checkpoints whose state grows by a record each, with a key changing now and then. */
async function growingChain(
  storage: CheckpointStorage,
  s: Scope,
  length: number,
  from: Partial<Checkpoint> = {},
): Promise<Checkpoint[]> {
  const sessionId = from.sessionId ?? s.session();
  let parentId = from.parentId ?? null;
  const items: { id: number; text: string }[] = [...((from.state?.items as []) ?? [])];
  const out: Checkpoint[] = [];
  for (let i = 0; i < length; i++) {
    items.push({ id: i, text: `record ${i} `.padEnd(16, "lorem ipsum ") });
    const checkpoint = s.checkpoint({
      sessionId,
      parentId,
      superstep: i,
      messages: [{ source: "grow", data: i }],
      state: { items: [...items], phase: `phase ${Math.floor(i / 97)}`, ...(i % 5 === 0 && { every5: i }) },
      executorState: { grow: { calls: i } },
      metadata: { step: i },
    });
    await storage.save(checkpoint);
    out.push(checkpoint);
    parentId = checkpoint.id;
  }
  return out;
}

async function assertLoads(storage: CheckpointStorage, checkpoints: Checkpoint[], what: string) {
  for (const checkpoint of checkpoints) {
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint, `${what}: ${checkpoint.id}`);
  }
}

/** Registers the cases with `it`; `second` opens a cold storage on the same backend, if there is one. */
export function deltaCases(it: Register, length: number, second: Second | undefined): void {
  it(
    `a chain of ${length.toLocaleString("en-US")} checkpoints whose state grows loads exactly at every point`,
    async (storage, s) => {
      const chain = await growingChain(storage, s, length);
      await assertLoads(storage, chain, "loaded where it was saved");
      await second?.(async (other) => {
        await assertLoads(
          other,
          chain.filter((_, i) => i % 7 === 0 || i === chain.length - 1),
          "loaded cold",
        );
      });
    },
  );

  it(
    "a fork from a middle checkpoint loads exactly, its own chain too, and outlives the source session",
    async (storage, s) => {
      const source = await growingChain(storage, s, 60);
      const middle = source[29];
      const fork = await growingChain(storage, s, 30, { parentId: middle.id, state: middle.state });
      await assertLoads(storage, fork, "fork");
      assert.equal(await storage.deleteSession(source[0].sessionId), 60);
      await assertLoads(storage, fork, "fork after its source session was deleted");
      await second?.((other) => assertLoads(other, fork, "fork, cold"));
    },
  );

  it(
    "a state whose large value stays put loads exactly, also once the checkpoints its deltas share are deleted",
    async (storage, s) => {
      const sessionId = s.session();
      const items = Array.from(
        { length: 40 },
        (_, i) => ({ id: i, text: `record ${i} `.padEnd(40, "lorem ") }),
      );
      const chain: Checkpoint[] = [];
      for (let i = 0; i < 70; i++) {
        const checkpoint = s.checkpoint({
          sessionId,
          parentId: chain.at(-1)?.id ?? null,
          superstep: i,
          state: { items, cursor: i },
          metadata: { step: i },
        });
        await storage.save(checkpoint);
        chain.push(checkpoint);
      }
      await assertLoads(storage, chain, "saved");
      // A delta storage bases most of these on the first and the 34th (what a whole storage ignores).
      const doomed = new Set([chain[0].id, chain[33].id, chain[50].id]);
      for (const id of doomed) assert.equal(await storage.delete(id), true);
      const kept = chain.filter((checkpoint) => !doomed.has(checkpoint.id));
      await assertLoads(storage, kept, "after deletes");
      await second?.((other) => assertLoads(other, kept, "after deletes, cold"));
    },
  );

  it(
    "a session that waits, answered each time by a cold storage, loads exactly at every point, also after deletes",
    async (storage, s) => {
      const sessionId = s.session();
      const items: { id: number; text: string }[] = [];
      const chain: Checkpoint[] = [];
      // Rounds of 9 supersteps, each ending at a checkpoint that waits for an answer (which a resume-copy
      // adapter also stores whole); the next round runs in another storage that has read nothing yet.
      const round = async (on: CheckpointStorage) => {
        const head = chain.at(-1);
        if (head !== undefined) assert.deepStrictEqual(await on.load(head.id), head, "the waiting head");
        for (let i = 0; i < 9; i++) {
          items.push({ id: items.length, text: `record ${items.length} `.padEnd(24, "lorem ipsum ") });
          const waits = i === 8;
          const checkpoint = s.checkpoint({
            sessionId,
            parentId: chain.at(-1)?.id ?? null,
            superstep: chain.length,
            messages: waits ? [] : [{ source: "grow", data: i }],
            pendingRequests: waits ? [{ requestId: `r${chain.length}`, executorId: "review", data: i }] : [],
            state: { items: [...items], answered: Math.floor(chain.length / 9) },
            metadata: { step: chain.length },
          });
          await on.save(checkpoint);
          chain.push(checkpoint);
        }
      };
      for (let i = 0; i < 8; i++) await (second === undefined ? round(storage) : second(round));
      await assertLoads(storage, chain, "saved");
      await second?.((other) => assertLoads(other, chain, "cold"));
      // The head's chain loses checkpoints (its base among them): it still loads, cold too.
      const doomed = new Set([chain[0].id, chain[30].id, chain[62].id, chain[70].id]);
      for (const id of doomed) assert.equal(await storage.delete(id), true);
      const kept = chain.filter((checkpoint) => !doomed.has(checkpoint.id));
      await assertLoads(storage, kept, "after deletes");
      await second?.((other) => assertLoads(other, [...kept].reverse(), "after deletes, cold"));
    },
  );

  it(
    "deleting middle checkpoints and the head leaves every other checkpoint loading exactly",
    async (storage, s) => {
      const chain = await growingChain(storage, s, 120);
      const doomed = new Set([chain[40].id, chain[41].id, chain[77].id, chain[0].id, chain[119].id]);
      for (const id of doomed) assert.equal(await storage.delete(id), true);
      const kept = chain.filter((checkpoint) => !doomed.has(checkpoint.id));
      await assertLoads(storage, kept, "after deletes");
      await second?.((other) => assertLoads(other, kept, "after deletes, cold"));
      // The session goes on from its new head.
      const head = await storage.head(chain[0].sessionId);
      assert.equal(head, chain[118].id);
      const more = await growingChain(storage, s, 5, {
        sessionId: chain[0].sessionId,
        parentId: head!,
        state: chain[118].state,
      });
      await assertLoads(storage, more, "after the session went on");
    },
  );
}

/** Registers the retention cases with `it`. */
export function pruneCases(it: Register): void {
  it(
    "prune() with keepLast removes the older checkpoints, never the head or one waiting for answers",
    async (storage, s) => {
      const chain = await growingChain(storage, s, 30);
      const sessionId = chain[0].sessionId;
      // One checkpoint in the middle waits for an answer: a stored wait is never pruned.
      const waiting = s.checkpoint({
        sessionId,
        parentId: chain.at(-1)!.id,
        superstep: 30,
        pendingRequests: [{ requestId: "r1", executorId: "grow", data: { ask: true } }],
        state: chain.at(-1)!.state,
      });
      await storage.save(waiting);
      const rest = await growingChain(storage, s, 10, {
        sessionId,
        parentId: waiting.id,
        state: waiting.state,
      });
      const all = [...chain, waiting, ...rest];
      const { removed, protected: kept } = await prune(storage, { sessionId, keepLast: 5 });
      assert.equal(kept, 1, "the waiting checkpoint is kept");
      assert.equal(removed.length, all.length - 6);
      const remaining = new Set((await storage.list({ sessionId })).map((summary) => summary.id));
      assert.ok(remaining.has(waiting.id));
      assert.equal(remaining.size, 6);
      for (const summary of removed) assert.ok(!remaining.has(summary.id));
      await assertLoads(storage, all.filter((checkpoint) => remaining.has(checkpoint.id)), "after prune");
      assert.equal(await storage.head(sessionId), rest.at(-1)!.id);
      // Nothing more to remove: pruning again is a no-op.
      assert.equal((await prune(storage, { sessionId, keepLast: 5 })).removed.length, 0);
    },
  );

  it("prune() by workflow and age keeps every head, and leaves other workflows alone", async (storage, s) => {
    const a = await growingChain(storage, s, 8);
    const b = await growingChain(storage, s, 3);
    const elsewhere = s.checkpoint({ workflowName: `${s.workflowName}-other` });
    await storage.save(elsewhere);
    const { removed } = await prune(storage, {
      workflowName: s.workflowName,
      olderThan: new Date(Date.now() + 60_000),
    });
    assert.deepEqual(
      new Set(removed.map((summary) => summary.id)),
      new Set([...a.slice(0, -1), ...b.slice(0, -1)].map((checkpoint) => checkpoint.id)),
    );
    assert.deepEqual(await storage.list({ sessionId: a[0].sessionId }).then((l) => l.map((x) => x.id)), [
      a.at(-1)!.id,
    ]);
    await assertLoads(
      storage,
      [a.at(-1)!, b.at(-1)!, elsewhere],
      "the heads, and the other workflow's checkpoint",
    );
    const none = await prune(storage, {
      workflowName: s.workflowName,
      olderThan: "2000-01-01T00:00:00.000Z",
    });
    assert.equal(none.removed.length, 0);
    await assert.rejects(prune(storage, { sessionId: a[0].sessionId }), TypeError);
    await assert.rejects(prune(storage, { keepLast: 1 } as never), TypeError);
    await assert.rejects(prune(storage, { sessionId: "x", workflowName: "y", keepLast: 1 }), TypeError);
  });
}
