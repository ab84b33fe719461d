// Property: a random change of a random workflow graph — a tap added or removed, an executor renamed
// (the rename mapped or not), a stateful executor's version bumped (with an upgrade or not) — resumes a
// random checkpoint of a run (sub-workflows and their waiting requests included) to the changed graph's
// result, or is refused by a CheckpointMismatchError naming exactly what the change broke: never another
// error, never a silent loss. Fixed seed in `npm test`; random (printed) under `npm run test:stress`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Checkpoint,
  CheckpointMismatchError,
  MemoryCheckpointStorage,
  type WorkflowResult,
} from "../mod.ts";
import {
  answerUntilDone,
  buildWorkflow,
  graphSpecArb,
  type GraphVariant,
  outerIds,
  statefulNodeIds,
} from "./_random_workflow.ts";
import { figure, scale, SEED, TIME_LIMIT_MS } from "./_stress.ts";

type EditKind =
  | "add-tap"
  | "remove-tap"
  | "rename-mapped"
  | "rename-unmapped"
  | "bump-upgrade"
  | "bump-plain";

/** Whether `checkpoint` references executor `id`: a message from or to it, its state, a request or buffer of it. */
function references(checkpoint: Checkpoint, id: string): boolean {
  return checkpoint.messages.some((m) => m.source === id || m.to === id) ||
    Object.hasOwn(checkpoint.executorState, id) ||
    [...checkpoint.pendingRequests, ...(checkpoint.answers ?? []).map((a) => a.request)]
      .some((r) => r.executorId === id) ||
    Object.keys(checkpoint.edgeState).some((edge) => edge.includes(JSON.stringify(id)));
}

describe("property: resuming a random checkpoint on a changed graph", () => {
  const runs = scale(60, 1500);
  test(`a deploy's change resumes a checkpoint to the changed graph's result, or refuses it naming why (${runs} graphs)`, async () => {
    const tally = { runs: 0, resumed: 0, refused: 0 };
    const arb = fc.record({
      spec: graphSpecArb,
      kind: fc.constantFrom<EditKind>(
        "add-tap",
        "remove-tap",
        "rename-mapped",
        "rename-unmapped",
        "bump-upgrade",
        "bump-plain",
      ),
      at: fc.nat(),
      pick: fc.nat(),
      stateful: fc.boolean(),
    });
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(arb, async ({ spec, kind, at, pick, stateful }) => {
        tally.runs++;
        const ids = kind.startsWith("bump") ? statefulNodeIds(spec) : outerIds(spec);
        if (ids.length === 0) return;
        const target = ids[at % ids.length];
        const renamed = `${target}-renamed`;
        let before: GraphVariant = {};
        let after: GraphVariant = {};
        if (kind === "add-tap") after = { tap: { after: target, stateful } };
        if (kind === "remove-tap") before = { tap: { after: target, stateful } };
        if (kind.startsWith("rename")) {
          after = { rename: { from: target, to: renamed, mapped: kind === "rename-mapped" } };
        }
        if (kind.startsWith("bump")) after = { bump: { id: target, upgrade: kind === "bump-upgrade" } };

        const storage = new MemoryCheckpointStorage();
        const first = await buildWorkflow(spec, storage, before).run(spec.inputs);
        const calls = await answerUntilDone(spec, storage, first, before);
        const outputs = calls.flatMap((call) => call.outputs);
        const checkpoints: { id: string; before: number }[] = [];
        let count = 0;
        for (const event of calls.flatMap((call) => call.events)) {
          if (event.type === "output") count++;
          if (event.type === "superstep-completed") {
            checkpoints.push({ id: event.checkpointId!, before: count });
          }
        }
        const chosen = checkpoints[pick % checkpoints.length];
        const checkpoint = (await storage.load(chosen.id))!;
        const isTap = (output: unknown) => Array.isArray(output) && output[0] === "tap";
        const mapId = (output: unknown) =>
          Array.isArray(output) ? output.map((part) => part === target ? renamed : part) : output;
        const expected = outputs.slice(chosen.before).filter((output) => !isTap(output))
          .map(kind.startsWith("rename") ? mapId : (output) => output);
        const mustRefuse = kind === "remove-tap"
          ? stateful
          : kind === "rename-unmapped"
          ? references(checkpoint, target)
          : kind === "bump-plain"
          ? Object.hasOwn(checkpoint.executorState, target)
          : false;

        let resumed: WorkflowResult[];
        try {
          const again = await buildWorkflow(spec, storage, after).resume(chosen.id, { fork: true });
          resumed = await answerUntilDone(spec, storage, again, after);
        } catch (error) {
          if (!(error instanceof CheckpointMismatchError)) throw error;
          assert.ok(mustRefuse, `${kind} of "${target}" at ${chosen.id} was refused: ${error.message}`);
          assert.ok(error.incompatibilities.length > 0);
          const named = kind === "remove-tap" ? "tap" : target;
          for (const incompatibility of error.incompatibilities) {
            const about = incompatibility.executorId ?? incompatibility.edgeId ?? "";
            assert.ok(
              about === named || about.includes(JSON.stringify(named)),
              `${kind}: an incompatibility about "${about}", not "${named}": ${incompatibility.message}`,
            );
          }
          if (kind === "bump-plain") {
            assert.deepEqual(error.incompatibilities.map((i) => i.kind), ["version-changed"]);
          }
          tally.refused++;
          return;
        }
        assert.ok(
          !mustRefuse,
          `${kind} of "${target}" at ${chosen.id} resumed, but the checkpoint references it`,
        );
        const got = resumed.flatMap((call) => call.outputs);
        assert.deepStrictEqual(got.filter((output) => !isTap(output)), expected, `${kind} of "${target}"`);
        assert.strictEqual(resumed.at(-1)!.status, "idle");
        tally.resumed++;
      }),
      { seed: SEED, numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
    figure(
      "property",
      `resume on a changed graph: ${tally.runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(seed ${SEED}): ${tally.resumed} resumed to the changed graph's result, ${tally.refused} refused`,
    );
  });
});
