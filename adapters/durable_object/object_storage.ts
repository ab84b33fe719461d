/**
 * {@linkcode CheckpointObjectStorage}: the checkpoint storage of a Worker, kept by a
 * {@linkcode CheckpointObject}.
 *
 * @module
 */
import type { CheckpointQuery, SessionQuery } from "../../src/checkpoint.ts";
import { StorageError, StorageSchemaError } from "../../src/errors.ts";
import * as kit from "../../src/storage_kit.ts";
import { SqlCheckpoints } from "../_sqlite/_checkpoints.ts";
import { attachSql, SqliteCheckpointStorage } from "../_sqlite/storage.ts";
import { CLOUDFLARE_MAX_ROW_BYTES, type StoredPayload } from "../_sqlite/_payload.ts";
import type { IndexColumns, PayloadRewrite, RowsToSave } from "../_sqlite/_sql.ts";
import type { EncodedStore, SaveOutcome } from "../_sqlite/_store.ts";
import { ADAPTER } from "./_connection.ts";
import { type Call, type ErrorBody, OBJECT_URL, PROTOCOL } from "./_protocol.ts";
import type { CheckpointObjectStorageOptions, DurableObjectStubLike } from "./types.ts";

/**
 * A `CheckpointStorage` for a Worker, kept by one {@linkcode CheckpointObject}: each call is one
 * request to the object, which runs it on its SQLite database (a save: one transaction, the head
 * compare-and-set and the insert). Checkpoints are encoded and decoded here, in the Worker; the object
 * stores text.
 *
 * One object holds every session stored under its name, so `list`, `lineage` and forks work across them;
 * nothing is shared between names. Choose the name per request: one for the whole app (simple, one
 * object's throughput), or one per tenant or user (scales out; a fork stays in its tenant). See the
 * README's "Durable Objects" for the trade-offs.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { CheckpointObjectStorage } from "@superstep/superstep/durable-object";
 *
 * const storage = new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "tenant-a" });
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(storage).build();
 * const result = await workflow.run("hello");
 * assert.equal(await storage.head(result.sessionId), result.checkpointId);
 * ```
 */
export class CheckpointObjectStorage extends SqliteCheckpointStorage {
  /**
   * Create the storage. Nothing is sent until the first call.
   *
   * @param options `{ namespace, name }` (the object named `name` in your {@linkcode CheckpointObject}
   *   namespace) or `{ stub }` (a stub you got yourself).
   * @throws {TypeError} If the options name neither or both, `name` is not a non-empty string, or the
   *   namespace or stub lacks what it needs.
   * @example
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { CheckpointObjectStorage } from "@superstep/superstep/durable-object";
   *
   * const storage = new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "tenant-a" });
   * assert.equal(await storage.head("no-such-session"), undefined);
   * assert.throws(() => new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "" }), TypeError);
   * ```
   */
  constructor(options: CheckpointObjectStorageOptions) {
    const store = new ObjectStore(stubOf(options));
    super();
    attachSql(this, new SqlCheckpoints(ADAPTER, store, CLOUDFLARE_MAX_ROW_BYTES));
  }
}

function stubOf(options: CheckpointObjectStorageOptions): DurableObjectStubLike {
  const { namespace, name, stub } = (options ?? {}) as Record<string, unknown>;
  const fail = (detail: string) => new TypeError(`${ADAPTER}: cannot create the storage: ${detail}`);
  if ((stub === undefined) === (namespace === undefined)) {
    throw fail("pass either { namespace, name } or { stub }");
  }
  if (stub !== undefined) {
    if (typeof (stub as { fetch?: unknown })?.fetch !== "function") {
      throw fail("stub must be a Durable Object stub");
    }
    return stub as DurableObjectStubLike;
  }
  const { idFromName, get } = (namespace ?? {}) as Record<string, unknown>;
  if (typeof idFromName !== "function" || typeof get !== "function") {
    throw fail("namespace must be a Durable Object namespace binding (env.CHECKPOINTS)");
  }
  if (typeof name !== "string" || name === "") {
    throw fail(`name must be a non-empty string, got ${String(name)}`);
  }
  kit.checkId(ADAPTER, "create the storage", "object name", name);
  const bound = namespace as { idFromName(name: string): unknown; get(id: unknown): DurableObjectStubLike };
  return bound.get(bound.idFromName(name));
}

/** The encoded store of a CheckpointObject, one request per call. */
class ObjectStore implements EncodedStore {
  readonly #stub: DurableObjectStubLike;
  #closed = false;

  constructor(stub: DurableObjectStubLike) {
    this.#stub = stub;
  }

  save(rows: RowsToSave): Promise<SaveOutcome> {
    // Only what the object stores: the index's requests go as their JSON text alone.
    const { summary, payload, base, chunks, copy, dropCopy, index: { status, requestsJson }, leaseToken } =
      rows;
    const sent: RowsToSave = {
      summary,
      payload,
      base,
      chunks,
      copy,
      dropCopy,
      index: { status, requestsJson },
      leaseToken,
    };
    return this.#call(`save checkpoint ${summary.id}`, { op: "save", rows: sent }) as Promise<SaveOutcome>;
  }

  load(id: string): Promise<StoredPayload | undefined> {
    return this.#call(`load checkpoint ${id}`, { op: "load", id }) as Promise<StoredPayload | undefined>;
  }

  bases(id: string, count: number): Promise<{ id: string; payload: string }[]> {
    const action = `load checkpoint ${id}`;
    return this.#call(action, { op: "bases", id, count }) as Promise<{ id: string; payload: string }[]>;
  }

  list(query: CheckpointQuery): Promise<kit.StoredFields[]> {
    return this.#call("list checkpoints", { op: "list", query }) as Promise<kit.StoredFields[]>;
  }

  head(sessionId: string): Promise<string | undefined> {
    const action = `read the head of session ${sessionId}`;
    return this.#call(action, { op: "head", sessionId }) as Promise<string | undefined>;
  }

  async delete(
    id: string,
    rewrites?: readonly PayloadRewrite[],
    dependents?: readonly string[],
  ): Promise<boolean> {
    const call: Call = dependents === undefined
      ? { op: "delete", id }
      : { op: "delete", id, rewrites: rewrites ?? [], dependents };
    return (await this.#call(`delete checkpoint ${id}`, call)) === true;
  }

  async dependents(id: string): Promise<string[]> {
    return (await this.#call(`read the checkpoints based on ${id}`, { op: "dependents", id })) as string[];
  }

  async deleteSession(sessionId: string): Promise<number> {
    return Number(await this.#call(`delete session ${sessionId}`, { op: "deleteSession", sessionId }));
  }

  lineage(id: string): Promise<kit.StoredFields[]> {
    const action = `read the lineage of checkpoint ${id}`;
    return this.#call(action, { op: "lineage", id }) as Promise<kit.StoredFields[]>;
  }

  listSessions(query: SessionQuery): Promise<kit.StoredSession[]> {
    return this.#call("list sessions", { op: "listSessions", query }) as Promise<kit.StoredSession[]>;
  }

  listRequests(query: kit.CheckedRequestQuery): Promise<kit.StoredWaitingRequest[]> {
    const call: Call = { op: "listRequests", query };
    return this.#call("list pending requests", call) as Promise<kit.StoredWaitingRequest[]>;
  }

  unindexed(limit: number): Promise<{ sessionId: string; headId: string }[]> {
    const call: Call = { op: "unindexed", limit };
    return this.#call("find heads to index", call) as Promise<{ sessionId: string; headId: string }[]>;
  }

  async reindex(sessionId: string, headId: string, index: IndexColumns): Promise<void> {
    const { status, requestsJson } = index;
    const call: Call = { op: "reindex", sessionId, headId, index: { status, requestsJson } };
    await this.#call(`index the head of session ${sessionId}`, call);
  }

  async claimLease(
    sessionId: string,
    owner: string,
    token: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    const call: Call = { op: "claimLease", sessionId, owner, token, expiresAt, now };
    return (await this.#call(`claim session ${JSON.stringify(sessionId)}`, call)) === true;
  }

  async renewLease(sessionId: string, token: string, expiresAt: number): Promise<boolean> {
    const call: Call = { op: "renewLease", sessionId, token, expiresAt };
    return (await this.#call(`renew the lease of session ${JSON.stringify(sessionId)}`, call)) === true;
  }

  async releaseLease(sessionId: string, token: string): Promise<boolean> {
    const call: Call = { op: "releaseLease", sessionId, token };
    return (await this.#call(`release the lease of session ${JSON.stringify(sessionId)}`, call)) === true;
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** One request; its `value` (`null` → `undefined`), or the object's error as a StorageError. */
  async #call(operation: string, call: Call): Promise<unknown> {
    if (this.#closed) throw new StorageError(ADAPTER, "use the storage", { detail: "it is closed" });
    let status: number;
    let text: string;
    try {
      const response = await this.#stub.fetch(OBJECT_URL, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ superstep: PROTOCOL, ...call }),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new StorageError(ADAPTER, operation, { cause: error });
    }
    let answer: { value?: unknown; error?: Partial<ErrorBody> };
    try {
      answer = JSON.parse(text);
    } catch {
      throw new StorageError(ADAPTER, operation, { detail: `the object answered ${status} without JSON` });
    }
    if (status === 200 && answer !== null && typeof answer === "object" && "value" in answer) {
      return answer.value ?? undefined;
    }
    const { name, message, storedVersion, supportedVersion } = answer?.error ?? {};
    if (
      name === "StorageSchemaError" && typeof storedVersion === "number" &&
      typeof supportedVersion === "number"
    ) {
      throw new StorageSchemaError(ADAPTER, storedVersion, supportedVersion);
    }
    throw new StorageError(ADAPTER, operation, {
      detail: `the object answered ${status}: ${name ?? "Error"}: ${message ?? "(no message)"}`,
    });
  }
}
