// Benchmarks 3 and 7 on PostgreSQL (Node), on a throwaway server of this machine started by
// scripts/postgres.mjs with PostgreSQL's durable defaults (fsync on, synchronous_commit on), each library in
// its own database of that one server, all in this one process, one after another:
//
// 3a. One checkpoint write, by state size (1 KiB, 64 KiB, 1 MiB of small records): the Postgres adapter's
//     `save` (encode + one statement: head compare-and-set and insert) against the physical limit, a raw
//     insert of the same encoded bytes (one statement, one commit each) into a table with a primary key,
//     through the same driver (Postgres.js, prepared statements). The raw insert is also timed with the
//     bytes as `jsonb` and as `bytea`, the payload types the adapter could have chosen.
// 3b. The same workflow end to end, per superstep: a loop whose state holds the records, Superstep with the
//     Postgres adapter against LangGraph.js with `@langchain/langgraph-checkpoint-postgres` (node-postgres),
//     LangGraph.js's defaults (durability "async") kept.
// 7.  A run of 200 supersteps whose state grows by one record per superstep: database bytes per checkpoint
//     (`pg_total_relation_size` of the library's tables: heap, TOAST and indexes, after VACUUM) and encoded
//     bytes per checkpoint, both libraries.
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import postgres from "postgres";
import { type Checkpoint, encodeCheckpoint } from "../../mod.ts";
import { PostgresCheckpointStorage } from "../../adapters/postgres/mod.ts";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { args, quick, Report, reportGrowth } from "./_harness.ts";
import { makeItems } from "./_shapes.ts";
import { chain } from "./_stores.ts";
import {
  growthRecord,
  langGraphGrowth,
  langGraphLoop,
  superstepGrowth,
  superstepLoop,
} from "./_workloads.ts";

const isQuick = quick(args());
const report = new Report();
// Imported at run time, not bundled: bundled, its command-line entry would take the bundle for itself.
const { startPostgres } = await import(
  pathToFileURL(join(process.cwd(), "scripts", "postgres.mjs")).href
);
type Server = { url: string; version: string; stop(): Promise<void> };
const server: Server = await startPostgres({ durable: true });
report.notes["postgres server"] = `${server.version}, fsync on, synchronous_commit on, 127.0.0.1`;
const admin = postgres(server.url, { max: 1, onnotice: () => {} });
/** Settings both sides of a comparison share: Postgres.js as the adapter creates it. */
const DRIVER = {
  max: 4,
  prepare: true,
  fetch_types: false,
  onnotice: () => {},
} as const;

async function database(name: string): Promise<string> {
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.href;
}

const KIB = 1024;
const SIZES = [
  { label: "1 KiB", bytes: KIB, writes: 150, steps: 150 },
  { label: "64 KiB", bytes: 64 * KIB, writes: 60, steps: 60 },
  { label: "1 MiB", bytes: KIB * KIB, writes: 12, steps: 12 },
];
const reps = isQuick ? 1 : 7;
const GROWTH_STEPS = isQuick ? 20 : 200;

try {
  // ── 3a: one checkpoint write ────────────────────────────────────────────────────────────────────────
  // Whole payloads, so that "save ÷ raw" compares writes of the same bytes (the workflow rows below keep the
  // default, delta payloads).
  const storage = new PostgresCheckpointStorage({
    url: await database("bench_adapter"),
    max: DRIVER.max,
    deltas: false,
  });
  await storage.head("migrate");
  const raw = postgres(await database("bench_raw"), DRIVER);
  for (const type of ["text", "jsonb", "bytea"]) {
    await raw.unsafe(
      `CREATE TABLE raw_${type} (id text COLLATE "C" PRIMARY KEY, payload ${type} NOT NULL)`,
    );
  }
  for (const size of SIZES) {
    const items = makeItems(size.bytes);
    const name = `save · ${size.label} state`;
    const checkpoints = () => [
      ...chain(size.writes, { workflowName: "durable", state: { items } }),
    ];
    report.notes[`postgres encodedBytes ${size.label}`] = encodeCheckpoint(checkpoints()[0]).length;
    // What of a save is the codec's: the raw side stores bytes encoded beforehand.
    await report.time("3pg", name, "encode only", {
      warmup: 3,
      reps: isQuick ? 2 : 11,
      budgetMs: 3000,
      ops: size.writes,
      setup: checkpoints,
      run: (list) => {
        for (const checkpoint of list) encodeCheckpoint(checkpoint);
      },
    });
    await report.time("3pg", name, "superstep postgres", {
      warmup: 1,
      reps,
      budgetMs: 10_000,
      ops: size.writes,
      setup: checkpoints,
      run: async (list) => {
        for (const checkpoint of list) await storage.save(checkpoint);
      },
    });
    for (const type of ["text", "jsonb", "bytea"] as const) {
      await report.time("3pg", name, `raw postgres ${type}`, {
        warmup: 1,
        reps,
        budgetMs: 10_000,
        ops: size.writes,
        setup: () =>
          checkpoints().map((c: Checkpoint) => {
            const text = encodeCheckpoint(c);
            return [
              c.id,
              type === "bytea" ? new TextEncoder().encode(text) : text,
            ];
          }),
        run: async (rows) => {
          for (const row of rows) {
            await raw.unsafe(
              `INSERT INTO raw_${type} (id, payload) VALUES ($1, $2)`,
              row,
              { prepare: true },
            );
          }
        },
      });
    }
  }
  await storage.close();
  await raw.end();

  // ── 3b: the same workflow, per superstep ────────────────────────────────────────────────────────────
  const ours = new PostgresCheckpointStorage({
    url: await database("bench_workflow_ss"),
    max: DRIVER.max,
  });
  await ours.head("migrate");
  const saver = PostgresSaver.fromConnString(
    await database("bench_workflow_lg"),
  );
  await saver.setup();
  let thread = 0;
  for (const size of SIZES) {
    const items = makeItems(size.bytes);
    const name = `workflow · ${size.label} state`;
    const workflow = superstepLoop(size.steps);
    await report.time("3pg", name, "superstep postgres", {
      warmup: 1,
      reps,
      budgetMs: 10_000,
      ops: size.steps,
      run: () => workflow.run({ n: 0, items }, { storage: ours }),
    });
    const graph = langGraphLoop(size.steps, saver);
    await report.time("3pg", name, "langgraph postgres", {
      warmup: 1,
      reps,
      budgetMs: 20_000,
      ops: size.steps,
      run: () =>
        graph.invoke({ n: 0, items }, {
          recursionLimit: 10 * size.steps,
          configurable: { thread_id: `t${++thread}` },
        }),
    });
  }
  await ours.close();
  await saver.end();

  // ── 7: storage growth ───────────────────────────────────────────────────────────────────────────────
  {
    const url = await database("bench_growth_ss");
    const storage = new PostgresCheckpointStorage({ url });
    await superstepGrowth(storage, GROWTH_STEPS, growthRecord).run(0);
    const count = (await storage.list()).length;
    await storage.close();
    const sizes = await sizeOf(
      url,
      ["superstep_checkpoints", "superstep_heads"],
      "SELECT sum(octet_length(payload) + octet_length(metadata)) AS bytes FROM superstep_checkpoints",
    );
    reportGrowth(report, {
      bench: "7pg",
      steps: GROWTH_STEPS,
      subject: "superstep postgres",
      checkpoints: count,
      ...sizes,
    });
  }
  {
    const url = await database("bench_growth_lg");
    const saver = PostgresSaver.fromConnString(url);
    await saver.setup();
    await langGraphGrowth(saver, GROWTH_STEPS, growthRecord);
    await saver.end();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM checkpoints`;
    await sql.end();
    const sizes = await sizeOf(
      url,
      ["checkpoints", "checkpoint_blobs", "checkpoint_writes"],
      `SELECT (SELECT sum(octet_length(checkpoint::text) + octet_length(metadata::text)) FROM checkpoints)
        + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_blobs)
        + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes) AS bytes`,
    );
    reportGrowth(report, {
      bench: "7pg",
      steps: GROWTH_STEPS,
      subject: "langgraph postgres",
      checkpoints: n,
      ...sizes,
    });
  }
} finally {
  await admin.end();
  await server.stop();
}
report.print();

/** What `tables` hold (heap, TOAST and indexes, after VACUUM), and the encoded bytes `encoded` sums. */
async function sizeOf(url: string, tables: string[], encoded: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const table of tables) await sql.unsafe(`VACUUM ANALYZE ${table}`);
    const [{ total }] = await sql.unsafe(
      `SELECT ${tables.map((t) => `pg_total_relation_size('${t}')`).join(" + ")} AS total`,
    );
    const [{ bytes }] = await sql.unsafe(encoded);
    return { fileBytes: Number(total), encodedBytes: Number(bytes) };
  } finally {
    await sql.end();
  }
}
