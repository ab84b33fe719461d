// The libSQL adapter's connection (package-private): the client, created (from a URL) or taken (injected),
// switched to WAL and migrated once on first use, with every statement's failure made a StorageError.
import { StorageError, StorageSchemaError } from "../../src/errors.ts";
import type {
  LibsqlCheckpointStorageOptions,
  LibsqlClient,
  LibsqlResultSet,
  LibsqlStatement,
} from "./client.ts";
import { ENABLE_WAL, migrate } from "./_schema.ts";

export const ADAPTER = "libsql";
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export class Connection {
  readonly #options: LibsqlCheckpointStorageOptions;
  #ready: Promise<LibsqlClient> | undefined;
  #closed = false;

  constructor(options: LibsqlCheckpointStorageOptions) {
    this.#options = options;
  }

  /** Run one statement. */
  async execute(action: string, statement: LibsqlStatement): Promise<LibsqlResultSet> {
    const client = await this.#client();
    try {
      return await client.execute(statement);
    } catch (error) {
      throw new StorageError(ADAPTER, action, { cause: error });
    }
  }

  /** Run statements in one write transaction. */
  async batch(action: string, statements: LibsqlStatement[]): Promise<LibsqlResultSet[]> {
    const client = await this.#client();
    try {
      return await client.batch(statements, "write");
    } catch (error) {
      throw new StorageError(ADAPTER, action, { cause: error });
    }
  }

  /** Stop; close the client if this connection created it. Later calls reject. */
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
      throw new StorageError(ADAPTER, `open ${where}`, { cause: error });
    }
  }
}

/** The URL without its query (which may hold an `authToken`) and without user info. */
function redact(url: string): string {
  const bare = url.split(/[?#]/, 1)[0];
  return bare.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
