// Crash-resume: a child process runs the 50-superstep crash workflow through a durable storage and is
// killed with SIGKILL at a random moment (before its first checkpoint, between two, or in the middle of a
// save); this process then resumes the session's head (or starts the session afresh if nothing was written)
// and finishes the run. Each trial checks that nothing was lost or doubled: the outputs after the head equal
// an uninterrupted run's, the session holds exactly one checkpoint per superstep in one unbroken chain from a
// single root, every checkpoint loads, and the KV store keeps no chunk of a save that never committed.
//
// Through a libSQL file, a KV file and a PostgreSQL database (a new one per trial, on the server of
// tests/_postgres.ts; there the check is also that every session head names a stored checkpoint).
//
// `npm test`: 3 trials per adapter. `npm run test:stress`: 100 per adapter (see tests/_stress.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { type Checkpoint, lineage, prune, type WorkflowResult } from "../mod.ts";
import { approvals } from "./fixtures/hitl_workflow.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { spawnFixture } from "./_child.ts";
import { Budget, figure, random, scale, SEED } from "./_stress.ts";
import {
  CRASH_INPUT,
  CRASH_STEPS,
  crashReference,
  crashWorkflow,
  payloadOf,
} from "./fixtures/crash_workflow.ts";
import {
  type OpenKv,
  openKv,
  openStorage,
  type OwningKvStorage,
  type StorageKind,
} from "./fixtures/open_storage.ts";
import { assertNoOrphanedChunks, assertSessionConsistent, kvKeys } from "./_kv_inspect.ts";
import { freshDatabase, usePostgres } from "./_postgres.ts";
import postgres from "postgres";

const KINDS = ["libsql", "kv", "postgres"] as const;
/** The Postgres databases this file made, dropped at the end. */
const databases: { drop(): Promise<void> }[] = [];
usePostgres(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

const dir = mkdtempSync(join(tmpdir(), "superstep-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** The uninterrupted run, in this process, in memory. */
const reference = crashReference();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function location(kind: StorageKind): Promise<string> {
  if (kind === "postgres") {
    const database = await freshDatabase(`crash_${++files}`);
    databases.push(database);
    return database.url;
  }
  const path = join(dir, `crash-${++files}.${kind === "libsql" ? "sqlite" : "kv"}`);
  return kind === "libsql" ? pathToFileURL(path).href : path;
}

/** How a test names the store of `kind`. */
function where(kind: StorageKind): string {
  return kind === "postgres" ? "postgres server" : `${kind} file`;
}

/** Postgres: every session head names a stored checkpoint; no head is left naming one that is gone. */
async function assertPostgresHeads(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const dangling = await sql`SELECT h.session_id, h.head_id FROM superstep_heads AS h
      WHERE h.head_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM superstep_checkpoints AS c WHERE c.id = h.head_id)`;
    assert.deepStrictEqual([...dangling], [], "no head names a missing checkpoint");
  } finally {
    await sql.end();
  }
}

/** Wait (at most 10 s) until no backend but this query's is connected to the database at `url`. */
async function untilNoOtherBackend(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const [{ others }] = await sql`SELECT count(*)::int AS others FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`;
      if (others === 0) return;
      await sleep(10);
    }
    throw new Error("the killed child's backend did not end within 10 s");
  } finally {
    await sql.end();
  }
}

/** How long an uninterrupted child run takes here, start to exit: the range of the random kill delays. */
async function childRunMs(kind: StorageKind): Promise<number> {
  const started = Date.now();
  const child = spawnFixture("crash_child.ts", [kind, await location(kind), "calibration"]);
  const { lines, stderr, code } = await child.exited;
  assert.strictEqual(code, 0, `the uninterrupted child failed:\n${stderr}`);
  assert.strictEqual(lines.filter((line) => line.startsWith("checkpoint ")).length, CRASH_STEPS + 1);
  return Date.now() - started;
}

type Outcome = "fresh" | "resumed" | "finished";

interface Tally {
  fresh: number;
  resumed: number;
  finished: number;
  /** KV: trials whose child left a staged, uncommitted save behind (it died in the middle of a big save). */
  staged: number;
}

/** Run `body` with a raw handle on the KV store file at `path`. */
async function withKv<T>(path: string, body: (kv: OpenKv) => Promise<T>): Promise<T> {
  const kv = await openKv(path);
  try {
    return await body(kv);
  } finally {
    kv.close();
  }
}

/** One trial: start a child, kill it at a random moment, resume, check. */
async function trial(kind: StorageKind, rng: ReturnType<typeof random>, runMs: number, tally: Tally) {
  const where = await location(kind);
  const sessionId = `crash-session-${files}`;
  const child = spawnFixture("crash_child.ts", [kind, where, sessionId]);
  if (rng.float() < 0.25) {
    // Anywhere in the child's life, startup included: often before its entry checkpoint.
    await sleep(rng.int(runMs + 1));
  } else {
    // Right after its k-th checkpoint, or a moment later: in the next superstep or the middle of its save.
    const k = rng.int(CRASH_STEPS + 1);
    await child.waitForLine((line) => line === `checkpoint ${k}`).catch(() => {});
    await sleep(rng.int(4));
  }
  child.kill();
  const exit = await child.exited;
  assert.ok(exit.signal === "SIGKILL" || exit.code === 0, `the child failed by itself:\n${exit.stderr}`);
  // A killed client's last statement may still commit on the server after the client is gone: resuming
  // before its backend has ended would race that save (a head that moves under the resume).
  if (kind === "postgres") await untilNoOtherBackend(where);

  if (kind === "kv" && (await withKv(where, (kv) => kvKeys(kv, "staging"))).length > 0) tally.staged++;
  const { outputs: expected, final } = await reference;
  const storage = await openStorage(kind, where);
  try {
    const headId = await storage.head(sessionId);
    const workflow = crashWorkflow(storage);
    let result: WorkflowResult;
    let from = 0;
    let outcome: Outcome;
    if (headId === undefined) {
      outcome = "fresh";
      result = await workflow.run(CRASH_INPUT, { sessionId });
    } else {
      const head = await storage.load(headId);
      assert.ok(head, "the head loads");
      from = head.superstep;
      outcome = from === CRASH_STEPS ? "finished" : "resumed";
      result = await workflow.resume(headId);
    }
    tally[outcome]++;
    const context = `${kind} trial killed ${
      outcome === "fresh" ? "before its entry checkpoint" : `at ${from}`
    }`;
    assert.strictEqual(result.status, "idle", context);
    assert.deepStrictEqual(result.outputs, expected.filter((output) => output.step > from), context);
    assert.strictEqual(await storage.head(sessionId), result.checkpointId, context);

    // One checkpoint per superstep, each once, in one chain from one root.
    const all = await storage.list({ sessionId });
    assert.strictEqual(all.length, CRASH_STEPS + 1, `${context}: one checkpoint per superstep`);
    const ids = new Set(all.map((summary) => summary.id));
    assert.deepStrictEqual(
      all.filter((summary) => summary.parentId === null).length,
      1,
      `${context}: one root`,
    );
    for (const summary of all) {
      if (summary.parentId !== null) assert.ok(ids.has(summary.parentId), `${context}: a parent exists`);
    }
    const chain = await lineage(storage, result.checkpointId!);
    assert.deepStrictEqual(
      chain.map((summary) => summary.superstep),
      Array.from({ length: CRASH_STEPS + 1 }, (_, i) => CRASH_STEPS - i),
      `${context}: the lineage from the head is every superstep, newest first`,
    );
    assert.deepStrictEqual(
      new Set(chain.map((summary) => summary.id)),
      ids,
      `${context}: the chain covers all`,
    );

    // No partially written checkpoint is visible: every listed one loads and decodes whole.
    for (const summary of all) {
      const checkpoint = await storage.load(summary.id);
      assert.ok(checkpoint, `${context}: ${summary.id} loads`);
      assert.strictEqual(checkpoint.parentId, summary.parentId);
    }
    assert.deepStrictEqual(payloadOf((await storage.load(result.checkpointId!))!), final, context);
  } finally {
    await storage.close();
  }
  if (kind === "kv") await withKv(where, assertNoOrphanedChunks);
  else if (kind === "postgres") await assertPostgresHeads(where);
  else {
    const client = createClient({ url: where });
    try {
      const { rows } = await client.execute("PRAGMA integrity_check");
      assert.strictEqual(rows[0][0], "ok");
    } finally {
      client.close();
    }
  }
}

describe("crash-resume: a child killed with SIGKILL at a random moment, resumed from the session head", () => {
  for (const [index, kind] of KINDS.entries()) {
    const trials = scale(3, 100);
    test(`${where(kind)}: ${trials} trials lose nothing and keep one unbroken chain`, async () => {
      const runMs = await childRunMs(kind);
      const rng = random(SEED + index);
      const budget = new Budget(trials);
      const tally: Tally = { fresh: 0, resumed: 0, finished: 0, staged: 0 };
      const started = Date.now();
      while (budget.next()) await trial(kind, rng, runMs, tally);
      figure(
        "crash",
        `${where(kind)}: ${budget.done} trials passed in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
          `(seed ${
            SEED + index
          }; killed before the entry checkpoint ${tally.fresh}, mid-run ${tally.resumed}, ` +
          `after the last ${tally.finished}` +
          (kind === "kv" ? `; mid-way through a staged save ${tally.staged}` : "") +
          `)${budget.cut ? `; time limit reached before ${budget.count}` : ""}`,
      );
    });
  }
});

/** A session of `count` checkpoints in the KV file at `where`. */
async function kvSession(where: string, sessionId: string, count: number): Promise<void> {
  const storage = await openStorage("kv", where);
  try {
    let parentId: string | null = null;
    for (let superstep = 0; superstep < count; superstep++) {
      const checkpoint = makeCheckpoint({ sessionId, parentId, superstep, state: { superstep } });
      await storage.save(checkpoint);
      parentId = checkpoint.id;
    }
  } finally {
    await storage.close();
  }
}

describe("crash: a child killed with SIGKILL in the middle of a KV deleteSession", () => {
  const trials = scale(3, 80);
  const SIZE = 120;
  test(`kv file: ${trials} trials of a ${SIZE}-checkpoint deleteSession never leave a head naming a deleted checkpoint`, async () => {
    const rng = random(SEED + 7);
    // How long an uninterrupted delete takes here: the range of the random kill delays.
    const calibration = await location("kv");
    await kvSession(calibration, "calibration", SIZE);
    const measured = spawnFixture("delete_session_child.ts", [calibration, "calibration"]);
    await measured.waitForLine((line) => line === "deleting");
    const started = Date.now();
    const whole = await measured.exited;
    assert.strictEqual(whole.code, 0, whole.stderr);
    const runMs = Date.now() - started;
    const budget = new Budget(trials);
    const tally = { untouched: 0, partial: 0, done: 0 };
    while (budget.next()) {
      const where = await location("kv");
      const sessionId = `deleted-${files}`;
      await kvSession(where, sessionId, SIZE);
      const child = spawnFixture("delete_session_child.ts", [where, sessionId]);
      await child.waitForLine((line) => line === "deleting").catch(() => {});
      await sleep(rng.int(runMs + 1));
      child.kill();
      const exit = await child.exited;
      assert.ok(exit.signal === "SIGKILL" || exit.code === 0, `the child failed by itself:\n${exit.stderr}`);
      const storage = await openStorage("kv", where);
      try {
        const left = (await storage.list({ sessionId })).length;
        tally[left === SIZE ? "untouched" : left === 0 ? "done" : "partial"]++;
        await assertSessionConsistent(storage, sessionId, `killed with ${left} of ${SIZE} left`);
        // Deleting again finishes the job.
        assert.strictEqual(await storage.deleteSession(sessionId), left);
        assert.strictEqual(await storage.head(sessionId), undefined);
        await (storage as OwningKvStorage).vacuum({ olderThanMs: 0 });
      } finally {
        await storage.close();
      }
      await withKv(where, assertNoOrphanedChunks);
    }
    figure(
      "crash",
      `kv file: ${budget.done} deleteSession runs of ${SIZE} checkpoints killed at random (seed ${
        SEED + 7
      }): ` +
        `before any delete ${tally.untouched}, midway ${tally.partial}, after all ${tally.done}; ` +
        `every head absent or loadable` + (budget.cut ? `; time limit reached before ${budget.count}` : ""),
    );
  });
});

describe("crash: a child killed with SIGKILL in the middle of a prune", () => {
  const trials = scale(2, 60);
  const SIZE = 60;
  const KEEP = 5;
  for (const kind of KINDS) {
    test(`${where(kind)}: ${trials} prunes of a ${SIZE}-checkpoint delta session, killed at random, leave every checkpoint loadable`, async () => {
      const rng = random(SEED + 11);
      const budget = new Budget(trials);
      const tally = { untouched: 0, partial: 0, done: 0 };
      while (budget.next()) {
        const at = await location(kind);
        const sessionId = `pruned-${files}`;
        // A state growing by a record per checkpoint: stored as deltas, so each delete re-bases a child.
        const saved = new Map<string, Checkpoint>();
        const writer = await openStorage(kind, at);
        try {
          let parentId: string | null = null;
          for (let superstep = 0; superstep < SIZE; superstep++) {
            const items = Array.from({ length: superstep + 1 }, (_, n) => `record ${n}`.padEnd(60, "."));
            const checkpoint = makeCheckpoint({ sessionId, parentId, superstep, state: { items } });
            await writer.save(checkpoint);
            saved.set(checkpoint.id, checkpoint);
            parentId = checkpoint.id;
          }
        } finally {
          await writer.close();
        }
        const child = spawnFixture("prune_child.ts", [kind, at, sessionId, String(KEEP)]);
        await child.waitForLine((line) => line === "pruning").catch(() => {});
        await sleep(rng.int(400));
        child.kill();
        const exit = await child.exited;
        assert.ok(
          exit.signal === "SIGKILL" || exit.code === 0,
          `the child failed by itself:\n${exit.stderr}`,
        );
        const storage = await openStorage(kind, at);
        try {
          const left = await storage.list({ sessionId });
          tally[left.length === SIZE ? "untouched" : left.length === KEEP ? "done" : "partial"]++;
          for (const summary of left) {
            assert.deepStrictEqual(
              await storage.load(summary.id),
              saved.get(summary.id),
              `left ${left.length}`,
            );
          }
          assert.strictEqual(await storage.head(sessionId), [...saved.keys()].at(-1));
          // Pruning again finishes the job.
          await prune(storage, { sessionId, keepLast: KEEP });
          const kept = await storage.list({ sessionId });
          assert.deepStrictEqual(kept.map((summary) => summary.id), [...saved.keys()].slice(-KEEP).reverse());
          for (const summary of kept) {
            assert.deepStrictEqual(await storage.load(summary.id), saved.get(summary.id));
          }
        } finally {
          await storage.close();
        }
        if (kind === "kv") await withKv(at, assertNoOrphanedChunks);
        if (kind === "postgres") await assertPostgresHeads(at);
      }
      figure(
        "crash",
        `${where(kind)}: ${budget.done} prunes of ${SIZE} delta checkpoints killed at random (seed ${
          SEED + 11
        }): ` +
          `before any delete ${tally.untouched}, midway ${tally.partial}, after all ${tally.done}; every ` +
          `checkpoint left loads exactly` + (budget.cut ? `; time limit reached before ${budget.count}` : ""),
      );
    });
  }
});

describe("crash: a child killed while the handlers of a person's answers run", () => {
  for (const kind of KINDS) {
    test(`${where(kind)}: the answers' checkpoint resumes on a fresh instance to what they lead to`, async () => {
      const where = await location(kind);
      let storage = await openStorage(kind, where);
      let paused: WorkflowResult;
      try {
        paused = await approvals(storage).run(["x", "y"]);
      } finally {
        await storage.close();
      }
      assert.equal(paused.status, "idle-pending-requests");
      const child = spawnFixture("hitl_child.ts", [
        kind,
        where,
        paused.checkpointId!,
        "yes",
        "--die-in-handler",
      ]);
      await child.waitForLine((line) => line === "in-handler");
      child.kill();
      assert.equal((await child.exited).signal, "SIGKILL");

      storage = await openStorage(kind, where);
      try {
        const headId = await storage.head(paused.sessionId);
        assert.notEqual(headId, paused.checkpointId, "the answers were written before their handlers ran");
        const head = (await storage.load(headId!))!;
        assert.equal(head.parentId, paused.checkpointId);
        assert.deepEqual(head.pendingRequests, []);
        assert.deepEqual(
          head.answers?.map(({ request, response }) => [request.requestId, response]),
          paused.pendingRequests.map((request) => [request.requestId, "yes"]),
        );
        const resumed = await approvals(storage).resume(headId!);
        assert.equal(resumed.status, "idle");
        assert.deepEqual(resumed.outputs, ["x=yes", "y=yes"]);
        assert.equal(await storage.head(paused.sessionId), resumed.checkpointId);
      } finally {
        await storage.close();
      }
    });
  }
});
