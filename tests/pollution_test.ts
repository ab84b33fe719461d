// Prototype pollution at the core and storage level. `__proto__`, `constructor` and `prototype` keys in
// inputs, state keys, executor snapshots, fan-in buffers, requests, responses, executor ids, workflow names,
// session ids and request ids reach no prototype, and round-trip exactly through the memory, libSQL and KV
// adapters. (The HTTP layer's hostile-input tests are separate.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KvCheckpointStorage } from "../adapters/kv/mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";
import {
  type CheckpointStorage,
  defineExecutor,
  Executor,
  lineage,
  MemoryCheckpointStorage,
  type PendingRequest,
  RequestNotPendingError,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
} from "../mod.ts";
import { makeCheckpoint } from "../testing/mod.ts";
import { assertExact, prototypeFingerprint } from "./_exact.ts";
import { openKv } from "./fixtures/open_storage.ts";

const KEYS = ["__proto__", "constructor", "prototype"] as const;

/** A fresh object with own `__proto__`, `constructor` and `prototype` keys, as `JSON.parse` makes them. */
function hostile(tag: string): Record<string, unknown> {
  return JSON.parse(
    `{"__proto__":{"polluted":"${tag}"},"constructor":{"prototype":{"polluted":"${tag}"}},` +
      `"prototype":{"polluted":"${tag}"},"tag":"${tag}"}`,
  );
}

/** Nothing leaked into a built-in prototype, and a fresh object is still an ordinary one. */
function assertUnpolluted(fingerprint: string, context: string): void {
  assert.strictEqual(prototypeFingerprint(), fingerprint, `${context}: a built-in prototype changed`);
  const probe = {} as Record<string, unknown>;
  assert.strictEqual(probe.polluted, undefined, `${context}: Object.prototype was polluted`);
  assert.strictEqual(probe.constructor, Object, `${context}: ({}).constructor changed`);
  assert.strictEqual(Object.getPrototypeOf(probe), Object.prototype);
  assert.strictEqual(([] as unknown as Record<string, unknown>).polluted, undefined);
}

/** The start executor, id `__proto__`: keeps the input in its snapshot and writes it under hostile state keys. */
class Gate extends Executor<Record<string, unknown>, Record<string, unknown>> {
  kept: Record<string, unknown> = {};
  constructor() {
    super("__proto__");
  }
  async handle(input: Record<string, unknown>, ctx: WorkflowContext<Record<string, unknown>>): Promise<void> {
    this.kept = { ...hostile("snapshot"), input, byKey: new Map(KEYS.map((key) => [key, input])) };
    for (const key of KEYS) ctx.state.set(key, input);
    await ctx.send(input);
  }
  override snapshot(): Record<string, unknown> {
    return this.kept;
  }
  override restore(state: Record<string, unknown>): void {
    this.kept = state;
  }
}

/**
 * `__proto__` fans out to `constructor` and `prototype` (each adds what it reads from state), which fan in to
 * `hasOwnProperty`; that asks for an answer with hostile request data and yields everything it got.
 */
function hostileWorkflow(storage: CheckpointStorage): Workflow {
  const gate = new Gate();
  const branch = (id: string) =>
    defineExecutor({
      id,
      handle: (input: Record<string, unknown>, ctx) =>
        ctx.send({ ...hostile(id), input, read: ctx.state.get(id) }),
    });
  const join = defineExecutor({
    id: "hasOwnProperty",
    handle: async (joined: unknown[], ctx) => {
      await ctx.requestInfo({ ...hostile("request"), joined });
    },
    onResponse: async (response: unknown, request: PendingRequest, ctx) => {
      await ctx.yieldOutput({
        ...hostile("output"),
        response,
        request: request.data,
        state: ctx.state.get("__proto__"),
      });
    },
  });
  return new WorkflowBuilder({ name: "__proto__", start: gate })
    .addFanOut(gate, [branch("constructor"), branch("prototype")])
    .addFanIn(["constructor", "prototype"], join)
    .withCheckpointing(storage)
    .build();
}

/** The data of the request the workflow makes for `input`. */
function expectedRequest(input: Record<string, unknown>): Record<string, unknown> {
  const joined = ["constructor", "prototype"].map((id) => ({ ...hostile(id), input, read: input }));
  return { ...hostile("request"), joined };
}

type Kind = "memory" | "libsql" | "kv";

async function withStorage(kind: Kind, body: (storage: CheckpointStorage) => Promise<void>): Promise<void> {
  if (kind === "memory") return await body(new MemoryCheckpointStorage());
  if (kind === "libsql") {
    const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
    try {
      return await body(storage);
    } finally {
      await storage.close();
    }
  }
  const kv = await openKv(":memory:");
  try {
    await body(new KvCheckpointStorage({ kv }));
  } finally {
    kv.close();
  }
}

describe("pollution: hostile keys through the engine and every adapter", () => {
  for (const kind of ["memory", "libsql", "kv"] as const) {
    test(`${kind}: hostile inputs, state keys, snapshots, executor ids, session ids and responses pollute nothing and round-trip exactly`, async () => {
      const fingerprint = prototypeFingerprint();
      await withStorage(kind, async (storage) => {
        for (const sessionId of [...KEYS, "hasOwnProperty", "toString"]) {
          const context = `${kind}, session ${sessionId}`;
          const input = hostile("input");
          const paused = await hostileWorkflow(storage).run(input, { sessionId });
          assert.strictEqual(paused.status, "idle-pending-requests", context);
          assert.strictEqual(paused.sessionId, sessionId);
          assert.strictEqual(await storage.head(sessionId), paused.checkpointId, context);
          assertUnpolluted(fingerprint, `${context}, run`);

          // Every stored checkpoint decodes to exactly what was written.
          const [request] = paused.pendingRequests;
          assertExact(request.data, expectedRequest(structuredClone(input)));
          const stored = await storage.load(paused.checkpointId!);
          assert.ok(stored);
          assertExact(stored.state, Object.fromEntries(KEYS.map((key) => [key, input])));
          assert.ok(
            Object.hasOwn(stored.executorState, "__proto__"),
            `${context}: the snapshot of "__proto__"`,
          );
          assertExact((stored.executorState["__proto__"] as { input: unknown }).input, input);

          // Hostile request ids are simply not pending; nothing runs.
          for (const key of [...KEYS, "hasOwnProperty", "toString"]) {
            const responses = JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify(hostile("bad"))}}`);
            await assert.rejects(
              hostileWorkflow(storage).resume(paused.checkpointId!, { responses }),
              RequestNotPendingError,
              `${context}: response to ${key}`,
            );
          }
          assert.strictEqual(
            await storage.head(sessionId),
            paused.checkpointId,
            `${context}: nothing was written`,
          );

          // A fresh instance answers with a hostile response; every value arrives exactly.
          const response = hostile("response");
          const done = await hostileWorkflow(storage).resume(paused.checkpointId!, {
            responses: { [request.requestId]: response },
          });
          assert.strictEqual(done.status, "idle", context);
          assert.strictEqual(done.outputs.length, 1);
          assertExact(done.outputs[0], {
            ...hostile("output"),
            response: hostile("response"),
            request: expectedRequest(input),
            state: input,
          });
          assertUnpolluted(fingerprint, `${context}, resume`);

          // Forks of every checkpoint of the session, through the decode path, agree too.
          for (const summary of (await lineage(storage, paused.checkpointId!)).slice(1)) {
            const result = await hostileWorkflow(storage).resume(summary.id, { fork: true });
            assert.strictEqual(
              result.status,
              "idle-pending-requests",
              `${context}: fork of ${summary.superstep}`,
            );
            assertExact(result.pendingRequests[0].data, expectedRequest(input));
          }
          assert.strictEqual(await storage.deleteSession(sessionId) > 0, true);
          assert.strictEqual(await storage.head(sessionId), undefined);
        }
      });
      assertUnpolluted(fingerprint, kind);
    });

    test(`${kind}: checkpoints with hostile ids, session ids, workflow names, sources, request ids and metadata round-trip exactly`, async () => {
      const fingerprint = prototypeFingerprint();
      await withStorage(kind, async (storage) => {
        for (const key of KEYS) {
          const checkpoint = makeCheckpoint({
            sessionId: key,
            workflowName: key,
            messages: [{ source: key, data: hostile("message"), to: key }],
            state: hostile("state"),
            executorState: hostile("executor"),
            edgeState: hostile("edge"),
            pendingRequests: [{ requestId: key, executorId: key, data: hostile("request") }],
            metadata: hostile("metadata"),
          });
          await storage.save(checkpoint);
          const child = makeCheckpoint({
            parentId: checkpoint.id,
            sessionId: key,
            workflowName: key,
            superstep: 1,
          });
          await storage.save(child);
          assertExact(await storage.load(checkpoint.id), checkpoint);
          assert.strictEqual(await storage.head(key), child.id);
          const [summary] = await storage.list({ sessionId: key, workflowName: key, before: child.id });
          assert.strictEqual(summary.id, checkpoint.id);
          assertExact(summary.metadata, hostile("metadata"));
          assert.deepStrictEqual((await lineage(storage, child.id)).map((s) => s.id), [
            child.id,
            checkpoint.id,
          ]);
          assertUnpolluted(fingerprint, `${kind}, ${key}`);
        }
        // Sessions and names that were never used are not found through a prototype.
        for (const key of ["hasOwnProperty", "toString", "valueOf", "__defineGetter__"]) {
          assert.strictEqual(await storage.head(key), undefined, key);
          assert.deepStrictEqual(await storage.list({ sessionId: key }), [], key);
          assert.deepStrictEqual(await storage.list({ workflowName: key }), [], key);
          assert.strictEqual(await storage.load(key), undefined, key);
          assert.strictEqual(await storage.delete(key), false, key);
          assert.strictEqual(await storage.deleteSession(key), 0, key);
        }
        for (const key of KEYS) assert.strictEqual(await storage.deleteSession(key), 2);
        assert.deepStrictEqual(await storage.list(), []);
      });
      assertUnpolluted(fingerprint, kind);
    });
  }
});
