// Benchmark 9 in workerd (Node drives Miniflare's real workerd, with local D1 and SQLite Durable Objects):
// a waiting or interrupted head's load with delta payloads against a whole checkpoint's, on D1
// (D1CheckpointStorage), inside a Durable Object (DurableObjectCheckpointStorage) and from a Worker through
// one (CheckpointObjectStorage, a call a load). The worker (_head_worker.ts) builds each case's session with
// the adapter's own statements or saves, and answers a request of N loads, each through a fresh storage.
// workerd's clock stands still while code runs (it moves on I/O), so the loads are timed from outside: a
// request of N loads, less the median request of none on the same kind, divided by N. The two modes of a
// case take turns, the one to go first changing every round.
import process from "node:process";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { args, log, quick, Report, stats } from "./_harness.ts";
import { caseName, loadCases } from "./_head_cases.ts";
import { bundleForWorkerd } from "./_worker_bundle.ts";

// run.mjs starts every task in the repository's root (this file runs bundled, from elsewhere).
const ROOT = process.cwd();
const isQuick = quick(args());
const LENGTHS = isQuick ? [10, 1000] : [10, 1000, 100_000];
const ROUNDS = isQuick ? 3 : 11;
const WARM = 2;
const LOADS = 100;
const CASES = loadCases(LENGTHS);
const MODES = ["deltas", "whole"] as const;
const KINDS = [
  ["d1", "d1"],
  ["inside", "object"],
  ["object", "object"],
] as const;
const LABEL = {
  d1: "d1",
  inside: "durable object",
  object: "checkpoint object",
} as const;

const script = await bundleForWorkerd(join(ROOT, "scripts/bench/_head_worker.ts"));

const names = CASES.flatMap((_, i) => MODES.map((mode) => `${i}-${mode}`));
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2026-05-01",
  d1Databases: names.map((name) => `D1_${name}`),
  durableObjects: { OBJECTS: { className: "BenchObject", useSQLite: true } },
});

async function call(
  path: string,
  query: Record<string, string | number>,
): Promise<string> {
  const search = new URLSearchParams(
    { lengths: LENGTHS.join(","), ...query } as Record<string, string>,
  );
  const response = await mf.dispatchFetch(`http://bench${path}?${search}`, {
    method: "POST",
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`workerd ${path} ${search}: ${response.status} ${text}`);
  }
  return text;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

const report = new Report();
try {
  await mf.ready;
  const heads = new Map<string, string>();
  for (const store of ["d1", "object"] as const) {
    for (const [i, load] of CASES.entries()) {
      for (const mode of MODES) {
        const began = performance.now();
        heads.set(
          `${store} ${i}-${mode}`,
          await call("/build", { kind: store, case: i, mode }),
        );
        log(
          `workerd built ${store} ${caseName(load)} ${mode} in ${(performance.now() - began).toFixed(0)} ms`,
        );
      }
    }
  }
  for (const [kind, store] of KINDS) {
    for (const [i, load] of CASES.entries()) {
      const times = { deltas: [] as number[], whole: [] as number[] };
      const empty: number[] = [];
      // More untimed rounds for a kind's first case: it would otherwise pay for compiling its load path.
      const warm = i === 0 ? 3 * WARM : WARM;
      for (let round = -warm; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          const head = heads.get(`${store} ${i}-${mode}`)!;
          const t0 = performance.now();
          await call("/load", { kind, case: i, mode, head, n: 0 });
          const t1 = performance.now();
          await call("/load", { kind, case: i, mode, head, n: LOADS });
          const t2 = performance.now();
          if (round < 0) continue;
          empty.push((t1 - t0) * 1000);
          times[mode].push((t2 - t1) * 1000);
        }
      }
      // The request's own cost (Miniflare's loopback, the object's call), measured beside: taken off.
      const overhead = median(empty);
      for (const mode of MODES) {
        const perLoad = times[mode].map((us) => Math.max(0, us - overhead) / LOADS);
        report.add({
          bench: "9",
          name: caseName(load),
          subject: `${LABEL[kind]} ${mode}`,
          unit: "µs",
          ...stats(perLoad),
          reps: perLoad.length,
          extra: { ops: LOADS, requestUs: Math.round(overhead) },
        });
      }
      log(
        `workerd ${LABEL[kind]} ${caseName(load)}: deltas ${
          stats(times.deltas).median.toFixed(0)
        } µs, whole ${stats(times.whole).median.toFixed(0)} µs per ${LOADS} (a request of none ${
          overhead.toFixed(0)
        } µs)`,
      );
    }
  }
} finally {
  await mf.dispose();
}
report.print();
