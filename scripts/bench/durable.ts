// Benchmarks 3 and 7 (Node): durable checkpoint writes to SQLite files in WAL mode, and bytes stored per
// checkpoint.
//
// 3a. One checkpoint write, by state size (1 KiB, 64 KiB, 1 MiB of small records): the libSQL adapter's
//     `save` with whole payloads (`deltas: false`: encode + one write transaction: head compare-and-set,
//     session index, insert) against the physical limit,
//     raw `@libsql/client` inserts of the same encoded bytes, one write transaction each, into a table
//     with a primary key, on the same kind of file (WAL, the client's default `synchronous`).
// 3b. The same workflow end to end, per superstep: a loop whose state holds the records, Superstep with the
//     libSQL adapter against LangGraph.js with `@langchain/langgraph-checkpoint-sqlite` (better-sqlite3,
//     WAL, as it sets itself up), at equal durability: `PRAGMA synchronous` set to FULL on both sides, then
//     NORMAL on both. (Left alone they differ: libSQL keeps SQLite's FULL; better-sqlite3 is built with
//     SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so every connection to an existing WAL file runs NORMAL.)
// 7.  A run of 200 supersteps whose state grows by one record per superstep: database bytes per checkpoint
//     (the file after a WAL checkpoint) and encoded bytes per checkpoint, both libraries.
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { type Checkpoint, encodeCheckpoint } from "../../mod.ts";
import { args, quick, Report, reportGrowth } from "./_harness.ts";
import { makeItems } from "./_shapes.ts";
import { chain, fileSize, LibsqlCheckpointStorage, openLibsqlFile, tempDir } from "./_stores.ts";
import {
  growthRecord,
  langGraphGrowth,
  langGraphLoop,
  superstepGrowth,
  superstepLoop,
} from "./_workloads.ts";

const isQuick = quick(args());
const report = new Report();
const dir = await tempDir();
let files = 0;
const newPath = (name: string) => `${dir.path}/${name}-${++files}.db`;

const KIB = 1024;
const SIZES = [{ label: "1 KiB", bytes: KIB, writes: 150, steps: 150 }, {
  label: "64 KiB",
  bytes: 64 * KIB,
  writes: 60,
  steps: 60,
}, { label: "1 MiB", bytes: KIB * KIB, writes: 12, steps: 12 }];
const reps = isQuick ? 1 : 7;

// ── 3a: one checkpoint write ──────────────────────────────────────────────────────────────────────────
for (const size of SIZES) {
  const items = makeItems(size.bytes);
  const checkpoints = () => [
    ...chain(size.writes, { workflowName: "durable", state: { items } }),
  ];
  const sample = checkpoints()[0];
  report.notes[`encodedBytes ${size.label}`] = encodeCheckpoint(sample).length;
  await report.time("3", `save · ${size.label} state`, "encode only", {
    warmup: 3,
    reps: isQuick ? 2 : 11,
    budgetMs: 3000,
    ops: size.writes,
    setup: checkpoints,
    run: (list) => {
      for (const checkpoint of list) encodeCheckpoint(checkpoint);
    },
  });
  await report.time("3", `save · ${size.label} state`, "superstep libsql", {
    warmup: 1,
    reps,
    budgetMs: 10_000,
    ops: size.writes,
    setup: async () => {
      // Whole payloads: the raw side inserts the same bytes (with deltas, every checkpoint of this chain after
      // the first would be its header alone, and the comparison would be of different writes).
      const storage = new LibsqlCheckpointStorage({ url: `file:${newPath("adapter")}`, deltas: false });
      await storage.head("migrate");
      return { storage, list: checkpoints() };
    },
    run: async ({ storage, list }) => {
      for (const checkpoint of list) await storage.save(checkpoint);
    },
    teardown: ({ storage }) => storage.close(),
  });
  await report.time("3", `save · ${size.label} state`, "raw libsql", {
    warmup: 1,
    reps,
    budgetMs: 10_000,
    ops: size.writes,
    setup: async () => {
      const client = await openLibsqlFile(newPath("raw"));
      await client.execute(
        "CREATE TABLE raw (id TEXT PRIMARY KEY NOT NULL, payload TEXT NOT NULL)",
      );
      // The same encoded bytes the adapter writes, encoded beforehand: the raw side only stores.
      const rows = checkpoints().map((
        c: Checkpoint,
      ) => [c.id, encodeCheckpoint(c)]);
      return { client, rows };
    },
    run: async ({ client, rows }) => {
      for (const args of rows) {
        await client.batch([{
          sql: "INSERT INTO raw (id, payload) VALUES (?1, ?2)",
          args,
        }], "write");
      }
    },
    teardown: ({ client }) => client.close(),
  });
}

// ── 3b: the same workflow, per superstep ──────────────────────────────────────────────────────────────
let thread = 0;
for (const synchronous of ["FULL", "NORMAL"]) {
  for (const size of SIZES) {
    const items = makeItems(size.bytes);
    const workflow = superstepLoop(size.steps);
    const name = `workflow · ${size.label} state · synchronous=${synchronous}`;
    await report.time("3", name, "superstep libsql", {
      warmup: 1,
      reps,
      budgetMs: 8_000,
      ops: size.steps,
      setup: async () => {
        const client = await openLibsqlFile(newPath("wf"));
        await client.execute(`PRAGMA synchronous = ${synchronous}`);
        const storage = new LibsqlCheckpointStorage({ client });
        await storage.head("migrate");
        return { storage, client };
      },
      run: ({ storage }) => workflow.run({ n: 0, items }, { storage }),
      teardown: async ({ client }) => {
        await expectSynchronous(
          synchronous,
          (await client.execute("PRAGMA synchronous")).rows[0][0],
        );
        client.close();
      },
    });
    await report.time("3", name, "langgraph sqlite", {
      warmup: 1,
      reps,
      budgetMs: 10_000,
      ops: size.steps,
      setup: () => {
        const saver = SqliteSaver.fromConnString(newPath("lg"));
        saver.db.pragma(`synchronous = ${synchronous}`);
        return { saver, graph: langGraphLoop(size.steps, saver) };
      },
      run: ({ graph }) =>
        graph.invoke({ n: 0, items }, {
          recursionLimit: 10 * size.steps,
          configurable: { thread_id: `t${++thread}` },
        }),
      teardown: async ({ saver }) => {
        await expectSynchronous(
          synchronous,
          saver.db.pragma("synchronous", { simple: true }),
        );
        saver.db.close();
      },
    });
  }
}

/** Fail the benchmark if a side did not run at the `synchronous` level it is reported at. */
function expectSynchronous(name: string, level: unknown): Promise<void> {
  const expected = { FULL: 2, NORMAL: 1 }[name];
  if (Number(level) !== expected) {
    return Promise.reject(
      new Error(
        `synchronous is ${String(level)}, expected ${name} (${expected})`,
      ),
    );
  }
  return Promise.resolve();
}

// ── 7: storage growth ─────────────────────────────────────────────────────────────────────────────────
const GROWTH_STEPS = isQuick ? 20 : 200;
{
  const path = newPath("growth-superstep");
  const storage = new LibsqlCheckpointStorage({ url: `file:${path}` });
  const workflow = superstepGrowth(storage, GROWTH_STEPS, growthRecord);
  await workflow.run(0);
  const client = await openLibsqlFile(path);
  const { rows } = await client.execute(
    "SELECT count(*) AS n, sum(length(payload) + length(metadata)) AS bytes FROM superstep_checkpoints",
  );
  await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  client.close();
  await storage.close();
  const count = Number(rows[0].n);
  growth(
    "superstep libsql",
    count,
    (await fileSize(path)) + (await fileSize(`${path}-wal`)),
    Number(rows[0].bytes),
  );
}
{
  const path = newPath("growth-langgraph");
  const saver = SqliteSaver.fromConnString(path);
  await langGraphGrowth(saver, GROWTH_STEPS, growthRecord);
  const db = saver.db;
  const { n, bytes } = db.prepare(
    "SELECT count(*) AS n, sum(length(checkpoint) + length(metadata)) AS bytes FROM checkpoints",
  ).get() as { n: number; bytes: number };
  const writes = db.prepare(
    "SELECT coalesce(sum(length(value)), 0) AS bytes FROM writes",
  ).get() as {
    bytes: number;
  };
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  growth(
    "langgraph sqlite",
    n,
    (await fileSize(path)) + (await fileSize(`${path}-wal`)),
    bytes + writes.bytes,
  );
}

function growth(
  subject: string,
  checkpoints: number,
  fileBytes: number,
  encodedBytes: number,
): void {
  reportGrowth(report, {
    bench: "7",
    steps: GROWTH_STEPS,
    subject,
    checkpoints,
    fileBytes,
    encodedBytes,
  });
}

await dir.dispose();
report.print();
