// The Durable Object adapter's backend (package-private): an object's SQLite storage (`ctx.storage`) as a
// SqlDriver of the shared SQLite layer (adapters/_sqlite/). Statements run synchronously; a batch is one
// `transactionSync`, so a save is the head compare-and-set and the insert, or nothing, and no other request
// to the object can run in between.
import { SqlConnection, type SqlDriver } from "../_sqlite/_connection.ts";
import { SqlStore } from "../_sqlite/_store.ts";
import type { SqlStatement } from "../_sqlite/_sql.ts";
import type { DurableObjectCheckpointStorageOptions, DurableObjectStorageLike } from "./types.ts";

export const ADAPTER = "durable-object";

/** The connection of an object's storage: migrated on first use. */
export function durableObjectConnection(storage: DurableObjectStorageLike): SqlConnection {
  return new SqlConnection({
    adapter: ADAPTER,
    where: "the Durable Object's SQLite storage",
    open: () => Promise.resolve(durableObjectDriver(storage)),
  });
}

function durableObjectDriver(storage: DurableObjectStorageLike): SqlDriver {
  const { sql } = storage;
  // The cursor's `rowsWritten` counts index entries too (it is what is billed), so the changed-row count is
  // SQLite's own `changes()`, read right after the statement on the same connection.
  const run = ({ sql: query, args }: SqlStatement) => {
    const rows = sql.exec(query, ...args).toArray();
    const changes = Number(sql.exec("SELECT changes() AS changes").toArray()[0].changes);
    return { rows, changes };
  };
  return {
    execute: (statement) => Promise.resolve().then(() => run(statement)),
    batch: (statements) => Promise.resolve().then(() => storage.transactionSync(() => statements.map(run))),
  };
}

/** The store of an object's SQLite storage (what CheckpointObject serves), its options checked. */
export function objectStore(options: DurableObjectCheckpointStorageOptions): SqlStore {
  const { storage } = (options ?? {}) as {
    storage?: { sql?: { exec?: unknown }; transactionSync?: unknown };
  };
  let sqlite = false;
  try {
    sqlite = typeof storage?.sql?.exec === "function" && typeof storage.transactionSync === "function";
  } catch {
    // A class that is not SQLite-backed throws on `ctx.storage.sql`.
  }
  if (!sqlite) {
    throw new TypeError(
      "durable-object: cannot create the storage: storage must be a SQLite-backed Durable Object's " +
        "ctx.storage (declare the class in wrangler.toml's new_sqlite_classes)",
    );
  }
  return new SqlStore(durableObjectConnection(options.storage));
}
