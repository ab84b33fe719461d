// Benchmark 6 (runtime-neutral: Deno.openKv on Deno, @deno/kv on Node): the KV adapter's save and load of
// checkpoints that encode to 1 KiB (inline in the checkpoint's record: a load is one get), 64 KiB (KV's value
// limit: with its summary the record would pass it, so the adapter uses two chunks) and 1 MiB, against raw KV
// writes and reads of the same bytes: one `kv.set` / `kv.get` when they fit one value, else 64 KiB values in
// as few atomics (`getMany` calls) as KV's per-commit limits allow.
import { type Checkpoint, encodeCheckpoint } from "../../mod.ts";
import { KvCheckpointStorage } from "../../adapters/kv/mod.ts";
import { args, quick, Report } from "./_harness.ts";
import { chain, type OpenKv, openKv, tempDir } from "./_stores.ts";

const isQuick = quick(args());
const report = new Report();
const dir = await tempDir();
let files = 0;
const encoder = new TextEncoder();

const KIB = 1024;
const VALUE_LIMIT = 64 * KIB;
/** Values per raw atomic: KV allows 800 KiB of keys and values per commit. */
const VALUES_PER_ATOMIC = 12;
const SIZES = [
  { label: "1 KiB", bytes: KIB, saves: 100 },
  // Just under the value limit, so that the raw side is one kv.set (the adapter uses two chunks).
  { label: "64 KiB", bytes: VALUE_LIMIT - 64, saves: 50 },
  { label: "1 MiB", bytes: KIB * KIB, saves: 10 },
];
const LOADS = 50;

/** Checkpoints whose encoded text is `bytes` long (give or take the digits of the superstep). */
function checkpointsOf(bytes: number, count: number): Checkpoint[] {
  const base = encodeCheckpoint([...chain(1, { state: { blob: "" } })][0]).length;
  const blob = "x".repeat(Math.max(0, bytes - base));
  return [...chain(count, { workflowName: "kv", state: { blob } })];
}

function slices(bytes: Uint8Array): Uint8Array[] {
  const out = [];
  for (let i = 0; i < bytes.length; i += VALUE_LIMIT) {
    out.push(bytes.subarray(i, i + VALUE_LIMIT));
  }
  return out;
}

async function rawSet(kv: OpenKv, key: string, bytes: Uint8Array): Promise<void> {
  const values = slices(bytes);
  if (values.length === 1) {
    await kv.set(["raw", key], values[0]);
    return;
  }
  for (let i = 0; i < values.length; i += VALUES_PER_ATOMIC) {
    const op = kv.atomic();
    for (let j = i; j < Math.min(values.length, i + VALUES_PER_ATOMIC); j++) {
      op.set(["raw", key, j], values[j]);
    }
    if (!(await op.commit()).ok) throw new Error("raw commit failed");
  }
}

async function rawGet(kv: OpenKv, key: string, count: number): Promise<number> {
  if (count === 1) {
    return ((await kv.get(["raw", key])).value as Uint8Array).length;
  }
  let length = 0;
  for (let i = 0; i < count; i += 10) {
    const keys = [];
    for (let j = i; j < Math.min(count, i + 10); j++) {
      keys.push(["raw", key, j]);
    }
    for (const entry of await kv.getMany(keys)) {
      length += (entry.value as Uint8Array).length;
    }
  }
  return length;
}

async function open(): Promise<OpenKv> {
  return await openKv(`${dir.path}/kv-${++files}.db`);
}

for (const size of SIZES) {
  const reps = isQuick ? 1 : 7;
  const name = `${size.label} checkpoint`;
  const sample = checkpointsOf(size.bytes, 1)[0];
  const bytes = encoder.encode(encodeCheckpoint(sample));
  report.notes[`kv encodedBytes ${size.label}`] = bytes.length;

  await report.time("6", `save · ${name}`, "superstep kv", {
    warmup: 1,
    reps,
    budgetMs: 8000,
    ops: size.saves,
    setup: async () => ({
      kv: await open(),
      list: checkpointsOf(size.bytes, size.saves),
    }),
    run: async ({ kv, list }) => {
      const storage = new KvCheckpointStorage({ kv });
      for (const checkpoint of list) await storage.save(checkpoint);
    },
    teardown: ({ kv }) => kv.close(),
  });
  await report.time("6", `save · ${name}`, "raw kv", {
    warmup: 1,
    reps,
    budgetMs: 8000,
    ops: size.saves,
    setup: async () => ({
      kv: await open(),
      list: checkpointsOf(size.bytes, size.saves).map((c) =>
        [c.id, encoder.encode(encodeCheckpoint(c))] as const
      ),
    }),
    run: async ({ kv, list }) => {
      for (const [id, value] of list) await rawSet(kv, id, value);
    },
    teardown: ({ kv }) => kv.close(),
  });

  const kv = await open();
  const storage = new KvCheckpointStorage({ kv });
  await storage.save(sample);
  await rawSet(kv, sample.id, bytes);
  const count = slices(bytes).length;
  if (
    (await storage.load(sample.id))?.id !== sample.id ||
    (await rawGet(kv, sample.id, count)) !== bytes.length
  ) {
    throw new Error(`kv ${size.label}: read back failed`);
  }
  await report.time("6", `load · ${name}`, "superstep kv", {
    warmup: 2,
    reps: isQuick ? 2 : 11,
    budgetMs: 5000,
    ops: LOADS,
    run: async () => {
      for (let i = 0; i < LOADS; i++) await storage.load(sample.id);
    },
  });
  await report.time("6", `load · ${name}`, "raw kv", {
    warmup: 2,
    reps: isQuick ? 2 : 11,
    budgetMs: 5000,
    ops: LOADS,
    run: async () => {
      for (let i = 0; i < LOADS; i++) await rawGet(kv, sample.id, count);
    },
  });
  kv.close();
}
await dir.dispose();
report.print();
