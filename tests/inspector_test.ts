// The inspector's server side (adapters/inspector) and the JSON graph it draws (`GET /workflows`'s
// `graph`): runs on Deno, Node, Bun and inside workerd, where the page and its assets must be served from
// the module alone (no file system). The page itself is driven in Chromium by
// tests/runtime/node_inspector_browser_test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder, WorkflowExecutor } from "../mod.ts";
import { createWorkflowApp, type GraphBody } from "../adapters/hono/mod.ts";
import { createInspector } from "../adapters/inspector/mod.ts";
import { DIGEST, SCRIPT, STYLE } from "../adapters/inspector/_assets.ts";
import { demoWorkflows } from "../examples/_demo_workflows.ts";

function mounted(options: Parameters<typeof createInspector>[0]) {
  const app = new Hono();
  app.route("/inspector", createInspector(options));
  app.route("/api", createWorkflowApp({ workflows: demoWorkflows, storage: new MemoryCheckpointStorage() }));
  return app;
}

describe("createInspector()", () => {
  test("is off unless enabled: every route is a 404", async () => {
    for (const options of [undefined, {}, { enabled: false }, { enabled: () => false }]) {
      const app = mounted(options);
      for (const path of ["/inspector", "/inspector/inspector.js", "/inspector/inspector.css"]) {
        assert.equal((await app.request(path)).status, 404, `${path} with ${JSON.stringify(options)}`);
      }
    }
  });

  test("enabled by a function of the request (a Worker's binding)", async () => {
    const app = new Hono<{ Bindings: { INSPECTOR?: string } }>();
    app.route(
      "/inspector",
      createInspector<{ Bindings: { INSPECTOR?: string } }>({
        enabled: (c) => c.env.INSPECTOR === "on",
      }),
    );
    assert.equal((await app.request("/inspector", {}, { INSPECTOR: "on" })).status, 200);
    assert.equal((await app.request("/inspector", {}, {})).status, 404);
  });

  test("serves the page under a strict Content-Security-Policy, with no inline script", async () => {
    const res = await mounted({ enabled: true, api: "/api" }).request("/inspector");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    for (
      const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"]
    ) {
      assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const html = await res.text();
    assert.match(html, /<meta name="superstep-api" content="\/api">/);
    // Scripts only as files from the inspector's own routes: no inline script, no inline style.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0][1], new RegExp(`src="/inspector/inspector\\.js\\?v=${DIGEST}"`));
    assert.equal(scripts[0][2], "");
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/);
  });

  test("serves its script and style sheet from the module, with the page's policy", async () => {
    const app = mounted({ enabled: true });
    const js = await app.request("/inspector/inspector.js");
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await js.text(), SCRIPT);
    const css = await app.request("/inspector/inspector.css");
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(await css.text(), STYLE);
    assert.match(css.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal((await app.request("/inspector/nothing.js")).status, 404);
  });

  test("the bundled script uses no eval and no Function constructor (script-src 'self' forbids both)", () => {
    assert.doesNotMatch(SCRIPT, /\beval\(|new Function\(/);
    assert.ok(SCRIPT.length > 1000 && STYLE.length > 100);
  });

  test("an absolute api URL is allowed to be connected to; anything else is a TypeError", async () => {
    const res = await createInspector({ enabled: true, api: "https://api.example.test/v1" }).request("/");
    assert.match(
      res.headers.get("content-security-policy") ?? "",
      /connect-src 'self' https:\/\/api\.example\.test;/,
    );
    for (const api of ["api", "//evil.test", "javascript:alert(1)"]) {
      assert.throws(() => createInspector({ enabled: true, api }), TypeError);
    }
  });

  test("escapes the title and the api into the page", async () => {
    const res = await createInspector({ enabled: true, title: '<b>"x"</b>', api: '/a"b' }).request("/");
    const html = await res.text();
    assert.match(html, /<title>&lt;b&gt;&quot;x&quot;&lt;\/b&gt;<\/title>/);
    assert.match(html, /content="\/a&quot;b"/);
  });
});

describe("GET /workflows graph", () => {
  test("lists each executor with its kind and each edge with its kind and condition", async () => {
    const a = defineExecutor({ id: "a", handle: (n: number, ctx) => ctx.send(n) });
    const big = defineExecutor({ id: "big", handle: (n: number, ctx) => ctx.send(n) });
    const small = defineExecutor({ id: "small", handle: (n: number, ctx) => ctx.send(n) });
    const left = defineExecutor({ id: "left", handle: (n: number, ctx) => ctx.send(n) });
    const right = defineExecutor({ id: "right", handle: (n: number, ctx) => ctx.send(n) });
    const join = defineExecutor({
      id: "join",
      version: "2",
      handle: (ns: number[], ctx) => ctx.send(ns.length),
      onResponse: () => {},
    });
    const inner = new WorkflowBuilder({
      name: "inner",
      start: defineExecutor({ id: "echo", handle: (n: number, ctx) => ctx.yieldOutput(n) }),
    }).build();
    const sub = new WorkflowExecutor("sub", inner);
    const workflow = () =>
      new WorkflowBuilder({ name: "shapes", start: a })
        .addSwitch(a, [{ when: (n: number) => n > 10, to: big }], { default: small })
        .addFanOut(big, [left, right], { select: (_n: number, ids) => ids })
        .addEdge(small, left, { when: (n: number) => n > 0 })
        .addFanIn([left, right], join)
        .addEdge(join, sub)
        .build();
    const app = createWorkflowApp({
      workflows: { shapes: workflow },
      storage: new MemoryCheckpointStorage(),
    });
    const { workflows } = await (await app.request("/workflows")).json();
    const graph: GraphBody = workflows[0].graph;
    assert.equal(graph.start, "a");
    assert.deepEqual(graph.nodes.map((n) => [n.id, n.kind, n.start, n.requests]), [
      ["a", "executor", true, false],
      ["big", "executor", false, false],
      ["small", "executor", false, false],
      ["left", "executor", false, false],
      ["right", "executor", false, false],
      ["join", "executor", false, true],
      ["sub", "sub-workflow", false, true], // it passes answers on to the requests inside it
    ]);
    assert.equal(graph.nodes.find((n) => n.id === "join")?.version, "2");
    assert.deepEqual(graph.edges.map((e) => [e.kind, e.source, e.target, e.condition ?? null]), [
      ["switch", "a", "big", "case 1"],
      ["switch", "a", "small", "default"],
      ["fan-out", "big", "left", "select"],
      ["fan-out", "big", "right", "select"],
      ["single", "small", "left", "when"],
      ["fan-in", "left", "join", null],
      ["fan-in", "right", "join", null],
      ["single", "join", "sub", null],
    ]);
  });
});
