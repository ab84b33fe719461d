/**
 * A checkpoint storage on libSQL / SQLite through `@libsql/client`: local files (`file:`), in-memory
 * databases (`:memory:`) and remote servers (`libsql:`, `https:`: Turso, sqld), with the same SQL over the
 * same client. Many processes can share one database: a save is one write transaction that inserts the
 * checkpoint and compare-and-sets its session's head.
 *
 * `@libsql/client` is an optional peer dependency, imported on first use only when this adapter creates the
 * client itself; nothing runs at import time.
 *
 * @example
 * ```ts
 * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
 *
 * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
 * console.assert((await storage.list()).length === 0);
 * await storage.close();
 * ```
 *
 * @module
 */
import type { Checkpoint, CheckpointQuery, CheckpointStorage, CheckpointSummary } from "../src/checkpoint.ts";
import { decodeCheckpoint, decodeValue, encodeCheckpoint, encodeValue } from "../src/codec.ts";
import { CheckpointConflictError, CheckpointCorruptError, StorageSchemaError } from "../src/errors.ts";
import {
  conflictStatement,
  CREATE_MIGRATIONS_TABLE,
  deleteSessionStatements,
  deleteStatements,
  ENABLE_WAL,
  headStatement,
  type LibsqlStatement,
  lineageStatement,
  listStatement,
  loadStatement,
  migrationStatements,
  saveStatements,
  SCHEMA_VERSION,
  SELECT_SCHEMA_VERSION,
} from "./_libsql_sql.ts";

export type { LibsqlStatement };

/** A value in a result row (the `Value` type of `@libsql/client`). */
export type LibsqlValue = null | string | number | bigint | ArrayBuffer;

/** What the storage reads from a statement's result (a part of `@libsql/client`'s `ResultSet`). */
export interface LibsqlResultSet {
  /** The rows, with their values by column name. */
  rows: Record<string, LibsqlValue>[];
  /** How many rows the statement inserted, updated or deleted. */
  rowsAffected: number;
}

/**
 * The part of an `@libsql/client` `Client` the storage uses. A client from `createClient` (of
 * `@libsql/client`, `@libsql/client/web`, `/http`, `/ws` or `/sqlite3`) has it.
 */
export interface LibsqlClient {
  /** `"file"` for a local database (a file or `:memory:`), `"http"` or `"ws"` for a remote one. */
  readonly protocol: string;
  /**
   * Run one statement.
   *
   * @param statement The SQL and its positional arguments.
   * @returns Its result.
   */
  execute(statement: LibsqlStatement): Promise<LibsqlResultSet>;
  /**
   * Run statements in one transaction; any failure rolls them all back.
   *
   * @param statements The statements.
   * @param mode `"write"`: the transaction takes the write lock when it begins.
   * @returns One result per statement.
   */
  batch(statements: LibsqlStatement[], mode: "write"): Promise<LibsqlResultSet[]>;
  /** Close the client. */
  close(): void;
}

/** Options of {@linkcode LibsqlCheckpointStorage} that use a client you created (and close). */
export interface LibsqlClientOptions {
  /**
   * An `@libsql/client` client. The storage never closes it. For a file shared by several processes, create
   * it with a busy timeout (`createClient({ url, timeout: 5000 })`): without one, a writer that finds the
   * file locked fails at once with `SQLITE_BUSY`.
   */
  client: LibsqlClient;
  /**
   * Whether to switch a `file:` database to WAL mode (`PRAGMA journal_mode = WAL`, a lasting property of the
   * file) on first use, so that readers and the writer do not block each other. Ignored for remote URLs.
   *
   * @default {true}
   */
  wal?: boolean;
}

/** Options of {@linkcode LibsqlCheckpointStorage} that let the storage create (and close) its own client. */
export interface LibsqlUrlOptions {
  /** The database: `file:path.db`, `:memory:`, `libsql://host`, `https://host` … (see `@libsql/client`). */
  url: string;
  /**
   * The token of a remote database (Turso, sqld).
   *
   * @default {undefined}
   */
  authToken?: string;
  /**
   * How long, in milliseconds, a write to a `file:` database waits for another connection's lock before it
   * fails with `SQLITE_BUSY`. Ignored for remote URLs.
   *
   * @default {5000}
   */
  busyTimeout?: number;
  /**
   * Whether to switch a `file:` database to WAL mode on first use (see {@linkcode LibsqlClientOptions.wal}).
   *
   * @default {true}
   */
  wal?: boolean;
}

/** Options of {@linkcode LibsqlCheckpointStorage}: a client, or a URL to create one from. */
export type LibsqlCheckpointStorageOptions = LibsqlClientOptions | LibsqlUrlOptions;

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * A {@linkcode CheckpointStorage} in a libSQL / SQLite database.
 *
 * Tables (created by versioned migrations on first use; re-running them is a no-op):
 * `superstep_checkpoints` (the summary columns, indexed by session and by workflow, plus the encoded
 * payload), `superstep_heads` (one head per session) and `superstep_migrations`. A database migrated by a
 * newer Superstep is refused with {@linkcode StorageSchemaError}.
 *
 * `save` is one write transaction (insert plus head compare-and-set), so concurrent writers, in this
 * process or others, never both extend a session head. `lineage` is one recursive query.
 *
 * @example
 * ```ts
 * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
 * import { WorkflowBuilder, defineExecutor } from "@superstep/superstep";
 *
 * const storage = new LibsqlCheckpointStorage({ url: ":memory:" }); // or "file:checkpoints.db", "libsql://…"
 * const echo = defineExecutor({ id: "echo", handle: async (text: string, ctx) => await ctx.yieldOutput(text) });
 * const workflow = new WorkflowBuilder({ name: "echo", start: echo }).withCheckpointing(storage).build();
 * const result = await workflow.run("hello");
 * console.log(result.checkpointId, await storage.head(result.sessionId));
 * await storage.close();
 * ```
 */
export class LibsqlCheckpointStorage implements CheckpointStorage {
  #options: LibsqlCheckpointStorageOptions;
  #ready: Promise<LibsqlClient> | undefined;
  #closed = false;

  /**
   * Create the storage. Nothing is opened until the first call.
   *
   * @param options `{ client }` (yours: never closed by the storage) or `{ url, authToken? }` (the storage
   *   creates the client on first use and closes it in {@linkcode LibsqlCheckpointStorage.close}).
   * @throws {TypeError} If the options name neither or both of `client` and `url`.
   * @throws {RangeError} If `busyTimeout` is not a non-negative number.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { createClient } from "@libsql/client";
   *
   * // For a file shared by processes: createClient({ url: "file:checkpoints.db", timeout: 5000 })
   * const client = createClient({ url: ":memory:" });
   * const storage = new LibsqlCheckpointStorage({ client });
   * await storage.close(); // leaves `client` open
   * client.close();
   * ```
   */
  constructor(options: LibsqlCheckpointStorageOptions) {
    const { client, url } = (options ?? {}) as { client?: unknown; url?: unknown };
    if ((client === undefined) === (url === undefined)) {
      throw new TypeError("libsql: cannot create the storage: pass exactly one of `client` and `url`");
    }
    if (url !== undefined && (typeof url !== "string" || url === "")) {
      throw new TypeError(`libsql: cannot create the storage: url must be a non-empty string, got ${url}`);
    }
    const { busyTimeout } = options as { busyTimeout?: unknown };
    if (
      busyTimeout !== undefined &&
      !(typeof busyTimeout === "number" && busyTimeout >= 0 && busyTimeout < Infinity)
    ) {
      throw new RangeError(
        `libsql: cannot create the storage: busyTimeout must be a non-negative number of milliseconds, got ${busyTimeout}`,
      );
    }
    if (client !== undefined && (typeof client !== "object" || client === null)) {
      throw new TypeError("libsql: cannot create the storage: client must be an @libsql/client Client");
    }
    this.#options = options;
  }

  /**
   * Store a checkpoint and make it its session's head, in one write transaction.
   *
   * @param checkpoint The checkpoint to store (encoded before the promise settles).
   * @returns Once committed.
   * @throws {CheckpointConflictError} If the id exists already, or the session has a head and
   *   `checkpoint.parentId` is not it (another writer extended the session). Nothing is written.
   * @throws {CheckpointEncodeError} If a value cannot be encoded. Nothing is written.
   * @throws {TypeError} If the checkpoint is malformed. Nothing is written.
   * @throws {StorageSchemaError} If the database was migrated by a newer Superstep.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * import { makeCheckpoint } from "@superstep/superstep/testing";
   *
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * const checkpoint = makeCheckpoint();
   * await storage.save(checkpoint);
   * console.assert((await storage.head(checkpoint.sessionId)) === checkpoint.id);
   * await storage.close();
   * ```
   */
  async save(checkpoint: Checkpoint): Promise<void> {
    const payload = encodeCheckpoint(checkpoint);
    const metadata = encodeValue(checkpoint.metadata);
    const { id, sessionId, parentId } = checkpoint;
    const [head, insert] = await this.#batch(
      `save checkpoint ${id}`,
      saveStatements(checkpoint, metadata, payload),
    );
    if (head.rowsAffected === 1 && insert.rowsAffected === 1) return;
    // A conflict (rare): read what explains it only now, so that a save is two statements, not three.
    const { rows } = await this.#execute(`save checkpoint ${id}`, conflictStatement(checkpoint));
    const row = rows[0];
    if (Number(row?.taken ?? 0) !== 0) {
      throw new CheckpointConflictError(`libsql: cannot save checkpoint ${id}: the id exists already`);
    }
    throw new CheckpointConflictError(
      `libsql: cannot save checkpoint ${id}: session head moved (session ${JSON.stringify(sessionId)} ` +
        `head is ${row?.head ?? "none"}, parent is ${parentId})`,
    );
  }

  /**
   * Load a checkpoint.
   *
   * @param id The checkpoint's id.
   * @returns A fresh copy of the checkpoint, or `undefined` if there is none with that id.
   * @throws {CheckpointCorruptError} If the stored text does not decode to checkpoint `id`.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * console.assert((await storage.load("01JABC")) === undefined);
   * ```
   */
  async load(id: string): Promise<Checkpoint | undefined> {
    const { rows } = await this.#execute(`load checkpoint ${id}`, loadStatement(id));
    if (rows.length === 0) return undefined;
    const payload = rows[0].payload;
    if (typeof payload !== "string") {
      throw new CheckpointCorruptError(id, `the stored payload is not text (got ${describeValue(payload)})`);
    }
    return decodeCheckpoint(payload, id);
  }

  /**
   * Summaries, newest first (by id), read from indexed columns without touching payloads.
   *
   * @param query Filters (`workflowName`, `sessionId`) and paging (`limit`: the newest N; `before`: an
   *   exclusive id cursor).
   * @returns The matching summaries, newest first.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {CheckpointCorruptError} If a checkpoint's stored metadata does not decode.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * const page = await storage.list({ sessionId: "s1", limit: 10 });
   * ```
   */
  async list(query: CheckpointQuery = {}): Promise<CheckpointSummary[]> {
    const { limit } = query;
    if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) {
      throw new RangeError(`libsql: cannot list checkpoints: limit must be a positive integer, got ${limit}`);
    }
    const { rows } = await this.#execute("list checkpoints", listStatement(query));
    return rows.map(toSummary);
  }

  /**
   * The head of a session: the checkpoint its next checkpoint must follow.
   *
   * @param sessionId The session.
   * @returns The head's id, or `undefined` if the session has no checkpoints.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * console.assert((await storage.head("s1")) === undefined);
   * ```
   */
  async head(sessionId: string): Promise<string | undefined> {
    const { rows } = await this.#execute(`read the head of session ${sessionId}`, headStatement(sessionId));
    return rows.length === 0 ? undefined : String(rows[0].head_id);
  }

  /**
   * Delete one checkpoint, in one write transaction. If it was its session's head, the head moves to its
   * parent when that parent is in the same session and still exists, else to the newest remaining
   * checkpoint of the session; a session with no checkpoints left has no head.
   *
   * @param id The checkpoint's id.
   * @returns `true` if it existed.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * console.assert((await storage.delete("01JABC")) === false);
   * ```
   */
  async delete(id: string): Promise<boolean> {
    const results = await this.#batch(`delete checkpoint ${id}`, deleteStatements(id));
    return results[2].rowsAffected > 0;
  }

  /**
   * Delete every checkpoint of a session, and its head, in one write transaction.
   *
   * @param sessionId The session.
   * @returns How many checkpoints were deleted (0 for an unknown session).
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * console.assert((await storage.deleteSession("s1")) === 0);
   * ```
   */
  async deleteSession(sessionId: string): Promise<number> {
    const results = await this.#batch(`delete session ${sessionId}`, deleteSessionStatements(sessionId));
    return results[1].rowsAffected;
  }

  /**
   * The ancestry of a checkpoint, in one recursive query: its summary, its parent's, and so on back to the
   * root, across forks into other sessions. The walk stops at a parent that was deleted.
   *
   * @param id The checkpoint to start from.
   * @returns The summaries, `id` first; empty if `id` does not exist.
   * @throws {CheckpointCorruptError} If a checkpoint's stored metadata does not decode.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * console.assert((await storage.lineage("01JABC")).length === 0);
   * ```
   */
  async lineage(id: string): Promise<CheckpointSummary[]> {
    const { rows } = await this.#execute(`read the lineage of checkpoint ${id}`, lineageStatement(id));
    const byId = new Map<string, Record<string, LibsqlValue>>();
    for (const row of rows) byId.set(String(row.id), row);
    const out: CheckpointSummary[] = [];
    // The query returns the ancestors unordered; follow the parent pointers (never one twice: they can
    // form a cycle, since a new session's first checkpoint may name any parent).
    let current: string | null = id;
    while (current !== null) {
      const row = byId.get(current);
      if (row === undefined) break;
      byId.delete(current);
      out.push(toSummary(row));
      current = row.parent_id === null ? null : String(row.parent_id);
    }
    return out;
  }

  /**
   * Stop using the storage. Closes the client if the storage created it (from `url`); a client passed as
   * `client` stays open. Later calls reject.
   *
   * @returns Once closed.
   * @example
   * ```ts
   * import { LibsqlCheckpointStorage } from "@superstep/superstep/libsql";
   * const storage = new LibsqlCheckpointStorage({ url: ":memory:" });
   * await storage.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ready = this.#ready;
    this.#ready = undefined;
    if ("client" in this.#options) return;
    // An initialization that failed has closed its client already.
    const client = await ready?.catch(() => undefined);
    client?.close();
  }

  /** The client, with the schema migrated: created and migrated once, on first use. */
  #client(): Promise<LibsqlClient> {
    if (this.#closed) return Promise.reject(new Error("libsql: cannot use the storage: it is closed"));
    if (this.#ready === undefined) {
      const ready = this.#open();
      this.#ready = ready;
      // A failed initialization (a server that is down) is retried by the next call.
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  async #open(): Promise<LibsqlClient> {
    const options = this.#options;
    const where = "url" in options ? `the database ${redact(options.url)}` : "the database";
    let client: LibsqlClient | undefined;
    try {
      if ("client" in options) {
        client = options.client;
      } else {
        const { createClient } = await import("@libsql/client");
        client = createClient({
          url: options.url,
          authToken: options.authToken,
          timeout: options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT_MS,
        });
      }
      if (client.protocol === "file" && options.wal !== false) {
        await client.execute(ENABLE_WAL);
      }
      await migrate(client);
      return client;
    } catch (error) {
      if (client !== undefined && !("client" in options)) client.close();
      if (error instanceof StorageSchemaError) throw error;
      throw new Error(`libsql: cannot open ${where}: ${describeError(error)}`, { cause: error });
    }
  }

  async #execute(action: string, statement: LibsqlStatement): Promise<LibsqlResultSet> {
    const client = await this.#client();
    try {
      return await client.execute(statement);
    } catch (error) {
      throw new Error(`libsql: cannot ${action}: ${describeError(error)}`, { cause: error });
    }
  }

  async #batch(action: string, statements: LibsqlStatement[]): Promise<LibsqlResultSet[]> {
    const client = await this.#client();
    try {
      return await client.batch(statements, "write");
    } catch (error) {
      throw new Error(`libsql: cannot ${action}: ${describeError(error)}`, { cause: error });
    }
  }
}

/**
 * Bring the schema to {@linkcode SCHEMA_VERSION}, one migration per write transaction. Safe when several
 * processes migrate at once: each migration first claims its version number, so a second claimant's batch
 * fails and rolls back, and it re-reads the version another process installed.
 */
async function migrate(client: LibsqlClient): Promise<void> {
  await client.execute(CREATE_MIGRATIONS_TABLE);
  while (true) {
    const version = await schemaVersion(client);
    if (version > SCHEMA_VERSION) throw new StorageSchemaError("libsql", version, SCHEMA_VERSION);
    if (version === SCHEMA_VERSION) return;
    try {
      await client.batch(migrationStatements(version + 1), "write");
    } catch (error) {
      if ((await schemaVersion(client)) > version) continue;
      throw error;
    }
  }
}

async function schemaVersion(client: LibsqlClient): Promise<number> {
  const { rows } = await client.execute(SELECT_SCHEMA_VERSION);
  return Number(rows[0].version);
}

function toSummary(row: Record<string, LibsqlValue>): CheckpointSummary {
  const id = String(row.id);
  let metadata: unknown;
  try {
    metadata = typeof row.metadata === "string" ? decodeValue(row.metadata) : undefined;
  } catch (error) {
    throw new CheckpointCorruptError(id, `its stored metadata does not decode`, { cause: error });
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new CheckpointCorruptError(id, `its stored metadata is not an object`);
  }
  return {
    id,
    parentId: row.parent_id === null ? null : String(row.parent_id),
    sessionId: String(row.session_id),
    workflowName: String(row.workflow_name),
    // A client created with `intMode: "bigint"` or `"string"` returns integers as such.
    superstep: Number(row.superstep),
    createdAt: String(row.created_at),
    metadata: metadata as Record<string, unknown>,
  };
}

/** The URL without its query (which may hold an `authToken`) and without user info. */
function redact(url: string): string {
  const bare = url.split(/[?#]/, 1)[0];
  return bare.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch's "fetch failed" says nothing without its cause ("ECONNREFUSED …").
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof ArrayBuffer) return "a blob";
  return typeof value;
}
