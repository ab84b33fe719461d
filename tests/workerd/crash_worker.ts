// The worker of the crash checks (tests/workerd/durable_checks.ts): a 12-superstep workflow through D1 or a
// CheckpointObject (`STORAGE`), whose executor asks the host's gate (`http://gate/step/<n>`, Miniflare's
// outbound service) before each superstep's work, and whose storage asks it (`/saving/<superstep>`) while
// each save is in flight — so the host can dispose Miniflare exactly between two supersteps, or while a
// save is on its way. Every fourth superstep's state holds 2.5 MB of text, stored in parts.
//
// Routes: POST /run {sessionId} (a fresh run), POST /resume {sessionId} (the session's head), GET
// /reference (an uninterrupted run in memory), GET /inspect?session= (what the storage holds).
import {
  type Checkpoint,
  type CheckpointStorage,
  Executor,
  lineage,
  MemoryCheckpointStorage,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
} from "../../mod.ts";
import { D1CheckpointStorage, type D1DatabaseLike } from "../../adapters/d1/mod.ts";
import {
  CheckpointObject,
  CheckpointObjectStorage,
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
} from "../../adapters/durable_object/mod.ts";

/** How many supersteps a run takes after its entry checkpoint. */
const STEPS = 12;
const BIG = "payload😀".repeat(2_500_000 / 11);

interface Env {
  DB: D1DatabaseLike;
  CHECKPOINTS: DurableObjectNamespaceLike;
  STORAGE: "d1" | "durable-object";
}

type Gate = (what: string) => Promise<void>;

/** Counts supersteps and folds them into a digest (both checkpointed); yields one output per superstep. */
class Grow extends Executor<number, number> {
  digest = 7;
  constructor(readonly gate: Gate) {
    super("grow");
  }
  async handle(step: number, ctx: WorkflowContext<number>): Promise<void> {
    await this.gate(`step/${step}`);
    this.digest = (Math.imul(this.digest, 33) + step) >>> 0;
    ctx.state.set("blob", step % 4 === 0 ? `${step}:${BIG}` : step);
    await ctx.yieldOutput({ step, digest: this.digest });
    if (step < STEPS) await ctx.send(step + 1);
  }
  override snapshot(): { digest: number } {
    return { digest: this.digest };
  }
  override restore(state: { digest: number }): void {
    this.digest = state.digest;
  }
}

function growth(storage: CheckpointStorage, gate: Gate): Workflow {
  const grow = new Grow(gate);
  return new WorkflowBuilder({ name: "growth", start: grow, maxSupersteps: STEPS + 5 })
    .addEdge(grow, grow)
    .withCheckpointing(storage)
    .build();
}

const gate: Gate = async (what) => {
  const answer = await fetch(`http://gate/${what}`);
  await answer.body?.cancel();
};

/** The storage of `env`, whose saves ask the gate once they are under way. */
function storageOf(env: Env): CheckpointStorage {
  const inner = env.STORAGE === "d1"
    ? new D1CheckpointStorage({ db: env.DB })
    : new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "crash" });
  return new Proxy(inner, {
    get(target, key) {
      if (key !== "save") return Reflect.get(target, key).bind(target);
      return async (checkpoint: Checkpoint) => {
        const saving = target.save(checkpoint);
        saving.catch(() => {});
        // A macrotask: the save's request has left the isolate before the gate hears of it.
        await new Promise((resolve) => setTimeout(resolve, 0));
        await gate(`saving/${checkpoint.superstep}`);
        return await saving;
      };
    },
  });
}

/** The payload fields of a checkpoint: what a resume restores. */
function payloadOf({ messages, state, executorState, edgeState, pendingRequests }: Checkpoint) {
  return { messages, state, executorState, edgeState, pendingRequests };
}

/** The stored rows that are not parts of a whole checkpoint: parts without a row, or a row short of parts. */
const ORPHANS = `SELECT
    (SELECT count(*) FROM superstep_payload_chunks
      WHERE checkpoint_id NOT IN (SELECT id FROM superstep_checkpoints)) AS orphanParts,
    (SELECT count(*) FROM superstep_checkpoints AS c
      WHERE c.payload_chunks <> (SELECT count(*) FROM superstep_payload_chunks WHERE checkpoint_id = c.id))
      AS shortRows`;

/** A CheckpointObject that also answers GET /orphans (for the checks only). */
export class InspectedCheckpointObject extends CheckpointObject {
  readonly #ctx: DurableObjectStateLike;
  constructor(ctx: DurableObjectStateLike, env: unknown) {
    super(ctx, env);
    this.#ctx = ctx;
  }
  override fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== "/orphans") return super.fetch(request);
    return Promise.resolve(Response.json(this.#ctx.storage.sql.exec(ORPHANS).toArray()[0]));
  }
}

async function orphans(env: Env): Promise<unknown> {
  if (env.STORAGE === "d1") return await env.DB.prepare(ORPHANS).bind().all().then((r) => r.results?.[0]);
  const stub = env.CHECKPOINTS.get(env.CHECKPOINTS.idFromName("crash"));
  return await (await stub.fetch("https://object/orphans")).json();
}

/** What the storage holds of a session: each checkpoint's summary and payload, the head, the lineage. */
async function inspect(env: Env, sessionId: string) {
  const storage = storageOf(env);
  const summaries = await storage.list({ sessionId });
  const checkpoints = [];
  for (const { id } of summaries) checkpoints.push(await storage.load(id));
  const head = await storage.head(sessionId);
  return {
    checkpoints: checkpoints.map((checkpoint) => ({
      id: checkpoint!.id,
      parentId: checkpoint!.parentId,
      superstep: checkpoint!.superstep,
      payload: payloadOf(checkpoint!),
    })),
    head: head ?? null,
    lineage: head === undefined ? [] : (await lineage(storage, head)).map((summary) => summary.id),
    orphans: await orphans(env),
  };
}

function result(
  { status, outputs, checkpointId }: { status: string; outputs: unknown[]; checkpointId?: string },
) {
  return { status, outputs, checkpointId };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json() as { sessionId: string } : undefined;
    try {
      switch (url.pathname) {
        case "/run": {
          const storage = storageOf(env);
          return Response.json(result(await growth(storage, gate).run(1, { sessionId: body!.sessionId })));
        }
        case "/resume": {
          const storage = storageOf(env);
          const head = await storage.head(body!.sessionId);
          return Response.json(result(await growth(storage, gate).resume(head!)));
        }
        case "/reference": {
          const storage = new MemoryCheckpointStorage();
          const run = await growth(storage, () => Promise.resolve()).run(1);
          const final = payloadOf((await storage.load(run.checkpointId!))!);
          return Response.json({ ...result(run), final });
        }
        case "/inspect":
          return Response.json(await inspect(env, url.searchParams.get("session")!));
      }
      return new Response("not found", { status: 404 });
    } catch (error) {
      return new Response(String((error as Error)?.stack ?? error), { status: 500 });
    }
  },
};
