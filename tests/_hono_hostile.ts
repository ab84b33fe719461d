// Fixtures of the hostile-input tests (tests/hono_hostile_test.ts, tests/http_fuzz_test.ts, tests/json_safe_test.ts):
// a checkpoint damaged on purpose, workflows that fail after writing checkpoints, DAGs, and a resolver of the
// `$ref` pointers JSON answers write for shared references.
import assert from "node:assert/strict";
import {
  CheckpointCorruptError,
  defineExecutor,
  type MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
} from "../mod.ts";

/**
 * Make `storage.load(id)` throw the `CheckpointCorruptError` an adapter throws for a damaged payload: with
 * the session and workflow its summary still names (`known`), or without (the summary is damaged too).
 */
export function damageCheckpoint(
  storage: MemoryCheckpointStorage,
  id: string,
  { known }: { known: boolean },
): void {
  const load = storage.load.bind(storage);
  storage.load = async (loadId: string) => {
    const checkpoint = await load(loadId);
    if (loadId !== id || checkpoint === undefined) return checkpoint;
    const facts = known ? { sessionId: checkpoint.sessionId, workflowName: checkpoint.workflowName } : {};
    throw new CheckpointCorruptError(id, "memory: damaged on purpose", facts);
  };
}

/**
 * The factory of `failing`: `first` sends its input to `second`, which throws on its first `failures`
 * calls (counted across the factory's workflows) and then outputs what it got. A failed run leaves two
 * checkpoints: the entry one and the one that queues the message for `second`, which resumes.
 */
export function failingOnceWorkflow(failures: number): () => Workflow {
  let calls = 0;
  return () => {
    const first = defineExecutor({ id: "first", handle: (input: unknown, ctx) => ctx.send(input) });
    const second = defineExecutor({
      id: "second",
      handle: async (input: unknown, ctx) => {
        if (calls++ < failures) throw new Error("second refuses (secret hunter2)");
        await ctx.yieldOutput(input);
      },
    });
    return new WorkflowBuilder({ name: "failing", start: first }).addEdge(first, second).build();
  };
}

/** `looping`: counts its input up to 5, one superstep each, with `maxSupersteps` 3: a run from 0 does not converge. */
export function loopingWorkflow(): Workflow {
  const count = defineExecutor({
    id: "count",
    handle: async (n: number, ctx) => {
      if (n < 5) await ctx.send(n + 1);
      else await ctx.yieldOutput(n);
    },
  });
  return new WorkflowBuilder({ name: "looping", start: count, maxSupersteps: 3 }).addEdge(count, count)
    .build();
}

/** A DAG of `levels` levels: each node's `l` and `r` are the same node, so it has 2^levels paths. */
export function dagOf(levels: number): Record<string, unknown> {
  let node: Record<string, unknown> = { leaf: true };
  for (let level = 0; level < levels; level++) node = { l: node, r: node };
  return node;
}

/** `doc` with every `{ "$ref": "#/pointer" }` replaced by the value it points to (shared, not copied). */
export function resolveRefs<T>(doc: T): T {
  const resolved = new Map<string, unknown>();
  const at = (pointer: string): unknown => {
    let value: unknown = doc;
    for (const token of pointer.split("/").slice(1)) {
      value = (value as Record<string, unknown>)[token.replaceAll("~1", "/").replaceAll("~0", "~")];
    }
    return value;
  };
  const resolve = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    const ref = (value as { $ref?: unknown }).$ref;
    if (typeof ref === "string" && Object.keys(value).length === 1) {
      assert.match(ref, /^#/);
      if (!resolved.has(ref)) resolved.set(ref, resolve(at(ref.slice(1))));
      return resolved.get(ref);
    }
    if (Array.isArray(value)) return value.map(resolve);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(doc) as T;
}
