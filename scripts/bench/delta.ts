// Benchmarks of delta payloads (Node): what storing each checkpoint as the change since its parent saves on
// disk, and what it costs to load and to save.
//
// 7d. Storage growth: a run of 500 supersteps whose state gains one ~50-byte record per superstep, through
//     the libSQL adapter (deltas, and whole checkpoints) and LangGraph.js with SqliteSaver (its checkpoints
//     and writes tables): database bytes per checkpoint, the file after a WAL checkpoint (TRUNCATE). The
//     fixed envelope per checkpoint (ids, summary columns, index entries, the payload's header) is the same
//     run with a state that only counts; the variable part is the growth run's bytes less the envelope,
//     divided by the bytes that changed (one record's JSON).
// 9.  Head load with delta payloads against a whole checkpoint: scripts/bench/_head_loads.ts (on Node with a
//     `libsql` Database as one more kind; head_loads.ts runs it on Deno and Bun).
// 3d. One save of a 1 KiB state on a libSQL file, deltas against whole, in turns.
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import type { Checkpoint } from "../../mod.ts";
import { makeCheckpoint } from "../../testing/mod.ts";
import { args, once, quick, Report, stats } from "./_harness.ts";
import { makeItems } from "./_shapes.ts";
import { fileSize, LibsqlCheckpointStorage, openLibsqlFile, tempDir } from "./_stores.ts";
import Database from "libsql";
import { growthRecord, langGraphGrowth, superstepGrowth } from "./_workloads.ts";
import { headLoads } from "./_head_loads.ts";

const isQuick = quick(args());
const report = new Report();
const dir = await tempDir();
let files = 0;
const newPath = (name: string) => `${dir.path}/${name}-${++files}.db`;

// ── 7d: storage growth ────────────────────────────────────────────────────────────────────────────────
const STEPS = isQuick ? 50 : 500;
/** The record a superstep adds: about 50 bytes of JSON. */
const record = (i: number) => growthRecord(i, 30);
const changedBytes = JSON.stringify(record(STEPS)).length + 1; // and its comma

async function superstepRun(deltas: boolean, grows: boolean): Promise<number> {
  const path = newPath(
    `growth-${deltas ? "deltas" : "whole"}-${grows ? "grow" : "count"}`,
  );
  const storage = new LibsqlCheckpointStorage({ url: `file:${path}`, deltas });
  const workflow = superstepGrowth(storage, STEPS, grows ? record : undefined);
  await workflow.run(0);
  await storage.close();
  const client = await openLibsqlFile(path);
  const { rows } = await client.execute(
    "SELECT count(*) AS n FROM superstep_checkpoints",
  );
  await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  client.close();
  const bytes = (await fileSize(path)) + (await fileSize(`${path}-wal`));
  return bytes / Number(rows[0].n);
}

async function langgraphRun(): Promise<number> {
  const path = newPath("growth-langgraph");
  const saver = SqliteSaver.fromConnString(path);
  await langGraphGrowth(saver, STEPS, record);
  const db = saver.db;
  const { n } = db.prepare("SELECT count(*) AS n FROM checkpoints").get() as {
    n: number;
  };
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return ((await fileSize(path)) + (await fileSize(`${path}-wal`))) / n;
}

const run = `${STEPS} supersteps, +1 record (${changedBytes} B) each`;
const growth = {
  deltas: await superstepRun(true, true),
  whole: await superstepRun(false, true),
  envelope: await superstepRun(true, false),
  langgraph: await langgraphRun(),
};
const bytesFigure = (
  name: string,
  subject: string,
  value: number,
  extra?: Record<string, unknown>,
) =>
  report.add({
    bench: "7d",
    name,
    subject,
    unit: "B",
    ...once(value),
    ...(extra && { extra }),
  });
bytesFigure(
  `database bytes per checkpoint · ${run}`,
  "superstep libsql deltas",
  growth.deltas,
);
bytesFigure(
  `database bytes per checkpoint · ${run}`,
  "superstep libsql whole",
  growth.whole,
);
bytesFigure(
  `database bytes per checkpoint · ${run}`,
  "langgraph sqlite",
  growth.langgraph,
);
bytesFigure(
  `envelope per checkpoint · ${STEPS} supersteps, a counter only`,
  "superstep libsql deltas",
  growth.envelope,
);
report.add({
  bench: "7d",
  name: "variable bytes ÷ changed bytes",
  subject: "superstep libsql deltas",
  unit: "×",
  ...once((growth.deltas - growth.envelope) / changedBytes),
  extra: { changedBytes },
});

// ── 9: head load, a delta chain against a whole checkpoint (scripts/bench/_head_loads.ts) ─────────────────
const template = { workflowName: "history", metadata: { source: "bench" } };
await headLoads({ report, newPath, quick: isQuick, native: { open: (path) => new Database(path) } });

// ── 3d: a 1 KiB save, deltas against whole ─────────────────────────────────────────────────────────────
{
  const SAVES = isQuick ? 20 : 200;
  const items = makeItems(1024);
  const stores = {
    deltas: new LibsqlCheckpointStorage({
      url: `file:${newPath("save-deltas")}`,
      deltas: true,
    }),
    whole: new LibsqlCheckpointStorage({
      url: `file:${newPath("save-whole")}`,
      deltas: false,
    }),
  };
  const parents: Record<string, Checkpoint | undefined> = {};
  const sessionIds = {
    deltas: crypto.randomUUID(),
    whole: crypto.randomUUID(),
  };
  const times = { deltas: [] as number[], whole: [] as number[] };
  for (let round = -2; round < (isQuick ? 2 : 15); round++) {
    for (const mode of ["deltas", "whole"] as const) {
      const t0 = performance.now();
      for (let i = 0; i < SAVES; i++) {
        const parent = parents[mode];
        const checkpoint = makeCheckpoint({
          ...template,
          sessionId: sessionIds[mode],
          parentId: parent?.id ?? null,
          superstep: (parent?.superstep ?? -1) + 1,
          state: { items, cursor: i },
        });
        await stores[mode].save(checkpoint);
        parents[mode] = checkpoint;
      }
      if (round >= 0) {
        times[mode].push(((performance.now() - t0) * 1000) / SAVES);
      }
    }
  }
  for (const mode of ["deltas", "whole"] as const) {
    report.add({
      bench: "3d",
      name: `save · ${JSON.stringify({ items }).length.toLocaleString("en-US")} B state, libSQL file`,
      subject: mode,
      unit: "µs",
      ...stats(times[mode]),
      reps: times[mode].length,
      extra: { ops: SAVES },
    });
    await stores[mode].close();
  }
}

await dir.dispose();
report.print();
