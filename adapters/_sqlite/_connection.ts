// The connection of a SQLite checkpoint storage (package-private): a backend (an @libsql/client client, a
// D1 binding, a Durable Object's SQL storage) opened and migrated once, on first use, with every
// statement's failure made a StorageError naming the adapter, and closed once.
import { StorageError, StorageSchemaError } from "../../src/errors.ts";
import { migrate } from "./_schema.ts";
import type { SqlStatement } from "./_sql.ts";

/** One statement's result: its rows, by column name, and how many rows it inserted, updated or deleted. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  changes: number;
}

/** What the storages need of a SQLite backend. */
export interface SqlDriver {
  /** Run one statement. */
  execute(statement: SqlStatement): Promise<SqlResult>;
  /** Run statements in one write transaction: any failure rolls them all back (and rejects). */
  batch(statements: SqlStatement[]): Promise<SqlResult[]>;
}

/** How a connection opens and lets go of its backend. */
export interface SqlBackend {
  /** The adapter's name, which starts every error message. */
  adapter: string;
  /** What is opened, for the error of a failed open (`"the database file:x.db"`). */
  where: string;
  /** Open the backend (a failure is retried by the next call). */
  open(): Promise<SqlDriver>;
  /** Bring the schema up to date; by default the shared migrations, on every open. */
  migrate?(driver: SqlDriver): Promise<void>;
  /** Let go of what `open` made: on `close()`, and after a failed open or migration. */
  release?(driver: SqlDriver): void | Promise<void>;
}

export class SqlConnection {
  readonly #backend: SqlBackend;
  #ready: Promise<SqlDriver> | undefined;
  #closed = false;

  constructor(backend: SqlBackend) {
    this.#backend = backend;
  }

  get adapter(): string {
    return this.#backend.adapter;
  }

  /** Run one statement. */
  async execute(action: string, statement: SqlStatement): Promise<SqlResult> {
    const driver = await this.#driver();
    try {
      return await driver.execute(statement);
    } catch (error) {
      throw new StorageError(this.adapter, action, { cause: error });
    }
  }

  /** Run statements in one write transaction. */
  async batch(action: string, statements: SqlStatement[]): Promise<SqlResult[]> {
    const driver = await this.#driver();
    try {
      return await driver.batch(statements);
    } catch (error) {
      throw new StorageError(this.adapter, action, { cause: error });
    }
  }

  /** Stop; release the backend. Later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ready = this.#ready;
    this.#ready = undefined;
    // An initialization that failed has released its backend already.
    const driver = await ready?.catch(() => undefined);
    if (driver !== undefined) await this.#backend.release?.(driver);
  }

  /** The backend, with the schema migrated: opened and migrated once, on first use. */
  #driver(): Promise<SqlDriver> {
    if (this.#closed) {
      return Promise.reject(new StorageError(this.adapter, "use the storage", { detail: "it is closed" }));
    }
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

  async #open(): Promise<SqlDriver> {
    const backend = this.#backend;
    let driver: SqlDriver | undefined;
    try {
      driver = await backend.open();
      await (backend.migrate ?? ((opened) => migrate(backend.adapter, opened)))(driver);
      return driver;
    } catch (error) {
      if (driver !== undefined) await backend.release?.(driver);
      if (error instanceof StorageSchemaError) throw error;
      throw new StorageError(backend.adapter, `open ${backend.where}`, { cause: error });
    }
  }
}
