/**
 * What the Node and Bun demo servers share besides the app: their storage (the libSQL file
 * `./superstep.db`, or memory) and how they stop. A stop closes the database cleanly, whichever way the
 * signal came: Ctrl-C in a terminal sends SIGINT to the whole process group (`npm start`: npm, tsx and the
 * server), and tsx may pass it on again, so signals that come while the server closes are ignored instead
 * of ending it halfway.
 *
 * @module
 */
import process from "node:process";
import { createClient } from "@libsql/client";
import { type CheckpointStorage, MemoryCheckpointStorage } from "../mod.ts";
import { LibsqlCheckpointStorage } from "../adapters/libsql/mod.ts";

/** The database file of the demo servers. */
export const DATABASE_URL = "file:./superstep.db";

/** How long closing may take before the server gives up (exit code 1). */
const CLOSE_TIMEOUT_MS = 10_000;

/** A demo server's storage, what to call it, and how to close it. */
export interface DemoStorage {
  /** The storage. */
  storage: CheckpointStorage;
  /** Where the checkpoints live, for messages. */
  where: string;
  /** Close it; for the file, everything written is in the database file afterwards, the log emptied. */
  close(): Promise<void>;
}

/**
 * Open the demo servers' storage: memory, or the libSQL file through a client the server owns (so that it
 * can checkpoint the write-ahead log into the file before it closes).
 */
export function openDemoStorage(memory: boolean): DemoStorage {
  if (memory) {
    return { storage: new MemoryCheckpointStorage(), where: "memory", close: () => Promise.resolve() };
  }
  const client = createClient({ url: DATABASE_URL });
  const storage = new LibsqlCheckpointStorage({ client });
  return {
    storage,
    where: DATABASE_URL,
    async close() {
      await storage.close();
      // Nothing is left to recover from the log, even if libSQL lets go of a connection only at exit.
      await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      client.close();
    },
  };
}

/**
 * On the first SIGINT or SIGTERM: `stop` the server (ending open SSE streams), then close the storage, then
 * let the process end by itself once nothing is left (no `process.exit()`: libSQL lets go of the file as the
 * process ends); exit code 1 if closing fails or takes over 10 seconds. Later signals are ignored: a
 * listener stays registered, since without one a second signal would end the process at once.
 */
export function stopOnSignals(stop: () => Promise<void>, demo: DemoStorage): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing (checkpoints: ${demo.where})`);
    setTimeout(() => {
      console.error(`could not close within ${CLOSE_TIMEOUT_MS} ms`);
      process.exit(1);
    }, CLOSE_TIMEOUT_MS).unref();
    stop().then(() => demo.close()).then(
      () => console.log(`closed ${demo.where}`),
      (error) => {
        console.error("could not close:", error);
        process.exitCode = 1;
      },
    );
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => onSignal(signal));
}
