// The worker scripts/workerd.mjs wraps around each test file of tests/runtime/workerd/: its default fetch
// runs the file's registered tests in the Worker (or, for the files it names, inside a TestObject), and it
// exports the Durable Object classes the tests bind: CheckpointObject (env.CHECKPOINTS) and TestObject
// (env.TEST_OBJECT), which runs tests in an object, runs raw SQL on its own database for tests that damage
// or inspect stored rows, and serves as a CheckpointObject over that same database.
import { CheckpointObject, type DurableObjectStateLike } from "../../adapters/durable_object/mod.ts";
import { runRegistered } from "./node_test_shim.ts";
import { setTestEnv, type TestEnv } from "./env.ts";

export { CheckpointObject };

/** The binding of TestObject. */
interface TestObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** A Durable Object for tests; see the module comment. */
export class TestObject {
  readonly #ctx: DurableObjectStateLike;
  readonly #env: TestEnv;
  #object: CheckpointObject | undefined;

  constructor(ctx: DurableObjectStateLike, env: TestEnv) {
    this.#ctx = ctx;
    this.#env = env;
  }

  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/run") {
      setTestEnv(this.#env, this.#ctx);
      return Response.json(await runRegistered());
    }
    if (pathname === "/sql") {
      const { sql, args = [] } = await request.json() as { sql: string; args?: (string | number | null)[] };
      try {
        return Response.json({ rows: this.#ctx.storage.sql.exec(sql, ...args).toArray() });
      } catch (error) {
        return Response.json({ error: String(error) }, { status: 500 });
      }
    }
    if (pathname === "/checkpoint-object") {
      this.#object ??= new CheckpointObject(this.#ctx);
      return await this.#object.fetch(request);
    }
    return new Response("not found", { status: 404 });
  }
}

/** The test worker's entry: run the tests here, or in the TestObject named "tests". */
export function testWorker(inObject: boolean) {
  return {
    async fetch(_request: Request, env: TestEnv & { TEST_OBJECT: TestObjectNamespace }): Promise<Response> {
      if (inObject) {
        const stub = env.TEST_OBJECT.get(env.TEST_OBJECT.idFromName("tests"));
        return await stub.fetch("https://test-object/run", { method: "POST" });
      }
      setTestEnv(env);
      return Response.json(await runRegistered());
    },
  };
}
