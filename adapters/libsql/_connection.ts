// The libSQL adapter's backend (package-private): the client, created (from a URL) or taken (injected),
// switched to WAL when it is a file, or a database of the `libsql` package (taken), as a SqlDriver of the
// shared SQLite layer (adapters/_sqlite/).
import { SqlConnection, type SqlDriver } from "../_sqlite/_connection.ts";
import type { LibsqlCheckpointStorageOptions, LibsqlClient } from "./client.ts";
import { databaseDriver } from "./_database.ts";

export const ADAPTER = "libsql";
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** Switches a file database to WAL mode; a no-op when it is already, and answers "memory" for `:memory:`. */
const ENABLE_WAL = { sql: "PRAGMA journal_mode = WAL", args: [] };

/** The connection of a libSQL storage: its client opened (and migrated) on first use. */
export function libsqlConnection(options: LibsqlCheckpointStorageOptions): SqlConnection {
  if ("database" in options) {
    const { database, wal } = options;
    return new SqlConnection({
      adapter: ADAPTER,
      where: "the database",
      async open() {
        const driver = databaseDriver(database);
        if (wal !== false) await driver.execute(ENABLE_WAL);
        return driver;
      },
    });
  }
  const owned = !("client" in options);
  const clients = new WeakMap<SqlDriver, LibsqlClient>();
  return new SqlConnection({
    adapter: ADAPTER,
    where: "url" in options ? `the database ${redact(options.url)}` : "the database",
    async open() {
      let client: LibsqlClient;
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
      const driver = libsqlDriver(client);
      clients.set(driver, client);
      try {
        if (client.protocol === "file" && options.wal !== false) await client.execute(ENABLE_WAL);
      } catch (error) {
        if (owned) client.close();
        throw error;
      }
      return driver;
    },
    release(driver) {
      if (owned) clients.get(driver)?.close();
    },
  });
}

/** A client as the shared layer's driver: a batch is one write transaction (`BEGIN IMMEDIATE`). */
function libsqlDriver(client: LibsqlClient): SqlDriver {
  return {
    async execute(statement) {
      const { rows, rowsAffected } = await client.execute(statement);
      return { rows, changes: rowsAffected };
    },
    async batch(statements) {
      const results = await client.batch(statements, "write");
      return results.map(({ rows, rowsAffected }) => ({ rows, changes: rowsAffected }));
    },
  };
}

/** The URL without its query (which may hold an `authToken`) and without user info. */
function redact(url: string): string {
  const bare = url.split(/[?#]/, 1)[0];
  return bare.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
