/**
 * The demo workflows as a Cloudflare Worker (workerd): the Hono app is the worker's default export.
 *
 * Storage is in memory, so checkpoints live as long as the worker's isolate and are not shared between
 * isolates: a demo, not a deployment. For durable checkpoints pass `storage: (c) => …` and build an adapter
 * from the request's bindings (`c.env`), e.g. libSQL over HTTP (`@libsql/client/web`, Turso).
 *
 * Bundle and run it locally in workerd (Miniflare) with `node scripts/test.mjs workerd`, or with wrangler:
 * `npx wrangler dev` (see the README's wrangler.toml).
 *
 * @module
 */
import { MemoryCheckpointStorage } from "../adapters/memory.ts";
import { demoApp } from "./_demo_app.ts";

const app = demoApp(new MemoryCheckpointStorage());

export default app;
