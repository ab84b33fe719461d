// Crash recovery across processes: a child runs sessions through a durable storage and is killed with SIGKILL
// (sessions stalled in a call at random points, others killed mid-run); then four processes run recover()
// at once against the same store. Every session completes exactly once, and the append-only effect log shows
// each call of a superstep run once by the recoverers (the call a killed process was in the middle of was
// run by it too, and is run again: at-least-once for that one). A recoverer killed while holding a lease has
// its session taken over once the lease expired (read with a clock moved past it: no test sleeps). A
// sleeping session written by a process that then exits is woken by two recovering processes once, when
// due by their clock and not before.
//
// Through a KV file and a libSQL file. `npm test`: 10 sessions per store; `npm run test:stress`: 50 per
// store, 5 rounds (see tests/_stress.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { listSessions, recover, type RecoverResult } from "../mod.ts";
import { lastJson, spawnFixture } from "./_child.ts";
import { Budget, figure, random, scale, SEED } from "./_stress.ts";
import { RECOVER_STEPS, recoverWorkflow, TIMER_DUE } from "./fixtures/recover_workflow.ts";
import { openStorage, type StorageKind } from "./fixtures/open_storage.ts";

const KINDS: StorageKind[] = ["kv", "libsql"];
const SESSIONS = scale(10, 50);
const ROUNDS = scale(1, 5);
const RECOVERERS = 4;
const LEASE_MS = 60_000;

const dir = mkdtempSync(join(tmpdir(), "superstep-recover-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function newStore(kind: StorageKind): { location: string; log: string } {
  const path = join(dir, `recover-${++files}.${kind === "libsql" ? "sqlite" : "kv"}`);
  const log = join(dir, `effects-${files}.log`);
  writeFileSync(log, "");
  return { location: kind === "libsql" ? pathToFileURL(path).href : path, log };
}

/** The effect log: for each session, the call numbers each process ran, by pid. */
function effects(log: string): { pid: string; session: string; n: number }[] {
  return readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => {
    const [pid, session, n] = line.split(" ");
    return { pid, session, n: Number(n) };
  });
}

/**
 * A child runs `stalls.length` sessions and is killed once every session has its entry checkpoint and every
 * stalling one stalled, a random moment later (the sessions that do not stall are then mid-run). Returns each
 * session's head superstep after the kill: the calls before it are committed.
 */
async function crash(
  kind: StorageKind,
  location: string,
  log: string,
  stalls: number[],
  rng: ReturnType<typeof random>,
): Promise<Map<string, number>> {
  const child = spawnFixture("recover_child.ts", ["crash", kind, location, log, stalls.join(",")]);
  await Promise.all(stalls.map(async (stall, i) => {
    await child.waitForLine((line) => line === `checkpoint s${i} 0`);
    if (stall >= 0) await child.waitForLine((line) => line === `stalled s${i}`);
  }));
  await sleep(rng.int(20));
  child.kill();
  const exit = await child.exited;
  assert.ok(
    exit.signal === "SIGKILL" || exit.code === 0,
    `the crash child failed by itself (${exit.code} ${exit.signal}):\n${exit.stderr}\n${
      exit.lines.join("\n")
    }`,
  );
  const storage = await openStorage(kind, location);
  try {
    const heads = new Map<string, number>();
    for (let i = 0; i < stalls.length; i++) {
      const head = await storage.load((await storage.head(`s${i}`))!);
      heads.set(`s${i}`, head!.superstep);
    }
    return heads;
  } finally {
    await storage.close();
  }
}

type ChildResult = { resumed: string[]; busy: string[]; failed: string[] };

/** `calls` of a session from `entries`, sorted. */
function callsOf(entries: { session: string; n: number }[], session: string): number[] {
  return entries.filter((entry) => entry.session === session).map((entry) => entry.n).sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

for (const kind of KINDS) {
  describe(`recover() across processes (${kind} file)`, () => {
    test(`${RECOVERERS} processes recover ${SESSIONS} sessions killed mid-run: each completes once, no call of a superstep runs twice`, async () => {
      const rng = random(SEED + kind.length);
      const budget = new Budget(ROUNDS);
      let interrupted = 0;
      while (budget.next()) {
        const { location, log } = newStore(kind);
        // About half the sessions stall in a random call; the others are mid-run (or done) when killed.
        const stalls = Array.from(
          { length: SESSIONS },
          () => rng.float() < 0.6 ? rng.int(RECOVER_STEPS) : -1,
        );
        const heads = await crash(kind, location, log, stalls, rng);
        const crashed = effects(log);
        const pending = [...heads].filter(([, head]) => head < RECOVER_STEPS).map(([session]) => session);
        interrupted += pending.length;

        const children = Array.from(
          { length: RECOVERERS },
          () => spawnFixture("recover_child.ts", ["recover", kind, location, log, String(LEASE_MS)]),
        );
        const results: ChildResult[] = [];
        for (const child of children) {
          const exit = await child.exited;
          assert.equal(exit.code, 0, `a recoverer failed:\n${exit.stderr}`);
          results.push(lastJson<ChildResult>(exit));
        }
        assert.deepEqual(results.flatMap((result) => result.failed), []);
        const resumed = results.flatMap((result) => result.resumed);
        assert.deepEqual(
          [...resumed].sort(),
          [...pending].sort(),
          "every interrupted session resumed exactly once",
        );

        const recovered = effects(log).slice(crashed.length);
        for (const [session, head] of heads) {
          // The recoverers ran each call from the head on exactly once; before it, the crashed child did.
          assert.deepEqual(
            callsOf(recovered, session),
            range(head, RECOVER_STEPS),
            `${session} from ${head}`,
          );
          const before = callsOf(crashed, session);
          assert.deepEqual(before.filter((n) => n < head), range(0, head), `${session}: committed calls`);
          // At most the call it was in when killed ran past the head (and is run again: at-least-once).
          assert.ok(
            before.filter((n) => n >= head).every((n) => n === head),
            `${session}: one interrupted call`,
          );
        }
        const storage = await openStorage(kind, location);
        try {
          assert.equal((await listSessions(storage, { status: "completed" })).length, SESSIONS);
          assert.deepEqual(await listSessions(storage, { status: "interrupted" }), []);
        } finally {
          await storage.close();
        }
      }
      figure(
        "recovery",
        `${kind}: ${budget.done} rounds of ${SESSIONS} sessions, ${interrupted} interrupted, resumed by ` +
          `${RECOVERERS} processes, each once`,
      );
    });

    test("a recoverer killed while holding a lease: its session is busy until the lease expires, then taken over", async () => {
      const { location, log } = newStore(kind);
      const heads = await crash(kind, location, log, [2, 5, 0], random(SEED));
      const crashed = effects(log).length;
      const hung = spawnFixture("recover_child.ts", [
        "recover",
        kind,
        location,
        log,
        String(LEASE_MS),
        "hang",
      ]);
      const line = await hung.waitForLine((text) => text.startsWith("running "));
      const held = line.slice("running ".length);
      hung.kill();
      await hung.exited;

      const storage = await openStorage(kind, location);
      try {
        const workflows = [recoverWorkflow(storage, log) as never];
        const now: RecoverResult = await recover({ storage, workflows, owner: "parent", leaseMs: LEASE_MS });
        assert.deepEqual(now.busy, [held]);
        assert.deepEqual(now.resumed.sort(), [...heads.keys()].filter((session) => session !== held).sort());
        // Past the dead owner's lease (no renewal came): the session is taken over.
        const later = await recover({
          storage,
          workflows,
          owner: "parent",
          leaseMs: LEASE_MS,
          clock: () => Date.now() + LEASE_MS,
        });
        assert.deepEqual(later, { resumed: [held], busy: [], failed: [] });
        const recovered = effects(log).slice(crashed);
        for (const [session, head] of heads) {
          assert.deepEqual(callsOf(recovered, session), range(head, RECOVER_STEPS), session);
        }
        assert.equal((await listSessions(storage, { status: "completed" })).length, 3);
      } finally {
        await storage.close();
      }
    });

    test("a timer outlives the process that set it: two recovering processes wake it once when due, not before", async () => {
      const { location, log } = newStore(kind);
      const sessions = ["t0", "t1", "t2"];
      const sleeper = await spawnFixture("recover_child.ts", [
        "sleep",
        kind,
        location,
        log,
        sessions.join(","),
      ]).exited;
      assert.equal(sleeper.code, 0, sleeper.stderr);
      const pass = async (at: number) => {
        const children = [1, 2].map(() =>
          spawnFixture("recover_child.ts", ["recover", kind, location, log, String(LEASE_MS), `at=${at}`])
        );
        const results: ChildResult[] = [];
        for (const child of children) {
          const exit = await child.exited;
          assert.equal(exit.code, 0, exit.stderr);
          results.push(lastJson<ChildResult>(exit));
        }
        return results;
      };
      const early = await pass(TIMER_DUE - 1);
      assert.deepEqual(early.flatMap((result) => result.resumed), []);
      assert.equal(readFileSync(log, "utf8"), "");
      const due = await pass(TIMER_DUE);
      assert.deepEqual(due.flatMap((result) => result.failed), []);
      assert.deepEqual(due.flatMap((result) => result.resumed).sort(), sessions);
      const woke = readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => line.split(" ")[1]);
      assert.deepEqual(woke.sort(), sessions, "each timer woken once");
      const storage = await openStorage(kind, location);
      try {
        assert.equal((await listSessions(storage, { status: "completed" })).length, 3);
      } finally {
        await storage.close();
      }
    });
  });
}
