// Ids (sessions, checkpoints, requests, executors, workflows) are stored as UTF-8 by most backends, where a
// lone surrogate becomes U+FFFD: "proj\ud800" and "proj\ufffd" would be one stored key. So an id must be
// well-formed Unicode everywhere; one rule, used by the core and, through the storage kit, every adapter.

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `value` is a string of well-formed Unicode (no lone surrogate). */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/**
 * Why `value` cannot be an id, or `undefined` if it can: it must be a string of well-formed Unicode, and,
 * unless `allowEmpty` (a lookup, which simply finds nothing), not empty.
 */
export function idProblem(value: unknown, allowEmpty = false): string | undefined {
  if (typeof value !== "string") return `it must be a string, got ${value === null ? "null" : typeof value}`;
  if (value.length === 0 && !allowEmpty) return "it must not be empty";
  if (!isWellFormed(value)) return "it must be well-formed Unicode (it holds a lone surrogate)";
  return undefined;
}
