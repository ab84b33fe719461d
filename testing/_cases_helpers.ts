/**
 * What every conformance case gets: a scope of names no other case uses, and shared helpers
 * (package-private).
 *
 * @module
 */
import type { Checkpoint, CheckpointQuery, CheckpointStorage } from "../src/checkpoint.ts";
import { newId, newSessionId } from "../src/_ulid.ts";
import { makeCheckpoint } from "./make_checkpoint.ts";

/** A part of the contract an adapter may declare it lacks (see `ConformanceOptions.skip`). */
export type ConformanceCapability = "concurrent-saves" | "large-payload";

/** Per-case helpers: a workflow name and sessions no other case uses. */
export interface Scope {
  workflowName: string;
  session(): string;
  checkpoint(overrides?: Partial<Checkpoint>): Checkpoint;
  chain(length: number, overrides?: Partial<Checkpoint>): Promise<Checkpoint[]>;
}

/** A case body: runs against a fresh storage from `makeStorage()`. */
export type CaseBody = (storage: CheckpointStorage, scope: Scope) => Promise<void>;

/** Registers one case; `capability` names what the adapter may declare it lacks. */
export type Register = (title: string, body: CaseBody, capability?: ConformanceCapability) => void;

/** A scope over `storage`: a fresh workflow name, fresh sessions, and a chain helper that saves. */
export function makeScope(storage: CheckpointStorage): Scope {
  const workflowName = `conformance-${newId()}`;
  const session = () => `session-${newSessionId()}`;
  const checkpoint = (overrides: Partial<Checkpoint> = {}) =>
    makeCheckpoint({ workflowName, sessionId: session(), ...overrides });
  return {
    workflowName,
    session,
    checkpoint,
    async chain(length, overrides = {}) {
      const out: Checkpoint[] = [];
      const sessionId = overrides.sessionId ?? session();
      let parentId = overrides.parentId ?? null;
      for (let i = 0; i < length; i++) {
        const cp = checkpoint({ ...overrides, sessionId, parentId, superstep: i });
        await storage.save(cp);
        out.push(cp);
        parentId = cp.id;
      }
      return out;
    },
  };
}

/** Whether `error` is a `CheckpointConflictError`. */
export function isConflict(error: unknown): boolean {
  // By name, not instanceof: an adapter may bundle its own copy of the package.
  return error instanceof Error && error.name === "CheckpointConflictError";
}

/** The ids `list(query)` returns, in order. */
export async function ids(storage: CheckpointStorage, query: CheckpointQuery): Promise<string[]> {
  return (await storage.list(query)).map((summary) => summary.id);
}
/** The storage with its `lineage` fast path hidden, so `lineage()` walks parents with `load`. */
export function withoutLineage(storage: CheckpointStorage): CheckpointStorage {
  return {
    save: (cp) => storage.save(cp),
    load: (id) => storage.load(id),
    list: (query) => storage.list(query),
    head: (sessionId) => storage.head(sessionId),
    delete: (id) => storage.delete(id),
    deleteSession: (sessionId) => storage.deleteSession(sessionId),
  };
}

/** The checkpoint's fields other than its payloads (which hold values some runtimes' asserts cannot compare). */
export function withoutPayload(checkpoint: Checkpoint): Record<string, unknown> {
  const {
    messages: _m,
    state: _s,
    executorState: _e,
    edgeState: _g,
    pendingRequests: _p,
    answers: _a,
    metadata: _d,
    ...rest
  } = checkpoint;
  return rest;
}
