// The D1 adapter's backend (package-private): a D1 binding as a SqlDriver of the shared SQLite layer
// (adapters/_sqlite/). D1 runs a batch as one transaction, so a save's batch is the head compare-and-set and
// the insert, or nothing.
import { SqlConnection, type SqlDriver, type SqlResult } from "../_sqlite/_connection.ts";
import { migrate } from "../_sqlite/_schema.ts";
import type { SqlStatement } from "../_sqlite/_sql.ts";
import type { D1DatabaseLike, D1ResultLike } from "./types.ts";

export const ADAPTER = "d1";

// Each request of a Worker usually builds its own storage from `env.DB`; the schema is checked once per
// isolate and binding, not per request (two queries each time). A failed migration is forgotten.
const migrated = new WeakMap<D1DatabaseLike, Promise<void>>();

/** The connection of a D1 storage: migrated on first use (once per isolate and binding). */
export function d1Connection(db: D1DatabaseLike): SqlConnection {
  return new SqlConnection({
    adapter: ADAPTER,
    where: "the D1 database",
    open: () => Promise.resolve(d1Driver(db)),
    migrate(driver) {
      let done = migrated.get(db);
      if (done === undefined) {
        done = migrate(ADAPTER, driver);
        migrated.set(db, done);
        done.catch(() => migrated.get(db) === done && migrated.delete(db));
      }
      return done;
    },
  });
}

function d1Driver(db: D1DatabaseLike): SqlDriver {
  const prepare = ({ sql, args }: SqlStatement) => db.prepare(sql).bind(...args);
  return {
    execute: async (statement) => toResult(await prepare(statement).all()),
    batch: async (statements) => (await db.batch(statements.map(prepare))).map(toResult),
  };
}

function toResult(result: D1ResultLike): SqlResult {
  return { rows: result.results ?? [], changes: Number(result.meta?.changes ?? 0) };
}
