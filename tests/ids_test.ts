// Ids must be well-formed Unicode in the core too: an executor id, a workflow name, a session, checkpoint or
// request id holding a lone surrogate is refused with a TypeError where it is given, before anything runs
// (stored as UTF-8 it would become U+FFFD, and two ids would meet in one key).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";

const LONE = ["\ud800", "\udfff", "a\ud83d", "\ude00b"];

function echo(id = "echo") {
  return defineExecutor({ id, handle: (text: string, ctx) => ctx.yieldOutput(text) });
}

describe("ids in the core", () => {
  test("defineExecutor() and new WorkflowBuilder() refuse ids with a lone surrogate, and take surrogate pairs", () => {
    for (const id of LONE) {
      assert.throws(() => echo(id), TypeError, JSON.stringify(id));
      assert.throws(() => new WorkflowBuilder({ name: id, start: echo() }), TypeError, JSON.stringify(id));
    }
    const emoji = new WorkflowBuilder({ name: "w\ud83d\ude00", start: echo("e\ud83d\ude00") }).build();
    assert.deepStrictEqual(emoji.executorIds, ["e\ud83d\ude00"]);
  });

  test("run(), resume() and respond() refuse a session, checkpoint or request id with a lone surrogate, synchronously", async () => {
    const storage = new MemoryCheckpointStorage();
    const workflow = new WorkflowBuilder({ name: "w", start: echo() }).withCheckpointing(storage).build();
    for (const id of LONE) {
      assert.throws(() => workflow.run("x", { sessionId: `s${id}` }), TypeError);
      assert.throws(() => workflow.resume(`c${id}`), TypeError);
      assert.throws(() => workflow.resume("c", { responses: { [`r${id}`]: 1 } }), TypeError);
      assert.throws(() => workflow.respond({ [`r${id}`]: 1 }), TypeError);
    }
    assert.equal(workflow.isRunning, false, "nothing started");
    const result = await workflow.run("x", { sessionId: "s\ud83d\ude00" });
    assert.equal(await storage.head("s\ud83d\ude00"), result.checkpointId);
  });
});
