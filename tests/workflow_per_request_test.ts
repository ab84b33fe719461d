import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createWorkflowApp } from "../adapters/hono/mod.ts";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";

function factory(name: string, id = "echo") {
  const echo = defineExecutor({ id, handle: (text: string, ctx) => ctx.yieldOutput(text) });
  return new WorkflowBuilder({ name, start: echo }).withCheckpointing(new MemoryCheckpointStorage()).build();
}

describe("a workflow per request", () => {
  test("workflows of one factory hash their graph once between them, and another graph anew", async () => {
    const subtle = crypto.subtle;
    const digest = subtle.digest;
    let hashed = 0;
    Object.defineProperty(subtle, "digest", {
      configurable: true,
      value: (...args: Parameters<SubtleCrypto["digest"]>) => {
        hashed++;
        return digest.apply(subtle, args);
      },
    });
    try {
      // An id no other test's graph has, so no other test hashed this graph before.
      const name = `per-request-${Math.random()}`;
      const signatures = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const workflow = factory(name, name);
        assert.deepEqual((await workflow.run(`r${i}`)).outputs, [`r${i}`]);
        signatures.add(await workflow.graphSignature());
      }
      assert.equal(signatures.size, 1);
      assert.equal(hashed, 1);
      const other = await factory(name, `${name}-other`).graphSignature();
      assert.equal(hashed, 2);
      assert.notEqual(other, [...signatures][0]);
      assert.match(other, /^[0-9a-f]{64}$/);
    } finally {
      delete (subtle as { digest?: unknown }).digest;
    }
    assert.equal(crypto.subtle.digest, digest);
  });

  test("the Hono adapter answers a JSON run with a declared length without reading request.body", async () => {
    // On @hono/node-server, reading `body` builds a whole Request (a stream, an AbortSignal) per request.
    let bodyReads = 0;
    class Watched extends Request {
      override get body(): Request["body"] {
        bodyReads++;
        return super.body;
      }
    }
    const app = createWorkflowApp({
      workflows: { echo: () => factory("echo") },
      storage: new MemoryCheckpointStorage(),
    });
    const text = JSON.stringify({ input: "hi" });
    const request = new Watched("http://localhost/workflows/echo/runs", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(text.length) },
      body: text,
    });
    const response = await app.fetch(request);
    assert.equal(response.status, 200);
    assert.deepEqual((await response.json()).outputs, ["hi"]);
    assert.equal(bodyReads, 0);
    // Over the limit by its declared length: refused as before, still without reading the body.
    const small = createWorkflowApp({
      workflows: { echo: () => factory("echo") },
      storage: new MemoryCheckpointStorage(),
      bodyLimit: 4,
    });
    const refused = await small.fetch(
      new Watched("http://localhost/workflows/echo/runs", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(text.length) },
        body: text,
      }),
    );
    assert.equal(refused.status, 413);
    assert.equal(bodyReads, 0);
  });
});
