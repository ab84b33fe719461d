/**
 * The types that check a workflow's wiring at compile time: every edge's source must send what its target
 * accepts. They appear in `WorkflowBuilder`'s signatures; a wrong wiring fails to compile with an error that
 * names a property `"~edge type error"` holding what the source `sends` and what the target `accepts`.
 *
 * An executor that does not say what it sends (`TOut` left `unknown`) is not checked, nor is an id given as
 * a string: both are the escape hatches of untyped code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, type EdgeCheck, type WorkflowContext } from "@superstep/superstep";
 *
 * const words = defineExecutor({ id: "words", handle: (t: string, ctx: WorkflowContext<string>) => ctx.send(t) });
 * const dates = defineExecutor({ id: "dates", handle: (_d: Date) => {} });
 * // `unknown` (no error) for a right wiring, an error type for a wrong one:
 * const fine: EdgeCheck<string, typeof words> = "anything";
 * const wrong: EdgeCheck<string, typeof dates> = { "~edge type error": { sends: "", accepts: new Date(0) } };
 * assert.ok(fine && wrong && dates);
 * ```
 *
 * @module
 */
import type { ExecutorInput, ExecutorOutput, ExecutorRef, ExecutorYield } from "./executor.ts";

/** What a wrong edge fails with: the message type the source sends and the one the target accepts. */
export interface EdgeTypeError<Sends, Accepts> {
  /** The property the compiler reports missing, naming both types. */
  readonly "~edge type error": { readonly sends: Sends; readonly accepts: Accepts };
}

/**
 * `unknown` if a target `T` accepts messages of type `M` (or `M` is `unknown`: unchecked), else an
 * {@linkcode EdgeTypeError}. The builder intersects a target parameter with it.
 */
export type EdgeCheck<M, T> = unknown extends M ? unknown
  : [M] extends [ExecutorInput<T>] ? unknown
  : EdgeTypeError<M, ExecutorInput<T>>;

/**
 * The message type conditions of an edge from `S` see: what `S` sends, or `any` when that is unchecked
 * (`unknown`, or an id), so untyped code may annotate its conditions as it likes.
 */
// deno-lint-ignore no-explicit-any
export type MessageOf<S> = unknown extends ExecutorOutput<S> ? any : ExecutorOutput<S>;

/** What a fan-in target receives from the sources `S` (a union): an array of their messages, if checked. */
export type JoinedOf<S> = unknown extends ExecutorOutput<S> ? unknown : ExecutorOutput<S>[];

/** The senders of `addCollect` as one union: `S` itself, or the elements of an array of them. */
export type SendersOf<S> = S extends readonly ExecutorRef[] ? S[number] : S;

/** Every target of a fan-out checked against the message type `M`. */
export type TargetsCheck<M, T extends readonly ExecutorRef[]> = { [K in keyof T]: T[K] & EdgeCheck<M, T[K]> };

/**
 * One case of `addSwitch`, for a source that sends `M`, whose target `T` must accept `M`.
 *
 * @typeParam M What the source sends.
 * @typeParam T The case's target.
 */
export interface SwitchCase<M = unknown, T extends ExecutorRef = ExecutorRef> {
  /** Whether this case takes the message; may be async (a Promise is awaited). */
  when: (message: M) => boolean | Promise<boolean>;
  /** Where the message goes. */
  to: T & EdgeCheck<M, T>;
}

/** The cases of a switch whose targets are `T`, each checked against the message type `M`. */
export type SwitchCases<M, T extends readonly ExecutorRef[]> = {
  readonly [K in keyof T]: SwitchCase<M, T[K]>;
};

/** Each executor of a chain checked against what the one before it sends. */
export type ChainCheck<C extends readonly ExecutorRef[], Previous = never> = C extends
  readonly [infer Head, ...infer Rest extends readonly ExecutorRef[]] ?
    & ([Previous] extends [never] ? unknown : EdgeCheck<ExecutorOutput<Previous>, Head>)
    & ChainCheck<Rest, Head>
  : unknown;

/** What the executors `E` (a union) yield, as one union. */
export type YieldsOf<E> = E extends unknown ? ExecutorYield<E> : never;
