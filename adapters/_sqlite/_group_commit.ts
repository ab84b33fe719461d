// Group commit for the saves of a SQLite storage (package-private): saves submitted close together — by
// different sessions, different requests — run as one write transaction, so they share one commit and one
// fsync instead of paying one each. A server on a libSQL file was bound by that fsync, not by its CPU.
//
// The contract of each save is kept:
// - a save resolves only once the transaction holding it committed (durable as far as `synchronous` makes
//   any commit durable);
// - each save's statements keep their own compare-and-set (`saveStatements`): in the shared transaction
//   they run in submission order, exactly as if the saves had run one after another, and a save that loses
//   its race changes nothing and learns it from its own statements' results;
// - a transaction that fails rolls back every save in it; a group of more than one then runs each of its
//   saves again alone, so a save fails only for its own reason.
//
// When: the first save waits for the end of the current turn of the event loop (`setImmediate` where the
// runtime has it: after the I/O callbacks of the turn, no timer delay; else a zero timeout), so every save
// started meanwhile joins it; saves started while a transaction is running join the next one. @libsql/client
// runs a file's transaction synchronously: waiting for the turn's end is what lets concurrent requests meet.
import type { SqlConnection, SqlResult } from "./_connection.ts";
import type { SqlStatement } from "./_sql.ts";

/** The most saves one transaction takes; more wait for the next. */
const MAX_GROUP = 128;

interface Member {
  action: string;
  statements: SqlStatement[];
  resolve(results: SqlResult[]): void;
  reject(error: unknown): void;
}

type Defer = (run: () => void) => void;

const defer: Defer = (() => {
  const immediate = (globalThis as { setImmediate?: (run: () => void) => unknown }).setImmediate;
  return typeof immediate === "function" ? (run) => void immediate(run) : (run) => void setTimeout(run, 0);
})();

export class GroupCommit {
  readonly #connection: SqlConnection;
  #queue: Member[] = [];
  #scheduled = false;
  #running = false;

  constructor(connection: SqlConnection) {
    this.#connection = connection;
  }

  /** Run `statements` (one save) in the next shared write transaction: their results, once it committed. */
  batch(action: string, statements: SqlStatement[]): Promise<SqlResult[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ action, statements, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running || this.#queue.length === 0) return;
    this.#scheduled = true;
    defer(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#running = true;
    const group = this.#queue.splice(0, MAX_GROUP);
    try {
      if (group.length === 1) await this.#alone(group[0]);
      else await this.#together(group);
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #together(group: Member[]): Promise<void> {
    let results: SqlResult[];
    try {
      results = await this.#connection.batch(
        `${group[0].action} (with ${group.length - 1} other save(s) in one transaction)`,
        group.flatMap((member) => member.statements),
      );
    } catch {
      // Rolled back, all of it: each save again on its own, so that only a save that fails alone fails.
      for (const member of group) await this.#alone(member);
      return;
    }
    let at = 0;
    for (const member of group) {
      member.resolve(results.slice(at, at + member.statements.length));
      at += member.statements.length;
    }
  }

  async #alone(member: Member): Promise<void> {
    try {
      member.resolve(await this.#connection.batch(member.action, member.statements));
    } catch (error) {
      member.reject(error);
    }
  }
}
