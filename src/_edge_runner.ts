// One edge runner per edge kind, behind one interface: given a message from a
// source, decide which executors receive what. Fan-in runners carry state (their
// buffers), which the checkpoint saves. Conditions may be async: a runner
// returns a Promise only when one returned a thenable, so synchronous graphs
// route without a microtask per message.
import { WorkflowRoutingError } from "./errors.ts";
import type { StrandedMessages } from "./events.ts";
import { describeType } from "./_describe.ts";
import { isThenable } from "./_promise.ts";
import type {
  CollectEdgeSpec,
  EdgeGroupSpec,
  FanInEdgeSpec,
  FanOutEdgeSpec,
  SingleEdgeSpec,
  SwitchEdgeSpec,
} from "./_graph.ts";

export type Deliver = (target: string, data: unknown) => void;

export interface EdgeRunner {
  readonly id: string;
  /**
   * Route `data` sent by `source` (restricted to `to` when given): deliver it, or buffer it. Returns a
   * Promise when a condition is async; the router awaits it before the next message.
   */
  route(source: string, data: unknown, to: string | undefined, deliver: Deliver): void | Promise<void>;
  /** Whether this group could ever deliver to `target`. */
  leadsTo(target: string): boolean;
  /** Deliver what became complete once every message of the superstep was routed (fan-in joins). */
  flush?(deliver: Deliver): void;
  /** Forget what a routing pass that never finished (a cancelled superstep) gathered. */
  begin?(): void;
  /** What a fan-in holds and still waits for, or `undefined` if its buffers are empty. */
  stranded?(): StrandedMessages | undefined;
  snapshot?(): unknown;
  restore?(state: unknown): void;
}

export function createEdgeRunner(spec: EdgeGroupSpec): EdgeRunner {
  switch (spec.kind) {
    case "single":
      return new SingleEdgeRunner(spec);
    case "fan-out":
      return new FanOutEdgeRunner(spec);
    case "switch":
      return new SwitchEdgeRunner(spec);
    case "fan-in":
      return new FanInEdgeRunner(spec);
    case "collect":
      return new CollectEdgeRunner(spec);
  }
}

class SingleEdgeRunner implements EdgeRunner {
  readonly id: string;
  #spec: SingleEdgeSpec;
  constructor(spec: SingleEdgeSpec) {
    this.id = spec.id;
    this.#spec = spec;
  }
  route(_source: string, data: unknown, to: string | undefined, deliver: Deliver): void | Promise<void> {
    const { target, when } = this.#spec;
    if (to !== undefined && to !== target) return;
    if (when === undefined) return deliver(target, data);
    return then(when(data), (ok) => ok ? deliver(target, data) : undefined);
  }
  leadsTo(target: string): boolean {
    return this.#spec.target === target;
  }
}

class FanOutEdgeRunner implements EdgeRunner {
  readonly id: string;
  #spec: FanOutEdgeSpec;
  constructor(spec: FanOutEdgeSpec) {
    this.id = spec.id;
    this.#spec = spec;
  }
  route(source: string, data: unknown, to: string | undefined, deliver: Deliver): void | Promise<void> {
    const { targets, select } = this.#spec;
    if (select === undefined) return this.#deliver(targets, to, deliver, data);
    return then(select(data, targets), (chosen) => {
      this.#check(source, chosen);
      this.#deliver(chosen, to, deliver, data);
    });
  }
  #check(source: string, chosen: unknown): asserts chosen is readonly string[] {
    const { targets } = this.#spec;
    if (!Array.isArray(chosen)) {
      throw new WorkflowRoutingError(source, `fan-out select returned ${typeof chosen}, not an array of ids`);
    }
    for (const id of chosen) {
      if (!targets.includes(id)) {
        throw new WorkflowRoutingError(
          source,
          `fan-out select returned "${id}", which is not one of its targets (${targets.join(", ")})`,
        );
      }
    }
  }
  #deliver(chosen: readonly string[], to: string | undefined, deliver: Deliver, data: unknown): void {
    for (const target of chosen) {
      if (to === undefined || to === target) deliver(target, data);
    }
  }
  leadsTo(target: string): boolean {
    return this.#spec.targets.includes(target);
  }
}

class SwitchEdgeRunner implements EdgeRunner {
  readonly id: string;
  #spec: SwitchEdgeSpec;
  constructor(spec: SwitchEdgeSpec) {
    this.id = spec.id;
    this.#spec = spec;
  }
  route(source: string, data: unknown, to: string | undefined, deliver: Deliver): void | Promise<void> {
    return this.#match(0, source, data, to, deliver);
  }
  /** Try the cases from `index` on, in order: the first that matches wins (each awaited if async). */
  #match(
    index: number,
    source: string,
    data: unknown,
    to: string | undefined,
    deliver: Deliver,
  ): void | Promise<void> {
    const { cases, defaultTarget } = this.#spec;
    for (let i = index; i < cases.length; i++) {
      const matched = cases[i].when(data);
      if (isThenable(matched)) {
        return Promise.resolve(matched).then((ok) =>
          ok ? this.#send(cases[i].target, to, deliver, data) : this.#match(i + 1, source, data, to, deliver)
        );
      }
      if (matched) return this.#send(cases[i].target, to, deliver, data);
    }
    if (defaultTarget === undefined) {
      throw new WorkflowRoutingError(source, "no switch case matched and the switch has no default");
    }
    this.#send(defaultTarget, to, deliver, data);
  }
  #send(target: string, to: string | undefined, deliver: Deliver, data: unknown): void {
    if (to === undefined || to === target) deliver(target, data);
  }
  leadsTo(target: string): boolean {
    return this.#spec.defaultTarget === target || this.#spec.cases.some((c) => c.target === target);
  }
}

/** Buffers per source; fires once every source has sent, with all buffered messages in source order. */
class FanInEdgeRunner implements EdgeRunner {
  readonly id: string;
  #spec: FanInEdgeSpec;
  #buffers = new Map<string, unknown[]>();
  constructor(spec: FanInEdgeSpec) {
    this.id = spec.id;
    this.#spec = spec;
  }
  route(source: string, data: unknown, to: string | undefined, _deliver: Deliver): void {
    if (to !== undefined && to !== this.#spec.target) return;
    const buffer = this.#buffers.get(source);
    if (buffer) buffer.push(data);
    else this.#buffers.set(source, [data]);
  }
  /** After a superstep's messages are routed: join everything buffered once every source has sent. */
  flush(deliver: Deliver): void {
    if (this.#buffers.size < this.#spec.sources.length) return;
    const joined = this.#spec.sources.flatMap((s) => this.#buffers.get(s)!);
    this.#buffers.clear();
    deliver(this.#spec.target, joined);
  }
  leadsTo(target: string): boolean {
    return this.#spec.target === target;
  }
  stranded(): StrandedMessages | undefined {
    if (this.#buffers.size === 0) return undefined;
    let messages = 0;
    for (const buffered of this.#buffers.values()) messages += buffered.length;
    return {
      edgeId: this.id,
      target: this.#spec.target,
      waitingFor: this.#spec.sources.filter((source) => !this.#buffers.has(source)),
      messages,
    };
  }
  snapshot(): unknown {
    if (this.#buffers.size === 0) return undefined;
    // Copies: the buffers keep growing after a snapshot is taken.
    return Object.fromEntries([...this.#buffers].map(([source, buffered]) => [source, [...buffered]]));
  }
  restore(state: unknown): void {
    this.#buffers.clear();
    if (state === undefined) return;
    if (state === null || typeof state !== "object" || Array.isArray(state)) {
      throw new TypeError(`fan-in state must be an object of buffers by source, got ${describeType(state)}`);
    }
    for (const source of this.#spec.sources) {
      if (!Object.hasOwn(state, source)) continue;
      const buffered = (state as Record<string, unknown>)[source];
      if (!Array.isArray(buffered)) {
        throw new TypeError(`fan-in buffer of "${source}" must be an array, got ${describeType(buffered)}`);
      }
      this.#buffers.set(source, [...buffered]);
    }
  }
}

/**
 * Gathers every message its sources send in one superstep and delivers them as one array to its target in
 * the next, however many there are (none: nothing is delivered). The join for a number of messages known
 * only at run time. Nothing stays buffered between supersteps: a superstep's messages are routed at once.
 */
class CollectEdgeRunner implements EdgeRunner {
  readonly id: string;
  #spec: CollectEdgeSpec;
  #gathered: unknown[] = [];
  constructor(spec: CollectEdgeSpec) {
    this.id = spec.id;
    this.#spec = spec;
  }
  begin(): void {
    this.#gathered = [];
  }
  route(_source: string, data: unknown, to: string | undefined, _deliver: Deliver): void {
    if (to === undefined || to === this.#spec.target) this.#gathered.push(data);
  }
  flush(deliver: Deliver): void {
    if (this.#gathered.length === 0) return;
    const gathered = this.#gathered;
    this.#gathered = [];
    deliver(this.#spec.target, gathered);
  }
  leadsTo(target: string): boolean {
    return this.#spec.target === target;
  }
}

/** `next(value)`, now if `value` is not a thenable, else once it resolves. */
function then<T>(value: T | PromiseLike<T>, next: (value: T) => void): void | Promise<void> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value as T);
}
