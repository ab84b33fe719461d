/**
 * Opens the checkpoint storage an example runs against, by name: `memory` (default), `libsql` (a file
 * `superstep-example.db`) or `kv` (a KV file `superstep-example.kv`; `Deno.openKv` on Deno, `@deno/kv`
 * on Node and Bun). Examples take its name as their first command-line argument.
 *
 * @module
 */
import process from "node:process";
import { type CheckpointStorage, MemoryCheckpointStorage } from "../mod.ts";

/** A storage and how to let go of it. */
export interface ExampleStorage {
  /** Which one it is. */
  name: string;
  /** The storage. */
  storage: CheckpointStorage;
  /** Close what the example opened. */
  close(): Promise<void>;
}

/**
 * Open the storage named `name`.
 *
 * @param name `memory`, `libsql` or `kv`.
 * @returns The storage and its closer.
 */
export async function openExampleStorage(name = "memory"): Promise<ExampleStorage> {
  switch (name) {
    case "memory":
      return { name, storage: new MemoryCheckpointStorage(), close: () => Promise.resolve() };
    case "libsql": {
      const { LibsqlCheckpointStorage } = await import("../adapters/libsql/mod.ts");
      const storage = new LibsqlCheckpointStorage({ url: "file:superstep-example.db" });
      return { name, storage, close: () => storage.close() };
    }
    case "kv": {
      const { KvCheckpointStorage } = await import("../adapters/kv/mod.ts");
      const deno = (globalThis as { Deno?: { openKv(path: string): Promise<KvLike> } }).Deno;
      const kv: KvLike = deno ? await deno.openKv("superstep-example.kv") : await openNodeKv();
      return { name, storage: new KvCheckpointStorage({ kv }), close: () => Promise.resolve(kv.close()) };
    }
    default:
      throw new TypeError(`Unknown storage "${name}": use memory, libsql or kv`);
  }
}

// deno-lint-ignore no-explicit-any
type KvLike = any;

async function openNodeKv(): Promise<KvLike> {
  const { openKv } = await import("@deno/kv");
  // The adapter stores bytes only; Bun's @deno/kv insists on serializers all the same.
  const unused = () => {
    throw new Error("unused");
  };
  return await openKv("superstep-example.kv", { encodeV8: unused, decodeV8: unused });
}

/** The command-line arguments after the script, on Deno, Node and Bun. */
export function args(): string[] {
  return process.argv.slice(2);
}
