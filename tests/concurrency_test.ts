// Concurrent writers across processes: eight child processes load the same session head, wait until all are
// ready, then resume it at the same moment (each answering the pending request differently). Exactly one
// extends the session; the other seven fail with CheckpointConflictError, write nothing, and the session
// stays one linear chain ending in the winner's checkpoints.
//
// Through a libSQL file, a KV file and a PostgreSQL database (a new one per round, on the server of
// tests/_postgres.ts).
//
// `npm test`: one round per adapter. `npm run test:stress`: 20 rounds per adapter (see tests/_stress.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { lineage } from "../mod.ts";
import { lastJson, spawnFixture } from "./_child.ts";
import { Budget, figure, scale } from "./_stress.ts";
import { approvals, type ChildReport } from "./fixtures/hitl_workflow.ts";
import { openStorage, type StorageKind } from "./fixtures/open_storage.ts";
import { freshDatabase, usePostgres } from "./_postgres.ts";

const WRITERS = 8;
const KINDS = ["libsql", "kv", "postgres"] as const;
usePostgres();
const dir = mkdtempSync(join(tmpdir(), "superstep-concurrency-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A new, empty store of `kind`: its location, and how to remove it. */
async function freshStore(
  kind: StorageKind,
  label: string,
): Promise<{ location: string; remove(): Promise<void> }> {
  if (kind === "postgres") {
    const database = await freshDatabase(label);
    return { location: database.url, remove: database.drop };
  }
  const path = join(dir, `${label}-${++files}.${kind === "libsql" ? "sqlite" : "kv"}`);
  return { location: kind === "libsql" ? pathToFileURL(path).href : path, remove: () => Promise.resolve() };
}

interface Tally {
  /** Losers that failed the head compare-and-set of their first save. */
  atSave: number;
  /** Losers that found the head moved already when their resume checked it. */
  atResume: number;
}

/** One round: pause a run, race eight processes to resume its head, check the session. */
async function round(kind: StorageKind, tally: Tally): Promise<void> {
  const { location, remove } = await freshStore(kind, "race");
  const storage = await openStorage(kind, location);
  try {
    const paused = await approvals(storage).run(["x"]);
    assert.strictEqual(paused.status, "idle-pending-requests");
    const before = await lineage(storage, paused.checkpointId!);

    const children = Array.from(
      { length: WRITERS },
      (_, i) =>
        spawnFixture("hitl_child.ts", [kind, location, paused.checkpointId!, `writer-${i}`, "--wait"]),
    );
    await Promise.all(children.map((child) => child.waitForLine((line) => line === "ready")));
    for (const child of children) child.sendLine("go");
    const reports = await Promise.all(
      children.map(async (child) => lastJson<ChildReport>(await child.exited)),
    );

    const winners = reports.filter((report) => report.ok);
    assert.strictEqual(winners.length, 1, `exactly one writer wins: ${JSON.stringify(reports)}`);
    const winner = winners[0] as Extract<ChildReport, { ok: true }>;
    const index = reports.indexOf(winner);
    assert.deepStrictEqual(winner.outputs, [`x=writer-${index}`]);
    for (const report of reports) {
      if (report.ok) continue;
      assert.strictEqual(report.name, "CheckpointConflictError", JSON.stringify(report));
      if (/session head moved/.test(report.message)) tally.atSave++;
      else if (/is not the head of session/.test(report.message)) tally.atResume++;
      else assert.fail(`an unexpected conflict: ${report.message}`);
    }

    // One linear chain: the paused run's checkpoints, then the winner's; nothing of the losers.
    assert.strictEqual(await storage.head(paused.sessionId), winner.checkpointId);
    const all = await storage.list({ sessionId: paused.sessionId });
    const chain = await lineage(storage, winner.checkpointId!);
    assert.deepStrictEqual(
      chain.slice(-before.length),
      before,
      "the winner's lineage ends with the paused run",
    );
    assert.deepStrictEqual(new Set(chain.map((s) => s.id)), new Set(all.map((s) => s.id)), "no other branch");
    const parents = all.map((summary) => summary.parentId);
    assert.strictEqual(new Set(parents).size, parents.length, "no checkpoint has two children");
    assert.strictEqual(parents.filter((parent) => parent === null).length, 1, "one root");
    const finished = await storage.load(winner.checkpointId!);
    assert.deepStrictEqual(finished?.pendingRequests, []);
  } finally {
    await storage.close();
    await remove();
  }
}

/** One round: pause a run, let three processes whose clocks lag 60 s fork its head at once, check their ids. */
async function skewedForks(kind: StorageKind): Promise<void> {
  const { location, remove } = await freshStore(kind, "skew");
  const storage = await openStorage(kind, location);
  try {
    const paused = await approvals(storage).run(["x"]);
    const flags = ["--wait", "--fork", `--skew-ms=${-60_000}`];
    const children = Array.from(
      { length: 3 },
      (_, i) => spawnFixture("hitl_child.ts", [kind, location, paused.checkpointId!, `fork-${i}`, ...flags]),
    );
    await Promise.all(children.map((child) => child.waitForLine((line) => line === "ready")));
    for (const child of children) child.sendLine("go");
    const reports = await Promise.all(
      children.map(async (child) => lastJson<ChildReport>(await child.exited)),
    );
    assert.ok(reports.every((report) => report.ok), `every fork succeeds: ${JSON.stringify(reports)}`);
    const forks = reports as Extract<ChildReport, { ok: true }>[];
    assert.strictEqual(new Set(forks.map((report) => report.sessionId)).size, 3, "three new sessions");
    for (const report of forks) {
      assert.notStrictEqual(report.sessionId, paused.sessionId);
      const chain = await lineage(storage, report.checkpointId!);
      const ids = chain.map((summary) => summary.id);
      assert.strictEqual(chain.at(-1)!.id, (await lineage(storage, paused.checkpointId!)).at(-1)!.id);
      // Every checkpoint sorts after its parent, though its writer's clock is a minute behind.
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] > ids[i], `${ids[i - 1]} > ${ids[i]}`);
    }
  } finally {
    await storage.close();
    await remove();
  }
}

/** How a test names the store of `kind`. */
function where(kind: StorageKind): string {
  return kind === "postgres" ? "postgres server" : `${kind} file`;
}

describe("concurrency: processes whose clocks lag fork one checkpoint at once", () => {
  for (const kind of KINDS) {
    const rounds = scale(1, 10);
    test(`${where(kind)}: three forks 60 s behind all succeed, with distinct ids after the parent (${rounds} rounds)`, async () => {
      const budget = new Budget(rounds);
      while (budget.next()) await skewedForks(kind);
      figure(
        "concurrency",
        `${where(kind)}: ${budget.done} rounds of 3 forks by processes 60 s behind: all succeeded`,
      );
    });
  }
});

describe("concurrency: eight processes resume the same session head at once", () => {
  for (const kind of KINDS) {
    const rounds = scale(1, 20);
    test(`${where(kind)}: exactly one extends the session, seven get CheckpointConflictError (${rounds} rounds)`, async () => {
      const budget = new Budget(rounds);
      const tally: Tally = { atSave: 0, atResume: 0 };
      const started = Date.now();
      while (budget.next()) await round(kind, tally);
      figure(
        "concurrency",
        `${where(kind)}: ${budget.done} rounds of ${WRITERS} processes passed in ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s: ${budget.done} winners, ` +
          `${tally.atSave + tally.atResume} CheckpointConflictError (${tally.atSave} lost the head ` +
          `compare-and-set of a save, ${tally.atResume} found the head moved when resuming)` +
          (budget.cut ? `; time limit reached before ${budget.count}` : ""),
      );
    });
  }
});
