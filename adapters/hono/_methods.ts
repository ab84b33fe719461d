// Methods (package-private): a known path asked with a method it does not serve is a 405 with `Allow`.
import type { Env, Hono } from "hono";
import { problem } from "./_problem.ts";
import { problemResponse } from "./_respond.ts";

/**
 * Answer 405 `method-not-allowed`, with an `Allow` header, for every path of `app`'s routes asked with
 * another method. Derived from the routes registered so far (call it after them), so `Allow` is always what
 * the app serves; HEAD comes with GET (Hono answers a HEAD with the GET route).
 */
export function answerOtherMethods<E extends Env>(app: Hono<E>): void {
  const methods = new Map<string, string[]>();
  for (const { path, method } of app.routes) {
    if (method === "ALL") continue; // middleware
    methods.set(path, [...(methods.get(path) ?? []), method, ...(method === "GET" ? ["HEAD"] : [])]);
  }
  for (const [path, allowed] of methods) {
    app.all(path, (c) => {
      const detail = `${c.req.method} is not allowed on ${c.req.routePath}: use ${allowed.join(" or ")}`;
      const response = problemResponse(c, problem(405, "method-not-allowed", "Method not allowed", detail));
      response.headers.set("allow", allowed.join(", "));
      return response;
    });
  }
}
