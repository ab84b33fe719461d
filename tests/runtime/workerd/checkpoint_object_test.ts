// A Worker's checkpoints in a CheckpointObject (CheckpointObjectStorage → one request per call → the
// object's SQLite), inside workerd: the conformance suite with a fresh object per storage, then the
// protocol — errors crossing it keep their class and facts, the object refuses what is not a call, the
// object's failures are StorageErrors in the Worker.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CheckpointObjectStorage } from "../../../adapters/durable_object/mod.ts";
import { SCHEMA_VERSION } from "../../../adapters/_sqlite/_schema.ts";
import { CLOUDFLARE_MAX_ROW_BYTES } from "../../../adapters/_sqlite/_payload.ts";
import { encodeForStorage } from "../../../src/storage_kit.ts";
import {
  CheckpointConflictError,
  CheckpointCorruptError,
  StorageError,
  StorageSchemaError,
} from "../../../mod.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../../../testing/mod.ts";
import { scratchObject, testEnv } from "../../workerd/env.ts";
import { assertStoredInParts, bigState } from "./_parts.ts";
import { assertResumeCopy, waitingSession } from "../../_resume_copy.ts";

// A fresh object per storage: two storages never see each other's checkpoints (not sharedBackend).
checkpointStorageConformance(
  "durable-object, a CheckpointObject from a Worker",
  () => new CheckpointObjectStorage({ namespace: testEnv().CHECKPOINTS, name: crypto.randomUUID() }),
  // What this run checks is the protocol between Worker and object: the deltas are made by the same
  // SqliteCheckpointStorage and stored by the same SqlStore as DurableObjectCheckpointStorage's, which
  // durable_object_test.ts runs the 1,000-checkpoint chain on.
  { chainLength: 100 },
);

/** Posts `body` to the object as JSON (or as it is, if a string). */
async function post(
  body: unknown,
  init: RequestInit = {},
): Promise<{ status: number; body: { error: { name: string; message: string } } }> {
  const { stub } = scratchObject();
  const response = await stub.fetch("https://o/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  return { status: response.status, body: await response.json() };
}

describe("CheckpointObjectStorage and CheckpointObject", () => {
  test("the same name reaches the same object from every storage; another name another object", async () => {
    const { CHECKPOINTS } = testEnv();
    const name = crypto.randomUUID();
    const one = new CheckpointObjectStorage({ namespace: CHECKPOINTS, name });
    const two = new CheckpointObjectStorage({ stub: CHECKPOINTS.get(CHECKPOINTS.idFromName(name)) });
    const other = new CheckpointObjectStorage({ namespace: CHECKPOINTS, name: `${name}-other` });
    const checkpoint = makeCheckpoint();
    await one.save(checkpoint);
    assert.deepStrictEqual(await two.load(checkpoint.id), checkpoint);
    assert.strictEqual(await other.load(checkpoint.id), undefined);
  });

  test("a conflict crosses the protocol as a CheckpointConflictError with its facts", async () => {
    const storage = new CheckpointObjectStorage({ stub: scratchObject().stub });
    const root = makeCheckpoint();
    await storage.save(root);
    const child = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id });
    await storage.save(child);
    const late = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id });
    await assert.rejects(storage.save(late), (error: unknown) => {
      assert.ok(error instanceof CheckpointConflictError, String(error));
      assert.deepStrictEqual(
        [error.reason, error.adapter, error.checkpointId, error.expectedHead, error.actualHead],
        ["head-moved", "durable-object", late.id, root.id, child.id],
      );
      return true;
    });
  });

  test("a chain of deltas loads in two calls to the object, exactly, at every depth", async () => {
    const { stub } = scratchObject();
    const writer = new CheckpointObjectStorage({ stub });
    const chain = [];
    for (let i = 0, parentId: string | null = null; i < 40; i++) {
      const items = Array.from({ length: i + 1 }, (_, n) => `record ${n}`.padEnd(40, "."));
      const checkpoint = makeCheckpoint({ sessionId: "chain", parentId, superstep: i, state: { items } });
      await writer.save(checkpoint);
      chain.push(checkpoint);
      parentId = checkpoint.id;
    }
    let calls = 0;
    const counting = {
      fetch: (input: string, init?: RequestInit) => (calls++, stub.fetch(input, init)),
    };
    for (const checkpoint of chain) {
      const reader = new CheckpointObjectStorage({ stub: counting });
      calls = 0;
      assert.deepStrictEqual(await reader.load(checkpoint.id), checkpoint);
      assert.ok(calls <= 2, `checkpoint ${checkpoint.superstep}: ${calls} calls`);
    }
  });

  test("a waiting head is stored whole beside its delta: one call to the object loads it", async () => {
    const { sql, stub } = scratchObject();
    await assertResumeCopy(() => new CheckpointObjectStorage({ stub }), sql);
    const head = (await waitingSession(new CheckpointObjectStorage({ stub }))).at(-1)!;
    let calls = 0;
    const counting = { fetch: (input: string, init?: RequestInit) => (calls++, stub.fetch(input, init)) };
    assert.deepStrictEqual(await new CheckpointObjectStorage({ stub: counting }).load(head.id), head);
    assert.strictEqual(calls, 1);
  });

  test("a payload over the row cap is sent and stored in parts, and loads whole in the Worker", async () => {
    const { sql, stub } = scratchObject();
    const storage = new CheckpointObjectStorage({ stub });
    const checkpoint = makeCheckpoint({ state: bigState(3_000_000) });
    await storage.save(checkpoint);
    assert.deepStrictEqual(await storage.load(checkpoint.id), checkpoint);
    await assertStoredInParts(sql, checkpoint.id, CLOUDFLARE_MAX_ROW_BYTES);
    await sql("DELETE FROM superstep_payload_chunks WHERE checkpoint_id = ?1 AND seq = 0", checkpoint.id);
    await assert.rejects(storage.load(checkpoint.id), (error: unknown) => {
      assert.ok(error instanceof CheckpointCorruptError, String(error));
      assert.strictEqual(error.sessionId, checkpoint.sessionId);
      assert.match(error.message, /durable-object: its payload has 3 of 4 parts/);
      return true;
    });
  });

  test("an object migrated by a newer Superstep answers StorageSchemaError, with its versions", async () => {
    // A database a newer Superstep migrated, before this version's CheckpointObject first opens it.
    const fresh = scratchObject();
    await fresh.sql(
      "CREATE TABLE superstep_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)",
    );
    await fresh.sql("INSERT INTO superstep_migrations (version, applied_at) VALUES (?1, ?2)", 99, "now");
    await assert.rejects(
      new CheckpointObjectStorage({ stub: fresh.stub }).save(makeCheckpoint()),
      (error: unknown) => {
        assert.ok(error instanceof StorageSchemaError, String(error));
        assert.deepStrictEqual([error.storedVersion, error.supportedVersion], [99, SCHEMA_VERSION]);
        assert.match(error.message, /^durable-object: cannot use the storage: its schema version 99/);
        return true;
      },
    );
  });

  test("the object refuses what is not a call: 400, 405, 415, each with a named error", async () => {
    const { summary, payload, index: { status, requestsJson } } = encodeForStorage("t", makeCheckpoint());
    const rows = { summary, payload, index: { status, requestsJson } };
    const cases: [unknown, number, RegExp][] = [
      [{ superstep: 1, op: "head", sessionId: "s" }, 400, /protocol version 1 is not 4/],
      [{ superstep: 4, op: "drop", id: "x" }, 400, /unknown op "drop"/],
      [{ superstep: 4, op: "load" }, 400, /invalid id undefined/],
      [{ superstep: 4, op: "head", sessionId: "\ud800" }, 400, /lone surrogate/],
      [{ superstep: 4, op: "list", query: { limit: 0 } }, 400, /limit must be a positive integer/],
      [{ superstep: 4, op: "list", query: [] }, 400, /query must be an object/],
      [{ superstep: 4, op: "save", rows: { summary: {}, payload: "x" } }, 400, /summary is not valid/],
      [{ superstep: 4, op: "bases", id: "x", count: 0 }, 400, /count must be a positive integer/],
      [{ superstep: 4, op: "save", rows: { ...rows, copy: 5 } }, 400, /resume copy must be text/],
      [{ superstep: 4, op: "save", rows: { ...rows, dropCopy: "\ud800" } }, 400, /lone surrogate/],
      ["{not json", 415, /not JSON/],
    ];
    for (const [body, status, message] of cases) {
      const answer = await post(body);
      assert.strictEqual(answer.status, status, JSON.stringify(body));
      assert.match(answer.body.error.message, message);
      assert.match(answer.body.error.name, /^(TypeError|RangeError)$/);
    }
    const get = await scratchObject().stub.fetch("https://o/", { method: "GET" });
    assert.strictEqual(get.status, 405);
    assert.strictEqual(get.headers.get("allow"), "POST");
  });

  test("an object that cannot answer is a StorageError in the Worker, naming the operation", async () => {
    const broken = new CheckpointObjectStorage({
      stub: { fetch: () => Promise.resolve(new Response("<html>bad gateway</html>", { status: 502 })) },
    });
    await assert.rejects(broken.head("s1"), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.strictEqual(error.adapter, "durable-object");
      assert.strictEqual(
        error.message,
        "durable-object: cannot read the head of session s1: the object answered 502 without JSON",
      );
      return true;
    });
    const down = new CheckpointObjectStorage({
      stub: { fetch: () => Promise.reject(new Error("object reset")) },
    });
    await assert.rejects(down.list(), {
      name: "StorageError",
      message: /cannot list checkpoints: object reset/,
    });
  });

  test("the constructor refuses anything but { namespace, name } or { stub }", () => {
    const { CHECKPOINTS } = testEnv();
    const refused: unknown[] = [
      undefined,
      {},
      { namespace: CHECKPOINTS },
      { namespace: CHECKPOINTS, name: "" },
      { namespace: CHECKPOINTS, name: 7 },
      { namespace: {}, name: "a" },
      { stub: {} },
      { stub: CHECKPOINTS.get(CHECKPOINTS.idFromName("a")), namespace: CHECKPOINTS, name: "a" },
    ];
    for (const options of refused) {
      assert.throws(() => new CheckpointObjectStorage(options as never), {
        name: "TypeError",
        message: /^durable-object: cannot create the storage: /,
      });
    }
  });
});
