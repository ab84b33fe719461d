// How messages name what they got: one way, used by the core, the adapters and the plugins.

/** What was thrown, as message text: an error's message (with its cause's, when that adds something). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch's "fetch failed" says nothing without its cause ("ECONNREFUSED …").
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

/** The kind of a value, for "expected …, got <kind>": `null`, `an array`, `a blob` or its `typeof`. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof ArrayBuffer || value instanceof Uint8Array) return "a blob";
  return typeof value;
}

/** How many items an argument that should be an array has, or its kind if it is not one. */
export function describeCount(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : describeType(value);
}

/** A short value for a message: strings quoted, anything else as `String()` makes it. */
export function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
