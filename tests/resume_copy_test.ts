// Resume copies in the adapters that keep them: the head a session waits at is stored whole beside its
// delta payload and a cold storage loads it without its chain (shown by damaging the chain: the waiting
// head still loads, a checkpoint without a copy does not); the save that answers it clears the copy.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { assertResumeCopy, waitingSession } from "./_resume_copy.ts";

const dir = mkdtempSync(join(tmpdir(), "superstep-copy-"));
let files = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

describe("resume copies: libSQL", () => {
  test("a waiting head is stored whole beside its delta and loads cold without its chain", async () => {
    const url = pathToFileURL(join(dir, `copy-${++files}.sqlite`)).href;
    const opened: LibsqlCheckpointStorage[] = [];
    const raw = createClient({ url });
    try {
      await assertResumeCopy(
        () => (opened.push(new LibsqlCheckpointStorage({ url })), opened.at(-1)!),
        async (sql, ...args) => (await raw.execute({ sql, args: args as never })).rows,
      );
    } finally {
      raw.close();
      for (const storage of opened) await storage.close();
    }
  });

  test("a copy whose payload was rewritten (its base deleted) is cleared, and the head loads from its keyframe", async () => {
    const url = pathToFileURL(join(dir, `copy-${++files}.sqlite`)).href;
    const storage = new LibsqlCheckpointStorage({ url });
    const chain = await waitingSession(storage);
    const head = chain.at(-1)!;
    const raw = createClient({ url });
    try {
      const { rows } = await raw.execute({
        sql: "SELECT base_id FROM superstep_checkpoints WHERE id = ?",
        args: [head.id],
      });
      assert.equal(await storage.delete(String(rows[0].base_id)), true);
      const after = await raw.execute({
        sql: "SELECT copy, base_id, substr(payload, 1, 8) AS start FROM superstep_checkpoints WHERE id = ?",
        args: [head.id],
      });
      assert.deepEqual([after.rows[0].copy, after.rows[0].base_id, after.rows[0].start], [
        null,
        null,
        '~2{"b":n',
      ]);
      assert.deepEqual(await new LibsqlCheckpointStorage({ url }).load(head.id), head);
    } finally {
      raw.close();
      await storage.close();
    }
  });
});
