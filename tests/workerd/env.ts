// What a test file running inside workerd reaches of its worker: the bindings (`env`) and, for the files
// scripts/workerd.mjs runs inside a Durable Object, that object's state (`ctx`). The worker sets them when
// it is fetched, before it runs the registered tests, so tests read them when they run, not at import.
import type { D1DatabaseLike } from "../../adapters/d1/mod.ts";
import type {
  DurableObjectNamespaceLike,
  DurableObjectStateLike,
} from "../../adapters/durable_object/mod.ts";

/** The bindings scripts/workerd.mjs gives the workers of tests/runtime/workerd/. */
export interface TestEnv {
  /** A D1 database shared by the file's tests. */
  DB: D1DatabaseLike;
  /** A D1 database for tests that damage or re-version the schema. */
  SCRATCH_DB: D1DatabaseLike;
  /** A namespace of CheckpointObjects. */
  CHECKPOINTS: DurableObjectNamespaceLike;
  /** A namespace of TestObjects (tests/workerd/test_worker.ts). */
  TEST_OBJECT: DurableObjectNamespaceLike;
  /** The emulated Hrana server (tests/fixtures/hrana_server.ts) on 127.0.0.1, and its token. */
  HRANA_URL: string;
  HRANA_TOKEN: string;
}

let current: { env: TestEnv; ctx?: DurableObjectStateLike } | undefined;

/** Called by the worker (scripts/workerd.mjs) before it runs the tests. */
export function setTestEnv(env: TestEnv, ctx?: DurableObjectStateLike): void {
  current = { env, ctx };
}

/** The worker's bindings. */
export function testEnv(): TestEnv {
  if (current === undefined) throw new Error("testEnv(): not inside a worker of scripts/workerd.mjs");
  return current.env;
}

/**
 * A fresh TestObject: raw SQL on its database, and a stub of the CheckpointObject it serves over that
 * same database.
 */
export function scratchObject(): {
  sql(query: string, ...args: (string | number | null)[]): Promise<Record<string, unknown>[]>;
  stub: { fetch(input: string, init?: RequestInit): Promise<Response> };
} {
  const { TEST_OBJECT } = testEnv();
  const object = TEST_OBJECT.get(TEST_OBJECT.idFromName(`scratch-${crypto.randomUUID()}`));
  return {
    async sql(query, ...args) {
      const response = await object.fetch("https://test-object/sql", {
        method: "POST",
        body: JSON.stringify({ sql: query, args }),
      });
      const body = await response.json() as { rows?: Record<string, unknown>[]; error?: string };
      if (body.error !== undefined) throw new Error(body.error);
      return body.rows!;
    },
    stub: { fetch: (_input, init) => object.fetch("https://test-object/checkpoint-object", init) },
  };
}

/** The state of the Durable Object the tests run in. */
export function objectState(): DurableObjectStateLike {
  const ctx = current?.ctx;
  if (ctx === undefined) {
    throw new Error("objectState(): this test file does not run inside a Durable Object");
  }
  return ctx;
}
