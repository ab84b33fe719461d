// Records keyed by ids users choose (executor ids, edge ids, state keys, JSON keys): a key such as
// "__proto__" must stay an own data property, which plain assignment would turn into a prototype change.

/** `record[key] = value`, as an own enumerable data property whatever the key. */
export function defineEntry(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
