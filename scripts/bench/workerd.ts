// The workerd cold start (Node drives Miniflare): the demo app as a Cloudflare worker (`createWorkflowApp`,
// memory storage, a workflow built per request) against a bare Hono worker answering the same
// `POST /workflows/wordlen/runs` inline. Both are bundled as wrangler would (esbuild, minified ESM, the
// workerd conditions, Hono included) and their gzipped sizes reported; then, in turns, each is started in a
// new isolate (a new Miniflare) and its first request timed, then a second one (warm).
import { gzipSync } from "node:zlib";
import process from "node:process";
import { Miniflare } from "miniflare";
import { args, log, once, quick, Report, stats } from "./_harness.ts";
import { bundleForWorkerd } from "./_worker_bundle.ts";

// run.mjs starts every task in the repository's root (this file runs bundled, from elsewhere).
const ROOT = process.cwd();
const ROUNDS = quick(args()) ? 1 : 7;

const WORKERS = {
  "superstep memory": `
    import { createWorkflowApp } from "./adapters/hono/mod.ts";
    import { MemoryCheckpointStorage } from "./mod.ts";
    import { demoWorkflows } from "./examples/_demo_workflows.ts";
    export default createWorkflowApp({ workflows: demoWorkflows, storage: new MemoryCheckpointStorage() });`,
  "bare hono": `
    import { Hono } from "hono";
    const app = new Hono();
    app.post("/workflows/:name/runs", async (c) => {
      const { input } = await c.req.json();
      const outputs = input.split(/\\s+/).filter(Boolean).map((word) => word.length);
      return c.json({ status: "idle", outputs, pendingRequests: [], sessionId: crypto.randomUUID() });
    });
    export default app;`,
};

function bundle(contents: string): Promise<string> {
  return bundleForWorkerd({ contents, resolveDir: ROOT }, true);
}

const request = () =>
  ({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: "checkpoint superstep resume lineage" }),
  }) as const;

async function coldStart(
  script: string,
): Promise<{ first: number; second: number }> {
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-05-01",
  });
  try {
    await mf.ready;
    const url = "http://localhost/workflows/wordlen/runs";
    const t0 = performance.now();
    const first = await mf.dispatchFetch(url, request());
    const body = await first.json() as { outputs?: number[] };
    const t1 = performance.now();
    if (first.status !== 200 || body.outputs?.join() !== "10,9,6,7") {
      throw new Error(`workerd: ${first.status} ${JSON.stringify(body)}`);
    }
    await (await mf.dispatchFetch(url, request())).arrayBuffer();
    const t2 = performance.now();
    return { first: (t1 - t0) * 1000, second: (t2 - t1) * 1000 };
  } finally {
    await mf.dispose();
  }
}

const report = new Report();
const scripts = Object.fromEntries(
  await Promise.all(
    Object.entries(WORKERS).map(async (
      [name, source],
    ) => [name, await bundle(source)]),
  ),
) as Record<keyof typeof WORKERS, string>;
const times = new Map<string, { first: number[]; second: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, script] of Object.entries(scripts)) {
    const { first, second } = await coldStart(script);
    if (!times.has(name)) times.set(name, { first: [], second: [] });
    times.get(name)!.first.push(first);
    times.get(name)!.second.push(second);
    log(
      `workerd ${name}: first request ${(first / 1000).toFixed(1)} ms, second ${
        (second / 1000).toFixed(1)
      } ms`,
    );
  }
}
for (const [name, { first, second }] of times) {
  report.add({
    bench: "W",
    name: "first request of a new isolate",
    subject: name,
    unit: "µs",
    ...stats(first),
    reps: first.length,
  });
  report.add({
    bench: "W",
    name: "second request",
    subject: name,
    unit: "µs",
    ...stats(second),
    reps: second.length,
  });
}
for (const [name, script] of Object.entries(scripts)) {
  report.add({
    bench: "W",
    name: "bundle, gzipped",
    subject: name,
    unit: "B",
    ...once(gzipSync(new TextEncoder().encode(script), { level: 9 }).length),
  });
}
report.print();
