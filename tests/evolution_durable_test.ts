// Deploys that do not strand a session: v1 of a review workflow waits for a reviewer in a libSQL file (this
// process); other processes, running the versions deployed after it, answer that same wait.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import { lineage } from "../mod.ts";
import { lastJson, spawnFixture } from "./_child.ts";
import { type ReviewVersion, reviewWorkflow } from "./fixtures/evolution_workflow.ts";

const dir = mkdtempSync(join(tmpdir(), "superstep-evolution-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Report {
  ok: boolean;
  status?: string;
  outputs?: unknown[];
  checkpointId?: string;
  name?: string;
  message?: string;
  incompatibilities?: { kind: string; executorId?: string }[];
}

describe("evolution across processes, through libSQL", () => {
  test("a session v1 left waiting is answered by v2 (new route), v3 (upgraded state) and v5 (rename); v4 is refused", async () => {
    const url = pathToFileURL(join(dir, "review.sqlite")).href;
    const storage = new LibsqlCheckpointStorage({ url });
    let checkpointId: string;
    try {
      const paused = await reviewWorkflow("v1", storage).run({ title: "draft", words: 900 });
      assert.equal(paused.status, "idle-pending-requests");
      checkpointId = paused.checkpointId!;
    } finally {
      await storage.close();
    }
    const answer = async (version: ReviewVersion) =>
      lastJson<Report>(await spawnFixture("evolution_child.ts", [url, checkpointId, version, "yes"]).exited);
    const [v2, v3, v4, v5] = await Promise.all((["v2", "v3", "v4", "v5"] as const).map(answer));
    assert.deepEqual(v2, {
      ok: true,
      status: "idle",
      outputs: ["archived: published draft (900 words, 1 review)"],
      checkpointId: v2.checkpointId,
    });
    assert.deepEqual(v3.outputs, ["published draft (900 words, reviews: [yes])"]);
    assert.deepEqual(v5.outputs, ["published draft (900 words, 1 review)"]);
    assert.equal(v4.ok, false);
    assert.equal(v4.name, "CheckpointMismatchError");
    assert.deepEqual(v4.incompatibilities?.map((i) => [i.kind, i.executorId]), [
      ["missing-executor", "review"],
      ["missing-executor", "review"],
    ]);

    // Each answer forked the wait: its chain runs back through v1's checkpoints to v1's root.
    const reopened = new LibsqlCheckpointStorage({ url });
    try {
      for (const report of [v2, v3, v5]) {
        const chain = await lineage(reopened, report.checkpointId!);
        assert.ok(
          chain.some((summary) => summary.id === checkpointId),
          "the fork follows the waiting checkpoint",
        );
        assert.equal(chain.at(-1)!.parentId, null);
      }
    } finally {
      await reopened.close();
    }
  });
});
