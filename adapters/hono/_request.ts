// Reading requests (package-private): the body limit, JSON object bodies, and ids from paths, queries and
// bodies, each refused with a 4xx problem before anything runs.
import type { Context, MiddlewareHandler } from "hono";
import { MAX_DEPTH, nestedDeeperThan } from "./_json.ts";
import { badRequest, ProblemError } from "./_problem.ts";

const MAX_ID_LENGTH = 256;

/**
 * Refuse bodies over `limit` bytes with 413: by `content-length`, or, for a chunked body, while reading it
 * (reading stops at the first byte over). A body that breaks off while it is read (the client went away
 * mid-upload) is a 400, no server error.
 *
 * Not Hono's `bodyLimit`: it re-creates the request around the body it read, which fails on Deno with
 * `@hono/node-server`'s own Request class (`overrideGlobalObjects: false`): "Argument 1 is not of type
 * Request". The chunked body read here is kept for `readBody` instead, and the request left as it is.
 */
export function limitBodies(limit: number): MiddlewareHandler {
  return async (c, next) => {
    const request = c.req.raw;
    if (request.body === null) return await next();
    const declared = request.headers.get("content-length");
    if (declared === null || request.headers.has("transfer-encoding")) {
      bodies.set(request, await readLimited(request.body, limit));
    } else if (Number.parseInt(declared, 10) > limit) {
      throw tooLarge(limit);
    }
    return await next();
  };
}

/** The chunked request bodies the body limit has read, for `readBody`. */
const bodies = new WeakMap<Request, Uint8Array>();

function tooLarge(limit: number): ProblemError {
  return new ProblemError(413, "body-too-large", "Body too large", `The body exceeds ${limit} bytes`);
}

/** Read a body of at most `limit` bytes; stop reading as soon as it is over. */
async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw unreadableBody();
    });
    if (done) break;
    size += value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function unreadableBody(): ProblemError {
  return badRequest("Cannot read the body: the request ended before it was complete");
}

/** The JSON object body; an empty body is `{}` when `optional`. */
export async function readBody(c: Context, optional: boolean): Promise<Record<string, unknown>> {
  const read = bodies.get(c.req.raw);
  const text = read !== undefined ? new TextDecoder().decode(read) : await c.req.text().catch(() => {
    throw unreadableBody();
  });
  if (text.trim() === "") {
    if (optional) return {};
    throw badRequest("The body must be a JSON object");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest("The body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("The body must be a JSON object");
  }
  // Refused before anything runs: the run would fail when its input is checkpointed (a 500, not the client's).
  if (nestedDeeperThan(body, MAX_DEPTH)) {
    throw badRequest(`The body is nested too deeply: more than ${MAX_DEPTH} levels of arrays and objects`);
  }
  return body as Record<string, unknown>;
}

/** A checkpoint or session id from a path, query or body: a non-empty string without control characters. */
export function idParam(value: unknown, what: string): string {
  if (
    typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH || hasControl(value)
  ) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw badRequest(`Invalid ${what}: ${shown} (a non-empty string of at most ${MAX_ID_LENGTH} characters)`);
  }
  return value;
}

/** The `limit` of a page query: an integer from 1 to `max`, or `fallback` when absent. */
export function pageSize(text: string | undefined, fallback: number, max: number): number {
  const size = text === undefined ? fallback : Number(text);
  if (!/^\d+$/.test(text ?? "1") || !Number.isSafeInteger(size) || size < 1 || size > max) {
    throw badRequest(`limit must be an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return size;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
