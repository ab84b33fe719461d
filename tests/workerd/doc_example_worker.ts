// The worker scripts/workerd.mjs runs the JSDoc examples of the Cloudflare adapters in (they need a
// Worker's bindings, so `deno test --doc` cannot run them: they are marked `ignore` and run here). Each
// example is the body of a function of `env` (D1 binding `DB`, CheckpointObject namespace `CHECKPOINTS`)
// and `ctx` (the state of a fresh SQLite-backed Durable Object): `GET /<n>` runs example n inside its own
// ExampleObject, answering 200, or 500 with the error.
import { CheckpointObject, type DurableObjectStateLike } from "../../adapters/durable_object/mod.ts";

export { CheckpointObject };

/** One example, as scripts/workerd.mjs wraps it. */
export type Example = (env: unknown, ctx: DurableObjectStateLike) => Promise<void>;

const examples: Example[] = [];

/** Called by the generated entry with every example, in order. */
export function registerExamples(list: Example[]): void {
  examples.push(...list);
}

/** Runs one example on its own state. */
export class ExampleObject {
  readonly #ctx: DurableObjectStateLike;
  readonly #env: unknown;

  constructor(ctx: DurableObjectStateLike, env: unknown) {
    this.#ctx = ctx;
    this.#env = env;
  }

  async fetch(request: Request): Promise<Response> {
    const example = examples[Number(new URL(request.url).pathname.slice(1))];
    if (example === undefined) return new Response("no such example", { status: 404 });
    try {
      await example(this.#env, this.#ctx);
      return new Response("ok");
    } catch (error) {
      return new Response(error instanceof Error ? (error.stack ?? String(error)) : String(error), {
        status: 500,
      });
    }
  }
}

interface ExampleNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string): Promise<Response> };
}

/** The worker: example n runs in the ExampleObject named n (a fresh database each). */
export const docExampleWorker = {
  fetch(request: Request, env: { EXAMPLES: ExampleNamespace }): Promise<Response> {
    const { pathname } = new URL(request.url);
    return env.EXAMPLES.get(env.EXAMPLES.idFromName(pathname)).fetch(`https://example${pathname}`);
  },
};
