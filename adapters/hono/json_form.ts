/**
 * The JSON form of values, as the Hono adapter writes them: what the typed client's `outputs` are.
 *
 * @module
 */

/**
 * The JSON form of a value of type `T`, as the Hono adapter writes outputs (the typed client's `outputs`): `bigint` → decimal string,
 * `Date` → ISO string, `Map<K, V>` → `[key, value]` pairs, `Set<V>` → array, typed arrays → arrays of
 * numbers (of strings for 64-bit ones), `ArrayBuffer` → `{}`, `DataView` → `[]`, `Error` →
 * `{ name, message }`, what `toJSON` returns for an object that has one; in objects, `undefined`,
 * functions and symbols are left out (the key becomes optional), in arrays they are `null`. `unknown`
 * stays `unknown`.
 *
 * Two things the type does not show: a number that is not finite (`NaN`, `Infinity`) and an invalid
 * `Date` are written as `null`, and an object met again in one answer (shared, or a cycle) is written the
 * second time as a `{ "$ref": "#/json/pointer" }` to where it was first written.
 *
 * @typeParam T The value's type.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { JsonForm } from "@superstep/superstep/hono";
 *
 * // What an output `{ at: Date; total: bigint; note?: string }` looks like in a JSON answer:
 * const answer: JsonForm<{ at: Date; total: bigint; note?: string }> = {
 *   at: "2026-01-01T00:00:00.000Z",
 *   total: "12345678901234567890",
 * };
 * assert.equal(BigInt(answer.total), 12345678901234567890n);
 * ```
 */
export type JsonForm<T> = unknown extends T ? unknown
  : T extends string | boolean | null ? T
  : T extends number ? number
  : T extends bigint ? string
  : T extends undefined | symbol | ((...args: never[]) => unknown) ? undefined
  : T extends Date ? string
  : T extends Error ? { name: string; message: string }
  : T extends ReadonlyMap<infer K, infer V> ? [JsonElementForm<K>, JsonElementForm<V>][]
  : T extends ReadonlySet<infer V> ? JsonElementForm<V>[]
  : T extends BigInt64Array | BigUint64Array ? string[]
  : T extends DataView ? never[]
  : T extends ArrayBufferView ? number[]
  : T extends ArrayBufferLike ? Record<never, never>
  : T extends { toJSON(): infer R } ? JsonForm<R>
  : T extends readonly unknown[] ? { -readonly [I in keyof T]: JsonElementForm<T[I]> }
  : T extends object ? (
      // Keys whose value may be missing from the JSON (undefined, a function, a symbol) are optional;
      // keys whose value is always missing are left out; symbol keys are never written.
      & {
        -readonly [
          K in keyof T as K extends symbol ? never
            : [Extract<T[K], undefined | symbol | ((...args: never[]) => unknown)>] extends [never] ? K
            : never
        ]: JsonForm<T[K]>;
      }
      & {
        -readonly [
          K in keyof T as K extends symbol ? never
            : [Exclude<T[K], undefined | symbol | ((...args: never[]) => unknown)>] extends [never] ? never
            : [Extract<T[K], undefined | symbol | ((...args: never[]) => unknown)>] extends [never] ? never
            : K
        ]?: JsonForm<Exclude<T[K], undefined | symbol | ((...args: never[]) => unknown)>>;
      }
    )
  : unknown;

/** The JSON form of `T` as an array element: what JSON leaves out of objects is `null` in arrays. */
export type JsonElementForm<T> = unknown extends T ? unknown
  : T extends undefined | symbol | ((...args: never[]) => unknown) ? null
  : JsonForm<T>;
