/**
 * The one value codec of Superstep: every checkpoint is encoded and decoded here, on top of `devalue`. A value
 * either round-trips exactly on every runtime (Deno, Node 20, Bun, workerd), whatever the storage, or is
 * refused at encode time with {@linkcode CheckpointEncodeError} naming its path (`.state.user.when`), alike
 * on both encode paths (the JSON fast path and devalue; `encodeCheckpoint` and `encodeValue`): nothing is
 * written that would come back changed, or that some runtime could not read.
 *
 * Kept exactly: plain objects (prototype `Object.prototype`) and null-prototype objects whose own keys are
 * all enumerable strings, an own `__proto__` key included; arrays, holes kept, with no own property but their
 * indices and `length`; strings, lone surrogates included (the text escapes them: it is well-formed, so a
 * UTF-8 store keeps it); numbers (`NaN`, `-0`, `±Infinity`), booleans, `null`, `undefined`, `BigInt`; repeated
 * and cyclic references; and, each with exactly its own prototype and no own property: `Date`, `Map`, `Set`,
 * `RegExp` (with `lastIndex` 0), `URL`, `URLSearchParams`, boxed primitives, fixed-length `ArrayBuffer`s,
 * `DataView`s and typed arrays other than `Float16Array`.
 *
 * Refused, with the reason in the message:
 * - functions, symbols, promises, class instances, errors, and objects whose prototype is anything but
 *   `Object.prototype` or `null` (inheriting from a null-prototype object included): they would come back
 *   plain;
 * - own properties the text would not hold: non-enumerable ones (a non-enumerable `toJSON` would even have
 *   made JSON write what it returns), symbol keys, extra properties on arrays (a RegExp match's `index`), and
 *   any own property of the built-ins above;
 * - subclasses of the built-ins (they would come back the base class), and built-ins whose prototype was
 *   replaced. A `Buffer` is a `Uint8Array` subclass that workerd lacks (and the core may not touch the
 *   `Buffer` global to rebuild one): store `new Uint8Array(buffer)`;
 * - `Temporal` values, real (Deno, Bun) or a polyfill's: Node 20 has no Temporal, so a checkpoint holding one
 *   could never be loaded there (a polyfill dependency would cost every worker bundle). Store the ISO string
 *   (`value.toString()`) and rebuild it with `Temporal.<Type>.from()`. `Float16Array` likewise: Node 20 has
 *   none;
 * - a `RegExp` whose `lastIndex` is not 0, resizable, detached and shared `ArrayBuffer`s, raw JSON objects,
 *   `arguments` objects, and objects whose `Symbol.toStringTag` names a built-in they are not.
 *
 * Values are stored, not property attributes (as `structuredClone` does): a getter is stored as the value it
 * returns, and frozen or non-writable properties come back writable.
 *
 * Not checked, for their cost: named (string-keyed) own properties of a typed array, since finding one means
 * listing every index, about 40 times the cost of encoding the bytes (symbol-keyed ones are refused); and
 * an object whose prototype was replaced by `Object.prototype` or `null` and whose kind
 * `Object.prototype.toString` then no longer tells (a `Map`, a typed array): it is the plain object it looks
 * like, and is stored as one.
 *
 * @module
 */
import { DevalueError, parse, stringify } from "devalue";
import type { StringifyOperations } from "devalue";
import { type Checkpoint, CHECKPOINT_VERSION } from "./checkpoint.ts";
import { CheckpointCorruptError, CheckpointEncodeError } from "./errors.ts";
import { describeError, describeType, describeValue } from "./_describe.ts";
import { hasObjectTag, plainRefusal, refusalOf, REFUSED_TAG, tagOf } from "./_codec_kinds.ts";

// devalue refuses an own `__proto__` key, both ways, because a naive `target[key] = value` on revive would
// set the prototype. We escape the key instead: `__proto__` is written as "\0__proto__", and any key that
// already starts with "\0" gets one more "\0", so the mapping is injective. Revive strips one "\0" and defines
// `__proto__` with Object.defineProperty (an own data property, no prototype change). Doing it in devalue's
// `operations` rather than with a reducer/reviver pair keeps cycles through such objects working: devalue's
// custom revivers cannot revive an object that refers back to itself.
const ESC = "\0";
const PROTO = "__proto__";

function needsEscape(key: string): boolean {
  return key === PROTO || key.charCodeAt(0) === 0;
}

const NOT_PLAIN = { kind: "not-plain" } as const;

const stringifyOperations: Partial<StringifyOperations> = {
  // Every object devalue meets is judged here, by its internal slot rather than its Symbol.toStringTag: a
  // kind devalue rebuilds exactly keeps its tag; anything else gets a tag devalue has no case for, so it asks
  // shapeOf, which refuses it (`describeUnsupported` then says why).
  tagOf(value) {
    const tag = tagOf(value);
    return tag === "Object" || refusalOf(value, tag) === undefined ? tag : REFUSED_TAG;
  },
  shapeOf(value) {
    if (!hasObjectTag(value)) return NOT_PLAIN;
    const keys = Object.keys(value);
    if (plainRefusal(value, keys) !== undefined) return NOT_PLAIN;
    for (let i = 0; i < keys.length; i++) {
      if (needsEscape(keys[i])) keys[i] = ESC + keys[i];
    }
    return { kind: Object.getPrototypeOf(value) === null ? "null-proto" : "plain", keys };
  },
  get(value, key) {
    return typeof key === "string" && key.charCodeAt(0) === 0 ? value[key.slice(1)] : value[key];
  },
};

const parseOperations = {
  set(target: Record<string | number, unknown>, key: string | number, value: unknown): void {
    if (typeof key === "string" && key.charCodeAt(0) === 0) {
      const real = key.slice(1);
      if (real === PROTO) {
        Object.defineProperty(target, PROTO, { value, enumerable: true, writable: true, configurable: true });
      } else {
        target[real] = value;
      }
    } else {
      target[key] = value;
    }
  },
};

const STRINGIFY_OPTIONS = { operations: stringifyOperations };
const PARSE_OPTIONS = { operations: parseOperations };

// devalue formats a path segment for a key that is not an identifier as `["key"]`; an escaped key shows as
// `["\u0000key"]`. Give the user the key as it is in their data.
const ESCAPED_SEGMENT = /\["\\u0000((?:[^"\\]|\\.)*)"\]/g;
const IDENTIFIER = /^[a-zA-Z_$][a-zA-Z_$0-9]*$/;

function unescapePath(path: string): string {
  if (!path.includes("\\u0000")) return path;
  return path.replace(ESCAPED_SEGMENT, (segment, body: string) => {
    try {
      const key = JSON.parse(`"${body}"`) as string;
      return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    } catch {
      return segment;
    }
  });
}

function encodeError(error: unknown): CheckpointEncodeError {
  if (error instanceof DevalueError) {
    return new CheckpointEncodeError(unescapePath(error.path), `unsupported ${describeUnsupported(error)}`, {
      cause: error,
    });
  }
  // A throwing getter or a nesting too deep for the stack: the path is unknown.
  return new CheckpointEncodeError("", describeError(error), { cause: error });
}

function describeUnsupported(error: DevalueError): string {
  const value: unknown = error.value;
  if (typeof value === "function") return "function";
  if (typeof value === "symbol") return "symbol";
  if (typeof value === "object" && value !== null) {
    if (typeof (value as { then?: unknown }).then === "function") return "promise or thenable";
    return refusalOf(value, tagOf(value)) ?? "object";
  }
  return `value (${error.message})`;
}

/**
 * Encode a value to text with the core codec.
 *
 * @param value Any value the codec supports (see the module docs).
 * @returns The encoded text (JSON, in devalue's format).
 * @throws {CheckpointEncodeError} If the value holds something the codec cannot encode; `path` names where.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeValue, encodeValue } from "@superstep/superstep";
 * const text = encodeValue({ when: new Date(0), seen: new Set([1, 2]) });
 * const back = decodeValue(text) as { when: Date; seen: Set<number> };
 * assert.ok(back.seen.has(2));
 * ```
 */
export function encodeValue(value: unknown): string {
  // Adapters encode every checkpoint's metadata apart for their summaries, and it is nearly always {}.
  if (isEmptyPlainObject(value)) return EMPTY_OBJECT_TEXT;
  try {
    return stringify(value, undefined, STRINGIFY_OPTIONS);
  } catch (error) {
    throw encodeError(error);
  }
}

/**
 * Decode text made by {@linkcode encodeValue}.
 *
 * @param text The encoded text.
 * @returns The value, a fresh copy each call.
 * @throws {CheckpointCorruptError} If the text is not valid encoded text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeValue, encodeValue } from "@superstep/superstep";
 * const back = decodeValue(encodeValue([1n, -0, NaN])) as [bigint, number, number];
 * assert.ok(Object.is(back[1], -0));
 * ```
 */
export function decodeValue(text: string): unknown {
  try {
    return parse(text, undefined, PARSE_OPTIONS);
  } catch (error) {
    throw new CheckpointCorruptError(undefined, `cannot decode value: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/**
 * Encode a checkpoint to text. Only the fields of {@linkcode Checkpoint} are written.
 *
 * @param checkpoint The checkpoint.
 * @returns The encoded text; decode it with {@linkcode decodeCheckpoint}.
 * @throws {TypeError} If a top-level field is missing or has the wrong type, or a queued message or pending
 *   request lacks its string ids (the checkpoint is malformed).
 * @throws {CheckpointEncodeError} If a value cannot be encoded; `path` names it from the checkpoint root,
 *   e.g. `.state.user.callback`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "@superstep/superstep";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const checkpoint = makeCheckpoint({ state: { seen: new Set([1n]) } });
 * const copy: Checkpoint = decodeCheckpoint(encodeCheckpoint(checkpoint), checkpoint.id);
 * assert.deepEqual(copy.state.seen, new Set([1n]));
 * ```
 */
export function encodeCheckpoint(checkpoint: Checkpoint): string {
  const problem = checkpointProblem(checkpoint);
  if (problem) throw new TypeError(`Cannot encode checkpoint: ${problem}`);
  // A fresh object in a fixed key order: stray fields never reach storage, and the paths devalue reports
  // start at the checkpoint root (`.state.user.callback`).
  const record: Checkpoint = {
    version: checkpoint.version,
    id: checkpoint.id,
    parentId: checkpoint.parentId,
    sessionId: checkpoint.sessionId,
    workflowName: checkpoint.workflowName,
    graphSignature: checkpoint.graphSignature,
    superstep: checkpoint.superstep,
    createdAt: checkpoint.createdAt,
    messages: checkpoint.messages,
    state: checkpoint.state,
    executorState: checkpoint.executorState,
    edgeState: checkpoint.edgeState,
    pendingRequests: checkpoint.pendingRequests,
    // Only when there are some: a checkpoint without delivered answers is written as it always was.
    ...checkpoint.answers !== undefined && checkpoint.answers.length > 0 && { answers: checkpoint.answers },
    ...checkpoint.versions !== undefined && Object.keys(checkpoint.versions).length > 0 &&
      { versions: checkpoint.versions },
    ...checkpoint.graph !== undefined && { graph: checkpoint.graph },
    metadata: checkpoint.metadata,
  };
  try {
    // Most checkpoints hold plain JSON data: then JSON.stringify writes text that JSON.parse gives back
    // exactly, several times faster than devalue. A checkpoint is an object, so such text starts with "{",
    // which devalue's never does ("[" or a number): decodeCheckpoint tells the two apart by that character.
    if (!prototypesPolluted() && isPlainJson(record, new Set())) return JSON.stringify(record);
    return stringify(record, undefined, STRINGIFY_OPTIONS);
  } catch (error) {
    throw encodeError(error);
  }
}

/**
 * The JSON texts of `values` if JSON keeps every one exactly and no object is met twice across all of them
 * (package-private: delta payloads, `src/_delta.ts`, store values one by one, and JSON text of a value that
 * grew keeps its old text as a prefix); `undefined` if not (the caller stores the checkpoint whole).
 */
export function plainJsonTexts(values: readonly unknown[]): string[] | undefined {
  if (prototypesPolluted()) return undefined;
  const seen = new Set<object>();
  for (const value of values) if (!isPlainJson(value, seen)) return undefined;
  return values.map((value) => JSON.stringify(value));
}

/** What is wrong with a would-be checkpoint (package-private; see `checkpointProblem`). */
export function checkpointShapeProblem(value: unknown): string | undefined {
  return checkpointProblem(value);
}

/**
 * Decode text made by {@linkcode encodeCheckpoint}, checking its shape and format version.
 *
 * @param text The encoded text.
 * @param id The id the text was stored under: named in errors, and checked against the decoded id.
 * @returns The checkpoint, a fresh copy each call.
 * @throws {CheckpointCorruptError} If the text does not decode, is not a checkpoint, has a missing or
 *   mistyped field (a queued message or pending request without its string ids included), has a format
 *   version other than 1, or holds another id than `id`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointCorruptError, decodeCheckpoint } from "@superstep/superstep";
 * try {
 *   decodeCheckpoint("not encoded", "01JABC");
 * } catch (error) {
 *   assert.ok(error instanceof CheckpointCorruptError && error.checkpointId === "01JABC");
 * }
 * ```
 */
export function decodeCheckpoint(text: string, id?: string): Checkpoint {
  let value: unknown;
  try {
    value = text.charCodeAt(0) === 123 /* { */ ? JSON.parse(text) : parse(text, undefined, PARSE_OPTIONS);
  } catch (error) {
    throw new CheckpointCorruptError(id, `cannot decode: ${describeError(error)}`, { cause: error });
  }
  const problem = checkpointProblem(value);
  if (problem) throw new CheckpointCorruptError(id ?? idOf(value), problem);
  const checkpoint = value as Checkpoint;
  if (id !== undefined && checkpoint.id !== id) {
    throw new CheckpointCorruptError(id, `it holds checkpoint ${checkpoint.id}`);
  }
  return checkpoint;
}

function idOf(value: unknown): string | undefined {
  const id = isRecord(value) ? value.id : undefined;
  return typeof id === "string" ? id : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const STRING_FIELDS = ["id", "sessionId", "workflowName", "graphSignature", "createdAt"] as const;
const RECORD_FIELDS = ["state", "executorState", "edgeState", "metadata"] as const;

/**
 * What is wrong with a would-be checkpoint, or `undefined` if nothing: its top-level fields, and the
 * envelope of every queued message and pending request (the runner reads those fields on resume, so a
 * damaged entry must fail here as corrupt, not later as a `TypeError`). Payload values are not inspected.
 * Linear in the number of messages and requests.
 */
function checkpointProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return `not a checkpoint object (got ${describeType(value)})`;
  if (value.version !== CHECKPOINT_VERSION) {
    return `unsupported format version: ${describeValue(value.version)} (expected ${CHECKPOINT_VERSION})`;
  }
  for (const field of STRING_FIELDS) {
    if (typeof value[field] !== "string") return `field "${field}" must be a string`;
  }
  if (value.parentId !== null && typeof value.parentId !== "string") {
    return `field "parentId" must be a string or null`;
  }
  const superstep = value.superstep;
  if (typeof superstep !== "number" || !Number.isInteger(superstep) || superstep < 0) {
    return `field "superstep" must be a non-negative integer`;
  }
  if (!Array.isArray(value.messages)) return `field "messages" must be an array`;
  if (!Array.isArray(value.pendingRequests)) return `field "pendingRequests" must be an array`;
  for (let i = 0; i < value.messages.length; i++) {
    const message: unknown = value.messages[i];
    if (!isRecord(message) || typeof message.source !== "string") {
      return `messages[${i}] must be an object with a string "source"`;
    }
    if (message.to !== undefined && typeof message.to !== "string") {
      return `messages[${i}].to must be a string when present`;
    }
  }
  for (let i = 0; i < value.pendingRequests.length; i++) {
    const request: unknown = value.pendingRequests[i];
    if (
      !isRecord(request) || typeof request.requestId !== "string" || typeof request.executorId !== "string"
    ) {
      return `pendingRequests[${i}] must be an object with string "requestId" and "executorId"`;
    }
  }
  if (value.answers !== undefined) {
    if (!Array.isArray(value.answers)) return `field "answers" must be an array when present`;
    for (let i = 0; i < value.answers.length; i++) {
      const answer: unknown = value.answers[i];
      const request = isRecord(answer) ? answer.request : undefined;
      if (
        !isRecord(answer) || !Object.hasOwn(answer, "response") || !isRecord(request) ||
        typeof request.requestId !== "string" || typeof request.executorId !== "string"
      ) {
        return `answers[${i}] must be an object with a "response" and a "request" with string "requestId" and "executorId"`;
      }
    }
  }
  for (const field of RECORD_FIELDS) {
    if (!isRecord(value[field])) return `field "${field}" must be an object`;
  }
  if (value.versions !== undefined) {
    if (!isRecord(value.versions) || Object.values(value.versions).some((v) => typeof v !== "string")) {
      return `field "versions" must be an object of strings when present`;
    }
  }
  if (value.graph !== undefined && typeof value.graph !== "string") {
    return `field "graph" must be a string when present`;
  }
  return undefined;
}

/** What devalue writes for `{}`. */
const EMPTY_OBJECT_TEXT = "[{}]";

function isEmptyPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype &&
    Object.getOwnPropertyNames(value).length === 0 && Object.getOwnPropertySymbols(value).length === 0 &&
    hasObjectTag(value);
}

/**
 * Whether a built-in prototype was polluted in a way that breaks `isPlainJson`'s reasoning: a `toJSON`
 * JSON.stringify would call on plain data, or an enumerable property for-in would see on every object.
 */
function prototypesPolluted(): boolean {
  // Each chain ends at Object.prototype, so these four cover every prototype plain JSON data has.
  if (
    "toJSON" in Array.prototype || "toJSON" in String.prototype || "toJSON" in Number.prototype ||
    "toJSON" in Boolean.prototype
  ) {
    return true;
  }
  for (const _ in []) return true;
  return false;
}

/**
 * Whether `JSON.parse(JSON.stringify(value))` rebuilds `value` exactly as devalue would: only strings,
 * booleans, `null`, finite numbers other than -0, arrays without holes or extra properties, and plain objects
 * whose own keys are all enumerable strings (a non-enumerable one JSON would drop, and a non-enumerable
 * `toJSON` would even replace the object), each object reached once (devalue keeps repeated and cyclic
 * references; JSON would copy them or throw). Anything else goes to devalue, which keeps it or refuses it,
 * so both paths agree. An own `__proto__` key is fine: JSON.parse defines it as an own property.
 */
function isPlainJson(value: unknown, seen: Set<object>): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (seen.has(value)) return false;
      seen.add(value);
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        // Own keys: the indices, then `length`, then any extra property. Exactly length + 1 keys ending
        // with `length`: no extra property and no hole. (This is the price of exactness: no API lists an
        // array's other properties without listing every index.)
        const keys = Reflect.ownKeys(value);
        if (keys.length !== value.length + 1 || keys[keys.length - 1] !== "length") return false;
        for (let i = 0; i < value.length; i++) {
          if (!isPlainJson(value[i], seen)) return false;
        }
        return true;
      }
      // The tag: a Date, Number or Boolean whose prototype was replaced by Object.prototype still has its
      // slot, which JSON.stringify reads (a Number becomes null) and devalue refuses.
      if (Object.getPrototypeOf(value) !== Object.prototype || !hasObjectTag(value)) return false;
      let count = 0;
      for (const key in value) {
        count++;
        if (!isPlainJson((value as Record<string, unknown>)[key], seen)) return false;
      }
      // Only own enumerable string keys: for-in saw them all (no prototype has an enumerable property, see
      // prototypesPolluted), so any other own key — non-enumerable, or a symbol — makes the counts differ.
      return Reflect.ownKeys(value).length === count;
    }
    default:
      return false;
  }
}
