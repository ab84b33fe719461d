/**
 * Conformance cases that read: round-trips, listing, heads, copies and odd keys (package-private).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Checkpoint, toSummary } from "../src/checkpoint.ts";
import { lineage } from "../src/ancestry.ts";
import { newId } from "../src/_ulid.ts";
import { makeCheckpoint } from "./make_checkpoint.ts";
import { assertCodecSamples, assertNoPollution, codecSamples } from "./_samples.ts";
import { ids, makeScope, type Register, withoutPayload } from "./_cases_helpers.ts";

const KEY_SESSIONS = ["__proto__", "constructor", "hasOwnProperty"] as const;

/** Registers the cases with `it`. */
export function readCases(it: Register): void {
  it("save() then load() round-trips every codec type in every payload field", async (storage, s) => {
    const cp = s.checkpoint({
      state: codecSamples(),
      messages: [{ source: "a", data: codecSamples(), to: "b" }, {
        source: "__input__",
        data: codecSamples(),
      }],
      executorState: { a: codecSamples() },
      edgeState: { "a->b": codecSamples() },
      pendingRequests: [{ requestId: "r1", executorId: "a", data: codecSamples() }],
      answers: [{
        request: { requestId: "r0", executorId: "a", data: codecSamples() },
        response: codecSamples(),
      }],
      metadata: codecSamples(),
    });
    await storage.save(cp);
    const loaded = await storage.load(cp.id);
    assert.ok(loaded, "load() found nothing after save()");
    assert.deepStrictEqual(withoutPayload(loaded), withoutPayload(cp));
    assert.deepStrictEqual(loaded.messages.map((m) => ({ ...m, data: null })), [
      { source: "a", data: null, to: "b" },
      { source: "__input__", data: null },
    ]);
    assert.deepStrictEqual(Object.keys(loaded.executorState), ["a"]);
    assert.deepStrictEqual(Object.keys(loaded.edgeState), ["a->b"]);
    assert.deepStrictEqual(loaded.pendingRequests.map((r) => ({ ...r, data: null })), [
      { requestId: "r1", executorId: "a", data: null },
    ]);
    assertCodecSamples(loaded.state, codecSamples());
    assertCodecSamples(loaded.messages[0].data, codecSamples());
    assertCodecSamples(loaded.messages[1].data, codecSamples());
    assertCodecSamples(loaded.executorState.a, codecSamples());
    assertCodecSamples(loaded.edgeState["a->b"], codecSamples());
    assertCodecSamples(loaded.pendingRequests[0].data, codecSamples());
    assert.deepStrictEqual(loaded.answers?.map((a) => a.request.requestId), ["r0"]);
    assertCodecSamples(loaded.answers![0].request.data, codecSamples());
    assertCodecSamples(loaded.answers![0].response, codecSamples());
    assertCodecSamples(loaded.metadata, codecSamples());
    const [summary] = await storage.list({ workflowName: s.workflowName });
    assert.deepStrictEqual({ ...summary, metadata: null }, { ...toSummary(cp), metadata: null });
    assertCodecSamples(summary.metadata, codecSamples());
  });

  it("load() returns undefined for an unknown id", async (storage, s) => {
    await storage.save(s.checkpoint());
    assert.strictEqual(await storage.load(newId()), undefined);
    assert.strictEqual(await storage.load(""), undefined);
  });

  it("list() returns summaries newest first by id, whatever the save order", async (storage, s) => {
    const [a, b, c] = [s.checkpoint(), s.checkpoint(), s.checkpoint()];
    assert.ok(a.id < b.id && b.id < c.id);
    for (const cp of [b, c, a]) await storage.save(cp);
    assert.deepStrictEqual(await storage.list({ workflowName: s.workflowName }), [c, b, a].map(toSummary));
  });

  it("list() with limit returns the newest checkpoints", async (storage, s) => {
    const chain = await s.chain(5);
    const newest = chain.map((cp) => cp.id).reverse();
    assert.deepStrictEqual(
      await ids(storage, { workflowName: s.workflowName, limit: 2 }),
      newest.slice(0, 2),
    );
    assert.deepStrictEqual(
      await ids(storage, { workflowName: s.workflowName, limit: 1 }),
      newest.slice(0, 1),
    );
    assert.deepStrictEqual(await ids(storage, { workflowName: s.workflowName, limit: 50 }), newest);
  });

  it("list() rejects a limit that is not a positive integer with RangeError", async (storage, s) => {
    await s.chain(1);
    for (const limit of [0, -1, 1.5, NaN, Infinity]) {
      await assert.rejects(
        storage.list({ workflowName: s.workflowName, limit }),
        RangeError,
        `limit ${limit}`,
      );
    }
  });

  it("list() with before pages through older checkpoints, exclusive of the cursor", async (storage, s) => {
    const chain = await s.chain(5);
    const all = chain.map((cp) => cp.id).reverse();
    const seen: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 10; page++) {
      const got = await ids(storage, { workflowName: s.workflowName, limit: 2, before });
      if (got.length === 0) break;
      seen.push(...got);
      before = got[got.length - 1];
    }
    assert.deepStrictEqual(seen, all);
    assert.deepStrictEqual(
      await ids(storage, { workflowName: s.workflowName, before: all[2] }),
      all.slice(3),
    );
    assert.deepStrictEqual(await ids(storage, { workflowName: s.workflowName, before: newId() }), all);
    assert.deepStrictEqual(await ids(storage, { workflowName: s.workflowName, before: all[4] }), []);
  });

  it("list() filters by workflowName and sessionId, apart and together", async (storage, s) => {
    const other = makeScope(storage);
    const one = await s.chain(2);
    const two = await s.chain(1);
    const three = await other.chain(2);
    // A session can hold checkpoints of two workflows.
    const mixed = other.checkpoint({ sessionId: one[0].sessionId, parentId: one[1].id, superstep: 2 });
    await storage.save(mixed);
    const idsOf = (...cps: Checkpoint[]) => cps.map((cp) => cp.id).sort().reverse();
    const [s1, s2, s3] = [one[0].sessionId, two[0].sessionId, three[0].sessionId];
    assert.deepStrictEqual(await ids(storage, { workflowName: s.workflowName }), idsOf(...one, ...two));
    assert.deepStrictEqual(
      await ids(storage, { workflowName: other.workflowName }),
      idsOf(...three, mixed),
    );
    assert.deepStrictEqual(await ids(storage, { sessionId: s1 }), idsOf(...one, mixed));
    assert.deepStrictEqual(await ids(storage, { sessionId: s3 }), idsOf(...three));
    assert.deepStrictEqual(await ids(storage, { workflowName: other.workflowName, sessionId: s1 }), [
      mixed.id,
    ]);
    assert.deepStrictEqual(
      await ids(storage, { workflowName: s.workflowName, sessionId: s2 }),
      idsOf(...two),
    );
    assert.deepStrictEqual(await ids(storage, { workflowName: other.workflowName, sessionId: s2 }), []);
    assert.deepStrictEqual(await ids(storage, { sessionId: s.session() }), []);
    assert.deepStrictEqual(await ids(storage, { workflowName: `${s.workflowName}-unknown` }), []);
  });

  it("head() is undefined for an unknown session, then the last checkpoint saved", async (storage, s) => {
    const sessionId = s.session();
    assert.strictEqual(await storage.head(sessionId), undefined);
    const [, b] = await s.chain(2, { sessionId });
    assert.strictEqual(await storage.head(sessionId), b.id);
    const [c] = await s.chain(1, { sessionId, parentId: b.id });
    assert.strictEqual(await storage.head(sessionId), c.id);
  });

  it(
    "head() is the checkpoint saved last, even when its id sorts before its parent's",
    async (storage, s) => {
      const prefix = newId();
      const parent = s.checkpoint({ id: `${prefix}-z` });
      await storage.save(parent);
      const child = s.checkpoint({ id: `${prefix}-a`, sessionId: parent.sessionId, parentId: parent.id });
      await storage.save(child);
      assert.strictEqual(await storage.head(parent.sessionId), child.id);
      assert.deepStrictEqual(await ids(storage, { sessionId: parent.sessionId }), [parent.id, child.id]);
    },
  );

  it("save() then load() round-trips a 2 MiB payload", async (storage, s) => {
    const bytes = new Uint8Array(1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const text = "0123456789abcdef€\u{1f600}".repeat(Math.ceil(1024 * 1024 / 19));
    const cp = s.checkpoint({ state: { bytes, text } });
    await storage.save(cp);
    const loaded = await storage.load(cp.id);
    assert.ok(loaded, "load() found nothing after save()");
    assert.strictEqual((loaded.state.text as string).length, text.length);
    assert.ok(loaded.state.text === text, "the text came back changed");
    assert.deepStrictEqual(loaded.state.bytes, bytes);
  }, "large-payload");

  it(
    "load() and list() return copies: mutating them or the saved object changes nothing stored",
    async (storage, s) => {
      const cp = s.checkpoint({ state: { list: [1], nested: { value: 1 } }, metadata: { tag: "a" } });
      const pristine = structuredClone(cp);
      await storage.save(cp);
      (cp.state.list as number[]).push(2);
      (cp.state.nested as { value: number }).value = 2;
      cp.metadata.tag = "changed";
      assert.deepStrictEqual(await storage.load(cp.id), pristine);
      const loaded = (await storage.load(cp.id))!;
      (loaded.state.list as number[]).push(3);
      loaded.metadata.tag = "changed";
      loaded.messages.push({ source: "x", data: 1 });
      assert.deepStrictEqual(await storage.load(cp.id), pristine);
      const [summary] = await storage.list({ sessionId: cp.sessionId });
      summary.metadata.tag = "changed";
      assert.deepStrictEqual(await storage.list({ sessionId: cp.sessionId }), [toSummary(pristine)]);
    },
  );

  it("ids, session ids and keys such as __proto__ and constructor work and pollute nothing", async (storage) => {
    for (const sessionId of KEY_SESSIONS) await storage.deleteSession(sessionId);
    for (const key of ["toString", "valueOf", "hasOwnProperty", "__proto__", "constructor"]) {
      assert.strictEqual(await storage.load(key), undefined, `load(${key})`);
      assert.strictEqual(await storage.head(key), undefined, `head(${key})`);
      assert.deepStrictEqual(await storage.list({ sessionId: key }), [], `list({ sessionId: ${key} })`);
      assert.strictEqual(await storage.delete(key), false, `delete(${key})`);
      if (storage.lineage) assert.deepStrictEqual(await storage.lineage(key), [], `lineage(${key})`);
    }
    const state = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}');
    const saved: Checkpoint[] = [];
    for (const sessionId of KEY_SESSIONS) {
      const cp = makeCheckpoint({ id: sessionId, sessionId, workflowName: "__proto__", state });
      await storage.save(cp);
      saved.push(cp);
      const child = makeCheckpoint({ parentId: cp.id, sessionId, workflowName: "constructor", state });
      await storage.save(child);
      saved.push(child);
    }
    try {
      for (const cp of saved) {
        const loaded = await storage.load(cp.id);
        assert.deepStrictEqual(loaded, cp);
        assert.ok(Object.hasOwn(loaded!.state, "__proto__"));
        assert.strictEqual(Object.getPrototypeOf(loaded!.state), Object.prototype);
      }
      for (const sessionId of KEY_SESSIONS) {
        const [, child] = saved.filter((cp) => cp.sessionId === sessionId);
        assert.strictEqual(await storage.head(sessionId), child.id);
        // Listed by id, not by save order: "__proto__" and the like sort after ULIDs.
        assert.deepStrictEqual(await ids(storage, { sessionId }), [sessionId, child.id]);
        assert.deepStrictEqual(await ids(storage, { sessionId, workflowName: "__proto__" }), [sessionId]);
        assert.deepStrictEqual((await lineage(storage, child.id)).map((x) => x.id), [child.id, sessionId]);
      }
      assert.strictEqual(await storage.deleteSession("__proto__"), 2);
      assert.strictEqual(await storage.head("__proto__"), undefined);
      assert.strictEqual(await storage.head("constructor"), saved[3].id);
      assert.strictEqual(await storage.delete("constructor"), true);
      assert.strictEqual(await storage.head("constructor"), saved[3].id);
      assertNoPollution();
    } finally {
      for (const sessionId of KEY_SESSIONS) await storage.deleteSession(sessionId);
    }
    assertNoPollution();
  });
}
