/**
 * `StandardSchema`: the part of the Standard Schema interface Superstep validates messages with.
 *
 * @module
 */

/**
 * The part of the Standard Schema interface (standardschema.dev, v1) that
 * Superstep uses to validate messages. Schemas of zod, valibot, arktype and
 * other implementers satisfy it structurally; no runtime dependency is needed.
 *
 * @typeParam TOutput What a successful validation yields (handed to `handle`).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StandardSchema } from "@superstep/superstep";
 * const word: StandardSchema<string> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) =>
 *       typeof value === "string" ? { value: value.trim() } : { issues: [{ message: "expected a string" }] },
 *   },
 * };
 * assert.deepEqual(await word["~standard"].validate(" hi "), { value: "hi" });
 * ```
 */
export interface StandardSchema<TOutput = unknown> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** The spec version (1). */
    readonly version: 1;
    /** The implementing library. */
    readonly vendor: string;
    /** Validate a value: a success carries `value`, a failure carries `issues`. */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<TOutput> | Promise<StandardSchemaResult<TOutput>>;
  };
}

/** The outcome of `StandardSchema["~standard"].validate`. */
export type StandardSchemaResult<TOutput> =
  | { readonly value: TOutput; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string }> };
