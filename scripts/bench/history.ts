// Benchmarks 4 and 5: resume latency from the head of a session of 10, 1,000 and 100,000 checkpoints
// (each history in a store of its own, so the store grows with it), and the lineage of a checkpoint 10,000
// deep; for the libSQL (file, WAL), KV (file) and memory adapters.
import {
  type CheckpointStorage,
  defineExecutor,
  lineage,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
} from "../../mod.ts";
import { KvCheckpointStorage } from "../../adapters/kv/mod.ts";
import { args, collectGarbage, log, quick, Report, stats } from "./_harness.ts";
import { makeItems } from "./_shapes.ts";
import {
  bulkKv,
  bulkLibsql,
  chain,
  LibsqlCheckpointStorage,
  openKv,
  openLibsqlFile,
  tempDir,
} from "./_stores.ts";

const isQuick = quick(args());
const LENGTHS = isQuick ? [10, 1000] : [10, 1000, 100_000];
const LINEAGE_DEPTH = 10_000;
const report = new Report();
const dir = await tempDir();

// Resuming a checkpoint with no queued message restores it and ends at once: load, graph check, head
// check, restore. The checkpoints carry a small state, as a real run's would.
const noop = defineExecutor({ id: "step", handle: () => {} });
const workflow: Workflow = new WorkflowBuilder({ name: "history", start: noop })
  .build();
const template = {
  workflowName: "history",
  graphSignature: await workflow.graphSignature(),
  state: { items: makeItems(512), cursor: 42 },
  metadata: { source: "bench" },
};

interface Store {
  storage: CheckpointStorage;
  close(): Promise<void>;
}

type Kind = "libsql" | "kv" | "memory";

async function build(kind: Kind, length: number): Promise<{ store: Store; ids: string[] }> {
  const began = performance.now();
  const path = `${dir.path}/${kind}-${length}`;
  let result: { store: Store; ids: string[] };
  if (kind === "memory") {
    const storage = new MemoryCheckpointStorage();
    const ids: string[] = [];
    for (const checkpoint of chain(length, template)) {
      await storage.save(checkpoint);
      ids.push(checkpoint.id);
    }
    result = { store: { storage, close: () => Promise.resolve() }, ids };
  } else if (kind === "libsql") {
    const client = await openLibsqlFile(`${path}.db`);
    const storage = new LibsqlCheckpointStorage({ client });
    const ids = await bulkLibsql(storage, client, chain(length, template));
    result = {
      store: {
        storage,
        close: async () => {
          await storage.close();
          client.close();
        },
      },
      ids,
    };
  } else {
    const kv = await openKv(`${path}.kv`);
    const ids = await bulkKv(kv, chain(length, template));
    result = {
      store: {
        storage: new KvCheckpointStorage({ kv }),
        close: () => Promise.resolve(kv.close()),
      },
      ids,
    };
  }
  const head = await result.store.storage.head((await result.store.storage.load(result.ids[0]))!.sessionId);
  if (head !== result.ids[result.ids.length - 1]) {
    throw new Error(`${kind} ${length}: head is ${head}`);
  }
  log(`built ${kind} history of ${length} in ${Math.round(performance.now() - began)} ms`);
  return result;
}

/** Resumes per timed repetition, by store (a KV resume takes about ten times longer). */
const RESUMES = { memory: 200, libsql: 200, kv: 50 };
const ROUNDS = isQuick ? 2 : 15;

// The three histories of a store kind are built first, then timed in turns (10, 1,000, 100,000, 10 …),
// so that a slow moment of the machine falls on all of them alike and the ratio stays meaningful.
for (const kind of ["memory", "libsql", "kv"] as const) {
  const built = [];
  for (const length of LENGTHS) {
    const { store, ids } = await build(kind, length);
    const headId = ids[ids.length - 1];
    const result = await workflow.resume(headId, { storage: store.storage });
    if (result.status !== "idle" || result.checkpointId !== headId) {
      throw new Error(`${kind} ${length}: resume ended ${result.status} at ${result.checkpointId}`);
    }
    built.push({ length, store, ids, headId, times: [] as number[] });
  }
  const resumes = RESUMES[kind];
  const resumeAll = async (storage: CheckpointStorage, headId: string) => {
    for (let i = 0; i < resumes; i++) {
      await workflow.resume(headId, { storage });
    }
  };
  collectGarbage();
  for (let round = -3; round < ROUNDS; round++) {
    for (const entry of built) {
      const t0 = performance.now();
      await resumeAll(entry.store.storage, entry.headId);
      // The first three rounds warm up.
      if (round >= 0) {
        entry.times.push(((performance.now() - t0) * 1000) / resumes);
      }
    }
  }
  for (const entry of built) {
    report.add({
      bench: "4",
      name: `resume head · ${entry.length.toLocaleString("en-US")} checkpoints`,
      subject: kind,
      unit: "µs",
      ...stats(entry.times),
      reps: entry.times.length,
      extra: { ops: resumes },
    });
  }
  for (const { store, ids } of built) {
    if (ids.length >= LINEAGE_DEPTH) {
      const from = ids[LINEAGE_DEPTH - 1];
      const depth = (await lineage(store.storage, from)).length;
      if (depth !== LINEAGE_DEPTH) {
        throw new Error(`${kind}: lineage has ${depth} entries`);
      }
      const figure = await report.time(
        "5",
        `lineage · depth ${LINEAGE_DEPTH.toLocaleString("en-US")}`,
        kind,
        {
          warmup: 1,
          reps: isQuick ? 1 : 5,
          minReps: isQuick ? 1 : 3,
          budgetMs: 8000,
          ops: 1,
          run: () => lineage(store.storage, from),
        },
      );
      figure.extra = { ...figure.extra, storeLength: ids.length };
    }
    await store.close();
  }
}
await dir.dispose();
report.print();
