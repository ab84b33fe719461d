/**
 * Test helpers for storage adapter authors: the conformance suite every adapter must pass, and
 * {@linkcode makeCheckpoint} for an adapter's own tests. The suite registers `node:test` cases, so one file
 * runs unchanged under `deno test`, `node --test` and `bun test`.
 *
 * @example
 * ```ts ignore
 * // tests/my_adapter_test.ts (registers test cases, so it is not run as a doc test)
 * import { checkpointStorageConformance } from "@superstep/superstep/testing";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 *
 * checkpointStorageConformance("memory", () => new MemoryCheckpointStorage());
 * ```
 *
 * @module
 */
export {
  checkpointStorageConformance,
  type ConformanceCapability,
  type ConformanceOptions,
} from "./conformance.ts";
export { makeCheckpoint } from "./make_checkpoint.ts";
