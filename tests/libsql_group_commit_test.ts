// Group commit in the libSQL adapter (adapters/_sqlite/_group_commit.ts): concurrent saves share one write
// transaction, each keeping its own compare-and-set, each resolving once that transaction committed, and a
// failed transaction failing only the saves that fail alone.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { CheckpointConflictError, StorageError } from "../mod.ts";
import { makeCheckpoint } from "../testing/make_checkpoint.ts";

const dir = mkdtempSync(join(tmpdir(), "superstep-group-commit-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A client on a new file whose write batches are counted (and can be made to fail). */
function watchedClient(fail?: (statements: { args?: unknown[] }[]) => boolean) {
  const url = `file:${join(dir, `db-${++files}.db`)}`;
  const client = createClient({ url });
  const batches: number[] = [];
  const watched = new Proxy(client, {
    get(target, key) {
      if (key === "batch") {
        return (statements: { args?: unknown[] }[], mode: string) => {
          batches.push(statements.length);
          if (fail?.(statements)) return Promise.reject(new Error("injected failure"));
          return target.batch(statements as Parameters<Client["batch"]>[0], mode as "write");
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Client;
  return { client: watched, url, batches };
}

/** Whether a save's statements are those of checkpoint `id`. */
const savesId = (id: string) => (statements: { args?: unknown[] }[]) =>
  statements.some((statement) => statement.args?.[1] === id);

describe("LibsqlCheckpointStorage group commit", () => {
  test("saves started together share one write transaction, and each is durable when it resolves", async () => {
    const { client, url, batches } = watchedClient();
    const storage = new LibsqlCheckpointStorage({ client });
    await storage.head("open-and-migrate");
    batches.length = 0;
    const checkpoints = Array.from({ length: 20 }, () => makeCheckpoint());
    const other = createClient({ url });
    try {
      await Promise.all(checkpoints.map(async (checkpoint) => {
        await storage.save(checkpoint);
        // Resolved: committed, so another connection to the file sees it.
        const { rows } = await other.execute({
          sql: "SELECT head_id FROM superstep_heads WHERE session_id = ?",
          args: [checkpoint.sessionId],
        });
        assert.equal(rows[0]?.head_id, checkpoint.id);
      }));
      assert.equal(batches.length, 1, `write batches: ${batches.join(", ")}`);
      for (const checkpoint of checkpoints) {
        assert.deepEqual((await storage.load(checkpoint.id))?.id, checkpoint.id);
        assert.equal(await storage.head(checkpoint.sessionId), checkpoint.id);
      }
    } finally {
      other.close();
      await storage.close();
      client.close();
    }
  });

  test("the head compare-and-set holds per session inside one transaction: one of two children wins", async () => {
    const { client, batches } = watchedClient();
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      const root = makeCheckpoint();
      await storage.save(root);
      batches.length = 0;
      const a = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id });
      const b = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id });
      const elsewhere = makeCheckpoint();
      const outcomes = await Promise.allSettled([storage.save(a), storage.save(b), storage.save(elsewhere)]);
      assert.equal(batches.length, 1);
      assert.equal(outcomes[0].status, "fulfilled");
      assert.equal(outcomes[2].status, "fulfilled");
      assert.equal(outcomes[1].status, "rejected");
      const error = (outcomes[1] as PromiseRejectedResult).reason;
      assert.ok(error instanceof CheckpointConflictError, String(error));
      assert.equal(error.actualHead, a.id);
      assert.equal(await storage.head(root.sessionId), a.id);
      assert.equal(await storage.load(b.id), undefined);
      assert.equal(await storage.head(elsewhere.sessionId), elsewhere.id);
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("a failed transaction runs its saves again alone: only the save that fails alone fails", async () => {
    const bad = makeCheckpoint();
    const { client, batches } = watchedClient(savesId(bad.id));
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      await storage.head("open-and-migrate");
      batches.length = 0;
      const good = Array.from({ length: 4 }, () => makeCheckpoint());
      const outcomes = await Promise.allSettled([...good, bad].map((checkpoint) => storage.save(checkpoint)));
      // One shared transaction (failed), then each save alone.
      assert.equal(batches.length, 1 + 5);
      for (const outcome of outcomes.slice(0, 4)) assert.equal(outcome.status, "fulfilled");
      const failed = outcomes[4];
      assert.equal(failed.status, "rejected");
      assert.ok((failed as PromiseRejectedResult).reason instanceof StorageError);
      for (const checkpoint of good) assert.equal(await storage.head(checkpoint.sessionId), checkpoint.id);
      assert.equal(await storage.head(bad.sessionId), undefined);
      assert.equal(await storage.load(bad.id), undefined);
    } finally {
      await storage.close();
      client.close();
    }
  });

  test("a save after a transaction started joins the next one, and a lone save is one transaction", async () => {
    const { client, batches } = watchedClient();
    const storage = new LibsqlCheckpointStorage({ client });
    try {
      await storage.head("open-and-migrate");
      batches.length = 0;
      const first = makeCheckpoint();
      await storage.save(first);
      assert.deepEqual(batches.length, 1);
      const next = makeCheckpoint({ sessionId: first.sessionId, parentId: first.id });
      await storage.save(next);
      assert.equal(batches.length, 2);
      assert.equal(await storage.head(first.sessionId), next.id);
    } finally {
      await storage.close();
      client.close();
    }
  });
});
