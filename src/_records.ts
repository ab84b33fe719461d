// Records keyed by ids users choose (executor ids, edge ids, state keys, JSON keys): a key such as
// "__proto__" must stay an own data property, which plain assignment would turn into a prototype change.

/** `record[key] = value`, as an own enumerable data property whatever the key. */
export function defineEntry(record: Record<string, unknown>, key: string, value: unknown): void {
  // A key the record neither has nor inherits: assignment makes exactly that property, several times faster
  // than defineProperty and its descriptor. Any other key (`__proto__`, `toString`, one already set, one a
  // frozen prototype holds) is defined, so no setter runs and no inherited property is in the way.
  if (!(key in record) && Object.isExtensible(record)) record[key] = value;
  else Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
