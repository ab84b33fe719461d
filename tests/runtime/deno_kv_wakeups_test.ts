// KvWakeups on Deno's own KV queue (Deno.openKv).
import type { KvQueue } from "../../adapters/kv/mod.ts";
import { queueCase } from "../_kv_wakeups_queue.ts";

const deno = (globalThis as { Deno: { openKv(path: string): Promise<KvQueue & { close(): void }> } }).Deno;
queueCase((path) => deno.openKv(path));
