// KvWakeups on @deno/kv's queue on Node (its default V8 value encoding, which queue messages need).
import { openKv } from "@deno/kv";
import type { KvQueue } from "../../adapters/kv/mod.ts";
import { queueCase } from "../_kv_wakeups_queue.ts";

queueCase(async (path) => await openKv(path) as unknown as KvQueue & { close(): void });
