/**
 * `WorkflowBuilder`: wire executors with edges, validate, build a `Workflow`.
 *
 * @module
 */
import type { CheckpointStorage } from "./checkpoint.ts";
import { WorkflowValidationError } from "./errors.ts";
import {
  type AnyExecutor,
  Executor,
  type ExecutorOutput,
  type ExecutorRef,
  type ExecutorYield,
} from "./executor.ts";
import type {
  ChainCheck,
  EdgeCheck,
  JoinedOf,
  MessageOf,
  SendersOf,
  SwitchCase,
  SwitchCases,
  TargetsCheck,
  YieldsOf,
} from "./edge_types.ts";
import {
  type CompiledWorkflow,
  type EdgeGroupSpec,
  type FanOutEdgeSpec,
  sourcesOf,
  type SwitchEdgeSpec,
  targetsOf,
  type WorkflowGraph,
} from "./_graph.ts";
import { createWorkflow, type Workflow } from "./workflow.ts";
import type { WorkflowPlugin } from "./plugin.ts";
import { assertPlugin } from "./_plugin_host.ts";
import { describeCount, describeType } from "./_describe.ts";
import type { Reducer } from "./_state_writes.ts";
import { idProblem } from "./_ids.ts";
import { evolutionOf, type EvolutionOptions } from "./_evolution.ts";

/**
 * Options of `WorkflowBuilder`.
 *
 * @typeParam S The start executor.
 */
export interface WorkflowBuilderOptions<S extends AnyExecutor = AnyExecutor> {
  /** The workflow's name (stored in checkpoints, shown in graphs). */
  name: string;
  /** The executor that receives the run's input; its `TIn` types `run(input)`. */
  start: S;
  /**
   * The most supersteps one call (run, resume or respond) may take before it
   * fails with `WorkflowConvergenceError`.
   *
   * @default {100}
   */
  maxSupersteps?: number;
  /**
   * State keys whose writes are updates, combined at the superstep boundary by their reducer in the
   * deterministic order (executor id, then write order) starting from the committed value:
   * `{ total: (sum = 0, n) => sum + n }` makes eight executors each writing `n` add up, where without it the
   * last writer (by id) would win. A handler reading the key sees the committed value with its own updates.
   * `delete` clears the key (later updates start from nothing). A reducer that throws fails the run.
   *
   * @default {{}} (every key: the last writer wins)
   */
  // deno-lint-ignore no-explicit-any
  reducers?: Readonly<Record<string, (current: any, update: any) => unknown>>;
  /**
   * How checkpoints written by another version of this workflow resume (see "Deploying a new version" in
   * the README). By default a checkpoint resumes when everything it references exists and fits.
   *
   * @default {{ strict: false, renames: {} }}
   */
  evolution?: EvolutionOptions;
}

/** Options of `addEdge`, for a source that sends `M`. */
export interface EdgeOptions<M = unknown> {
  /** Deliver only the messages for which this returns `true`; may be async (a Promise is awaited). */
  when?: (message: M) => boolean | Promise<boolean>;
}

/** Options of `addFanOut`, for a source that sends `M`. */
export interface FanOutOptions<M = unknown> {
  /**
   * Choose the targets of each message among `targets` (default: all of them); may be async (a Promise is
   * awaited).
   */
  select?: (message: M, targets: readonly string[]) => readonly string[] | Promise<readonly string[]>;
}

/** Options of `addSwitch`. */
export interface SwitchOptions<D extends ExecutorRef = ExecutorRef> {
  /** Where a message goes when no case matches; without it, no match fails the run. */
  default?: D;
}

/**
 * Wires executors into a workflow graph.
 *
 * Edge kinds: `addEdge` (optionally conditional), `addChain`, `addFanOut`
 * (every target, or the ones `select` picks), `addSwitch` (first matching case,
 * else the default) and `addFanIn` (the target receives an array of the
 * sources' messages, in source order, once every source has sent). `build()`
 * validates the graph and names what is wrong.
 *
 * Types: every edge is checked at compile time — a source's `TOut` must be
 * assignable to each target's `TIn` (a fan-in target's `TIn` must take an array
 * of its sources' messages), and conditions see the source's message type (see
 * `EdgeCheck`). The builder carries the start executor's `TIn` (what `run`
 * takes) and the union of every added executor's `TYield` (what
 * `result.outputs` holds). Executors that leave their types `unknown`, and
 * executors named by id, are not checked.
 *
 * @typeParam TIn What the start executor handles: the workflow's input.
 * @typeParam TYield The union of what the added executors yield: the workflow's outputs.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, WorkflowBuilder, type WorkflowContext } from "@superstep/superstep";
 *
 * const upper = defineExecutor({
 *   id: "upper",
 *   handle: async (text: string, ctx: WorkflowContext<string, never>) => await ctx.send(text.toUpperCase()),
 * });
 * const print = defineExecutor({
 *   id: "print",
 *   handle: async (text: string, ctx: WorkflowContext<never, string>) => await ctx.yieldOutput(text),
 * });
 * const workflow = new WorkflowBuilder({ name: "shout", start: upper })
 *   .addEdge(upper, print)
 *   .build();
 * const result = await workflow.run("hi"); // run(42) does not compile
 * const outputs: string[] = result.outputs;
 * assert.deepEqual(outputs, ["HI"]);
 * ```
 */
export class WorkflowBuilder<TIn = unknown, TYield = never> {
  #name: string;
  #start: AnyExecutor;
  #maxSupersteps: number;
  #executors = new Map<string, AnyExecutor>();
  #groups: EdgeGroupSpec[] = [];
  #pendingRefs: { ref: string; where: string }[] = [];
  #storage: CheckpointStorage | undefined;
  #plugins: WorkflowPlugin[] = [];
  #errors: string[] = [];
  #reducers: ReadonlyMap<string, Reducer> | undefined;
  #evolution: { strict: boolean; renames: ReadonlyMap<string, string> };

  /**
   * Start a graph with its name and start executor.
   *
   * @param options The name, the start executor and the superstep limit.
   * @throws {TypeError} If the name or start executor is missing.
   * @throws {RangeError} If `maxSupersteps` is not a positive integer.
   */
  // deno-lint-ignore no-explicit-any
  constructor(options: WorkflowBuilderOptions<Executor<TIn, any, TYield>>) {
    if (idProblem(options?.name) !== undefined) {
      throw new TypeError(
        `Invalid workflow name: ${JSON.stringify(options?.name)} (a non-empty string of well-formed Unicode)`,
      );
    }
    const maxSupersteps = options.maxSupersteps ?? 100;
    if (!Number.isSafeInteger(maxSupersteps) || maxSupersteps < 1) {
      throw new RangeError(`Invalid maxSupersteps: ${maxSupersteps} (a positive integer)`);
    }
    this.#name = options.name;
    this.#maxSupersteps = maxSupersteps;
    this.#reducers = reducersOf(options.reducers);
    this.#evolution = evolutionOf(options.evolution, "WorkflowBuilder");
    this.#start = options.start;
    this.#register(options.start, "start");
  }

  /**
   * Add an executor without an edge (edges may name it by id afterwards).
   *
   * @param executor The executor.
   * @returns This builder.
   */
  addExecutor<E extends AnyExecutor>(executor: E): WorkflowBuilder<TIn, TYield | ExecutorYield<E>> {
    this.#register(executor, "addExecutor");
    return this.#grown();
  }

  /**
   * Send every message of `from` to `to` (or only those `when` accepts).
   *
   * @param from The sender.
   * @param to The receiver: it must accept what `from` sends.
   * @param options `when`: a condition on the message.
   * @returns This builder.
   */
  addEdge<S extends ExecutorRef, T extends ExecutorRef>(
    from: S,
    to: T & EdgeCheck<ExecutorOutput<S>, T>,
    options?: EdgeOptions<MessageOf<S>>,
  ): WorkflowBuilder<TIn, TYield | YieldsOf<S | T>> {
    this.#edge(from, to, options?.when as ((message: unknown) => boolean | Promise<boolean>) | undefined);
    return this.#grown();
  }

  #edge(
    from: ExecutorRef,
    to: ExecutorRef,
    when: ((message: unknown) => boolean | Promise<boolean>) | undefined,
  ) {
    const where = "addEdge";
    const source = this.#ref(from, where);
    const target = this.#ref(to, where);
    if (when !== undefined) assertFunction(when, "addEdge when");
    this.#groups.push({ kind: "single", id: groupId("edge", [source], [target]), source, target, when });
  }

  /**
   * Connect executors in a line: `[a, b, c]` is `a → b → c`.
   *
   * @param executors At least two executors, each accepting what the one before sends.
   * @returns This builder.
   */
  addChain<const C extends readonly ExecutorRef[]>(
    executors: C & ChainCheck<C>,
  ): WorkflowBuilder<TIn, TYield | YieldsOf<C[number]>> {
    const chain: readonly ExecutorRef[] = executors;
    if (!Array.isArray(chain) || chain.length < 2) {
      this.#errors.push(`addChain needs at least two executors, got ${describeCount(chain)}`);
      return this.#grown();
    }
    for (let i = 1; i < chain.length; i++) this.#edge(chain[i - 1], chain[i], undefined);
    return this.#grown();
  }

  /**
   * Send each message of `from` to several targets (all, or those `select` picks).
   *
   * @param from The sender.
   * @param to At least two receivers, each accepting what `from` sends.
   * @param options `select(message, targetIds)` returns the ids to deliver to.
   * @returns This builder.
   */
  addFanOut<S extends ExecutorRef, const T extends readonly ExecutorRef[]>(
    from: S,
    to: T & TargetsCheck<ExecutorOutput<S>, T>,
    options?: FanOutOptions<MessageOf<S>>,
  ): WorkflowBuilder<TIn, TYield | YieldsOf<S | T[number]>> {
    const where = "addFanOut";
    const source = this.#ref(from, where);
    const list: readonly ExecutorRef[] = to;
    if (!Array.isArray(list) || list.length < 2) {
      this.#errors.push(`addFanOut from "${source}" needs at least two targets, got ${describeCount(list)}`);
      return this.#grown();
    }
    const targets = list.map((t) => this.#ref(t, where));
    const select = options?.select as FanOutEdgeSpec["select"];
    if (select !== undefined) assertFunction(select, "addFanOut select");
    this.#groups.push({
      kind: "fan-out",
      id: groupId("fan-out", [source], targets),
      source,
      targets,
      select,
    });
    return this.#grown();
  }

  /**
   * Route each message of `from` to the first case whose `when` matches, else
   * to `default`. A message matching no case with no default fails the run
   * with `WorkflowRoutingError`.
   *
   * @param from The sender.
   * @param cases Ordered cases; each case's target accepts what `from` sends.
   * @param options `default`: the fallback target, which accepts it too.
   * @returns This builder.
   */
  addSwitch<S extends ExecutorRef, const T extends readonly ExecutorRef[], D extends ExecutorRef = never>(
    from: S,
    cases: SwitchCases<MessageOf<S>, T>,
    options?: SwitchOptions<D & EdgeCheck<ExecutorOutput<S>, D>>,
  ): WorkflowBuilder<TIn, TYield | YieldsOf<S | T[number] | D>> {
    const where = "addSwitch";
    const source = this.#ref(from, where);
    const list = cases as readonly SwitchCase<unknown>[];
    if (!Array.isArray(list) || list.length === 0) {
      this.#errors.push(`addSwitch from "${source}" needs at least one case`);
      return this.#grown();
    }
    const specCases = list.map((c, i) => {
      assertFunction(c?.when, `addSwitch case ${i} when`);
      return { when: c.when as SwitchEdgeSpec["cases"][number]["when"], target: this.#ref(c.to, where) };
    });
    const defaultTarget = options?.default === undefined ? undefined : this.#ref(options.default, where);
    this.#groups.push({
      kind: "switch",
      id: groupId("switch", [source], [...specCases.map((c) => c.target), defaultTarget ?? null]),
      source,
      cases: specCases,
      defaultTarget,
    });
    return this.#grown();
  }

  /**
   * Join several sources into one target: once every source has sent at least
   * once, the target receives one array of all buffered messages, in source
   * order (then send order). Buffers are checkpointed.
   *
   * @param from At least two senders.
   * @param to The receiver: it must accept an array of what the senders send.
   * @returns This builder.
   */
  addFanIn<const S extends readonly ExecutorRef[], T extends ExecutorRef>(
    from: S,
    to: T & EdgeCheck<JoinedOf<S[number]>, T>,
  ): WorkflowBuilder<TIn, TYield | YieldsOf<S[number] | T>> {
    const where = "addFanIn";
    const target = this.#ref(to, where);
    const list: readonly ExecutorRef[] = from;
    if (!Array.isArray(list) || list.length < 2) {
      this.#errors.push(`addFanIn into "${target}" needs at least two sources, got ${describeCount(list)}`);
      return this.#grown();
    }
    const sources = list.map((f) => this.#ref(f, where));
    if (new Set(sources).size !== sources.length) {
      this.#errors.push(`addFanIn into "${target}" names a source twice: ${sources.join(", ")}`);
      return this.#grown();
    }
    this.#groups.push({ kind: "fan-in", id: groupId("fan-in", sources, [target]), sources, target });
    return this.#grown();
  }

  /**
   * Collect into one target everything its sources send in a superstep: in the next superstep `to` receives
   * one array of all of it, in deterministic order (by sender id, then send order), however many messages
   * there were — nothing if none were sent. The join for a number of messages known only at run time (a
   * fan-out to N items); `addFanIn` instead waits until every source has sent at least once.
   *
   * @param from One sender or several.
   * @param to The receiver: it must accept an array of what the senders send.
   * @returns This builder.
   */
  addCollect<const S extends ExecutorRef | readonly ExecutorRef[], T extends ExecutorRef>(
    from: S,
    to: T & EdgeCheck<JoinedOf<SendersOf<S>>, T>,
  ): WorkflowBuilder<TIn, TYield | YieldsOf<SendersOf<S> | T>> {
    const where = "addCollect";
    const target = this.#ref(to, where);
    const list: readonly ExecutorRef[] = Array.isArray(from) ? from : [from as ExecutorRef];
    if (list.length === 0) {
      this.#errors.push(`addCollect into "${target}" needs at least one source`);
      return this.#grown();
    }
    const sources = list.map((f) => this.#ref(f, where));
    if (new Set(sources).size !== sources.length) {
      this.#errors.push(`addCollect into "${target}" names a source twice: ${sources.join(", ")}`);
      return this.#grown();
    }
    this.#groups.push({ kind: "collect", id: groupId("collect", sources, [target]), sources, target });
    return this.#grown();
  }

  /** This builder, typed with what the last call added (the builder object is the same). */
  #grown<Y>(): WorkflowBuilder<TIn, TYield | Y> {
    return this as unknown as WorkflowBuilder<TIn, TYield | Y>;
  }

  /**
   * Write a checkpoint after every superstep to this storage (a run may
   * override it with its own `storage` option).
   *
   * @param storage The storage adapter.
   * @returns This builder.
   */
  withCheckpointing(storage: CheckpointStorage): this {
    if (typeof storage?.save !== "function" || typeof storage.load !== "function") {
      throw new TypeError("withCheckpointing needs a CheckpointStorage (save, load, list, head …)");
    }
    this.#storage = storage;
    return this;
  }

  /**
   * Register a plugin for every call of the workflow (`run`, `resume`,
   * `respond`). Plugins run in registration order, before those a call passes
   * in its `plugins` option; the first registered wraps executors outermost.
   *
   * @experimental
   * @param plugin The plugin (see {@linkcode WorkflowPlugin}).
   * @returns This builder.
   * @throws {TypeError} If `plugin` has no name or a hook that is not a function.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { defineExecutor, WorkflowBuilder } from "@superstep/superstep";
   *
   * const seen: unknown[] = [];
   * const echo = defineExecutor({ id: "echo", handle: (text: string, ctx) => ctx.yieldOutput(text) });
   * const workflow = new WorkflowBuilder({ name: "echo", start: echo })
   *   .use({ name: "outputs", onEvent: (event) => void (event.type === "output" && seen.push(event.data)) })
   *   .build();
   * await workflow.run("hi");
   * assert.deepEqual(seen, ["hi"]);
   * ```
   */
  use(plugin: WorkflowPlugin): this {
    assertPlugin(plugin, "use");
    this.#plugins.push(plugin);
    return this;
  }

  /**
   * Validate the graph and build the workflow.
   *
   * @returns The workflow.
   * @throws {WorkflowValidationError} Naming every problem found: unknown or
   * duplicate executors, duplicate edges, unreachable executors, wrong arity.
   */
  build(): Workflow<TIn, TYield> {
    return createWorkflow<TIn, TYield>(this.#compile());
  }

  #compile(): CompiledWorkflow {
    const errors = [...this.#errors];
    for (const { ref, where } of this.#pendingRefs) {
      if (!this.#executors.has(ref)) errors.push(`Unknown executor "${ref}" in ${where}`);
    }
    const seen = new Map<string, string>();
    for (const group of this.#groups) {
      const pairs = new Set<string>();
      for (const source of sourcesOf(group)) {
        for (const target of targetsOf(group)) pairs.add(`${source}\u0000${target}`);
      }
      if (group.kind === "fan-out" && new Set(group.targets).size !== group.targets.length) {
        const twice = group.targets.filter((t, i) => group.targets.indexOf(t) !== i);
        errors.push(`Duplicate target "${twice[0]}" in addFanOut from "${group.source}"`);
      }
      for (const pair of pairs) {
        const previous = seen.get(pair);
        const [source, target] = pair.split("\u0000");
        if (previous !== undefined) {
          errors.push(`Duplicate edge "${source}" -> "${target}" (in ${previous} and ${group.id})`);
        } else seen.set(pair, group.id);
      }
    }
    for (const [from, to] of this.#evolution.renames) {
      if (!this.#executors.has(to)) {
        errors.push(`evolution.renames maps "${from}" to "${to}", not an executor`);
      }
      if (this.#executors.has(from)) {
        errors.push(`evolution.renames maps "${from}", which is still an executor`);
      }
    }
    // Every problem at once: reachability is judged on the edges that are valid, whatever else is wrong.
    for (const id of this.#unreachable()) {
      errors.push(`Executor "${id}" is unreachable from the start executor "${this.#start.id}"`);
    }
    if (errors.length > 0) {
      throw new WorkflowValidationError(`Invalid workflow "${this.#name}": ${errors.join("; ")}`);
    }
    const graph: WorkflowGraph = {
      name: this.#name,
      startId: this.#start.id,
      maxSupersteps: this.#maxSupersteps,
      ...this.#reducers && { reducers: this.#reducers },
      ...this.#evolution.renames.size > 0 && { renames: this.#evolution.renames },
      ...this.#evolution.strict && { strict: true },
      executors: new Map(this.#executors),
      groups: [...this.#groups],
    };
    return { graph, storage: this.#storage, plugins: [...this.#plugins] };
  }

  #register(executor: AnyExecutor, where: string): string {
    if (!(executor instanceof Executor)) {
      throw new TypeError(
        `${where} needs an Executor (from defineExecutor or a subclass), got ${typeof executor}`,
      );
    }
    const existing = this.#executors.get(executor.id);
    if (existing === undefined) this.#executors.set(executor.id, executor);
    else if (existing !== executor) {
      this.#errors.push(`Duplicate executor id "${executor.id}" (two different executors in ${where})`);
    }
    return executor.id;
  }

  #ref(ref: ExecutorRef, where: string): string {
    if (typeof ref === "string") {
      this.#pendingRefs.push({ ref, where });
      return ref;
    }
    return this.#register(ref, where);
  }

  #unreachable(): string[] {
    const reached = new Set([this.#start.id]);
    const queue = [this.#start.id];
    while (queue.length > 0) {
      const id = queue.shift()!;
      for (const group of this.#groups) {
        if (!sourcesOf(group).includes(id)) continue;
        for (const target of targetsOf(group)) {
          if (!reached.has(target)) {
            reached.add(target);
            queue.push(target);
          }
        }
      }
    }
    return [...this.#executors.keys()].filter((id) => !reached.has(id));
  }
}

/** The senders of `addCollect`'s `from`: one executor, or the elements of an array of them. */

/** The reducers option as a map, checked: a plain object of functions (`undefined` for none). */
function reducersOf(reducers: unknown): ReadonlyMap<string, Reducer> | undefined {
  if (reducers === undefined) return undefined;
  if (reducers === null || typeof reducers !== "object" || Array.isArray(reducers)) {
    throw new TypeError(
      `Invalid reducers: expected an object of functions by state key, got ${describeType(reducers)}`,
    );
  }
  const map = new Map<string, Reducer>();
  for (const [key, reducer] of Object.entries(reducers)) {
    assertFunction(reducer, `The reducer of state key ${JSON.stringify(key)}`);
    map.set(key, reducer as Reducer);
  }
  return map.size === 0 ? undefined : map;
}

function assertFunction(value: unknown, what: string): void {
  if (typeof value !== "function") throw new TypeError(`${what} must be a function, got ${typeof value}`);
}

/** Unambiguous whatever characters executor ids contain (they may hold "," or "->"). */
function groupId(kind: string, sources: string[], targets: (string | null)[]): string {
  return `${kind}:${JSON.stringify([sources, targets])}`;
}
