// Reading requests (package-private): the body limit, the URL's percent-encoding, JSON object bodies (media
// type, UTF-8, depth), and ids from paths, queries and bodies, each refused with a 4xx problem before
// `authorize` or the storage is reached.
import type { Context, MiddlewareHandler } from "hono";
import { isWellFormed } from "../../src/_ids.ts";
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
    const declared = request.headers.get("content-length");
    if (declared !== null && !request.headers.has("transfer-encoding")) {
      // Decided without reading `request.body`: on @hono/node-server that builds a whole Request (a stream
      // and an AbortSignal), a fifth of a small run's time. GET and HEAD requests have no body.
      const bodied = request.method !== "GET" && request.method !== "HEAD";
      if (bodied && Number.parseInt(declared, 10) > limit) throw tooLarge(limit);
      return await next();
    }
    if (request.body === null) return await next();
    bodies.set(request, await readLimited(request.body, limit));
    return await next();
  };
}

/**
 * Refuse a URL whose percent-encoding does not decode as UTF-8 (`%ED%A0%80`, a lone surrogate; `%C0%AF`; a
 * bare `%`). Hono keeps such a sequence as it is, so `/sessions/%ED%A0%80` would name the session
 * `"%ED%A0%80"`, a second spelling of `/sessions/%25ED%25A0%2580`.
 */
export function wellFormedUrl(): MiddlewareHandler {
  return async (c, next) => {
    // Nearly every URL has no escape at all: then there is nothing to decode, and no URL to parse.
    if (!c.req.url.includes("%")) return await next();
    const { pathname, search } = new URL(c.req.url);
    const parts = [...pathname.split("/"), ...search.slice(1).split(/[&=]/)];
    for (const part of parts) {
      if (!part.includes("%")) continue;
      try {
        decodeURIComponent(part);
      } catch {
        throw badRequest(
          `Invalid URL: ${JSON.stringify(part.slice(0, 64))} is not percent-encoded UTF-8`,
        );
      }
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

/**
 * Whether a `content-type` is JSON in UTF-8: `application/json`, with no `charset` parameter or
 * `charset=utf-8` (any case, quoted or not); other parameters are ignored. Not `application/*+json`: those
 * name other formats (JSON Patch, JSON-LD …) this API does not speak.
 */
function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [essence, ...parameters] = header.split(";");
  if (essence.trim().toLowerCase() !== "application/json") return false;
  for (const parameter of parameters) {
    const equals = parameter.indexOf("=");
    if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== "charset") continue;
    const charset = parameter.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1").toLowerCase();
    if (charset !== "utf-8") return false;
  }
  return true;
}

/** Decodes whole bodies (never `stream: true`), so one decoder serves every request. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON object body of a POST; an empty body is `{}` when `optional`. Refused: a body that is not
 * `application/json` (415, an empty one too: a cross-site form or `fetch` without preflight can send any
 * other type), bytes that are not UTF-8, text that is not JSON, JSON that is not an object or nests more
 * than {@linkcode MAX_DEPTH} levels (400).
 */
export async function readBody(c: Context, optional: boolean): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type");
  if (!isJsonMediaType(type)) {
    const shown = type === undefined ? "none" : JSON.stringify(type.slice(0, 100));
    throw new ProblemError(
      415,
      "unsupported-media-type",
      "Unsupported media type",
      `The body must be application/json (UTF-8), got content-type ${shown}`,
    );
  }
  const read = bodies.get(c.req.raw) ??
    new Uint8Array(
      await c.req.arrayBuffer().catch(() => {
        throw unreadableBody();
      }),
    );
  let text: string;
  try {
    text = UTF8.decode(read);
  } catch {
    throw badRequest("The body is not valid UTF-8");
  }
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

/** The body of a resume, checked: answers by (well-formed) request id, whether to fork, and into which session. */
export async function readResumeBody(
  c: Context,
): Promise<{ responses?: Record<string, unknown>; fork: boolean; target?: string }> {
  const body = await readBody(c, true);
  const responses = body.responses;
  if (
    responses !== undefined &&
    (responses === null || typeof responses !== "object" || Array.isArray(responses))
  ) {
    throw badRequest("responses must be an object mapping request ids to answers");
  }
  for (const requestId of Object.keys(responses ?? {})) idParam(requestId, "request id");
  if (body.fork !== undefined && typeof body.fork !== "boolean") throw badRequest("fork must be a boolean");
  const target = body.sessionId === undefined ? undefined : idParam(body.sessionId, "sessionId");
  return { responses: responses as Record<string, unknown> | undefined, fork: body.fork === true, target };
}

/**
 * An id (checkpoint, session, request, workflow name) from a path, query or body: a non-empty string of at
 * most 256 characters, without control characters, of well-formed Unicode (no lone surrogate: storages that
 * keep UTF-8 would store `"a\ud800"` as `"a\ufffd"`, another id).
 */
export function idParam(value: unknown, what: string): string {
  if (
    typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH || hasControl(value)
  ) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw badRequest(`Invalid ${what}: ${shown} (a non-empty string of at most ${MAX_ID_LENGTH} characters)`);
  }
  if (!isWellFormed(value)) {
    throw badRequest(`Invalid ${what}: ${JSON.stringify(value.slice(0, 64))} (not well-formed Unicode)`);
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
