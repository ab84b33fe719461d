// The libSQL adapter inside workerd: bundled for workers, `@libsql/client` resolves to its web build, which
// speaks Hrana over HTTP with the worker's fetch. The conformance suite against the emulated Hrana server
// of tests/fixtures/hrana_server.ts (scripts/workerd.mjs starts it on 127.0.0.1), then what the web build
// refuses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LibsqlCheckpointStorage } from "../../../adapters/libsql/mod.ts";
import { StorageError } from "../../../mod.ts";
import { checkpointStorageConformance, makeCheckpoint } from "../../../testing/mod.ts";
import { testEnv } from "../../workerd/env.ts";

checkpointStorageConformance(
  "libsql over Hrana HTTP, @libsql/client/web inside workerd",
  () => new LibsqlCheckpointStorage({ url: testEnv().HRANA_URL, authToken: testEnv().HRANA_TOKEN }),
  // What this run checks is the web build's transport: tests/libsql_test.ts runs the 1,000-checkpoint
  // chain through the same adapter on :memory: and on a file (on Deno, Node and Bun).
  { sharedBackend: true, chainLength: 100 },
);

describe("LibsqlCheckpointStorage inside workerd", () => {
  test("a workflow's checkpoints round-trip through the remote database", async () => {
    const { HRANA_URL, HRANA_TOKEN } = testEnv();
    const writer = new LibsqlCheckpointStorage({ url: HRANA_URL, authToken: HRANA_TOKEN });
    const reader = new LibsqlCheckpointStorage({ url: HRANA_URL, authToken: HRANA_TOKEN });
    try {
      const checkpoint = makeCheckpoint({ state: { when: new Date(0), big: 2n ** 70n } });
      await writer.save(checkpoint);
      assert.deepStrictEqual(await reader.load(checkpoint.id), checkpoint);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  test("a wrong token fails the first call with a StorageError naming the URL, not the token", async () => {
    const { HRANA_URL } = testEnv();
    const storage = new LibsqlCheckpointStorage({
      url: `${HRANA_URL}?authToken=secret-1`,
      authToken: "secret-2",
    });
    await assert.rejects(storage.head("x"), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.ok(error.message.startsWith(`libsql: cannot open the database ${HRANA_URL}: `), error.message);
      assert.doesNotMatch(error.message, /secret-/);
      return true;
    });
  });

  test("file: URLs are refused: the web build has no local SQLite (workerd has no files)", async () => {
    const storage = new LibsqlCheckpointStorage({ url: "file:checkpoints.db" });
    await assert.rejects(storage.head("x"), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.match(String((error.cause as Error)?.message), /file/i);
      return true;
    });
  });
});
