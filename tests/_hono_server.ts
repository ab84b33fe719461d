// The real-server suite of the Hono adapter, shared by tests/runtime/<runtime>_test.ts: each runtime file
// only says how to start and stop a listening server on 127.0.0.1.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { WorkflowApp } from "../adapters/hono/mod.ts";
import { type Fixture, json, makeFixture, parseSse, sse } from "./_hono_helpers.ts";

/** A listening server: its base URL and how to close it. */
export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** Register the real-HTTP tests of the Hono adapter for one runtime's server. */
export function honoServerSuite(runtime: string, listen: (app: WorkflowApp) => Promise<TestServer>): void {
  describe(`createWorkflowApp() on a real ${runtime} server`, () => {
    let fixture: Fixture;
    let server: TestServer;
    before(async () => {
      fixture = makeFixture();
      server = await listen(fixture.app);
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    });
    after(() => server.close());

    test("a JSON run over HTTP", async () => {
      const res = await fetch(`${server.url}/workflows/echo/runs`, json({ input: "over http" }));
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.status, "idle");
      assert.deepEqual(body.outputs, ["over http"]);
    });

    test("an SSE stream read to the end", async () => {
      const res = await fetch(`${server.url}/workflows/echo/runs`, sse({ input: "streamed" }));
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const events = parseSse(await res.text());
      assert.equal(events[0].event, "started");
      assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1));
      assert.equal(events.at(-1)!.event, "result");
      assert.deepEqual((events.at(-1)!.data as { outputs: unknown[] }).outputs, ["streamed"]);
    });

    test("a client disconnect mid-stream cancels the run and leaves it resumable", async () => {
      const controller = new AbortController();
      const res = await fetch(
        `${server.url}/workflows/blocker/runs`,
        sse({ input: null }, { signal: controller.signal }),
      );
      assert.equal(res.status, 200);
      await fixture.blocker.entered;
      controller.abort();
      await res.body?.cancel().catch(() => {});
      await fixture.blocker.sawAbort;
      const result = await fixture.runs.at(-1)!;
      assert.equal(result.status, "cancelled");
      assert.equal(await fixture.storage.head(result.sessionId), result.checkpointId);
      const resumed = await fetch(`${server.url}/checkpoints/${result.checkpointId}/resume`, json({}));
      assert.equal(resumed.status, 200);
      assert.deepEqual((await resumed.json()).outputs, ["resumed"]);
    });
  });
}
