/**
 * A browser inspector for a workflow app (`@superstep/superstep/hono`): each workflow's graph drawn as SVG
 * (executor and edge kinds), live runs over Server-Sent Events with the running superstep's executors
 * highlighted, sessions with their status, a session's lineage as a tree across forks, every checkpoint's
 * state, queued messages, pending requests and executor snapshots with a diff against its parent, and the
 * acts: answer a pending request, resume, fork.
 *
 * The inspector is a page and two assets (a script and a style sheet, bundled into this module as strings:
 * no build step, no file system, so it runs in workerd too). The page calls the workflow app's public
 * routes like any client, with the bearer token entered in it, so `authorize` decides what it may see and
 * do. It is off unless `enabled`, and served under a strict Content-Security-Policy (`script-src 'self'`:
 * no inline script, no eval).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { createWorkflowApp } from "@superstep/superstep/hono";
 * import { createInspector } from "@superstep/superstep/inspector";
 *
 * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
 * const app = new Hono();
 * app.route("/api", createWorkflowApp({
 *   workflows: { echo: () => new WorkflowBuilder({ name: "echo", start: echo }).build() },
 *   storage: new MemoryCheckpointStorage(),
 * }));
 * app.route("/inspector", createInspector({ enabled: true, api: "/api" }));
 * const page = await app.request("/inspector");
 * assert.equal(page.status, 200);
 * assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
 * ```
 *
 * @experimental
 * @module
 */
import { type Context, type Env, Hono } from "hono";
import type { BlankEnv } from "hono/types";
import { DIGEST, SCRIPT, STYLE } from "./_assets.ts";

/**
 * The options of {@linkcode createInspector}.
 *
 * @typeParam E The Hono environment of the requests.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createInspector, type InspectorOptions } from "@superstep/superstep/inspector";
 *
 * // On only where a Worker's variable says so; the workflow app under /api.
 * const options: InspectorOptions<{ Bindings: { INSPECTOR?: string } }> = {
 *   enabled: (c) => c.env.INSPECTOR === "on",
 *   api: "/api",
 * };
 * const inspector = createInspector(options);
 * assert.equal((await inspector.request("/", {}, { INSPECTOR: "on" })).status, 200);
 * assert.equal((await inspector.request("/", {}, {})).status, 404);
 * ```
 */
export interface InspectorOptions<E extends Env = BlankEnv> {
  /**
   * Whether the inspector answers at all: `true`, or a function of the request (a Worker's binding, say
   * `(c) => c.env.INSPECTOR === "on"`). When it is not `true`, every inspector route is a 404, as if it
   * were not mounted.
   *
   * @default {false}
   */
  enabled?: boolean | ((c: Context<E>) => boolean | Promise<boolean>);
  /**
   * Where the page finds the workflow app, as the browser reaches it: a path on the same origin
   * (`"/api"`), or an absolute `http(s)` URL (then the Content-Security-Policy allows connecting to its
   * origin, which must allow the page's origin by CORS).
   *
   * @default {"/"}
   */
  api?: string;
  /**
   * The page's title.
   *
   * @default {"Superstep inspector"}
   */
  title?: string;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

/**
 * Create the inspector's Hono app; mount it with `app.route("/inspector", createInspector({ enabled: true }))`
 * beside (or onto) a `createWorkflowApp` app. It serves `GET /` (the page), `GET /inspector.js` and
 * `GET /inspector.css`; the data comes from the workflow app's own routes, through its `authorize`.
 *
 * Every answer carries `Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self';
 * connect-src 'self'` (plus the `api` origin when it is another), `img-src 'self' data:`,
 * `frame-ancestors 'none'`, `base-uri 'none'`, `form-action 'none'`, with `X-Content-Type-Options: nosniff`
 * and `Referrer-Policy: no-referrer`. The bearer token entered in the page is kept in the tab's
 * `sessionStorage` and sent as `Authorization: Bearer …` to the workflow app; the sessions the page started
 * or forked are remembered in `localStorage` (the sessions table lists them).
 *
 * @param options Whether it is enabled, where the workflow app is, the page's title.
 * @returns The inspector's app.
 * @throws {TypeError} If `api` is neither a path starting with `/` nor an absolute `http(s)` URL.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createInspector } from "@superstep/superstep/inspector";
 *
 * assert.equal((await createInspector().request("/")).status, 404); // off unless enabled
 * const inspector = createInspector({ enabled: true, api: "/api" });
 * const page = await (await inspector.request("/")).text();
 * assert.match(page, /<meta name="superstep-api" content="\/api">/);
 * const script = await inspector.request("/inspector.js");
 * assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
 * ```
 */
export function createInspector<E extends Env = BlankEnv>(options: InspectorOptions<E> = {}): Hono<E> {
  const api = options.api ?? "/";
  let apiOrigin: string | undefined;
  if (/^https?:\/\//i.test(api)) apiOrigin = new URL(api).origin;
  else if (!api.startsWith("/") || api.startsWith("//")) {
    throw new TypeError(`Invalid api: ${JSON.stringify(api)} (a path starting with "/" or an http(s) URL)`);
  }
  const title = escapeHtml(options.title ?? "Superstep inspector");
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${apiOrigin ? ` ${apiOrigin}` : ""}`,
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const secure = (c: Context<E>, body: string, type: string) => {
    c.header("content-type", type);
    c.header("content-security-policy", csp);
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    c.header("cache-control", "no-cache");
    return c.body(body);
  };
  const app = new Hono<E>();
  app.use("*", async (c, next) => {
    const enabled = typeof options.enabled === "function" ? await options.enabled(c) : options.enabled;
    if (enabled !== true) return c.text("Not found", 404);
    await next();
  });
  const page = (c: Context<E>) => {
    // Assets beside the page, whatever path it is mounted at and with or without a trailing slash.
    const path = new URL(c.req.url).pathname.replace(/\/(index\.html)?$/, "");
    const asset = (name: string) => escapeHtml(`${path}/${name}?v=${DIGEST}`);
    return secure(
      c,
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="superstep-api" content="${escapeHtml(api)}">
<title>${title}</title>
<link rel="stylesheet" href="${asset("inspector.css")}">
<script type="module" src="${asset("inspector.js")}"></script>
</head>
<body>
<header>
<h1>${title}</h1>
<nav><a href="#/workflows" data-view="workflows">Workflows</a><a href="#/sessions" data-view="sessions">Sessions</a><a href="#/requests" data-view="requests">Requests</a></nav>
<form id="token-form"><label for="token">Token</label><input id="token" type="password" autocomplete="off" placeholder="bearer token"><button type="submit">Use</button></form>
</header>
<div id="banner" role="alert" hidden></div>
<main id="main"><p>Loading…</p></main>
</body>
</html>
`,
      "text/html; charset=utf-8",
    );
  };
  app.get("/", page);
  app.get("/index.html", page);
  app.get("/inspector.js", (c) => secure(c, SCRIPT, "text/javascript; charset=utf-8"));
  app.get("/inspector.css", (c) => secure(c, STYLE, "text/css; charset=utf-8"));
  app.notFound((c) => c.text("Not found", 404));
  return app;
}
