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
  Executor,
  type PendingRequest,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowExecutor,
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
  constructor(id: string, params: NodeParams) {
    super(id);
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

/** A fresh instance of the workflow `spec` describes, checkpointing to `storage`. */
export function buildWorkflow(spec: GraphSpec, storage: CheckpointStorage): Workflow {
  let count = 0;
  const node: MakeNode = (id, kind) => {
    const params = spec.params[count++ % spec.params.length];
    if (kind === "asking") return new AskingNode(id, params);
    return params.stateful || kind === "stateful" ? new StatefulNode(id, params) : new Node(id, params);
  };
  return buildGraph("random-graph", node("start"), spec.segments, node, false).withCheckpointing(storage)
    .build();
}

/**
 * The graph of `segments` after `start`, its executors' ids prefixed as `start`'s is; `inner` for a
 * sub-workflow's: only its exit yields, and only its bare values (which the WorkflowExecutor sends on).
 */
function buildGraph(name: string, start: Node, segments: Segment[], node: MakeNode, inner: boolean) {
  const prefix = start.id.slice(0, -"start".length);
  const made: MakeNode = (id, kind) => {
    const made = node(`${prefix}${id}`, kind);
    made.quiet = inner;
    return made;
  };
  start.quiet = inner;
  const builder = new WorkflowBuilder({ name, start, maxSupersteps: 500 });
  // The executor whose values go on to the next segment; its loop bound if it is a loop head.
  let exit: Node = start;
  let exitBound: number | undefined;
  const wireExit = (next: Executor | null) => {
    if (exitBound !== undefined) exit.forward = loopForward(exitBound, next?.id ?? null, inner);
    else if (next !== null) exit.forward = send;
    else exit.forward = inner ? yieldBare : yieldEnd;
  };
  segments.forEach((segment, index) => {
    const at = `s${index}`;
    let entry: Executor;
    let last: Node;
    let bound: number | undefined;
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
        const innerStart = made(`${at}-in-start`, segment.asks ? "asking" : undefined);
        const workflow = buildGraph(`${name}/${at}`, innerStart, segment.segments, node, true).build();
        entry = new WorkflowExecutor(`${prefix}${at}-nested`, workflow);
        last = made(`${at}-after`);
        builder.addEdge(entry, last);
        break;
      }
      case "loop": {
        entry = last = made(`${at}-loop`, "stateful");
        const body = made(`${at}-body`);
        builder.addEdge(entry, body).addEdge(body, entry);
        bound = segment.bound;
        break;
      }
    }
    builder.addEdge(exit, entry);
    wireExit(entry);
    exit = last;
    exitBound = bound;
  });
  wireExit(null);
  return builder;
}

const send: Forward = (value, ctx) => ctx.send(value);
const yieldEnd: Forward = (value, ctx, self) => ctx.yieldOutput(["end", self.id, value]);
const yieldBare: Forward = (value, ctx) => ctx.yieldOutput(value);

/** A loop head: round the loop `bound` times in every `bound + 1` passes, else on to `next` (or an output). */
function loopForward(bound: number, next: string | null, inner: boolean): Forward {
  return async (value, ctx, self) => {
    const pass = (self as StatefulNode).passes++;
    if (pass % (bound + 1) < bound) await ctx.send(value, { to: `${self.id.slice(0, -"loop".length)}body` });
    else if (next !== null) await ctx.send(value, { to: next });
    else await (inner ? yieldBare : yieldEnd)(value, ctx, self);
  };
}
