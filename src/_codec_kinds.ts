// What the codec keeps and why it refuses the rest (package-private; the rules are listed in codec.ts's
// module doc). devalue classifies an object by `Object.prototype.toString`, which any object can forge with
// `Symbol.toStringTag`, and writes whatever it does not know as a plain object: a subclass of Map comes back
// a Map, an object inheriting from a null-prototype object comes back plain, a non-enumerable property is
// dropped. Here an object is kept only if it is exactly one of the kinds devalue rebuilds (checked by its
// internal slot, not by its tag), with that kind's own prototype and no own property devalue would not
// write; anything else is refused, and `refusalOf` says why.

const objectToString = Object.prototype.toString;

/** The tag devalue switches on: `Object.prototype.toString`'s, e.g. `Map`, `Temporal.Instant`. */
export function tagOf(value: object): string {
  return objectToString.call(value).slice(8, -1);
}

/** Whether `value`'s tag is `Object` (what a plain object's is), without making the tag string. */
export function hasObjectTag(value: object): boolean {
  return objectToString.call(value) === "[object Object]";
}

/** A tag devalue has no case for: it then asks `shapeOf`, which refuses anything not plain. */
export const REFUSED_TAG = "Superstep.Refused";

type Check = (value: object) => string | undefined;

function getterOf(proto: object, key: PropertyKey): (value: object) => unknown {
  const get = Object.getOwnPropertyDescriptor(proto, key)!.get!;
  return (value) => get.call(value);
}

type Is = (value: object) => boolean;

/** Whether `read` accepts a value: built-in methods and getters throw on objects without their slot. */
const slot = (read: (value: object) => unknown): Is => (value) => {
  try {
    read(value);
    return true;
  } catch {
    return false;
  }
};

function describeKey(key: PropertyKey): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}

function constructorName(proto: object | null): string | undefined {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p)) {
    const ctor = Object.getOwnPropertyDescriptor(p, "constructor")?.value;
    if (typeof ctor === "function" && typeof ctor.name === "string" && ctor.name) return ctor.name;
  }
  return undefined;
}

function article(name: string): string {
  return /^[AEIO]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** A built-in whose prototype is not its own: a subclass, or one whose prototype was replaced. */
function otherPrototype(value: object, name: string, proto: object): string {
  const actual = Object.getPrototypeOf(value);
  const subclass = constructorName(actual);
  if (name === "Uint8Array" && subclass === "Buffer") {
    // workerd has no Buffer, and the core may not use the global (the npm audit forbids it): it would come
    // back a Uint8Array.
    return "Node Buffer (a Uint8Array subclass, which would come back a Uint8Array): store new Uint8Array(buffer)";
  }
  const back = `it would come back ${article(name)}`;
  return Object.prototype.isPrototypeOf.call(proto, value) && subclass && subclass !== name
    ? `instance of ${subclass}, a subclass of ${name} (${back})`
    : `${name} whose prototype is not ${name}.prototype (${back})`;
}

/** The refusal of a `name` object for its own property `key` (which the text would not hold), if any. */
function extraKey(name: string, key: PropertyKey | undefined): string | undefined {
  return key === undefined ? undefined : `${name} with own property ${describeKey(key)} (it would be lost)`;
}

/**
 * The check of a built-in kind: the object is one (`is`, by its internal slot), has the kind's own prototype,
 * and no own property past those `rest` accepts (none by default).
 */
function builtIn(
  name: string,
  proto: object,
  is: Is,
  rest: Check = (value) => extraKey(name, Reflect.ownKeys(value)[0]),
): Check {
  return (value) => {
    if (!is(value)) {
      return `object whose Symbol.toStringTag says ${name} but which is not one`;
    }
    if (Object.getPrototypeOf(value) !== proto) return otherPrototype(value, name, proto);
    return rest(value);
  };
}

const arrayBufferByteLength = getterOf(ArrayBuffer.prototype, "byteLength");
const typedArrayTag = getterOf(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag);

function arrayBufferRest(value: object): string | undefined {
  const buffer = value as ArrayBuffer & { resizable?: boolean; detached?: boolean };
  if (buffer.resizable === true) return "resizable ArrayBuffer (it would come back fixed-length)";
  // `detached` is missing on Node 20; there a detached buffer has byteLength 0 and no view can be made on it.
  if (
    buffer.detached === true ||
    (arrayBufferByteLength(buffer) === 0 && !slot((b) => new Uint8Array(b as ArrayBuffer))(buffer))
  ) {
    return "detached ArrayBuffer (it would come back an empty one)";
  }
  return extraKey("ArrayBuffer", Reflect.ownKeys(value)[0]);
}

function typedArray(name: string, prototype: object): Check {
  return builtIn(name, prototype, (value) => typedArrayTag(value) === name, (value) =>
    // Only symbol keys are looked for: listing the string keys lists every index, ~40 times the cost of
    // encoding the bytes (a named own property of a typed array is not seen; see the module doc).
    extraKey(name, Object.getOwnPropertySymbols(value)[0]));
}

function regExpRest(value: object): string | undefined {
  const keys = Reflect.ownKeys(value);
  const extra = extraKey("RegExp", keys.find((key) => key !== "lastIndex"));
  if (extra) return extra;
  const { lastIndex } = value as RegExp;
  return Object.is(lastIndex, 0)
    ? undefined
    : `RegExp with lastIndex ${String(lastIndex)} (it would come back 0): set lastIndex to 0 first`;
}

/** The own keys devalue writes for an array are its indices and `length`: the first key past them, if any. */
function arrayExtraKey(array: unknown[]): PropertyKey | undefined {
  // [[OwnPropertyKeys]] lists array indices, then string keys in creation order (`length` first, made with
  // the array), then symbols: anything after `length` is an extra property.
  const keys = Reflect.ownKeys(array);
  const length = keys.lastIndexOf("length");
  return keys[length + 1];
}

function arrayRest(value: object): string | undefined {
  return extraKey("array", arrayExtraKey(value as unknown[]));
}

const url = (value: object) =>
  extraKey(value instanceof URL ? "URL" : "URLSearchParams", Object.getOwnPropertyNames(value)[0]);

/** Whether `proto[key]` can be called on a value. */
const method = (proto: object, key: string): Is =>
  slot((value) => (proto as Record<string, (this: object) => unknown>)[key].call(value));

const KINDS = new Map<string, Check>([
  ["Array", builtIn("Array", Array.prototype, Array.isArray, arrayRest)],
  ["Date", builtIn("Date", Date.prototype, method(Date.prototype, "getTime"))],
  ["Map", builtIn("Map", Map.prototype, slot(getterOf(Map.prototype, "size")))],
  ["Set", builtIn("Set", Set.prototype, slot(getterOf(Set.prototype, "size")))],
  ["RegExp", builtIn("RegExp", RegExp.prototype, slot(getterOf(RegExp.prototype, "source")), regExpRest)],
  // Deno keeps internal symbol-keyed slots on URL objects: only string keys count.
  ["URL", builtIn("URL", URL.prototype, slot(getterOf(URL.prototype, "href")), url)],
  [
    "URLSearchParams",
    builtIn("URLSearchParams", URLSearchParams.prototype, method(URLSearchParams.prototype, "toString"), url),
  ],
  [
    "ArrayBuffer",
    builtIn("ArrayBuffer", ArrayBuffer.prototype, slot(arrayBufferByteLength), arrayBufferRest),
  ],
  ["DataView", builtIn("DataView", DataView.prototype, slot(getterOf(DataView.prototype, "byteLength")))],
]);
for (const type of [Number, Boolean, BigInt, String]) {
  const { name, prototype } = type;
  KINDS.set(
    name,
    builtIn(name, prototype, method(prototype, "valueOf"), (value) =>
      // A String object's own keys: one index per character, then `length`.
      extraKey(name, Reflect.ownKeys(value)[type === String ? (value as { length: number }).length + 1 : 0])),
  );
}
for (
  const name of [
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
  ]
) {
  const { prototype } = (globalThis as unknown as Record<string, { prototype: object }>)[name];
  KINDS.set(name, typedArray(name, prototype));
}

const isRawJSON = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON;

/**
 * Why a plain-looking object (tag `Object`) is refused, or `undefined` if it is plain: its prototype is
 * `Object.prototype` or `null`, and every own key is an enumerable string (what devalue and JSON write).
 */
export function plainRefusal(value: object, keys: string[] = Object.keys(value)): string | undefined {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const name = Object.getOwnPropertyDescriptor(proto, "constructor")?.value?.name;
    if (typeof name === "string" && name && name !== "Object") {
      return `instance of ${name} (not a plain object)`;
    }
    return Object.getPrototypeOf(proto) === null
      ? "object whose prototype is a null-prototype object (it would come back without it)"
      : "object whose prototype is neither Object.prototype nor null (it would come back without it)";
  }
  const symbol = Object.getOwnPropertySymbols(value)[0];
  if (symbol !== undefined) return `object with symbol key ${String(symbol)} (it would be lost)`;
  const names = Object.getOwnPropertyNames(value);
  if (names.length !== keys.length) {
    const hidden = names.find((key) => !Object.prototype.propertyIsEnumerable.call(value, key));
    return `object with non-enumerable property ${describeKey(hidden!)} (it would be lost)`;
  }
  if (proto === null && isRawJSON?.(value)) return "raw JSON object (JSON.rawJSON): store the value it holds";
  return undefined;
}

/**
 * Why the codec refuses `value`, an object devalue reached, or `undefined` if it keeps it.
 *
 * @param value The object.
 * @param tag Its {@linkcode tagOf}.
 */
export function refusalOf(value: object, tag: string): string | undefined {
  if (tag === "Object") return plainRefusal(value);
  const check = KINDS.get(tag);
  if (check) return check(value);
  if (tag.startsWith("Temporal.")) {
    // Node 20 has no Temporal (Deno 2.9 and Bun 1.4 have it by default): a checkpoint holding one, written
    // on Deno or Bun, could never be loaded on Node. A polyfill's objects carry the same tag.
    return `${tag}: Node has no Temporal, so not every runtime could read it back; store its ISO string ` +
      `(value.toString()) and rebuild it with ${tag}.from()`;
  }
  if (tag === "Float16Array" && typedArrayTag(value) === "Float16Array") {
    return "Float16Array: Node 20 has none, so not every runtime could read it back; store a Float32Array";
  }
  if (tag === "SharedArrayBuffer") return "SharedArrayBuffer (shared memory cannot be stored)";
  if (tag === "Arguments") return "arguments object: store Array.from(arguments)";
  const name = constructorName(Object.getPrototypeOf(value));
  return name ? `instance of ${name} (not a plain object)` : "object";
}
