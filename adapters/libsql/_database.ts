// A synchronous libSQL database as the shared SQLite layer's driver (package-private): each statement
// compiled once and kept, a batch in one BEGIN IMMEDIATE transaction. @libsql/client compiles every
// statement on every call and builds each row's object property by property; compiling the load statement
// alone cost more than running it.
import type { SqlDriver, SqlResult } from "../_sqlite/_connection.ts";
import type { SqlStatement } from "../_sqlite/_sql.ts";
import type { LibsqlDatabase, LibsqlPreparedStatement } from "./client.ts";

/**
 * How many compiled statements a database keeps. The storage's SQL comes in a few dozen shapes (a list's
 * filters, a delete's dependents): more than this means texts that differ, and the oldest go.
 */
const KEPT_STATEMENTS = 256;

/** A compiled statement, and whether it returns rows (a call into the binding each time it is asked). */
interface Compiled {
  statement: LibsqlPreparedStatement;
  reader: boolean;
}

/** Each database's compiled statements, shared by every storage on it (a statement is the connection's). */
const COMPILED = new WeakMap<LibsqlDatabase, Map<string, Compiled>>();

export function databaseDriver(database: LibsqlDatabase): SqlDriver {
  const compiled = COMPILED.get(database) ?? new Map<string, Compiled>();
  COMPILED.set(database, compiled);
  const prepare = (sql: string): Compiled => {
    let found = compiled.get(sql);
    if (found === undefined) {
      const statement = database.prepare(sql);
      found = { statement, reader: statement.reader };
      if (compiled.size >= KEPT_STATEMENTS) compiled.delete(compiled.keys().next().value!);
      compiled.set(sql, found);
    }
    return found;
  };
  const run = ({ sql, args }: SqlStatement): SqlResult => {
    const { statement, reader } = prepare(sql);
    if (reader) return { rows: statement.all(args) as Record<string, unknown>[], changes: 0 };
    return { rows: [], changes: Number(statement.run(args).changes) };
  };
  return {
    // Synchronous underneath: a thrown error becomes the promise's rejection.
    execute: (statement) => new Promise((resolve) => resolve(run(statement))),
    batch: (statements) =>
      new Promise((resolve) => {
        run({ sql: "BEGIN IMMEDIATE", args: [] });
        try {
          const results = statements.map(run);
          run({ sql: "COMMIT", args: [] });
          resolve(results);
        } catch (error) {
          // A failed COMMIT may have ended the transaction already (SQLite rolls back on some errors).
          if (database.inTransaction) run({ sql: "ROLLBACK", args: [] });
          throw error;
        }
      }),
  };
}
