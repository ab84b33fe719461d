// One executor context's writes to shared state, bulk-synchronous: reads see the committed state plus these
// writes; the runner applies them at the superstep boundary (executor-id order, then write order). A key
// with a reducer takes updates: each write is combined into the value at commit, never overwrites it.
import type { WorkflowState } from "./context.ts";
import { describeError } from "./_describe.ts";

/** Combines an update into a key's value (`current` is `undefined` when the key has none). */
export type Reducer = (current: unknown, update: unknown) => unknown;

/** What a context wrote to a reducer key: updates, on top of the committed value or of nothing. */
interface Updates {
  readonly fresh: boolean;
  readonly updates: readonly unknown[];
}

const DELETED: unique symbol = Symbol("deleted");

export class StateWrites {
  readonly #writes = new Map<string, unknown>();
  readonly #committed: ReadonlyMap<string, unknown>;
  readonly #reducers: ReadonlyMap<string, Reducer> | undefined;
  /** Undo log, kept only once an attempt was marked: [key, had a write, previous write]. */
  #journal: [string, boolean, unknown][] | undefined;

  constructor(committed: ReadonlyMap<string, unknown>, reducers: ReadonlyMap<string, Reducer> | undefined) {
    this.#committed = committed;
    this.#reducers = reducers;
  }

  /** The state as this context sees it; `assertLive` guards every write. */
  view(assertLive: () => void): WorkflowState {
    const writes = this.#writes;
    const reducers = this.#reducers;
    const record = (key: string) => this.#journal?.push([key, writes.has(key), writes.get(key)]);
    const read = (key: string) => {
      const value = writes.get(key);
      if (value === DELETED) return undefined;
      if (isUpdates(value)) {
        return fold(reducers!.get(key)!, value.fresh ? undefined : this.#committed.get(key), value.updates);
      }
      return value;
    };
    return {
      get: <T>(key: string): T | undefined =>
        (writes.has(key) ? read(key) : this.#committed.get(key)) as T | undefined,
      has: (key: string): boolean => {
        if (!writes.has(key)) return this.#committed.has(key);
        const value = writes.get(key);
        return value !== DELETED && !(isUpdates(value) && value.fresh && value.updates.length === 0);
      },
      set: (key: string, value: unknown): void => {
        assertLive();
        assertKey(key);
        record(key);
        if (reducers?.has(key)) {
          const previous = writes.get(key);
          const base = isUpdates(previous) ? previous : { fresh: previous === DELETED, updates: [] };
          writes.set(key, register({ fresh: base.fresh, updates: [...base.updates, value] }));
        } else writes.set(key, value);
      },
      delete: (key: string): void => {
        assertLive();
        assertKey(key);
        record(key);
        writes.set(key, reducers?.has(key) ? register({ fresh: true, updates: [] }) : DELETED);
      },
    };
  }

  /** Start journaling (for retries); returns where the attempt starts. */
  mark(): number {
    this.#journal ??= [];
    return this.#journal.length;
  }

  /** Undo every write since `mark`. */
  rollback(mark: number): void {
    const journal = this.#journal!;
    // Backwards, so a key written twice ends at its first previous value; re-setting a key keeps its
    // place in the Map, deleting one that had no write removes it: commit (write) order is preserved.
    for (let i = journal.length - 1; i >= mark; i--) {
      const [key, had, previous] = journal[i];
      if (had) this.#writes.set(key, previous);
      else this.#writes.delete(key);
    }
    journal.length = mark;
  }

  /**
   * Apply the writes to `state`, in write order; reducer keys combine their updates into the value `state`
   * holds now (what earlier executors of the superstep committed included).
   *
   * @throws What a reducer throws.
   */
  commit(state: Map<string, unknown>): void {
    for (const [key, value] of this.#writes) {
      if (value === DELETED) state.delete(key);
      else if (isUpdates(value)) {
        if (value.fresh && value.updates.length === 0) state.delete(key);
        else {
          const start = value.fresh ? undefined : state.get(key);
          let next: unknown;
          try {
            next = fold(this.#reducers!.get(key)!, start, value.updates);
          } catch (error) {
            throw new Error(
              `The reducer of state key ${JSON.stringify(key)} threw: ${describeError(error)}`,
              {
                cause: error,
              },
            );
          }
          state.set(key, next);
        }
      } else state.set(key, value);
    }
  }
}

function isUpdates(value: unknown): value is Updates {
  return typeof value === "object" && value !== null && UPDATES.has(value);
}

// Updates are recognized by identity, so a user value shaped like one is never taken for it.
const UPDATES = new WeakSet<object>();
const register = (updates: Updates): Updates => (UPDATES.add(updates), updates);

function fold(reducer: Reducer, start: unknown, updates: readonly unknown[]): unknown {
  let current = start;
  for (const update of updates) current = reducer(current, update);
  return current;
}

function assertKey(key: unknown): void {
  if (typeof key !== "string") throw new TypeError(`State keys must be strings, got ${typeof key}`);
}
