/**
 * Conformance cases for leases (`claimLease`, `renewLease`, `releaseLease`, and `save`'s `lease` option):
 * concurrent claimants, expiry, renewal, release and fencing (package-private).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CheckpointStorage, Lease } from "../src/checkpoint.ts";
import { claimSession, hasLeases } from "../src/leases.ts";
import type { CaseBody, Register } from "./_cases_helpers.ts";

type Leasing =
  & CheckpointStorage
  & Required<Pick<CheckpointStorage, "claimLease" | "renewLease" | "releaseLease">>;

/** A fixed start time, so every case reads the same clock on every backend. */
const T0 = 1_900_000_000_000;

/**
 * Registers the cases with `it`. A storage declares leases by implementing all three methods; on one
 * without them each case checks that `claimSession` refuses it.
 */
export function leaseCases(register: Register): void {
  const it = (title: string, body: (storage: Leasing, s: Parameters<CaseBody>[1]) => Promise<void>) =>
    register(title, async (storage, s) => {
      const has = [storage.claimLease, storage.renewLease, storage.releaseLease].filter((method) =>
        typeof method === "function"
      );
      assert.ok(
        has.length === 0 || has.length === 3,
        "claimLease, renewLease and releaseLease come together",
      );
      if (hasLeases(storage)) return await body(storage, s);
      await assert.rejects(claimSession(storage, s.session(), { owner: "a" }), {
        name: "StorageCapabilityError",
      });
    });

  it("claimLease() by eight concurrent claimants: exactly one gets the session", async (storage, s) => {
    const sessionId = s.session();
    const claims = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) => storage.claimLease(sessionId, `owner-${i}`, { now: T0, ttlMs: 1000 }),
      ),
    );
    const won = claims.filter((lease): lease is Lease => lease !== undefined);
    assert.equal(won.length, 1);
    assert.equal(won[0].sessionId, sessionId);
    assert.equal(won[0].expiresAt, T0 + 1000);
    assert.match(won[0].owner, /^owner-\d$/);
    // Another session is claimed apart.
    assert.notEqual(await storage.claimLease(s.session(), "owner-0", { now: T0, ttlMs: 1000 }), undefined);
  });

  it(
    "claimLease() is refused until the lease lapses, the same owner included, then takes it over",
    async (storage, s) => {
      const sessionId = s.session();
      const first = (await storage.claimLease(sessionId, "a", { now: T0, ttlMs: 1000 }))!;
      assert.equal(await storage.claimLease(sessionId, "a", { now: T0 + 1, ttlMs: 1000 }), undefined);
      assert.equal(await storage.claimLease(sessionId, "b", { now: T0 + 999, ttlMs: 1000 }), undefined);
      const second = await storage.claimLease(sessionId, "b", { now: T0 + 1000, ttlMs: 1000 });
      assert.ok(second !== undefined);
      assert.equal(second.owner, "b");
      assert.notEqual(second.token, first.token);
      assert.equal(second.expiresAt, T0 + 2000);
    },
  );

  it(
    "renewLease() extends a held lease, even a lapsed one no one took, and not a replaced one",
    async (storage, s) => {
      const sessionId = s.session();
      const lease = (await storage.claimLease(sessionId, "a", { now: T0, ttlMs: 1000 }))!;
      const renewed = await storage.renewLease(lease, { now: T0 + 900, ttlMs: 1000 });
      assert.deepEqual(renewed, { ...lease, expiresAt: T0 + 1900 });
      assert.equal(await storage.claimLease(sessionId, "b", { now: T0 + 1500, ttlMs: 1000 }), undefined);
      // Lapsed, not taken: still the session's.
      assert.equal((await storage.renewLease(lease, { now: T0 + 5000, ttlMs: 1000 }))?.expiresAt, T0 + 6000);
      const taken = (await storage.claimLease(sessionId, "b", { now: T0 + 6000, ttlMs: 1000 }))!;
      assert.equal(await storage.renewLease(lease, { now: T0 + 6001, ttlMs: 1000 }), undefined);
      assert.equal((await storage.renewLease(taken, { now: T0 + 6001, ttlMs: 1000 }))?.owner, "b");
    },
  );

  it(
    "releaseLease() frees the session, and a replaced lease's release leaves the new one",
    async (storage, s) => {
      const sessionId = s.session();
      const lease = (await storage.claimLease(sessionId, "a", { now: T0, ttlMs: 1000 }))!;
      assert.equal(await storage.releaseLease(lease), true);
      assert.equal(await storage.releaseLease(lease), false);
      assert.equal(await storage.renewLease(lease, { now: T0, ttlMs: 1000 }), undefined);
      const next = (await storage.claimLease(sessionId, "b", { now: T0 + 1, ttlMs: 1000 }))!;
      assert.equal(next.owner, "b");
      assert.equal(await storage.releaseLease(lease), false);
      assert.equal(await storage.claimLease(sessionId, "c", { now: T0 + 2, ttlMs: 1000 }), undefined);
    },
  );

  it(
    "save() with a lease: written while it is the session's, refused (nothing written) once taken over",
    async (storage, s) => {
      const sessionId = s.session();
      const lease = (await storage.claimLease(sessionId, "a", { now: T0, ttlMs: 1000 }))!;
      const root = s.checkpoint({ sessionId });
      await storage.save(root, { lease });
      assert.equal(await storage.head(sessionId), root.id);
      const taken = (await storage.claimLease(sessionId, "b", { now: T0 + 1000, ttlMs: 1000 }))!;
      const late = s.checkpoint({ sessionId, parentId: root.id });
      await assert.rejects(storage.save(late, { lease }), { name: "LeaseLostError", sessionId, owner: "a" });
      assert.equal(await storage.head(sessionId), root.id);
      assert.equal(await storage.load(late.id), undefined);
      await storage.save(late, { lease: taken });
      assert.equal(await storage.head(sessionId), late.id);
      // A released lease fences too.
      await storage.releaseLease(taken);
      await assert.rejects(storage.save(s.checkpoint({ sessionId, parentId: late.id }), { lease: taken }), {
        name: "LeaseLostError",
      });
      // A lease of another session never lets a save through.
      const other = (await storage.claimLease(s.session(), "a", { now: T0, ttlMs: 1000 }))!;
      await assert.rejects(storage.save(s.checkpoint({ sessionId, parentId: late.id }), { lease: other }), {
        name: "LeaseLostError",
      });
      assert.equal(await storage.head(sessionId), late.id);
    },
  );

  it(
    "save() with a lease still compare-and-sets the head, and a save without one is not fenced",
    async (storage, s) => {
      const sessionId = s.session();
      const lease = (await storage.claimLease(sessionId, "a", { now: T0, ttlMs: 1000 }))!;
      const root = s.checkpoint({ sessionId });
      await storage.save(root, { lease });
      await assert.rejects(storage.save(s.checkpoint({ sessionId, parentId: null }), { lease }), {
        name: "CheckpointConflictError",
      });
      const free = s.checkpoint({ sessionId, parentId: root.id });
      await storage.save(free);
      assert.equal(await storage.head(sessionId), free.id);
    },
  );

  it("claimLease() and renewLease() refuse bad arguments", async (storage, s) => {
    const sessionId = s.session();
    await assert.rejects(storage.claimLease(sessionId, "", { now: T0, ttlMs: 1 }), TypeError);
    await assert.rejects(storage.claimLease("\ud800", "a", { now: T0, ttlMs: 1 }), TypeError);
    await assert.rejects(storage.claimLease(sessionId, "a", { now: Number.NaN, ttlMs: 1 }), TypeError);
    await assert.rejects(storage.claimLease(sessionId, "a", { now: T0, ttlMs: 0 }), RangeError);
    await assert.rejects(storage.claimLease(sessionId, "a", { now: T0, ttlMs: Infinity }), RangeError);
    const lease = (await storage.claimLease(sessionId, "a", { now: T0, ttlMs: 10 }))!;
    await assert.rejects(storage.renewLease(lease, { now: T0, ttlMs: -1 }), RangeError);
    await assert.rejects(storage.renewLease({ ...lease, token: "" }, { now: T0, ttlMs: 10 }), TypeError);
  });
}
