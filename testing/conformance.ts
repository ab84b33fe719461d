/**
 * The conformance suite every checkpoint storage adapter runs.
 *
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { CheckpointStorage } from "../src/checkpoint.ts";
import { type CaseBody, type ConformanceCapability, makeScope } from "./_cases_helpers.ts";
import { integrityCases } from "./_integrity_cases.ts";
import { readCases } from "./_read_cases.ts";
import { writeCases } from "./_write_cases.ts";
import { deltaCases, pruneCases } from "./_delta_cases.ts";
import { indexCases } from "./_index_cases.ts";
import { leaseCases } from "./_lease_cases.ts";

export type { ConformanceCapability };

/** Options of {@linkcode checkpointStorageConformance}. */
export interface ConformanceOptions {
  /**
   * Whether two storages from `makeStorage()` share one backend (one database file, one KV store). If so the
   * suite checks that a second instance sees the first one's checkpoints; if not, that it sees none. Every
   * case uses its own workflow name and session ids, so cases never see each other's data in a shared
   * backend, except the key-safety case, which uses (and first deletes) the sessions `"__proto__"`,
   * `"constructor"` and `"hasOwnProperty"`.
   *
   * @default {false}
   */
  sharedBackend?: boolean;
  /**
   * Capabilities the adapter declares it lacks, each with the reason. Their cases are registered as skipped,
   * with the reason, so a report shows them: `"concurrent-saves"` (eight concurrent saves with the same
   * parent: exactly one wins), `"large-payload"` (a 2 MiB checkpoint round-trips). The optional index
   * capabilities (`listSessions`, `listPendingRequests`) are declared by implementing both methods, and
   * leases by implementing `claimLease`, `renewLease` and `releaseLease`: the suite tests them on a storage
   * that has them, and that the helpers refuse one that has none.
   *
   * @default {{}}
   */
  skip?: Partial<Record<ConformanceCapability, string>>;
  /**
   * How long the growing chain of the delta cases is. Shorten it only for a run whose point is a slow
   * transport (an emulated remote server) when the same adapter runs the whole suite elsewhere.
   *
   * @default {1000}
   */
  chainLength?: number;
}

/**
 * Register the conformance suite for a {@linkcode CheckpointStorage} adapter as `node:test` cases, so the
 * same file runs on Deno, Node and Bun. Each case gets a fresh storage from `makeStorage()` and calls its
 * `close()`, if it has one, when done.
 *
 * Covers: every codec type round-trips through save/load and list; unknown ids; newest-first listing,
 * `limit`, `before` paging and filters; `head`; the head compare-and-set (stale parent, null parent,
 * duplicate id, eight concurrent saves); forks and lineage across sessions; `delete` (and where the head
 * moves) and `deleteSession`; a 2 MiB payload; no aliasing between saved, stored and loaded values;
 * isolation between instances; keys such as `"__proto__"`; a 1,000-checkpoint chain of growing state, forks
 * and deletes in the middle of chains, every checkpoint loading exactly after each (what delta payloads must
 * survive; loaded on a second, cold storage too when the backend is shared); ids with lone surrogates refused by every method
 * (so no two ids can share a stored key); a deleted session that a late save must not bring back; the
 * session index and the inbox (statuses through run, pause, answer, completion, crash, delete and fork,
 * paging, filters, a thousand sessions) on a storage that implements them, and else that `listSessions` and
 * `listPendingRequests` refuse it with `StorageCapabilityError`; leases (eight concurrent claimants get
 * one lease, expiry, renewal, release, and fencing: a save carrying a lease taken over writes nothing) on a
 * storage that implements them, and else that `claimSession` refuses it.
 *
 * @param name The adapter's name, shown in every case's name.
 * @param makeStorage Makes a new storage for one case.
 * @param options What the adapter declares about itself.
 * @example
 * ```ts ignore
 * // Registers test cases, so it is not run as a doc test.
 * import { checkpointStorageConformance } from "@superstep/superstep/testing";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 *
 * checkpointStorageConformance("memory", () => new MemoryCheckpointStorage());
 * ```
 */
export function checkpointStorageConformance(
  name: string,
  makeStorage: () => CheckpointStorage | Promise<CheckpointStorage>,
  options: ConformanceOptions = {},
): void {
  const skip = options.skip ?? {};

  function it(
    title: string,
    body: CaseBody,
    capability?: ConformanceCapability,
  ): void {
    const reason = capability && skip[capability];
    // The reason is in the name too: Deno and Bun do not print a skip's reason.
    const named = reason ? `${title} (skipped: ${capability}: ${reason})` : title;
    test(named, reason ? { skip: `${capability}: ${reason}` } : {}, async () => {
      const storage = await makeStorage();
      try {
        await body(storage, makeScope(storage));
      } finally {
        await storage.close?.();
      }
    });
  }

  describe(`checkpointStorageConformance(${JSON.stringify(name)})`, () => {
    readCases(it);
    writeCases(it);
    integrityCases(it);
    pruneCases(it);
    indexCases(it);
    leaseCases(it);
    deltaCases(
      it,
      options.chainLength ?? 1000,
      options.sharedBackend
        ? async (body) => {
          const other = await makeStorage();
          try {
            await body(other);
          } finally {
            await other.close?.();
          }
        }
        : undefined,
    );

    if (options.sharedBackend) {
      test("two storages from makeStorage() share one backend (sharedBackend)", async () => {
        await withTwo(async (one, two) => {
          const cp = makeScope(one).checkpoint();
          await one.save(cp);
          assert.deepStrictEqual(await two.load(cp.id), cp);
          assert.strictEqual(await two.head(cp.sessionId), cp.id);
        });
      });
    } else {
      test("two storages from makeStorage() do not see each other's checkpoints", async () => {
        await withTwo(async (one, two) => {
          const s = makeScope(one);
          const cp = s.checkpoint();
          await one.save(cp);
          assert.strictEqual(await two.load(cp.id), undefined);
          assert.strictEqual(await two.head(cp.sessionId), undefined);
          assert.deepStrictEqual(await two.list({ workflowName: s.workflowName }), []);
          assert.deepStrictEqual(await two.list(), []);
          // The same id and session in the second storage is a new session there, not a conflict.
          await two.save({ ...cp, state: { second: true } });
          assert.deepStrictEqual(await one.load(cp.id), cp);
        });
      });
    }
  });

  async function withTwo(body: (one: CheckpointStorage, two: CheckpointStorage) => Promise<void>) {
    const one = await makeStorage();
    try {
      const two = await makeStorage();
      try {
        await body(one, two);
      } finally {
        await two.close?.();
      }
    } finally {
      await one.close?.();
    }
  }
}
