// Sub-workflows through the durable adapters: a request two sub-workflows down, paused in this process, is
// answered in another process through a libSQL or KV file; then every checkpoint of the whole run — the
// inner runs' state inside the outer checkpoints — resumes on a fresh instance here to the same end.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type CheckpointStorage, lineage, MemoryCheckpointStorage, type WorkflowResult } from "../mod.ts";
import { lastJson, spawnFixture } from "./_child.ts";
import { type ChildReport, nestedApprovals } from "./fixtures/hitl_workflow.ts";
import { openStorage } from "./fixtures/open_storage.ts";

const dir = mkdtempSync(join(tmpdir(), "superstep-nested-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXPECTED = ["review:desk:x=yes", "review:desk:y=yes"];

/** Answer "yes" to every request until the run is over; every call's result, in order. */
async function answerYes(storage: CheckpointStorage, first: WorkflowResult<string>) {
  const calls = [first];
  for (let last = first; last.status === "idle-pending-requests"; calls.push(last)) {
    const responses = Object.fromEntries(last.pendingRequests.map((r) => [r.requestId, "yes"]));
    last = await nestedApprovals(storage).resume(last.checkpointId!, { responses });
  }
  return calls;
}

/** The uninterrupted run in memory: each checkpoint's superstep, and how many outputs came before it. */
async function reference(): Promise<{ superstep: number; before: number }[]> {
  const storage = new MemoryCheckpointStorage();
  const calls = await answerYes(storage, await nestedApprovals(storage).run(["x", "y"]));
  const checkpoints: { superstep: number; before: number }[] = [];
  let count = 0;
  for (const event of calls.flatMap((call) => call.events)) {
    if (event.type === "output") count++;
    if (event.type === "superstep-completed") checkpoints.push({ superstep: event.superstep, before: count });
  }
  assert.deepEqual(calls.flatMap((call) => call.outputs), EXPECTED);
  return checkpoints;
}

describe("sub-workflows through durable storage, across processes", () => {
  for (const kind of ["libsql", "kv"] as const) {
    test(`${kind} file: a request two levels down is answered in another process; every outer checkpoint resumes to the same end`, async () => {
      const path = join(dir, `nested.${kind === "libsql" ? "sqlite" : "kv"}`);
      const location = kind === "libsql" ? pathToFileURL(path).href : path;
      let storage = await openStorage(kind, location);
      let paused: WorkflowResult<string>;
      try {
        paused = await nestedApprovals(storage).run(["x", "y"]);
      } finally {
        await storage.close();
      }
      assert.equal(paused.status, "idle-pending-requests");
      assert.deepEqual(paused.pendingRequests.map((request) => request.path), [
        ["review", "approve", "ask"],
        ["review", "approve", "ask"],
      ]);
      assert.deepEqual(paused.pendingRequests.map((request) => request.data), [{ item: "x" }, { item: "y" }]);

      const child = spawnFixture("hitl_child.ts", [kind, location, paused.checkpointId!, "yes", "--nested"]);
      const report = lastJson<ChildReport>(await child.exited);
      assert.ok(report.ok, JSON.stringify(report));
      assert.equal(report.status, "idle");
      assert.deepEqual(report.outputs, EXPECTED);

      storage = await openStorage(kind, location);
      try {
        assert.equal(await storage.head(paused.sessionId), report.checkpointId);
        const chain = (await lineage(storage, report.checkpointId!)).reverse();
        assert.equal(chain[0].parentId, null);
        const expected = await reference();
        assert.deepEqual(
          chain.map((c) => c.superstep),
          expected.map((c) => c.superstep),
          "the same checkpoints",
        );
        let resumes = 0;
        for (const [index, summary] of chain.entries()) {
          const calls = await answerYes(
            storage,
            await nestedApprovals(storage).resume(summary.id, { fork: true }),
          );
          const outputs = calls.flatMap((call) => call.outputs);
          assert.deepEqual(
            [...EXPECTED.slice(0, expected[index].before), ...outputs],
            EXPECTED,
            `from ${summary.id}`,
          );
          resumes++;
        }
        assert.ok(resumes >= 4, `${resumes} checkpoints`);
      } finally {
        await storage.close();
      }
    });
  }
});
