// Random workflow graphs for the property tests: a spec (plain data fast-check generates and shrinks) and
// the workflow it describes. A graph is a start executor followed by segments, each wired to the next:
//
//   chain   c1 → c2 → … (1 to 3 executors)
//   fan     f ⇉ b1 … bW ⇉ j: a fan-out (to all targets for even values, only the first for odd ones, so
//           fan-in buffers carry messages across supersteps) joined by a fan-in
//   switch  s → t_i for the first case matching v % W, else a default (or a catch-all last case) → x
//   loop    L ⇄ B: L sends each message round the loop `bound` times in every `bound + 1` passes (its pass
//           count is checkpointed state), then on to the next segment
//   nested  W → a: W is a WorkflowExecutor whose inner workflow is a random graph of its own (segments of the
//           kinds above); with `asks`, its start executor asks a person for the value it goes on with (the
//           answer is `answerFor(value)`), so the outer run waits on requests from inside the inner one
//
// Every executor folds its message into a number with its own parameters, optionally counting its calls
// (checkpointed with snapshot/restore), optionally reading and writing a shared state key, and optionally
// yielding an output. The last segment's exit yields the final values. Runs always terminate: fan-ins and
// switches never multiply messages, and a loop lets one message out every `bound + 1` passes.
import fc from "fast-check";
import {
  type CheckpointStorage,
  type EvolutionOptions,
  Executor,
  MemoryCheckpointStorage,
  type PendingRequest,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowExecutor,
  type WorkflowResult,
} from "../mod.ts";

/** One executor's parameters. */
export interface NodeParams {
  mul: number;
  add: number;
  yields: boolean;
  stateful: boolean;
  /** The shared state key it reads and writes, if any. */
  key: string | null;
}

/** One segment of a graph. */
export type Segment =
  | { kind: "chain"; length: number }
  | { kind: "fan"; width: number }
  | { kind: "switch"; width: number; withDefault: boolean }
  | { kind: "loop"; bound: number }
  | { kind: "nested"; segments: Segment[]; asks: boolean };

/** A random graph and its input. */
export interface GraphSpec {
  inputs: number[];
  segments: Segment[];
  /** Parameters by executor index (wrapping around). */
  params: NodeParams[];
}

const paramsArb: fc.Arbitrary<NodeParams> = fc.record({
  mul: fc.integer({ min: 1, max: 7 }),
  add: fc.integer({ min: 0, max: 9 }),
  yields: fc.boolean(),
  stateful: fc.boolean(),
  key: fc.constantFrom(null, null, "acc", "tally"),
});

const flatSegmentArb: fc.Arbitrary<Segment> = fc.oneof(
  fc.record({ kind: fc.constant("chain" as const), length: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("fan" as const), width: fc.integer({ min: 2, max: 3 }) }),
  fc.record({
    kind: fc.constant("switch" as const),
    width: fc.integer({ min: 2, max: 3 }),
    withDefault: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("loop" as const), bound: fc.integer({ min: 1, max: 3 }) }),
);

const segmentArb: fc.Arbitrary<Segment> = fc.oneof(
  { arbitrary: flatSegmentArb, weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("nested" as const),
      segments: fc.array(flatSegmentArb, { minLength: 1, maxLength: 2 }),
      asks: fc.boolean(),
    }),
    weight: 1,
  },
);

/** The answer a person gives to a random graph's request for `value`. */
export function answerFor(value: number): number {
  return (value * 7 + 3) % 1000;
}

/** Answers to every request of `pending`, by `answerFor`. */
export function answersTo(pending: PendingRequest[]): Record<string, number> {
  return Object.fromEntries(pending.map((request) => [request.requestId, answerFor(request.data as number)]));
}

/** Random graph specs. */
export const graphSpecArb: fc.Arbitrary<GraphSpec> = fc.record({
  inputs: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 3 }),
  segments: fc.array(segmentArb, { minLength: 1, maxLength: 4 }),
  params: fc.array(paramsArb, { minLength: 1, maxLength: 12 }),
});

type Forward = (value: number, ctx: WorkflowContext<number>, node: Node) => Promise<void>;

/** An executor without checkpointed state of its own. */
class Node extends Executor<number | number[], number> {
  readonly params: NodeParams;
  forward: Forward = (value, ctx) => ctx.send(value);
  calls = 0;
  /** Inside a sub-workflow every output goes on as a message: only the exit yields, and only its value. */
  quiet = false;
  constructor(id: string, params: NodeParams, version?: string) {
    super(id, { version });
    this.params = params;
  }
  async handle(message: number | number[], ctx: WorkflowContext<number>): Promise<void> {
    await this.fold(Array.isArray(message) ? message.reduce((sum, n) => sum + n, 0) : message, ctx);
  }
  async fold(input: number, ctx: WorkflowContext<number>): Promise<void> {
    const { mul, add, stateful, key } = this.params;
    const yields = this.params.yields && !this.quiet;
    let value = input;
    if (stateful) value += ++this.calls;
    if (key !== null) {
      const previous = ctx.state.get<number>(key) ?? 0;
      ctx.state.set(key, (previous + value) % 1000);
      value += previous;
    }
    value = (value * mul + add) % 1000;
    if (yields) await ctx.yieldOutput([this.id, value]);
    await this.forward(value, ctx, this);
  }
}

/** An executor whose call count is checkpointed. */
class StatefulNode extends Node {
  /** A loop head's pass count. */
  passes = 0;
  override snapshot(): { calls: number; passes: number } {
    return { calls: this.calls, passes: this.passes };
  }
  override restore(state: { calls: number; passes: number }): void {
    this.calls = state.calls;
    this.passes = state.passes;
  }
}

/** A start executor that asks a person first and folds the answer instead of its message. */
class AskingNode extends StatefulNode {
  override async handle(message: number | number[], ctx: WorkflowContext<number>): Promise<void> {
    await ctx.requestInfo(Array.isArray(message) ? message.reduce((sum, n) => sum + n, 0) : message);
  }
  override async onResponse(answer: unknown, _request: PendingRequest, ctx: WorkflowContext<number>) {
    await this.fold(answer as number, ctx);
  }
}

/** Makes the executor `id` with the next parameters of the spec: as it says, or at least stateful, or asking. */
type MakeNode = (id: string, kind?: "stateful" | "asking") => Node;

/**
 * A deployed change to a random graph (the evolution property test): the graph with a tap (an executor
 * fed by `tapAfter` that yields `["tap", value]`, stateful or not), an outer executor renamed (`rename`:
 * old id → new, mapped with `evolution.renames` or not), or a stateful executor at version "2" (`bump`,
 * with an identity `upgrade` or none).
 */
export interface GraphVariant {
  tap?: { after: string; stateful: boolean };
  rename?: { from: string; to: string; mapped: boolean };
  bump?: { id: string; upgrade: boolean };
}

/** A stateful executor whose snapshot carries over from any version unchanged. */
class UpgradableNode extends StatefulNode {
  override upgrade(snapshot: unknown): unknown {
    return snapshot;
  }
}

/** The tap of a `GraphVariant`: yields what it gets, tagged; stateful ones count their calls. */
class Tap extends Executor<number | number[], never, unknown> {
  constructor(id: string, readonly counted: boolean) {
    super(id);
    if (counted) {
      this.snapshot = () => ({ calls: this.calls });
      this.restore = (state) => void (this.calls = (state as { calls: number }).calls);
    }
  }
  calls = 0;
  async handle(message: number | number[], ctx: WorkflowContext<never, unknown>): Promise<void> {
    this.calls++;
    await ctx.yieldOutput(["tap", message, this.counted ? this.calls : 0]);
  }
}

/**
 * A fresh instance of the workflow `spec` describes (as changed by `variant`), checkpointing to `storage`.
 * `made`, if given, receives every executor made for it (sub-workflows' too).
 */
export function buildWorkflow(
  spec: GraphSpec,
  storage: CheckpointStorage,
  variant: GraphVariant = {},
  made: Node[] = [],
): Workflow {
  let count = 0;
  const rename = (id: string) => id === variant.rename?.from ? variant.rename.to : id;
  const make = (id: string, kind?: "stateful" | "asking"): Node => {
    const params = spec.params[count++ % spec.params.length];
    const renamed = rename(id);
    if (kind === "asking") return new AskingNode(renamed, params);
    if (variant.bump?.id === id) {
      return variant.bump.upgrade
        ? new UpgradableNode(renamed, params, "2")
        : new StatefulNode(renamed, params, "2");
    }
    return params.stateful || kind === "stateful"
      ? new StatefulNode(renamed, params)
      : new Node(renamed, params);
  };
  const node: MakeNode = (id, kind) => {
    const executor = make(id, kind);
    made.push(executor);
    return executor;
  };
  const evolution = variant.rename?.mapped
    ? { renames: { [variant.rename.from]: variant.rename.to } }
    : undefined;
  const builder = buildGraph("random-graph", node("start"), spec.segments, node, rename, "", evolution);
  if (variant.tap !== undefined) {
    builder.addEdge(rename(variant.tap.after), new Tap("tap", variant.tap.stateful));
  }
  return builder.withCheckpointing(storage).build();
}

/** The ids of the outer executors of `spec`'s graph, in the order they are made. */
export function outerIds(spec: GraphSpec): string[] {
  return buildWorkflow(spec, new MemoryCheckpointStorage()).executorIds;
}

/** The ids of the outer executors of `spec`'s graph that keep state of their own (not sub-workflows). */
export function statefulNodeIds(spec: GraphSpec): string[] {
  const made: Node[] = [];
  const outer = new Set(buildWorkflow(spec, new MemoryCheckpointStorage(), {}, made).executorIds);
  return made.filter((node) => node instanceof StatefulNode && outer.has(node.id)).map((node) => node.id);
}

/**
 * The graph of `segments` after `start`, its executors' ids prefixed with `prefix`; `inner` (a prefix
 * other than "") for a sub-workflow's: only its exit yields, and only its bare values (which the
 * WorkflowExecutor sends on). `rename` maps the outer graph's ids.
 */
function buildGraph(
  name: string,
  start: Node,
  segments: Segment[],
  node: MakeNode,
  rename: (id: string) => string,
  prefix: string,
  evolution?: EvolutionOptions,
) {
  const inner = prefix !== "";
  const made: MakeNode = (id, kind) => {
    const made = node(`${prefix}${id}`, kind);
    made.quiet = inner;
    return made;
  };
  start.quiet = inner;
  const builder = new WorkflowBuilder({ name, start, maxSupersteps: 500, ...evolution && { evolution } });
  // The executor whose values go on to the next segment; its loop body if it is a loop head.
  let exit: Node = start;
  let exitLoop: { bound: number; body: string } | undefined;
  const wireExit = (next: Executor | null) => {
    if (exitLoop !== undefined) {
      exit.forward = loopForward(exitLoop.bound, exitLoop.body, next?.id ?? null, inner);
    } else if (next !== null) exit.forward = send;
    else exit.forward = inner ? yieldBare : yieldEnd;
  };
  segments.forEach((segment, index) => {
    const at = `s${index}`;
    let entry: Executor;
    let last: Node;
    let loop: { bound: number; body: string } | undefined;
    switch (segment.kind) {
      case "chain": {
        const chain = Array.from({ length: segment.length }, (_, i) => made(`${at}-chain${i}`));
        for (let i = 0; i + 1 < chain.length; i++) builder.addEdge(chain[i], chain[i + 1]);
        [entry, last] = [chain[0], chain[chain.length - 1]];
        break;
      }
      case "fan": {
        entry = made(`${at}-fan`);
        const branches = Array.from({ length: segment.width }, (_, i) => made(`${at}-branch${i}`));
        last = made(`${at}-join`);
        builder
          .addFanOut(entry, branches, { select: (value: number, ids) => (value % 2 === 0 ? ids : [ids[0]]) })
          .addFanIn(branches, last);
        break;
      }
      case "switch": {
        entry = made(`${at}-switch`);
        const targets = Array.from({ length: segment.width }, (_, i) => made(`${at}-case${i}`));
        last = made(`${at}-merge`);
        const cases = targets.slice(0, -1).map((to, i) => ({
          when: (value: number) => value % segment.width === i,
          to,
        }));
        const fallback = targets[targets.length - 1];
        if (segment.withDefault) builder.addSwitch(entry, cases, { default: fallback });
        else builder.addSwitch(entry, [...cases, { when: () => true, to: fallback }]);
        for (const target of targets) builder.addEdge(target, last);
        break;
      }
      case "nested": {
        const innerPrefix = `${prefix}${at}-in-`;
        const innerStart = node(`${innerPrefix}start`, segment.asks ? "asking" : undefined);
        const workflow = buildGraph(`${name}/${at}`, innerStart, segment.segments, node, rename, innerPrefix)
          .build();
        entry = new WorkflowExecutor(rename(`${prefix}${at}-nested`), workflow);
        last = made(`${at}-after`);
        builder.addEdge(entry, last);
        break;
      }
      case "loop": {
        entry = last = made(`${at}-loop`, "stateful");
        const body = made(`${at}-body`);
        builder.addEdge(entry, body).addEdge(body, entry);
        loop = { bound: segment.bound, body: body.id };
        break;
      }
    }
    builder.addEdge(exit, entry);
    wireExit(entry);
    exit = last;
    exitLoop = loop;
  });
  wireExit(null);
  return builder;
}

const send: Forward = (value, ctx) => ctx.send(value);
const yieldEnd: Forward = (value, ctx, self) => ctx.yieldOutput(["end", self.id, value]);
const yieldBare: Forward = (value, ctx) => ctx.yieldOutput(value);

/** A loop head: round the loop `bound` times in every `bound + 1` passes, else on to `next` (or an output). */
function loopForward(bound: number, body: string, next: string | null, inner: boolean): Forward {
  return async (value, ctx, self) => {
    const pass = (self as StatefulNode).passes++;
    if (pass % (bound + 1) < bound) await ctx.send(value, { to: body });
    else if (next !== null) await ctx.send(value, { to: next });
    else await (inner ? yieldBare : yieldEnd)(value, ctx, self);
  };
}

/**
 * The calls that take a run from `first` to its end: while it waits, a fresh instance (of `variant`)
 * resumes its last checkpoint with every request answered (`answersTo`).
 */
export async function answerUntilDone(
  spec: GraphSpec,
  storage: CheckpointStorage,
  first: WorkflowResult,
  variant: GraphVariant = {},
): Promise<WorkflowResult[]> {
  const calls = [first];
  for (let last = first; last.status === "idle-pending-requests"; calls.push(last)) {
    last = await buildWorkflow(spec, storage, variant).resume(last.checkpointId!, {
      responses: answersTo(last.pendingRequests),
    });
  }
  return calls;
}
