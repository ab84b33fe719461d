// The real-queue case of KvWakeups, for the runtimes whose KV has a queue: Deno's own KV, and @deno/kv on Node
// (with its default V8 value encoding, which queue messages need; Bun's serializer is not V8's, so @deno/kv's
// queue cannot run there). A run's timer is enqueued, delivered when due and woken by a recover pass.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KvCheckpointStorage, type KvQueue, KvWakeups } from "../adapters/kv/mod.ts";
import {
  type CheckpointStorage,
  defineExecutor,
  listSessions,
  type RecoverResult,
  sleepUntil,
  WorkflowBuilder,
} from "../mod.ts";
import { openKv } from "./fixtures/open_storage.ts";

/** Sleeps until `due`, then yields what woke it. */
export function reminder(storage: CheckpointStorage, due: () => Date) {
  const remind = defineExecutor({
    id: "remind",
    handle: async (who: string, ctx) => void await sleepUntil(ctx, due(), { who }),
    onResponse: async (_fired: unknown, request, ctx) =>
      await ctx.yieldOutput(`remind ${(request.data as { data: { who: string } }).data.who}`),
  });
  return new WorkflowBuilder({ name: "reminder", start: remind }).withCheckpointing(storage).build();
}

/** Register the case, with `openQueue` opening a KV database whose queue works on this runtime. */
export function queueCase(openQueue: (path: string) => Promise<KvQueue & { close(): void }>): void {
  const dir = mkdtempSync(join(tmpdir(), "superstep-wakeups-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  describe("KvWakeups on a real KV queue", () => {
    test("a run's timer is enqueued and woken by a recover pass when the queue delivers it", async () => {
      const kv = await openKv(join(dir, "store.db"));
      const queue = await openQueue(join(dir, "queue.db"));
      const storage = new KvCheckpointStorage({ kv });
      const due = () => new Date(Date.now() + 30);
      const passes: RecoverResult[] = [];
      let resolveWoken!: () => void;
      const woken = new Promise<void>((resolve) => resolveWoken = resolve);
      const wakeups = new KvWakeups({
        kv: queue,
        storage,
        workflows: [reminder(storage, due)],
        owner: "host-1",
        onWake: (result) => {
          passes.push(result);
          if (result.resumed.length > 0) resolveWoken();
        },
      });
      const listening = wakeups.listen();
      try {
        const paused = await reminder(storage, due).run("ana", {
          sessionId: "s",
          plugins: [wakeups.plugin],
        });
        assert.equal(paused.status, "idle-pending-requests");
        await woken;
        assert.deepEqual(passes.flatMap((pass) => pass.resumed), ["s"]);
        const [session] = await listSessions(storage);
        assert.equal(session.status, "completed");
      } finally {
        queue.close();
        kv.close();
        await listening.catch(() => {});
      }
    });
  });
}
