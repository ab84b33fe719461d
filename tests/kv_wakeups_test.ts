// Durable timers woken by KV queues (adapters/kv/wakeups.ts), on a recording queue: a wake-up delivered early
// comes back; other messages are left alone; bad options are refused. A real queue: tests/_kv_wakeups_queue.ts,
// run by tests/runtime/deno_kv_wakeups_test.ts and node_kv_wakeups_test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type KvQueue, KvWakeups } from "../adapters/kv/mod.ts";
import { reminder } from "./_kv_wakeups_queue.ts";
import { MemoryCheckpointStorage } from "../mod.ts";

describe("KvWakeups", () => {
  test("a wake-up delivered before its time (by this clock) wakes nothing and is enqueued again", async () => {
    const sent: { value: unknown; delay?: number }[] = [];
    const queue: KvQueue = {
      enqueue: (value, options) => Promise.resolve(void sent.push({ value, delay: options?.delay })),
      listenQueue: () => Promise.resolve(),
    };
    const storage = new MemoryCheckpointStorage();
    const DUE = new Date("2030-01-04T09:00:00.000Z");
    let now = DUE.getTime() - 5_000;
    const clock = () => now;
    await reminder(storage, () => DUE).run("ana", { sessionId: "s" });
    const wakeups = new KvWakeups({
      kv: queue,
      storage,
      workflows: [reminder(storage, () => DUE)],
      owner: "h",
      clock,
    });
    await wakeups.schedule(DUE);
    assert.deepEqual(sent, [{ value: { "superstep:wake": DUE.toISOString() }, delay: 5_000 }]);
    const early = await wakeups.handle(sent[0].value);
    assert.deepEqual(early, { resumed: [], busy: [], failed: [] });
    assert.deepEqual(sent[1], { value: { "superstep:wake": DUE.toISOString() }, delay: 5_000 });
    now = DUE.getTime() + 1;
    const due = await wakeups.handle(sent[1].value);
    assert.deepEqual(due?.resumed, ["s"]);
    assert.equal(sent.length, 2, "a wake-up on time is not enqueued again");
  });

  test("other messages are left alone; a queue-less kv, an empty owner and a bad time are refused", async () => {
    const queue: KvQueue = { enqueue: () => Promise.resolve(), listenQueue: () => Promise.resolve() };
    const storage = new MemoryCheckpointStorage();
    const wakeups = new KvWakeups({ kv: queue, storage, workflows: [], owner: "h" });
    for (const message of ["hello", null, 42, { "superstep:wake": 1 }, { other: true }]) {
      assert.equal(await wakeups.handle(message), undefined);
    }
    assert.throws(() => new KvWakeups({ kv: {} as KvQueue, storage, workflows: [], owner: "h" }), TypeError);
    assert.throws(() => new KvWakeups({ kv: queue, storage, workflows: [], owner: "" }), TypeError);
    await assert.rejects(wakeups.schedule("soon"), TypeError);
  });
});
