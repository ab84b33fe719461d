/**
 * {@linkcode CheckpointObject}: a Durable Object class that stores checkpoints for Workers, in its own
 * SQLite database. Export it from your Worker and bind it; Workers reach it through
 * {@linkcode CheckpointObjectStorage}.
 *
 * @module
 */
import { StorageSchemaError } from "../../src/errors.ts";
import type { SqlStore } from "../_sqlite/_store.ts";
import { objectStore } from "./_connection.ts";
import { type ErrorBody, parseCall, perform } from "./_protocol.ts";
import type { DurableObjectStateLike } from "./types.ts";

/**
 * A Durable Object that holds checkpoints: every session of one name (a tenant, a user, or the whole
 * app), so that listing, lineage and forks across those sessions stay one SQLite database, and its head
 * compare-and-set is atomic for every Worker of the deployment. It answers
 * {@linkcode CheckpointObjectStorage}'s requests (one POST each) and nothing else; do not route public
 * requests to it.
 *
 * Export it from the Worker's main module and declare it SQLite-backed in wrangler.toml:
 *
 * ```toml
 * [[durable_objects.bindings]]
 * name = "CHECKPOINTS"
 * class_name = "CheckpointObject"
 *
 * [[migrations]]
 * tag = "v1"
 * new_sqlite_classes = ["CheckpointObject"]
 * ```
 *
 * @example
 * ```ts ignore
 * // worker.ts: export { CheckpointObject } from "@superstep/superstep/durable-object";
 * import assert from "node:assert/strict";
 * import { CheckpointObjectStorage } from "@superstep/superstep/durable-object";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "tenant-a" });
 * const checkpoint = makeCheckpoint();
 * await storage.save(checkpoint); // stored by the object named "tenant-a", wherever it runs
 * assert.deepEqual(await storage.load(checkpoint.id), checkpoint);
 * ```
 */
export class CheckpointObject {
  readonly #store: SqlStore;

  /**
   * Called by workerd when the object starts; the schema is migrated on the first request.
   *
   * @param ctx The object's state.
   * @param _env The Worker's bindings (unused).
   * @throws {TypeError} If the class is not SQLite-backed (not in `new_sqlite_classes`).
   * @example
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { CheckpointObject } from "@superstep/superstep/durable-object";
   *
   * // workerd constructs it; inside another SQLite-backed object it can be built on that object's state:
   * const object = new CheckpointObject(ctx, env);
   * assert.equal((await object.fetch(new Request("https://o/", { method: "PUT" }))).status, 405);
   * ```
   */
  constructor(ctx: DurableObjectStateLike, _env?: unknown) {
    this.#store = objectStore({ storage: ctx.storage });
  }

  /**
   * Answer one storage request of a {@linkcode CheckpointObjectStorage}.
   *
   * @param request A POST whose JSON body is one call of the storage's protocol.
   * @returns `200 { value }`; `400` for a request that is not a call (another protocol version, an unknown
   *   operation, an ill-formed id or checkpoint), `405` for another method, `415` for a body that is not
   *   JSON, `500` when the storage fails; errors as `{ error: { name, message } }`.
   * @example
   * ```ts ignore
   * import assert from "node:assert/strict";
   *
   * const stub = env.CHECKPOINTS.get(env.CHECKPOINTS.idFromName("tenant-a"));
   * const answer = await stub.fetch("https://o/", {
   *   method: "POST",
   *   headers: { "content-type": "application/json" },
   *   body: JSON.stringify({ superstep: 4, op: "head", sessionId: "no-such-session" }),
   * });
   * assert.deepEqual(await answer.json(), { value: null });
   * ```
   */
  async fetch(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return problem(405, { name: "TypeError", message: "durable-object: only POST is served" }, {
        allow: "POST",
      });
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return problem(415, { name: "TypeError", message: "durable-object: the request body is not JSON" });
    }
    let call;
    try {
      call = parseCall(body);
    } catch (error) {
      return problem(400, describe(error));
    }
    try {
      return Response.json({ value: (await perform(this.#store, call)) ?? null });
    } catch (error) {
      return problem(500, describe(error));
    }
  }
}

function describe(error: unknown): ErrorBody {
  const { name = "Error", message = String(error) } = error instanceof Error ? error : {};
  if (error instanceof StorageSchemaError) {
    const { storedVersion, supportedVersion } = error;
    return { name, message, storedVersion, supportedVersion };
  }
  return { name, message };
}

function problem(status: number, error: ErrorBody, headers: Record<string, string> = {}): Response {
  return Response.json({ error }, { status, headers });
}
