/**
 * The demo workflows as a Cloudflare Worker (workerd), checkpoints in D1 or in a Durable Object: the Hono
 * app is the worker's default export, and the module exports the {@linkcode CheckpointObject} class its
 * Durable Object binding names. `examples/wrangler.toml` declares the bindings; `STORAGE` picks the
 * storage (`d1`, the default, or `durable-object`).
 *
 * Run it in workerd (Miniflare), configured from that wrangler.toml, with `npm run test:workerd`, which
 * checks every route against both storages and restarts, races and kills it; or with wrangler:
 * `npx wrangler dev -c examples/wrangler.toml` (see the README's "Cloudflare Workers").
 *
 * @module
 */
import { createWorkflowApp } from "../adapters/hono/mod.ts";
import { D1CheckpointStorage, type D1DatabaseLike } from "../adapters/d1/mod.ts";
import {
  CheckpointObject,
  CheckpointObjectStorage,
  type DurableObjectNamespaceLike,
} from "../adapters/durable_object/mod.ts";
import {
  type CheckpointStorage,
  defineExecutor,
  recover,
  sleep,
  type Workflow,
  WorkflowBuilder,
} from "../mod.ts";
import { demoWorkflows } from "./_demo_workflows.ts";

export { CheckpointObject };

/** The worker's bindings (examples/wrangler.toml). */
export interface Env {
  /** The D1 database (`[[d1_databases]]`). */
  DB: D1DatabaseLike;
  /** The CheckpointObject namespace (`[[durable_objects.bindings]]`). */
  CHECKPOINTS: DurableObjectNamespaceLike;
  /** `"d1"` (default) or `"durable-object"` (`[vars]`). */
  STORAGE?: string;
}

/**
 * The storage of a request: D1, or the CheckpointObject named "demo" (one object for every session; name
 * one per tenant to scale out, e.g. from the caller's token).
 */
export function storageOf(env: Env): CheckpointStorage {
  if (env.STORAGE === "durable-object") {
    return new CheckpointObjectStorage({ namespace: env.CHECKPOINTS, name: "demo" });
  }
  if (env.STORAGE !== undefined && env.STORAGE !== "d1") {
    throw new TypeError(`Unknown STORAGE "${env.STORAGE}": use d1 or durable-object`);
  }
  return new D1CheckpointStorage({ db: env.DB });
}

/**
 * Build the `reminder` workflow: it waits `input` milliseconds with a durable timer, then outputs `"reminded"`.
 * Nothing in the Worker waits: the run ends waiting, and the Cron Trigger's `recover` pass wakes it when due.
 */
export function reminder(): Workflow<number, string> {
  const remind = defineExecutor<number, never, string>({
    id: "remind",
    handle: async (ms, ctx) => void await sleep(ctx, ms),
    onResponse: async (_fired: unknown, _request, ctx) => await ctx.yieldOutput("reminded"),
  });
  return new WorkflowBuilder({ name: "reminder", start: remind }).build();
}

const workflows = { ...demoWorkflows, reminder };

const app = createWorkflowApp<{ Bindings: Env }>({
  workflows,
  storage: (c) => storageOf(c.env),
});

export default {
  fetch: app.fetch,
  /**
   * A Cron Trigger (`[triggers] crons` in wrangler.toml): one `recover` pass, which resumes interrupted
   * sessions and wakes the timers that are due. Leases keep overlapping passes from running a session twice.
   */
  scheduled(_event: unknown, env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }): void {
    const storage = storageOf(env);
    const all = Object.values(workflows).map((build) => build() as Workflow<never, unknown>);
    ctx.waitUntil(recover({ storage, workflows: all, owner: `cron-${crypto.randomUUID()}` }));
  },
};
