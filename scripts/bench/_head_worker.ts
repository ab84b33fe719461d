// The worker of benchmark 9 in workerd (bundled by head_loads_workerd.ts, served by Miniflare): it builds a
// case's session as deltas or whole in a D1 database or a SQLite Durable Object, and loads its head a given
// number of times, each through a fresh storage, the way a request that resumes a session would:
//   POST /build?kind=d1|object&case=<i>&mode=deltas|whole  → the head's id
//   POST /load?kind=d1|inside|object&case=<i>&mode=…&head=<id>&n=<loads>
// `inside` is DurableObjectCheckpointStorage in the object itself; `object` is CheckpointObjectStorage in the
// Worker, a call to the object per load. Each case and mode has its own database or object.
import { D1CheckpointStorage } from "../../adapters/d1/mod.ts";
import {
  CheckpointObject,
  CheckpointObjectStorage,
  DurableObjectCheckpointStorage,
} from "../../adapters/durable_object/mod.ts";
import type { CheckpointStorage } from "../../mod.ts";
import { CLOUDFLARE_MAX_ROW_BYTES } from "../../adapters/_sqlite/_payload.ts";
import { type LoadCase, loadCases, session, writeSession } from "./_head_cases.ts";

interface D1Like {
  prepare(sql: string): { bind(...args: unknown[]): unknown };
  batch(statements: unknown[]): Promise<unknown>;
}

interface Env {
  OBJECTS: {
    idFromName(name: string): unknown;
    get(
      id: unknown,
    ): { fetch(url: string, init?: RequestInit): Promise<Response> };
  };
  [binding: string]: unknown;
}

/** The cases, by index: the lengths come with every request. */
function caseOf(url: URL): LoadCase {
  const lengths = (url.searchParams.get("lengths") ?? "10").split(",").map(
    Number,
  );
  return loadCases(lengths)[Number(url.searchParams.get("case"))];
}

const deltasOf = (url: URL) => url.searchParams.get("mode") === "deltas";
const nameOf = (url: URL) => `${url.searchParams.get("case")}-${url.searchParams.get("mode")}`;

/** `n` loads of `head`, each through `fresh()`. */
async function loads(
  fresh: () => CheckpointStorage,
  head: string,
  n: number,
): Promise<Response> {
  for (let i = 0; i < n; i++) {
    const loaded = await fresh().load(head);
    if (loaded?.id !== head) {
      return new Response(`no head ${head}`, { status: 500 });
    }
  }
  return new Response("ok");
}

/** A case written into D1 with the adapter's own statements, many checkpoints a batch. */
async function buildD1(db: D1Like, load: LoadCase, deltas: boolean): Promise<string> {
  await new D1CheckpointStorage({ db: db as never, deltas }).head("migrate");
  return await writeSession("d1", load, deltas, {
    maxRowBytes: CLOUDFLARE_MAX_ROW_BYTES,
    batchSize: 600,
    write: (statements) => db.batch(statements.map(({ sql, args }) => db.prepare(sql).bind(...args))),
  });
}

/** The object of a case and mode: built by the adapter's own saves, loaded from inside or through calls. */
export class BenchObject extends CheckpointObject {
  readonly #storage: unknown;

  constructor(ctx: { storage: unknown }, env?: unknown) {
    super(ctx as never, env);
    this.#storage = ctx.storage;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/build") {
      const storage = new DurableObjectCheckpointStorage({
        storage: this.#storage as never,
        deltas: deltasOf(url),
      });
      let head = "";
      for (const checkpoint of session(caseOf(url))) {
        await storage.save(checkpoint);
        head = checkpoint.id;
      }
      return new Response(head);
    }
    if (url.pathname === "/load") {
      const deltas = deltasOf(url);
      return await loads(
        () =>
          new DurableObjectCheckpointStorage({
            storage: this.#storage as never,
            deltas,
          }),
        url.searchParams.get("head")!,
        Number(url.searchParams.get("n")),
      );
    }
    return await super.fetch(request);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const kind = url.searchParams.get("kind");
    const deltas = deltasOf(url);
    const object = () => env.OBJECTS.get(env.OBJECTS.idFromName(nameOf(url)));
    if (url.pathname === "/build") {
      if (kind === "d1") {
        return new Response(
          await buildD1(
            env[`D1_${nameOf(url)}`] as D1Like,
            caseOf(url),
            deltas,
          ),
        );
      }
      return await object().fetch(`https://object/build${url.search}`, {
        method: "POST",
      });
    }
    const head = url.searchParams.get("head")!;
    const n = Number(url.searchParams.get("n"));
    if (kind === "d1") {
      const db = env[`D1_${nameOf(url)}`] as never;
      return await loads(
        () => new D1CheckpointStorage({ db, deltas }),
        head,
        n,
      );
    }
    if (kind === "inside") {
      return await object().fetch(`https://object/load${url.search}`, {
        method: "POST",
      });
    }
    const stub = object();
    return await loads(
      () => new CheckpointObjectStorage({ stub: stub as never }),
      head,
      n,
    );
  },
};
