// The requests of the HTTP fuzzer (tests/http_fuzz_test.ts): a seeded fast-check generator of methods, routes
// with hostile ids, query strings, headers and bodies; the pools of real ids its requests draw from; and the
// encoding of a generated request into what goes on the wire.
import fc from "fast-check";

/** The body limit of the fuzzed apps: small, so that bodies over it are cheap to send. */
export const BODY_LIMIT = 64 * 1024;

/** An id: a literal, or the `index`-th (modulo) id of a pool (`foreign`: another principal's, if any). */
export type Id = string | { pool: "session" | "checkpoint" | "request"; foreign: boolean; index: number };

/** One generated request, before its ids are chosen from the pools. */
export interface FuzzRequest {
  method: string;
  /** Path segments; `raw` ones are not percent-encoded. */
  path: { id: Id; raw: boolean }[];
  query: [string, Id][];
  headers: [string, string][];
  body?:
    | { kind: "run"; input: unknown; sessionId?: Id | number | null; extra: [string, unknown][] }
    | {
      kind: "resume";
      responses: { pairs: [Id, unknown][] } | { raw: unknown };
      fork?: unknown;
      extra: [string, unknown][];
    }
    | { kind: "json"; value: unknown }
    | { kind: "text"; text: string }
    | { kind: "nested"; depth: number; open: string }
    | { kind: "huge"; bytes: number };
  /** Send the body in two chunks, without `content-length`. */
  chunked: boolean;
}

// deno-fmt-ignore
const HOSTILE_IDS = [
  "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "..", ".", "%", "%2e%2e", "%2e", "%2F",
  "%00", "%E0%A4%A", "%ZZ", "a/b", "a?b=1", "a#b", " ", "", "\u0000", "\n", "null", "undefined", "0", "-1",
  "NaN", "1e309", "'", '"', "' OR '1'='1", "\\", "日本語", "🙂", "\u202e", "e\u0301", "\ud800", "\ufeff", "*",
];
// deno-fmt-ignore
const BAD_JSON = ["{", "nul", '{"input":', "\ufeff{}", "{'input':1}", "[1,]", "\u0000", '{"input":1}}', "  "];
// deno-fmt-ignore
const QUERY_VALUES = ["", "0", "-1", "1", "5", "1e3", "1000", "1001", "1.5", "abc", "99999999999999999999", "%00", " 3"];
// deno-fmt-ignore
const CONTENT_TYPES = [
  "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/json; charset=utf-16",
  "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "",
];
// deno-fmt-ignore
const ACCEPTS = [
  "application/json", "text/event-stream", "TEXT/EVENT-STREAM", "*/*", "text/event-stream;q=0, application/json",
  "application/problem+json", "text/html",
];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

const idLiteral: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...HOSTILE_IDS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.integer({ min: 200, max: 3000 }).map((n) => "x".repeat(n)),
  fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  fc.uuid(),
);
const id = (pool: "session" | "checkpoint" | "request"): fc.Arbitrary<Id> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ pool: fc.constant(pool), foreign: fc.boolean(), index: fc.nat(1000) }),
    },
    { weight: 2, arbitrary: idLiteral },
  );
const segment = (value: fc.Arbitrary<Id>) =>
  fc.record({ id: value, raw: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, fc.constant(true)) });
const word = (text: string) => fc.constant({ id: text, raw: false });
type Route = [method: string, kind: "run" | "resume" | "other", path: FuzzRequest["path"]];
const route = (method: string, kind: Route[1], ...path: fc.Arbitrary<{ id: Id; raw: boolean }>[]) =>
  fc.tuple(...path).map((segments): Route => [method, kind, segments]);
const routes: fc.Arbitrary<Route> = fc.oneof(
  route("GET", "other", word("workflows")),
  {
    weight: 3,
    arbitrary: route(
      "POST",
      "run",
      word("workflows"),
      segment(fc.oneof({ weight: 3, arbitrary: fc.constantFrom("wordlen", "approval", "picky") }, idLiteral)),
      word("runs"),
    ),
  },
  {
    weight: 3,
    arbitrary: route("POST", "resume", word("checkpoints"), segment(id("checkpoint")), word("resume")),
  },
  route("GET", "other", word("sessions"), segment(id("session")), word("checkpoints")),
  route("GET", "other", word("checkpoints"), segment(id("checkpoint"))),
  route("GET", "other", word("checkpoints"), segment(id("checkpoint")), word("lineage")),
  route("DELETE", "other", word("sessions"), segment(id("session"))),
  fc.array(segment(idLiteral), { maxLength: 4 }).map((path): Route => ["GET", "other", path]),
);
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});
const hostileKeys = fc.array(
  fc.tuple(
    fc.constantFrom("__proto__", "constructor", "prototype", "polluted"),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  { maxLength: 2 },
);
const input = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  fc.constantFrom<unknown>("fail", { fail: true }, { toString: 1 }, { valueOf: null }, ""),
  fc.constant<unknown>(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}')),
);
const runBody = fc.record({
  kind: fc.constant("run" as const),
  input,
  sessionId: fc.option(fc.oneof(id("session"), fc.integer(), fc.constant(null)), { nil: undefined, freq: 2 }),
  extra: hostileKeys,
}, { requiredKeys: ["kind", "input", "extra"] });
const resumeBody = fc.record({
  kind: fc.constant("resume" as const),
  responses: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ pairs: fc.array(fc.tuple(id("request"), input), { maxLength: 2 }) }),
    },
    fc.record({ raw: fc.jsonValue({ maxDepth: 1 }) }),
  ),
  fork: fc.option(fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })), { nil: undefined, freq: 2 }),
  extra: hostileKeys,
}, { requiredKeys: ["kind", "responses", "extra"] });
const otherBody: fc.Arbitrary<NonNullable<FuzzRequest["body"]>> = fc.oneof(
  runBody,
  resumeBody,
  fc.record({ kind: fc.constant("json" as const), value: fc.jsonValue({ maxDepth: 4 }) }),
  fc.record({
    kind: fc.constant("text" as const),
    text: fc.oneof(fc.constantFrom(...BAD_JSON), fc.string({ unit: "binary", maxLength: 80 })),
  }),
  fc.record({
    kind: fc.constant("nested" as const),
    depth: fc.integer({ min: 100, max: 50_000 }),
    open: fc.constantFrom("[", '{"a":', '{"input":', '{"input":{"__proto__":'),
  }),
  fc.record({
    kind: fc.constant("huge" as const),
    bytes: fc.oneof(
      fc.integer({ min: BODY_LIMIT - 2, max: BODY_LIMIT + 2 }),
      fc.integer({ min: BODY_LIMIT + 1, max: 4 * BODY_LIMIT }),
    ),
  }),
);

/**
 * The generator of requests: mostly the routes' own methods and bodies, often with hostile ids, garbage
 * queries and headers; sometimes another method or body. `tokens` are authorization values to mix in.
 */
export function requestArb(tokens: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const header = (name: string, values: fc.Arbitrary<string>) =>
    fc.option(values.map((value): [string, string] => [name, value]), { nil: undefined, freq: 3 });
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...tokens.flatMap((t) => [`Bearer ${t}`, `bearer ${t}`])) },
    fc.constantFrom(
      "Bearer",
      "Bearer ",
      "Basic YTpi",
      `Bearer ${"x".repeat(2000)}`,
      ...tokens.map((t) => `Bearer  ${t}`),
    ),
    printable,
  );
  return fc.record({
    route: routes,
    otherMethod: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.constantFrom(...METHODS)),
    query: fc.array(
      fc.tuple(
        fc.constantFrom("limit", "before", "x", "__proto__"),
        fc.oneof(id("checkpoint"), fc.constantFrom(...QUERY_VALUES)),
      ),
      { maxLength: 3 },
    ),
    headers: fc.tuple(
      header("content-type", fc.constantFrom(...CONTENT_TYPES)),
      header("accept", fc.constantFrom(...ACCEPTS)),
      fc.option(authorization.map((value): [string, string] => ["authorization", value]), {
        nil: undefined,
        freq: 8,
      }),
      header("x-fuzz", printable),
    ),
    natural: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    runBody,
    resumeBody,
    otherBody: fc.option(otherBody, { nil: undefined, freq: 8 }),
    chunked: fc.boolean(),
  }).map((g): FuzzRequest => {
    const [routeMethod, kind, path] = g.route;
    const method = g.otherMethod ?? routeMethod;
    const natural = kind === "run" ? g.runBody : kind === "resume" ? g.resumeBody : g.otherBody;
    // fetch allows no body on GET and HEAD; over a socket we send the same requests.
    const body = method === "GET" || method === "HEAD" ? undefined : g.natural ? natural : g.otherBody;
    const headers = g.headers.filter((h): h is [string, string] => h !== undefined);
    return { method, path, query: g.query, headers, body, chunked: g.chunked };
  });
}

/** The pools of ids the requests draw from: their own (filled from 200 answers) and another principal's. */
export class IdPools {
  readonly own = { session: [] as string[], checkpoint: [] as string[], request: [] as string[] };
  readonly foreign = { session: [] as string[], checkpoint: [] as string[], request: [] as string[] };
  /** The id a generated one stands for. */
  resolve(value: Id): string {
    if (typeof value === "string") return value;
    const foreign = this.foreign[value.pool];
    const pool = value.foreign && foreign.length > 0 ? foreign : this.own[value.pool];
    return pool.length === 0 ? "no-such-id" : pool[value.index % pool.length];
  }
  /** Add the ids of a run or resume answer (JSON, or an SSE stream's `result`) to `own` or `foreign`. */
  learn(answer: Record<string, unknown>, into: "own" | "foreign" = "own"): void {
    const pools = this[into];
    const add = (pool: string[], value: unknown) => {
      if (typeof value === "string" && !pool.includes(value)) pool.push(value);
    };
    add(pools.session, answer.sessionId);
    add(pools.checkpoint, answer.checkpointId);
    if (Array.isArray(answer.pendingRequests)) {
      for (const request of answer.pendingRequests) add(pools.request, request?.requestId);
    }
  }
}

/** A request ready to send. */
export interface Built {
  method: string;
  /** Percent-encoded to ASCII, as it goes on the wire. */
  path: string;
  headers: [string, string][];
  body?: Uint8Array;
  chunked: boolean;
  /**
   * The ids the request acts on: its path segments, and a run's `sessionId` (a POST to /workflows/…/runs; in
   * any other request the body's `sessionId` is ignored).
   */
  names: string[];
}

/** A JSON request built by hand (setup and health checks). */
export function jsonRequest(
  method: string,
  path: string,
  body?: unknown,
  headers: [string, string][] = [],
): Built {
  const encoded = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  return {
    method,
    path,
    headers: [["content-type", "application/json"], ...headers],
    body: encoded,
    chunked: false,
    names: [],
  };
}

/** Lone surrogates become U+FFFD (encodeURIComponent throws on them). */
const wellFormed = (text: string) => text.replace(/\p{Cs}/gu, "\ufffd");
/**
 * A segment inserted as is, but for what HTTP parsers refuse in a request target (llhttp answers those with a
 * bare 400 before any app runs): control characters, non-ASCII, space and `"<>\\^`{|}`.
 */
const raw = (text: string) =>
  wellFormed(text).replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%#[\]]/gu, (c) => encodeURIComponent(c));

/** Choose the ids from `pools` and encode the request. */
export function build(request: FuzzRequest, pools: IdPools): Built {
  const names: string[] = [];
  const segments = request.path.map(({ id, raw: isRaw }) => {
    const value = pools.resolve(id);
    names.push(value);
    return isRaw ? raw(value) : encodeURIComponent(wellFormed(value));
  });
  const query = request.query.map(([key, value]) =>
    `${key}=${encodeURIComponent(wellFormed(pools.resolve(value)))}`
  );
  const path = `/${segments.join("/")}${query.length ? `?${query.join("&")}` : ""}`;
  let text: string | undefined;
  const spec = request.body;
  if (spec?.kind === "run") {
    const ref = spec.sessionId;
    const sessionId = typeof ref === "string" || (typeof ref === "object" && ref !== null)
      ? pools.resolve(ref)
      : ref;
    const isRun = request.method === "POST" && request.path.length === 3 &&
      request.path[0].id === "workflows" && request.path[2].id === "runs";
    if (isRun && typeof sessionId === "string") names.push(sessionId);
    text = jsonObject([["input", spec.input], ["sessionId", sessionId], ...spec.extra]);
  } else if (spec?.kind === "resume") {
    const responses = "pairs" in spec.responses
      ? JSON.parse(jsonObject(spec.responses.pairs.map(([id, value]) => [pools.resolve(id), value])))
      : spec.responses.raw;
    text = jsonObject([["responses", responses], ["fork", spec.fork], ...spec.extra]);
  } else if (spec?.kind === "json") text = JSON.stringify(spec.value);
  else if (spec?.kind === "text") text = spec.text;
  else if (spec?.kind === "nested") {
    const closers = spec.open === "[" ? "]" : "}".repeat(spec.open.split("{").length - 1);
    text = spec.open.repeat(spec.depth) + "1" + closers.repeat(spec.depth);
  } else if (spec?.kind === "huge") text = `{"input":"${"x".repeat(Math.max(0, spec.bytes - 12))}"}`;
  const body = text === undefined ? undefined : new TextEncoder().encode(text);
  return { method: request.method, path, headers: request.headers, body, chunked: request.chunked, names };
}

/** A JSON object text with these members in order (undefined ones left out); `__proto__` stays an own member. */
function jsonObject(members: [string, unknown][]): string {
  const parts = members.filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  return `{${parts.join(",")}}`;
}
