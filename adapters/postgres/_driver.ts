// The Postgres adapter's connection (package-private): one interface over the two clients it drives —
// Postgres.js (a pool, created from a URL or injected) and PGlite (injected) — migrated once on first use,
// with every failure of the backend made a StorageError naming the adapter.
import { StorageError, StorageSchemaError } from "../../src/errors.ts";
import type {
  PgliteClient,
  PgliteQueryable,
  PostgresCheckpointStorageOptions,
  PostgresJsClient,
  PostgresJsTransaction,
} from "./client.ts";
import { migrate, type Rows, type Run, type Transact } from "./_schema.ts";
import type { Sql, Statement } from "./_sql.ts";

export const ADAPTER = "postgres";
const DEFAULT_MAX = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface Driver {
  run: Run;
  transact: Transact;
  /** Close the client if the storage created it. */
  close(): Promise<void>;
}

/** Which client `client` is, by shape: Postgres.js's `Sql` is a function (a tagged template). */
export function clientKind(client: unknown): "postgres.js" | "pglite" | undefined {
  const value = client as { [key: string]: unknown } | null;
  if (
    typeof client === "function" && typeof value!.unsafe === "function" && typeof value!.begin === "function"
  ) {
    return "postgres.js";
  }
  if (
    typeof value === "object" && value !== null && typeof value.query === "function" &&
    typeof value.transaction === "function"
  ) {
    return "pglite";
  }
  return undefined;
}

function overPostgresJs(sql: PostgresJsTransaction): Run {
  return async (text, params) => [...await sql.unsafe(text, params, { prepare: true }).values()];
}

function postgresJsDriver(sql: PostgresJsClient, owned: boolean): Driver {
  return {
    run: overPostgresJs(sql),
    transact: <T>(body: (run: Run) => Promise<T>) =>
      sql.begin((tx) => body(overPostgresJs(tx))) as Promise<T>,
    close: () => owned ? sql.end({ timeout: 5 }) : Promise.resolve(),
  };
}

function overPglite(db: PgliteQueryable): Run {
  return async (text, params) => (await db.query(text, params, { rowMode: "array" })).rows as Rows;
}

function pgliteDriver(db: PgliteClient): Driver {
  return {
    run: overPglite(db),
    transact: (body) => db.transaction((tx) => body(overPglite(tx))),
    close: () => Promise.resolve(),
  };
}

/** The SQLSTATE of a backend error (both clients set `code`), if it is one. */
export function sqlState(error: unknown): string | undefined {
  const cause = error instanceof StorageError ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export class Connection {
  readonly #options: PostgresCheckpointStorageOptions;
  readonly #sql: Sql;
  #ready: Promise<Driver> | undefined;
  #closed = false;

  constructor(options: PostgresCheckpointStorageOptions, sql: Sql) {
    this.#options = options;
    this.#sql = sql;
  }

  /** Run one statement (one implicit transaction). */
  async run(action: string, { text, params }: Statement): Promise<Rows> {
    const driver = await this.#driver();
    try {
      return await driver.run(text, params);
    } catch (error) {
      throw new StorageError(ADAPTER, action, { cause: error });
    }
  }

  /** Run statements in one transaction, each given the rows of those before. */
  async transact(action: string, statements: Statement[]): Promise<Rows[]> {
    const driver = await this.#driver();
    try {
      return await driver.transact(async (run) => {
        const results: Rows[] = [];
        for (const { text, params } of statements) results.push(await run(text, params));
        return results;
      });
    } catch (error) {
      throw new StorageError(ADAPTER, action, { cause: error });
    }
  }

  /** Stop; close the pool if this connection created it. Later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ready = this.#ready;
    this.#ready = undefined;
    // An initialization that failed has closed its pool already.
    const driver = await ready?.catch(() => undefined);
    await driver?.close();
  }

  /** The driver, with the schema migrated: created and migrated once, on first use. */
  #driver(): Promise<Driver> {
    if (this.#closed) {
      return Promise.reject(new StorageError(ADAPTER, "use the storage", { detail: "it is closed" }));
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

  async #open(): Promise<Driver> {
    const options = this.#options;
    const where = "url" in options ? `the database ${redact(options.url)}` : "the database";
    let driver: Driver | undefined;
    try {
      if ("client" in options) {
        driver = clientKind(options.client) === "pglite"
          ? pgliteDriver(options.client as PgliteClient)
          : postgresJsDriver(options.client as PostgresJsClient, false);
      } else {
        const { default: postgres } = await import("postgres");
        const sql = postgres(options.url, {
          max: options.max ?? DEFAULT_MAX,
          connect_timeout: (options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS) / 1000,
          prepare: options.prepare ?? true,
          // The storage reads text and numbers only: no array types to fetch on every new connection.
          fetch_types: false,
          onnotice: () => {},
          connection: { application_name: "superstep" },
        });
        driver = postgresJsDriver(sql as unknown as PostgresJsClient, true);
      }
      await migrate(driver.run, driver.transact, this.#sql);
      return driver;
    } catch (error) {
      await driver?.close().catch(() => {});
      if (error instanceof StorageSchemaError) throw error;
      throw new StorageError(ADAPTER, `open ${where}`, { cause: error });
    }
  }
}

/** The URL without its user info (a password) and query (which may hold one too). */
function redact(url: string): string {
  try {
    const { protocol, host, pathname } = new URL(url);
    return `${protocol}//${host}${pathname}`;
  } catch {
    return "(an unparsable URL)";
  }
}
