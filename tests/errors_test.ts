// The named errors: every error class mod.ts exports extends SuperstepError and names itself, so callers
// can catch any of them at once and tell them apart after minification.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as superstep from "../mod.ts";
import { CheckpointConflictError, StorageError, SuperstepError } from "../mod.ts";

const errorClasses = Object.entries(superstep).filter(([name]) => name.endsWith("Error")) as [
  string,
  new (...args: never[]) => Error,
][];

describe("Superstep's errors", () => {
  test("mod.ts exports every named error, each a subclass of SuperstepError", () => {
    assert.ok(errorClasses.length >= 16, `found ${errorClasses.length} error classes`);
    for (const [name, Class] of errorClasses) {
      assert.equal(typeof Class, "function", name);
      if (Class === SuperstepError) continue;
      assert.ok(Class.prototype instanceof SuperstepError, `${name} extends SuperstepError`);
    }
  });

  test("every error sets name to its class name, also when constructed with odd arguments", () => {
    for (const [name, Class] of errorClasses) {
      // Every constructor takes strings (and an optional cause or details); none may throw on them.
      const Construct = Class as unknown as new (...args: unknown[]) => Error;
      const error = name === "CheckpointConflictError"
        ? new Construct({ reason: "id-taken", checkpointId: "c", sessionId: "s", adapter: "x" })
        : new Construct("a", "b", "c");
      assert.equal(error.name, name);
      assert.ok(error instanceof SuperstepError && error instanceof Error);
    }
  });

  test("CheckpointConflictError states its facts in fields and in a message that follows STYLE", () => {
    const error = new CheckpointConflictError({
      reason: "not-head",
      checkpointId: "01JA",
      sessionId: "s1",
      expectedHead: "01JA",
      actualHead: null,
    });
    assert.equal(error.adapter, undefined);
    assert.equal(error.actualHead, null);
    assert.equal(
      error.message,
      'Cannot resume checkpoint 01JA: it is not the head of session "s1" (head is none): another writer went on ' +
        "from it. Resume the head to continue the session, or pass fork: true to branch from this checkpoint " +
        "(a fork leaves out what the other writer did)",
    );
    const cause = new Error("fetch failed", { cause: new Error("ECONNREFUSED 127.0.0.1:1") });
    const storage = new StorageError("libsql", "open the database libsql://db", { cause });
    assert.equal(storage.cause, cause);
    assert.equal(
      storage.message,
      "libsql: cannot open the database libsql://db: fetch failed (ECONNREFUSED 127.0.0.1:1)",
    );
  });
});
