// Durable storage across workerd lifetimes: checks that scripts/workerd.mjs (`npm run test:workerd`, row
// "workerd: durable") runs from Node against workers in Miniflare whose D1 databases and Durable Objects
// persist in a directory, so that one Miniflare can be disposed and another started on the same storage.
// For D1 and for a CheckpointObject:
// - a human-in-the-loop run started by a request, answered by a request to a new Miniflare: the
//   checkpoints chain, the outputs are right;
// - two concurrent requests resuming one head: one 200, one 409, the session one linear chain;
// - Miniflare disposed between two supersteps, and while a save is in flight: the reopened storage holds
//   only whole checkpoints in one chain, and its head resumes to the uninterrupted run's result.
import assert from "node:assert/strict";

/** A worker running in Miniflare. */
export interface RunningWorker {
  /** Sends a request; `path` is relative to the worker's origin. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Disposes the Miniflare (its storage stays in the directory). */
  dispose(): Promise<void>;
}

/** What the checks need of the harness (scripts/workerd.mjs). */
export interface DurableHarness {
  /** A new empty directory for a Miniflare's D1 and Durable Object storage. */
  persistDir(): string;
  /** examples/worker.ts, configured from examples/wrangler.toml, with `STORAGE` set. */
  example(storage: Storage, persist: string): Promise<RunningWorker>;
  /**
   * tests/workerd/crash_worker.ts. Each request of the worker to `http://gate/<what>` is passed to
   * `onGate`; when it answers `"kill"`, Miniflare is disposed before the worker hears back, and `killed`
   * resolves.
   */
  crashWorker(
    storage: Storage,
    persist: string,
    onGate?: (what: string) => "pass" | "kill",
  ): Promise<RunningWorker & { killed: Promise<void> }>;
}

export type Storage = "d1" | "durable-object";

/** One named check; it may return a detail to print. */
export interface DurableCheck {
  name: string;
  run(): Promise<string | void>;
}

interface RunBody {
  status: string;
  outputs: unknown[];
  pendingRequests: { requestId: string }[];
  checkpointId: string;
  sessionId: string;
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function ok<T>(response: Response): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as T;
}

/** The session's checkpoints, newest first, are exactly the lineage of its head: one linear chain. */
async function assertOneChain(worker: RunningWorker, sessionId: string, head: string): Promise<string[]> {
  const { checkpoints } = await ok<{ checkpoints: { id: string }[] }>(
    await worker.fetch(`/sessions/${sessionId}/checkpoints?limit=1000`),
  );
  const { lineage } = await ok<{ lineage: { id: string }[] }>(
    await worker.fetch(`/checkpoints/${head}/lineage`),
  );
  assert.equal(checkpoints[0]?.id, head, "the newest checkpoint is the head");
  assert.deepEqual(
    checkpoints.map((c) => c.id),
    lineage.map((c) => c.id),
    "the session is the head's lineage",
  );
  return lineage.map((c) => c.id);
}

/** A human-in-the-loop run across a restart, then two concurrent resumes of one head. */
function exampleChecks(harness: DurableHarness, storage: Storage): DurableCheck[] {
  const persist = harness.persistDir();
  let paused: RunBody | undefined;
  return [
    {
      name: `${storage}: an approval started by a request is answered by a new Miniflare on the same storage`,
      async run() {
        const first = await harness.example(storage, persist);
        try {
          paused = await ok<RunBody>(await first.fetch("/workflows/approval/runs", json({ input: "v2.0" })));
          assert.equal(paused.status, "idle-pending-requests");
        } finally {
          await first.dispose();
        }
        const second = await harness.example(storage, persist);
        try {
          const { requestId } = paused.pendingRequests[0];
          const done = await ok<RunBody>(
            await second.fetch(
              `/checkpoints/${paused.checkpointId}/resume`,
              json({ responses: { [requestId]: "yes" } }),
            ),
          );
          assert.equal(done.status, "idle");
          assert.deepEqual(done.outputs, [{ approved: true, draft: "Release note: v2.0" }]);
          assert.equal(done.sessionId, paused.sessionId);
          const chain = await assertOneChain(second, done.sessionId, done.checkpointId);
          assert.ok(chain.includes(paused.checkpointId), "the answer's checkpoints chain to the paused one");
          return `${chain.length} checkpoints in one chain across the restart`;
        } finally {
          await second.dispose();
        }
      },
    },
    {
      name: `${storage}: two concurrent requests resuming one head: one 200, one 409, the chain stays linear`,
      async run() {
        const worker = await harness.example(storage, persist);
        try {
          const start = await ok<RunBody>(
            await worker.fetch("/workflows/approval/runs", json({ input: "v3.0" })),
          );
          const { requestId } = start.pendingRequests[0];
          const answers = await Promise.all(
            ["yes", "no"].map((answer) =>
              worker.fetch(
                `/checkpoints/${start.checkpointId}/resume`,
                json({ responses: { [requestId]: answer } }),
              )
            ),
          );
          const statuses = answers.map((answer) => answer.status).sort();
          const bodies = await Promise.all(answers.map((answer) => answer.json()));
          assert.deepEqual(statuses, [200, 409], JSON.stringify(bodies));
          const winner = bodies[answers.findIndex((answer) => answer.status === 200)] as RunBody;
          const loser = bodies[answers.findIndex((answer) => answer.status === 409)] as { type: string };
          assert.equal(loser.type, "urn:superstep:problem:checkpoint-conflict");
          assert.equal(winner.status, "idle");
          const chain = await assertOneChain(worker, start.sessionId, winner.checkpointId);
          return `the ${
            (winner.outputs[0] as { approved: boolean }).approved ? "yes" : "no"
          } won; ${chain.length} checkpoints`;
        } finally {
          await worker.dispose();
        }
      },
    },
  ];
}

interface Inspection {
  checkpoints: { id: string; parentId: string | null; superstep: number; payload: unknown }[];
  head: string | null;
  lineage: string[];
  orphans: { orphanParts: number; shortRows: number };
}

interface CrashResult {
  status: string;
  outputs: { step: number; digest: number }[];
  checkpointId: string;
}

/**
 * Kill a run at `killAt` (a gate: `step/<n>` or `saving/<superstep>`), reopen the storage, check what it
 * holds and resume its head to the uninterrupted result. `heads` are the supersteps the head may be at.
 */
function crashCheck(
  harness: DurableHarness,
  storage: Storage,
  killAt: string,
  heads: number[],
): DurableCheck {
  return {
    name:
      `${storage}: Miniflare disposed at ${killAt}: only whole checkpoints, the head resumes to the result`,
    async run() {
      const persist = harness.persistDir();
      const sessionId = `crash-${killAt.replace("/", "-")}`;
      const doomed = await harness.crashWorker(storage, persist, (what) => what === killAt ? "kill" : "pass");
      const run = doomed.fetch("/run", json({ sessionId })).then(
        (response) => `answered ${response.status}`,
        () => "no answer",
      );
      await doomed.killed;
      assert.equal(await run, "no answer", "the run was stopped before it ended");
      const reopened = await harness.crashWorker(storage, persist);
      try {
        const reference = await ok<CrashResult & { final: unknown }>(await reopened.fetch("/reference"));
        const before = await ok<Inspection>(await reopened.fetch(`/inspect?session=${sessionId}`));
        assert.deepEqual(
          before.orphans,
          { orphanParts: 0, shortRows: 0 },
          "no part outside a whole checkpoint",
        );
        const bySuperstep = before.checkpoints.toSorted((a, b) => a.superstep - b.superstep);
        const head = bySuperstep.at(-1)!;
        assert.ok(heads.includes(head.superstep), `the head is at superstep ${head.superstep}, not ${heads}`);
        assert.deepEqual(
          bySuperstep.map((c) => c.superstep),
          bySuperstep.map((_, i) => i),
          "one per superstep",
        );
        bySuperstep.forEach((c, i) => assert.equal(c.parentId, i === 0 ? null : bySuperstep[i - 1].id));
        assert.equal(before.head, head.id);
        assert.deepEqual(before.lineage, bySuperstep.map((c) => c.id).reverse());
        const resumed = await ok<CrashResult>(await reopened.fetch("/resume", json({ sessionId })));
        assert.equal(resumed.status, "idle");
        assert.deepEqual(resumed.outputs, reference.outputs.filter((output) => output.step > head.superstep));
        const after = await ok<Inspection>(await reopened.fetch(`/inspect?session=${sessionId}`));
        const last = after.checkpoints.find((c) => c.id === resumed.checkpointId)!;
        assert.deepEqual(last.payload, reference.final, "the final state is the uninterrupted run's");
        assert.equal(after.checkpoints.length, reference.outputs.length + 1, "one checkpoint per superstep");
        assert.deepEqual(after.lineage, after.checkpoints.map((c) => c.id), "one chain, newest first");
        return `stopped with the head at superstep ${head.superstep}; resumed ${resumed.outputs.length} supersteps`;
      } finally {
        await reopened.dispose();
      }
    },
  };
}

/** Every check, for both storages. */
export function durableChecks(harness: DurableHarness): DurableCheck[] {
  return (["d1", "durable-object"] as const).flatMap((storage) => [
    ...exampleChecks(harness, storage),
    // Killed in superstep 5 before its work: checkpoints 0…4 are whole, 5 was never begun.
    crashCheck(harness, storage, "step/5", [4]),
    // Killed while the save of superstep 8 (2.5 MB, in parts) is on its way: it committed whole, or not at all.
    crashCheck(harness, storage, "saving/8", [7, 8]),
  ]);
}
