// Benchmark 9 (runtime-neutral; scripts/bench/delta.ts runs it on Node, head_loads.ts on Deno and Bun): a
// head load with delta payloads against a whole checkpoint. Sessions of 10, 1,000 and 100,000 checkpoints of
// a ~4 KiB state whose cursor changes each time (each delta on the keyframe it shares with its parent), and
// of 1,000 checkpoints of a state that grows by a record each time (a chain of up to 32 deltas back to a
// keyframe), stored as deltas and stored whole; the head waits for an answer (its resume copy), and for the
// growing state also does not (an interrupted run's head, loaded through its chain). Each repetition loads
// the head through a fresh storage (nothing cached but a Database's compiled statements); memory, libSQL
// (file, WAL) through @libsql/client and, on Node, through a `libsql` Database (the same files), and KV
// (file: Deno.openKv on Deno, @deno/kv elsewhere; one file a case, each store under its own prefix). The two
// stores of a case are timed in turns, the one to go first changing every round.
import type { LibsqlDatabase } from "../../adapters/libsql/client.ts";
import { type CheckpointStorage, MemoryCheckpointStorage } from "../../mod.ts";
import { DeltaCodec } from "../../src/storage_kit.ts";
import { databaseDriver } from "../../adapters/libsql/_database.ts";
import { KvCheckpointStorage } from "../../adapters/kv/mod.ts";
import { collectGarbage, log, type Report, stats } from "./_harness.ts";
import { bulkKv, LibsqlCheckpointStorage, openKv, openLibsqlFile } from "./_stores.ts";
import { caseName, type LoadCase, loadCases, session, writeSession } from "./_head_cases.ts";

/** A native `libsql` Database (Node only here): libSQL files are written through it, and read as a kind. */
export interface NativeDatabase {
  open(path: string): LibsqlDatabase & { close(): void };
}

/** What `headLoads` needs of its runner. */
export interface HeadLoadOptions {
  report: Report;
  /** A new file path in the run's temporary directory. */
  newPath(name: string): string;
  quick: boolean;
  /** On Node: the `libsql` Database, which writes the files and is a kind of its own. */
  native?: NativeDatabase;
}

/** A statement writer on a libSQL file: a native Database's driver, else the client's batch. */
interface Writer {
  batch(statements: { sql: string; args: (string | number | null)[] }[]): Promise<unknown>;
  close(): void;
}

interface Built {
  label: string;
  head: string;
  fresh(): Promise<CheckpointStorage>;
  close(): Promise<void>;
}

async function buildMemory(load: LoadCase, deltas: boolean, _options: HeadLoadOptions): Promise<Built> {
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

async function buildLibsql(load: LoadCase, deltas: boolean, options: HeadLoadOptions): Promise<Built> {
  const { newPath, native } = options;
  const path = newPath(
    `load-${deltas ? "deltas" : "whole"}-${load.length}${load.grows ? "-growing" : ""}${
      load.waits ? "" : "-chain"
    }`,
  );
  // Written through a Database (statements compiled once: a fifth of the client's time for 100,000), with
  // the adapter's own statements; read below through the client.
  const writer = await openWriter(path, deltas, native);
  const head = await writeSession("libsql", load, deltas, {
    maxRowBytes: Infinity,
    batchSize: 2000,
    write: (statements) => writer.batch(statements),
  });
  writer.close();
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
async function buildLibsqlDatabase(
  load: LoadCase,
  deltas: boolean,
  options: HeadLoadOptions,
): Promise<Built> {
  const built = libsqlFiles.get(fileKey(load, deltas)) ??
    await buildLibsql(load, deltas, options).then(async (
      { close },
    ) => (await close(), libsqlFiles.get(fileKey(load, deltas))!));
  const database = options.native!.open(built!.path);
  return {
    label: "libsql database",
    head: built!.head,
    fresh: async () => {
      const storage = new LibsqlCheckpointStorage({ database, deltas });
      await storage.head("warm");
      return storage;
    },
    close: () => Promise.resolve(database.close()),
  };
}

/**
 * The KV file of a case, shared by its two stores under prefixes of their own: timed through one handle,
 * the two sides meet the same store thread. (Two files each had their own, and a handle's reads took either
 * about 70 or about 170 µs for a whole run on Deno, whichever side it was: 0.41-2.39x for the same loads.)
 */
const kvFiles = new Map<string, { kv: Awaited<ReturnType<typeof openKv>>; users: number }>();

async function buildKv(load: LoadCase, deltas: boolean, { newPath }: HeadLoadOptions): Promise<Built> {
  const name = `load-kv-${load.length}${load.grows ? "-growing" : ""}${load.waits ? "" : "-chain"}`;
  let file = kvFiles.get(name);
  if (file === undefined) {
    file = { kv: await openKv(newPath(name)), users: 0 };
    kvFiles.set(name, file);
  }
  file.users++;
  const { kv } = file;
  const prefix = [deltas ? "deltas" : "whole"];
  const ids = await bulkKv(kv, session(load), deltas ? new DeltaCodec() : undefined, prefix);
  return {
    label: "kv",
    head: ids[ids.length - 1],
    fresh: async () => {
      const storage = new KvCheckpointStorage({ kv, deltas, prefix });
      await storage.head("warm");
      return storage;
    },
    close: () => {
      if (--file.users === 0) {
        kvFiles.delete(name);
        kv.close();
      }
      return Promise.resolve();
    },
  };
}

/**
 * Benchmark 9 on this runtime: every kind (memory, libSQL through the client and, with `native`, through a
 * Database, KV), every case, the two stores of a case timed in turns.
 */
export async function headLoads(options: HeadLoadOptions): Promise<void> {
  const { report, quick: isQuick } = options;
  const LENGTHS = isQuick ? [10, 1000] : [10, 1000, 100_000];
  const ROUNDS = isQuick ? 3 : 11;
  // Enough loads a turn that a collection or a compile is noise, not a turn's figure: ten times more in memory,
  // where a load takes about 10 µs and one scavenge is a large part of a turn of 100.
  const LOADS = 100;
  const MEMORY_LOADS = 1000;
  const KINDS = [
    ["memory", buildMemory],
    ["libsql", buildLibsql],
    ...options.native === undefined ? [] : [["libsql database", buildLibsqlDatabase] as const],
    ["kv", buildKv],
  ] as const;
  for (const [kind, build] of KINDS) {
    // Resumed heads wait for an answer (a resume copy where the adapter keeps one); the last case is a head
    // that does not (an interrupted run's), which loads through its chain.
    const cases = loadCases(LENGTHS);
    for (const load of cases) {
      const { length } = load;
      // In memory, where a load takes about 8 µs, two stores a side: with one each, a whole case's turns of
      // one side sometimes took 11-15 µs against about 8, whichever side it was (0.70-1.59x in a probe of the
      // same loads); taking turns among more stores kept every side near its own time.
      const instances = kind === "memory" ? 2 : 1;
      const stores = { deltas: [] as Built[], whole: [] as Built[] };
      for (let n = 0; n < instances; n++) {
        stores.deltas.push(await build(load, true, options));
        stores.whole.push(await build(load, false, options));
      }
      const times = { deltas: [] as number[], whole: [] as number[] };
      collectGarbage();
      // Untimed turns first, more for a kind's first case: it would otherwise pay for compiling its load path.
      const warm = load === cases[0] ? 6 : 2;
      for (let round = -warm; round < ROUNDS; round++) {
        // The side to go first changes every round: neither pays for what the other left behind each time.
        const order = round % 2 === 0 ? (["deltas", "whole"] as const) : (["whole", "deltas"] as const);
        for (
          const { mode, store } of order.flatMap((mode) => stores[mode].map((store) => ({ mode, store })))
        ) {
          // Each turn starts with an empty young generation: a turn pays for its own garbage, not the other's.
          collectGarbage();
          let elapsed = 0;
          const loads = kind === "memory" ? MEMORY_LOADS : LOADS;
          for (let i = 0; i < loads; i++) {
            // Memory: the same storage each time, whose codec may hold the head; libSQL: a fresh one.
            const storage = await store.fresh();
            const t0 = performance.now();
            const loaded = await storage.load(store.head);
            elapsed += performance.now() - t0;
            if (loaded?.id !== store.head) {
              throw new Error(`${kind} ${mode} ${length}: no head`);
            }
          }
          if (round >= 0) times[mode].push((elapsed * 1000) / loads);
        }
      }
      for (const mode of ["deltas", "whole"] as const) {
        report.add({
          bench: "9",
          name: caseName(load),
          subject: `${kind} ${mode}`,
          unit: "µs",
          ...stats(times[mode]),
          reps: times[mode].length,
          extra: { ops: kind === "memory" ? MEMORY_LOADS : LOADS },
        });
        for (const built of stores[mode]) await built.close();
      }
      log(
        `${kind} ${length}${load.grows ? " growing" : ""}${load.waits ? "" : " interrupted"}: deltas ${
          stats(times.deltas).median.toFixed(1)
        } µs, whole ${stats(times.whole).median.toFixed(1)} µs`,
      );
    }
  }
}

/** A writer on a new libSQL file, migrated (through the adapter, as `deltas` will read it). */
async function openWriter(
  path: string,
  deltas: boolean,
  native: NativeDatabase | undefined,
): Promise<Writer> {
  if (native !== undefined) {
    // Statements compiled once: a fifth of the client's time for 100,000.
    const database = native.open(path);
    await new LibsqlCheckpointStorage({ database, deltas }).head("migrate");
    const driver = databaseDriver(database);
    return {
      batch: (statements) => driver.batch(statements),
      close: () => {
        database.prepare("PRAGMA wal_checkpoint(TRUNCATE)").all();
        database.close();
      },
    };
  }
  const client = await openLibsqlFile(path);
  await new LibsqlCheckpointStorage({ client, deltas }).head("migrate");
  return {
    batch: (statements) => client.batch(statements, "write"),
    close: () => {
      client.close();
    },
  };
}
