// The requests of the HTTP fuzzer (tests/http_fuzz_test.ts): a seeded fast-check generator of methods, routes
// with hostile ids, query strings, headers and bodies; the pools of real ids its requests draw from; and the
// encoding of a generated request into what goes on the wire, with what the answer must be when the request
// is one of issue 13's attacks (a POST that is not JSON, bytes that are not UTF-8, an ill-formed id).
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
      /** The fork's target session. */
      sessionId?: Id;
      extra: [string, unknown][];
    }
    | { kind: "json"; value: unknown }
    | { kind: "text"; text: string }
    | { kind: "nested"; depth: number; open: string }
    | { kind: "huge"; bytes: number }
    /** A run body with bytes that are not UTF-8 in its input string. */
    | { kind: "not-utf8"; bytes: number[] };
  /** Send the body in two chunks, without `content-length`. */
  chunked: boolean;
}

// deno-fmt-ignore
const HOSTILE_IDS = [
  "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "..", ".", "%", "%2e%2e", "%2e", "%2F",
  "%00", "%E0%A4%A", "%ZZ", "a/b", "a?b=1", "a#b", " ", "", "\u0000", "\n", "null", "undefined", "0", "-1",
  "NaN", "1e309", "'", '"', "' OR '1'='1", "\\", "日本語", "🙂", "\u202e", "e\u0301", "\ud800", "\ufeff", "*",
  "a\ud800", "\udc00b", "\udbff\udbff", "\ufffd", "a\ufffd", "%ED%A0%80", "%C0%AF", "%EF%BF%BD", "%ef%bf%bd",
];
// deno-fmt-ignore
const BAD_JSON = ["{", "nul", '{"input":', "\ufeff{}", "{'input':1}", "[1,]", "\u0000", '{"input":1}}', "  "];
// deno-fmt-ignore
const QUERY_VALUES = ["", "0", "-1", "1", "5", "1e3", "1000", "1001", "1.5", "abc", "99999999999999999999", "%00", " 3"];
// deno-fmt-ignore
const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", 'application/json;charset="UTF-8"'];
/** What a cross-site form or fetch may send without a CORS preflight, and other types that are not JSON in UTF-8. */
// deno-fmt-ignore
const OTHER_TYPES = [
  "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
  "application/json; charset=utf-16", "application/merge-patch+json", "application/jsonx", "",
];
/** Byte sequences that are not UTF-8: a stray continuation byte, overlong, a surrogate, past U+10FFFF, cut short. */
// deno-fmt-ignore
const NOT_UTF8 = [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];
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
      segment(
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom("wordlen", "approval", "picky", "shared") },
          idLiteral,
        ),
      ),
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
  // For `shared`: the levels of the DAG it outputs (each level doubles the paths through it).
  fc.integer({ min: 18, max: 40 }),
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
  sessionId: fc.option(id("session"), { nil: undefined, freq: 4 }),
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
  fc.record({ kind: fc.constant("not-utf8" as const), bytes: fc.constantFrom(...NOT_UTF8) }),
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
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...JSON_TYPES) },
        { weight: 2, arbitrary: fc.constantFrom(...OTHER_TYPES) },
        fc.constant(undefined),
      ).map((value): [string, string] | undefined =>
        value === undefined ? undefined : ["content-type", value]
      ),
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
   * The ids the request acts on: its path segments, a run's `sessionId` (a POST to /workflows/…/runs) and a
   * resume's (the fork's target, a POST to /checkpoints/…/resume); in any other request a body is ignored.
   */
  names: string[];
  /**
   * The statuses allowed for one of issue 13's attacks, each refused before `authorize` or the storage:
   * a POST to a run or resume route that is not `application/json` (415), holds bytes that are not UTF-8
   * or an id that is not well-formed Unicode (400); or the 413 of a body over the limit, or a 400 of the
   * path, that comes first.
   */
  refused?: { why: string; statuses: number[] };
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
const illFormed = (value: unknown) => typeof value === "string" && /\p{Cs}/u.test(value);
/**
 * A segment inserted as is, but for what HTTP parsers refuse in a request target (llhttp answers those with a
 * bare 400 before any app runs): control characters, non-ASCII, space and `"<>\\^`{|}`.
 */
const raw = (text: string) =>
  wellFormed(text).replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%#[\]]/gu, (c) => encodeURIComponent(c));

/** Choose the ids from `pools` and encode the request. */
export function build(request: FuzzRequest, pools: IdPools): Built {
  const names: string[] = [];
  // Whether the path surely reaches the run or resume route: every segment percent-encoded, none that a URL
  // parser would drop or collapse ("", ".", "..").
  let routed = true;
  const segments = request.path.map(({ id, raw: isRaw }) => {
    const value = pools.resolve(id);
    names.push(value);
    if (isRaw || value === "" || value === "." || value === "..") routed = false;
    return isRaw ? raw(value) : encodeURIComponent(wellFormed(value));
  });
  const post3 = request.method === "POST" && request.path.length === 3;
  // A body's ids are named by a run or a resume, whatever the path segments (a raw one may still route).
  const namesBody = post3 && ["workflows", "checkpoints"].includes(request.path[0].id as string) &&
    ["runs", "resume"].includes(request.path[2].id as string);
  const isRun = post3 && routed && request.path[0].id === "workflows" && request.path[2].id === "runs";
  const isResume = post3 && routed && request.path[0].id === "checkpoints" && request.path[2].id === "resume";
  const query = request.query.map(([key, value]) =>
    `${key}=${encodeURIComponent(wellFormed(pools.resolve(value)))}`
  );
  const path = `/${segments.join("/")}${query.length ? `?${query.join("&")}` : ""}`;
  let text: string | undefined;
  let bytes: Uint8Array | undefined;
  const refusals: string[] = [];
  const spec = request.body;
  if (spec?.kind === "run") {
    const ref = spec.sessionId;
    const sessionId = typeof ref === "string" || (typeof ref === "object" && ref !== null)
      ? pools.resolve(ref)
      : ref;
    if (namesBody && typeof sessionId === "string") names.push(sessionId);
    if ((isRun || isResume) && illFormed(sessionId)) refusals.push("an ill-formed sessionId");
    text = jsonObject([["input", spec.input], ["sessionId", sessionId], ...spec.extra]);
  } else if (spec?.kind === "resume") {
    const responses = "pairs" in spec.responses
      ? JSON.parse(jsonObject(spec.responses.pairs.map(([id, value]) => [pools.resolve(id), value])))
      : spec.responses.raw;
    const sessionId = spec.sessionId === undefined ? undefined : pools.resolve(spec.sessionId);
    if (namesBody && sessionId !== undefined) names.push(sessionId);
    const keys = responses !== null && typeof responses === "object" ? Object.keys(responses) : [];
    if (isResume && keys.some(illFormed)) refusals.push("an ill-formed request id");
    if ((isRun || isResume) && illFormed(sessionId)) refusals.push("an ill-formed sessionId");
    text = jsonObject([
      ["responses", responses],
      ["fork", spec.fork],
      ["sessionId", sessionId],
      ...spec.extra,
    ]);
  } else if (spec?.kind === "json") text = JSON.stringify(spec.value);
  else if (spec?.kind === "text") text = spec.text;
  else if (spec?.kind === "nested") {
    const closers = spec.open === "[" ? "]" : "}".repeat(spec.open.split("{").length - 1);
    text = spec.open.repeat(spec.depth) + "1" + closers.repeat(spec.depth);
  } else if (spec?.kind === "huge") text = `{"input":"${"x".repeat(Math.max(0, spec.bytes - 12))}"}`;
  else if (spec?.kind === "not-utf8") {
    const encoder = new TextEncoder();
    bytes = new Uint8Array([...encoder.encode('{"input":"a'), ...spec.bytes, ...encoder.encode('"}')]);
    if (isRun || isResume) refusals.push("bytes that are not UTF-8");
  }
  const body = bytes ?? (text === undefined ? undefined : new TextEncoder().encode(text));
  const built: Built = {
    method: request.method,
    path,
    headers: request.headers,
    body,
    chunked: request.chunked,
    names,
  };
  const type = request.headers.find(([name]) => name === "content-type")?.[1];
  if ((isRun || isResume) && !JSON_TYPES.includes(type ?? "")) {
    built.refused = { why: `content-type ${JSON.stringify(type)}`, statuses: [400, 413, 415] };
  } else if (refusals.length > 0) built.refused = { why: refusals.join(", "), statuses: [400, 413] };
  return built;
}

/** A JSON object text with these members in order (undefined ones left out); `__proto__` stays an own member. */
function jsonObject(members: [string, unknown][]): string {
  const parts = members.filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  return `{${parts.join(",")}}`;
}
