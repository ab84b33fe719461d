// The workflow shapes of benchmarks 1 and 2 and the per-superstep floor, for Superstep (runtime-neutral).
// Every peer builds the same shapes (see _langgraph.ts): a one-executor loop, a chain, a fan-out/fan-in.
import {
  type Checkpoint,
  type CheckpointStorage,
  defineExecutor,
  encodeCheckpoint,
  type Executor,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
} from "../../mod.ts";

/** A graph shape: `steps` supersteps per run (or one run of a fan for "fan"). */
export interface Shape {
  key: string;
  label: string;
  kind: "loop" | "chain" | "fan" | "map";
  /** Loop: supersteps; chain: executors (= supersteps); fan: parallel executors; map: items. */
  size: number;
}

export const LOOP: Shape = {
  key: "loop",
  label: "loop: 1 executor, 1,000 supersteps",
  kind: "loop",
  size: 1000,
};
export const CHAIN_1000: Shape = {
  key: "chain1000",
  label: "chain of 1,000 executors (1,000 supersteps)",
  kind: "chain",
  size: 1000,
};
export const CHAIN_100: Shape = {
  key: "chain100",
  label: "chain of 100 executors (100 supersteps)",
  kind: "chain",
  size: 100,
};
export const FAN: Shape = {
  key: "fan1000",
  label: "fan-out to 1,000 executors and fan-in",
  kind: "fan",
  size: 1000,
};

export const MAP: Shape = {
  key: "map1000",
  label: "map over 1,000 items known at run time, then collect",
  kind: "map",
  size: 1000,
};

/** What a run of a shape must output, to check that every library computed the same thing. */
export function expectedOutput(shape: Shape): number {
  // loop and chain count the supersteps; fan sums the worker indexes; map sums the doubled items.
  if (shape.kind === "fan") return (shape.size * (shape.size - 1)) / 2;
  if (shape.kind === "map") return shape.size * (shape.size - 1);
  return shape.size;
}

/** The Superstep workflow of a shape. Its handlers do nothing but pass a number on. */
export function buildWorkflow(shape: Shape): Workflow {
  const n = shape.size;
  if (shape.kind === "loop") {
    const loop = defineExecutor({
      id: "loop",
      handle: async (count: number, ctx) => {
        if (count + 1 < n) await ctx.send(count + 1);
        else await ctx.yieldOutput(count + 1);
      },
    });
    return new WorkflowBuilder({
      name: "loop",
      start: loop,
      maxSupersteps: n + 10,
    }).addEdge(loop, loop).build();
  }
  if (shape.kind === "chain") {
    const links: Executor[] = [];
    for (let i = 0; i < n; i++) {
      const last = i === n - 1;
      links.push(defineExecutor({
        id: `c${i}`,
        handle: async (count: number, ctx) => {
          if (last) await ctx.yieldOutput(count + 1);
          else await ctx.send(count + 1);
        },
      }));
    }
    return new WorkflowBuilder({
      name: `chain${n}`,
      start: links[0],
      maxSupersteps: n + 10,
    }).addChain(links)
      .build();
  }
  if (shape.kind === "map") {
    // One message per item, handled 8 at a time by one executor, all collected into one array.
    const split = defineExecutor({
      id: "split",
      handle: async (_: number, ctx) => {
        for (let i = 0; i < n; i++) await ctx.send(i);
      },
    });
    const work = defineExecutor({
      id: "work",
      concurrency: 8,
      handle: async (item: number, ctx) => await ctx.send(item * 2),
    });
    const sum = defineExecutor({
      id: "sum",
      handle: async (values: number[], ctx) => await ctx.yieldOutput(values.reduce((a, b) => a + b, 0)),
    });
    return new WorkflowBuilder({ name: `map${n}`, start: split, maxSupersteps: 10 })
      .addEdge(split, work)
      .addCollect(work, sum)
      .build();
  }
  const start = defineExecutor({
    id: "start",
    handle: async (_: number, ctx) => await ctx.send(0),
  });
  const workers: Executor[] = [];
  for (let i = 0; i < n; i++) {
    workers.push(defineExecutor({
      id: `w${i}`,
      handle: async (_: number, ctx) => await ctx.send(i),
    }));
  }
  const join = defineExecutor({
    id: "join",
    handle: async (values: number[], ctx) => await ctx.yieldOutput(values.reduce((a, b) => a + b, 0)),
  });
  return new WorkflowBuilder({ name: `fan${n}`, start, maxSupersteps: 10 })
    .addFanOut(start, workers)
    .addFanIn(workers, join)
    .build();
}

/** One timed run of a shape: a fresh in-memory storage per run when checkpointing. */
export async function runWorkflow(workflow: Workflow, checkpointing: boolean): Promise<unknown> {
  const storage: CheckpointStorage | undefined = checkpointing ? new MemoryCheckpointStorage() : undefined;
  const result = await workflow.run(0, { storage });
  return result.outputs[result.outputs.length - 1];
}

/**
 * The floor of one superstep with checkpointing: await one async call, build the checkpoint the runner
 * would write for the loop (same fields, same sizes), encode it with the core codec and keep it in a Map.
 *
 * @returns The final count (so the work cannot be optimized away).
 */
export async function floor(steps: number, store: Map<string, string>): Promise<number> {
  // An async function on purpose: one awaited call per step is part of the floor.
  // deno-lint-ignore require-await
  const step = async (count: number) => count + 1;
  const sessionId = crypto.randomUUID();
  const graphSignature = "0".repeat(64);
  let parentId: string | null = null;
  let count = 0;
  for (let i = 0; i < steps; i++) {
    count = await step(count);
    // A ULID-sized id without a generator: the floor is the encode and the store, nothing else.
    const id = `01K${String(i).padStart(23, "0")}`;
    const checkpoint: Checkpoint = {
      version: 1,
      id,
      parentId,
      sessionId,
      workflowName: "loop",
      graphSignature,
      superstep: i + 1,
      createdAt: "2026-01-01T00:00:00.000Z",
      messages: [{ source: "loop", data: count }],
      state: {},
      executorState: {},
      edgeState: {},
      pendingRequests: [],
      metadata: {},
    };
    store.set(id, encodeCheckpoint(checkpoint));
    parentId = id;
  }
  return count;
}

/** A record of a growing state: `{ id, text }`, the text padded to `width` characters. */
export function growthRecord(i: number, width = 80): { id: number; text: string } {
  return { id: i, text: `record ${i} `.padEnd(width, "lorem ipsum dolor sit amet ") };
}

/** An array of small records that encodes to about `bytes` bytes of JSON: a realistic state. */
export function makeItems(bytes: number): { id: number; text: string }[] {
  // {"id":12345,"text":"…"} plus a comma: 22 bytes of structure around 80 bytes of text.
  const per = 102;
  const count = Math.max(1, Math.round(bytes / per));
  const items = [];
  for (let i = 0; i < count; i++) {
    items.push({
      id: i,
      text: `item ${String(i).padStart(6, "0")} `.padEnd(80, "lorem ipsum dolor sit amet "),
    });
  }
  return items;
}
