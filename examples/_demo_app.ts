/**
 * The demo app the example servers share: the demo workflows on a given storage, optionally behind bearer
 * tokens (examples/auth.ts), and the servers' command-line flags.
 *
 * @module
 */
import type { CheckpointStorage } from "../mod.ts";
import { Hono } from "hono";
import type { BlankEnv } from "hono/types";
import { createWorkflowApp, type WorkflowApp } from "../adapters/hono/mod.ts";
import { createInspector } from "../adapters/inspector/mod.ts";
import { createBearerTokenApp } from "./auth.ts";
import { demoWorkflows } from "./_demo_workflows.ts";

/** The flags of the example servers. */
export interface DemoFlags {
  /** `--memory`: keep checkpoints in memory instead of the database file. */
  memory: boolean;
  /** `--port=N` (on 127.0.0.1). @default {8787} */
  port: number;
  /** `--tokens=alice,bob`: require one of these bearer tokens; each may only touch its own sessions. */
  tokens?: string[];
  /** `--inspector`: serve the browser inspector at `/inspector` (off by default). */
  inspector: boolean;
}

/** The usage line of the example servers. */
export const DEMO_USAGE = "flags: [--memory] [--port=8787] [--tokens=alice,bob] [--inspector]";

/**
 * Parse the example servers' flags.
 *
 * @throws {TypeError} On an unknown flag or a bad value.
 */
export function parseDemoFlags(args: readonly string[]): DemoFlags {
  const flags: DemoFlags = { memory: false, port: 8787, inspector: false };
  for (const arg of args) {
    const [name, value] = arg.split(/=(.*)/s, 2);
    if (name === "--memory" && value === undefined) flags.memory = true;
    else if (name === "--inspector" && value === undefined) flags.inspector = true;
    else if (name === "--port" && /^\d{1,5}$/.test(value ?? "") && Number(value) < 65536) {
      flags.port = Number(value);
    } else if (name === "--tokens" && value) flags.tokens = value.split(",").filter(Boolean);
    else throw new TypeError(`Unknown or malformed flag: ${JSON.stringify(arg)} (${DEMO_USAGE})`);
  }
  return flags;
}

/** The demo servers' app: `hc<DemoApp>(url)` is a client typed with the demo workflows' inputs and outputs. */
export type DemoApp = WorkflowApp<BlankEnv, typeof demoWorkflows>;

/**
 * The demo workflows on `storage`, behind bearer `tokens` when given, with the browser inspector at
 * `/inspector` when `inspector` is set (it calls the same routes, so the tokens apply to it too).
 */
export function demoApp(storage: CheckpointStorage, tokens?: readonly string[], inspector = false): DemoApp {
  const app = tokens?.length
    ? createBearerTokenApp({ workflows: demoWorkflows, storage, tokens })
    : createWorkflowApp({ workflows: demoWorkflows, storage });
  if (!inspector) return app;
  // The inspector's routes first: the bearer-token app answers every path it is given.
  const outer = new Hono();
  outer.route("/inspector", createInspector({ enabled: true }));
  outer.all("*", (c) => app.fetch(c.req.raw, c.env));
  return outer as unknown as DemoApp;
}
