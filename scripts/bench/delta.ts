// Benchmarks of delta payloads (Node): what storing each checkpoint as the change since its parent saves on
// disk, and what it costs to load and to save.
//
// 7d. Storage growth: a run of 500 supersteps whose state gains one ~50-byte record per superstep, through
//     the libSQL adapter (deltas, and whole checkpoints) and LangGraph.js with SqliteSaver (its checkpoints
//     and writes tables): database bytes per checkpoint, the file after a WAL checkpoint (TRUNCATE). The
//     fixed envelope per checkpoint (ids, summary columns, index entries, the payload's header) is the same
//     run with a state that only counts; the variable part is the growth run's bytes less the envelope,
//     divided by the bytes that changed (one record's JSON).
// 9.  Head load with delta payloads against a whole checkpoint: a session of 10, 1,000 and 100,000
//     checkpoints of a ~4 KiB state whose cursor changes each time (each delta on the keyframe it shares
//     with its parent: two payloads a load), and of 1,000 checkpoints of a state that grows by a record
//     each time (each delta on its parent: a chain of up to 32 deltas back to a keyframe), stored as deltas
//     and stored whole; each repetition loads the head through a fresh storage (nothing cached); memory,
//     libSQL (file, WAL) through @libsql/client and through a `libsql` Database (the same files), and KV
//     (file, @deno/kv). The two stores of a case are timed in turns.
// 3d. One save of a 1 KiB state on a libSQL file, deltas against whole, in turns.
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { type Checkpoint, type CheckpointStorage, MemoryCheckpointStorage } from "../../mod.ts";
import { makeCheckpoint } from "../../testing/mod.ts";
import { DeltaCodec, encodeForStorage } from "../../src/storage_kit.ts";
import { planRows } from "../../adapters/_sqlite/_payload.ts";
import { saveStatements } from "../../adapters/_sqlite/_sql.ts";
import { args, collectGarbage, log, once, quick, Report, stats } from "./_harness.ts";
import { makeItems } from "./_shapes.ts";
import { bulkKv, fileSize, LibsqlCheckpointStorage, openKv, openLibsqlFile, tempDir } from "./_stores.ts";
import { KvCheckpointStorage } from "../../adapters/kv/mod.ts";
import Database from "libsql";
import { databaseDriver } from "../../adapters/libsql/_database.ts";
import { growthRecord, langGraphGrowth, superstepGrowth } from "./_workloads.ts";

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

// ── 9: head load, a delta chain against a whole checkpoint ───────────────────────────────────────────────
const LENGTHS = isQuick ? [10, 1000] : [10, 1000, 100_000];
const template = { workflowName: "history", metadata: { source: "bench" } };
const baseItems = makeItems(4096);

/**
 * A load case: how many checkpoints, whether the state grows (else a cursor moves), and whether the session
 * waits at its head for an answer (the head a resume loads; else it was interrupted, by a crash say).
 */
interface LoadCase {
  length: number;
  grows: boolean;
  waits: boolean;
}

function* session({ length, grows, waits }: LoadCase): Generator<Checkpoint> {
  const sessionId = crypto.randomUUID();
  let parentId: string | null = null;
  const items: { id: number; text: string }[] = [];
  for (let i = 0; i < length; i++) {
    if (grows) items.push(growthRecord(i, 30));
    const checkpoint: Checkpoint = makeCheckpoint({
      ...template,
      sessionId,
      parentId,
      superstep: i,
      // A growing state is a new array each time, as a reducer makes it.
      state: grows ? { items: [...items] } : { items: baseItems, cursor: i },
      ...waits && i === length - 1 && {
        pendingRequests: [{ requestId: `review-${i}`, executorId: "review", data: { question: "approve?" } }],
      },
    });
    yield checkpoint;
    parentId = checkpoint.id;
  }
}

interface Built {
  label: string;
  head: string;
  fresh(): Promise<CheckpointStorage>;
  close(): Promise<void>;
}

async function buildMemory(load: LoadCase, deltas: boolean): Promise<Built> {
  // One backing map shared by fresh storages is not something the memory adapter offers: a fresh codec is
  // had by loading through a storage that saved with deltas off and on the same records instead.
  const storage = new MemoryCheckpointStorage({ deltas });
  let head = "";
  for (const checkpoint of session(load)) {
    await storage.save(checkpoint);
    head = checkpoint.id;
  }
  return {
    label: "memory",
    head,
    fresh: () => Promise.resolve(storage),
    close: () => Promise.resolve(),
  };
}

/** The libSQL files written for each case, by case and mode: the Database path reads the same ones. */
const libsqlFiles = new Map<string, { path: string; head: string }>();
const fileKey = (load: LoadCase, deltas: boolean) => `${load.length} ${load.grows} ${load.waits} ${deltas}`;

async function buildLibsql(load: LoadCase, deltas: boolean): Promise<Built> {
  const path = newPath(
    `load-${deltas ? "deltas" : "whole"}-${load.length}${load.grows ? "-growing" : ""}${
      load.waits ? "" : "-chain"
    }`,
  );
  // Written through a Database (statements compiled once: a fifth of the client's time for 100,000), with
  // the adapter's own statements; read below through the client.
  const database = new Database(path);
  await new LibsqlCheckpointStorage({ database, deltas }).head("migrate");
  const writer = databaseDriver(database);
  const codec = deltas ? new DeltaCodec() : undefined;
  let batch: { sql: string; args: (string | number | null)[] }[] = [];
  let head = "";
  for (const checkpoint of session(load)) {
    const encoded = encodeForStorage("libsql", checkpoint, codec, { copies: true });
    batch.push(...saveStatements(planRows("libsql", encoded, Infinity)));
    encoded.stored();
    head = checkpoint.id;
    if (batch.length >= 2000) {
      await writer.batch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await writer.batch(batch);
  database.prepare("PRAGMA wal_checkpoint(TRUNCATE)").all();
  database.close();
  const client = await openLibsqlFile(path);
  libsqlFiles.set(fileKey(load, deltas), { path, head });
  return {
    label: "libsql",
    head,
    fresh: async () => {
      const storage = new LibsqlCheckpointStorage({ client, deltas });
      await storage.head("warm"); // its schema check, before the timed load
      return storage;
    },
    close: () => Promise.resolve(client.close()),
  };
}

/** The libSQL file of `buildLibsql`, read through a `libsql` Database (compiled statements) instead. */
async function buildLibsqlDatabase(load: LoadCase, deltas: boolean): Promise<Built> {
  const built = libsqlFiles.get(fileKey(load, deltas)) ??
    await buildLibsql(load, deltas).then(async (
      { close },
    ) => (await close(), libsqlFiles.get(fileKey(load, deltas))!));
  const database = new Database(built.path);
  return {
    label: "libsql database",
    head: built.head,
    fresh: async () => {
      const storage = new LibsqlCheckpointStorage({ database, deltas });
      await storage.head("warm");
      return storage;
    },
    close: () => Promise.resolve(database.close()),
  };
}

async function buildKv(load: LoadCase, deltas: boolean): Promise<Built> {
  const kv = await openKv(
    newPath(
      `load-kv-${deltas ? "deltas" : "whole"}-${load.length}${load.grows ? "-growing" : ""}${
        load.waits ? "" : "-chain"
      }`,
    ),
  );
  const ids = await bulkKv(kv, session(load), deltas ? new DeltaCodec() : undefined);
  return {
    label: "kv",
    head: ids[ids.length - 1],
    fresh: async () => {
      const storage = new KvCheckpointStorage({ kv, deltas });
      await storage.head("warm");
      return storage;
    },
    close: () => Promise.resolve(kv.close()),
  };
}

const ROUNDS = isQuick ? 3 : 11;
// Enough loads a turn that a collection or a compile is noise, not a turn's figure: ten times more in memory,
// where a load takes about 10 µs and one scavenge is a large part of a turn of 100.
const LOADS = 100;
const MEMORY_LOADS = 1000;
const KINDS = [
  ["memory", buildMemory],
  ["libsql", buildLibsql],
  ["libsql database", buildLibsqlDatabase],
  ["kv", buildKv],
] as const;
for (const [kind, build] of KINDS) {
  // Resumed heads wait for an answer (a resume copy where the adapter keeps one); the last case is a head
  // that does not (an interrupted run's), which loads through its chain.
  const cases: LoadCase[] = [
    ...LENGTHS.map((length) => ({ length, grows: false, waits: true })),
    { length: 1000, grows: true, waits: true },
    { length: 1000, grows: true, waits: false },
  ];
  for (const load of cases) {
    const { length } = load;
    const stores = {
      deltas: await build(load, true),
      whole: await build(load, false),
    };
    const times = { deltas: [] as number[], whole: [] as number[] };
    collectGarbage();
    // Untimed turns first, more for a kind's first case: it would otherwise pay for compiling its load path.
    const warm = load === cases[0] ? 6 : 2;
    for (let round = -warm; round < ROUNDS; round++) {
      for (const mode of ["deltas", "whole"] as const) {
        const built = stores[mode];
        // Each turn starts with an empty young generation: a turn pays for its own garbage, not the other's.
        collectGarbage();
        let elapsed = 0;
        const loads = kind === "memory" ? MEMORY_LOADS : LOADS;
        for (let i = 0; i < loads; i++) {
          // Memory: the same storage each time, whose codec may hold the head; libSQL: a fresh one.
          const storage = await built.fresh();
          const t0 = performance.now();
          const loaded = await storage.load(built.head);
          elapsed += performance.now() - t0;
          if (loaded?.id !== built.head) {
            throw new Error(`${kind} ${mode} ${length}: no head`);
          }
        }
        if (round >= 0) times[mode].push((elapsed * 1000) / loads);
      }
    }
    for (const mode of ["deltas", "whole"] as const) {
      report.add({
        bench: "9",
        name: `${load.waits ? "waiting head" : "interrupted head"} load · ${
          length.toLocaleString("en-US")
        } checkpoints${load.grows ? ", +1 record each" : ""}`,
        subject: `${kind} ${mode}`,
        unit: "µs",
        ...stats(times[mode]),
        reps: times[mode].length,
        extra: { ops: kind === "memory" ? MEMORY_LOADS : LOADS },
      });
      await stores[mode].close();
    }
    log(
      `${kind} ${length}${load.grows ? " growing" : ""}${load.waits ? "" : " interrupted"}: deltas ${
        stats(times.deltas).median.toFixed(1)
      } µs, whole ${stats(times.whole).median.toFixed(1)} µs`,
    );
  }
}

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
