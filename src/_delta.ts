// Delta payloads: a checkpoint stored as the change since an earlier checkpoint of its session (its base),
// so a run whose state grows by a record per superstep stores about a record per checkpoint instead of the
// whole state each time.
//
// Format (payload text): "~2" + JSON index + "\n" + body. The index holds the base ("b": an id, or null for
// a keyframe), the header fields ("h"), the depth ("d": how many payloads a load reads below this one), the
// run ("k": its place in its run of deltas, see below; absent when equal to the depth), the drift ("r":
// delta bytes along the chain) and one entry per segment ("s"): [name, 0] the base's same segment
// unchanged, [name, 1, n] a literal of n code units from the body, [name, 2, p, q, n] the base's text with
// its first p and last q code units kept and n body code units between them. A segment is one value as JSON
// text: the queued messages ("m"), pending requests ("p"), answers ("a"), versions ("v"), the graph
// description ("g"), the metadata ("md"), and one per shared-state key ("s:" + key), executor snapshot
// ("e:" + id) and fan-in buffer ("f:" + id).
//
// Only checkpoints whose every value JSON keeps exactly, with no object shared between two values, are
// written as delta payloads (`plainJsonTexts`); others are stored whole, as `encodeCheckpoint` writes them.
//
// The index's first field is the base, so a payload that starts with DELTA_WITH_BASE (`~2{"b":"`) is a delta
// and any other is whole (a keyframe, or as `encodeCheckpoint` writes it): SQL can tell them apart by prefix.
//
// Bases (`DeltaCodec.#base`): the parent's own base when the change since it is hardly bigger (for at most
// MAX_SPAN supersteps a base), else the parent while its run is shorter than maxDepth / 2, else the first
// checkpoint of the parent's run (its anchor: a keyframe, or a delta on the anchor before), else a keyframe.
//
// Resume copies (`DeltaCodec.encode` with `withCopy`): a delta checkpoint a session waits at may also be
// stored whole beside its payload, so that resuming it reads one payload, not its chain: COPY_MARK + JSON
// copy index (what the codec knows of its chain: base "b", depth "d", run "k", drift "r", anchor "a", bases
// "c") + "\n" + the checkpoint as `encodeCheckpoint` writes a plain one (JSON), decoded as a whole payload
// is. A copy is only a shortcut: a load uses it while the checkpoint's payload is still the delta on "b" it
// was copied from (`rebase` rewrites a payload as a keyframe, which no copy matches), and falls back to the
// chain when it is missing, does not match or does not decode. Its segments are made again from its text
// (a fresh parse, JSON.stringify of each value: the very texts the saving codec compared, as JSON keeps
// these values exactly) only when a save is written on it.
//
// Invariants: a delta's base is an ancestor in the same session (a fork's first checkpoint is a keyframe,
// so no session's payloads need another's); a chain ends at a keyframe within `maxDepth` payloads;
// deleting a checkpoint first rewrites each payload based on it as a keyframe (`rebase`), so every stored
// checkpoint loads; splits never fall inside a surrogate pair, so every stored text is well-formed.
import type { Checkpoint } from "./checkpoint.ts";
import { checkpointShapeProblem, decodeCheckpoint, plainJsonTexts } from "./codec.ts";
import { CheckpointCorruptError } from "./errors.ts";
import { defineEntry } from "./_records.ts";
import { flat, splice, type Text } from "./_pieces.ts";

const MARK = "~2";
/** How every resume copy starts (see the format above). */
const COPY_MARK = "~c";
/** How many supersteps one base may serve: a delete rewrites at most about this many of its dependents. */
const MAX_SPAN = 32;
/** Code units a delta on the parent's base may hold beyond one on the parent (and an eighth more). */
const SHARE_SLACK = 32;
/** How every delta payload whose base is a checkpoint (not a keyframe) starts: see the format above. */
export const DELTA_WITH_BASE = '~2{"b":"';

/** A checkpoint's segments: name → encoded text. */
type Segments = Map<string, string>;

/** The segments of a known checkpoint: a loaded one's may be in pieces until read (`textOf`). */
type KnownSegments = Map<string, Text>;

/** What is known of a stored checkpoint, to write its child as a delta or to load a delta on it. */
interface Known {
  id: string;
  sessionId: string;
  /** How many payloads a load reads below this one (0 for a keyframe). */
  depth: number;
  /** Its place in its run of deltas: 0 for a keyframe or an anchor (see `#base`), else its base's + 1. */
  run: number;
  /** The keyframe or anchor its run starts at (itself for one). */
  anchor: string;
  /**
   * The checkpoints a load of it reads, its base first (the checkpoint its payload is a delta on), back to a
   * keyframe; none for a keyframe.
   */
  bases: readonly string[];
  /** The code units of its own payload's body (the change since its base; the whole state in a keyframe). */
  own: number;
  drift: number;
  header: Header;
  /** Its segments; unset until first needed (`segmentsOfKnown`) when it was loaded from a resume copy. */
  segments: KnownSegments | undefined;
  /** A resume copy's checkpoint text, which its segments are made from when first needed; else unset. */
  text: string | undefined;
  /** The code units of its segments (what it takes of the cache). */
  size: number;
  /** Whether a resume copy of it may be stored: `false` only when it is known to have none. */
  copy: boolean;
  /** The codec's clock when it was last put at the newest end of the cache (`#touch`). */
  tick: number;
}

/** The checkpoint's fields besides its values. */
type Header = Pick<
  Checkpoint,
  "id" | "parentId" | "sessionId" | "workflowName" | "graphSignature" | "superstep" | "createdAt"
>;

interface Index {
  /**
   * The header: whole in a keyframe; in a delta only the fields that differ from what the base implies (its
   * own header, with the base as parent and the next superstep), `id` always.
   */
  h: Partial<Header> & { id: string };
  b: string | null;
  d: number;
  /** The run (see Known); absent when it equals `d` (always so before anchors were written). */
  k?: number;
  r: number;
  s: ([string, 0] | [string, 1, number] | [string, 2, number, number, number])[];
}

/** A resume copy's index (see the format above). */
interface CopyIndex {
  b: string;
  d: number;
  k?: number;
  r: number;
  a: string;
  c: string[];
}

/**
 * Reads stored payloads: `id`'s and its delta bases' ({@linkcode deltaBase}) back to a keyframe, `id`
 * first, at most `count` (fewer at a keyframe).
 */
export type ReadChain = (id: string, count: number) => Promise<{ id: string; payload: string }[]>;

/** Options of a {@linkcode DeltaCodec}. */
export interface DeltaOptions {
  /**
   * The most deltas in a row before a keyframe (a whole checkpoint); loading reads at most this many
   * stored payloads besides the keyframe.
   *
   * @default {32}
   */
  maxDepth?: number;
  /**
   * How many code units of segments the codec keeps in memory, of checkpoints it saved or loaded last,
   * to write their children as deltas.
   *
   * @default {16 MiB}
   */
  cacheSize?: number;
  /**
   * The longest resume copy written, in code units: a delta checkpoint a session waits at (it has pending
   * requests) is also stored whole, when an adapter keeps copies, so that resuming it reads one payload; `0`
   * writes none.
   *
   * @default {1 MiB}
   */
  copyLimit?: number;
}

/**
 * Whether a stored payload is a delta payload (else a whole checkpoint, as `encodeCheckpoint` writes).
 *
 * @param payload A stored payload.
 * @returns `true` for a delta payload.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeCheckpoint } from "@superstep/superstep";
 * import { DeltaCodec, encodeForStorage, isDeltaPayload } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const checkpoint = makeCheckpoint();
 * assert.equal(isDeltaPayload(encodeCheckpoint(checkpoint)), false);
 * assert.equal(isDeltaPayload(encodeForStorage("toy", checkpoint, new DeltaCodec()).payload), true);
 * ```
 */
export function isDeltaPayload(payload: string): boolean {
  return payload.startsWith(MARK);
}

/**
 * The id of the checkpoint a delta payload is based on (an ancestor), or `null` for a keyframe or a whole
 * payload: where a {@linkcode ReadChain} goes next.
 *
 * @param payload A stored payload.
 * @returns The base's id, or `null`.
 * @throws {CheckpointCorruptError} If it is a delta payload without a valid index.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeltaCodec, deltaBase, encodeForStorage } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const codec = new DeltaCodec();
 * const root = makeCheckpoint({ state: { n: [1] } });
 * const first = encodeForStorage("toy", root, codec);
 * first.stored();
 * const child = makeCheckpoint({ sessionId: root.sessionId, parentId: root.id, state: { n: [1, 2] } });
 * assert.equal(deltaBase(first.payload), null);
 * assert.equal(deltaBase(encodeForStorage("toy", child, codec).payload), root.id);
 * ```
 */
export function deltaBase(payload: string): string | null {
  // A keyframe's index is not read: only a delta on a checkpoint starts so (its base comes first).
  if (!payload.startsWith(DELTA_WITH_BASE)) return null;
  const end = payload.indexOf("\n");
  let index: { b?: unknown; h?: { id?: unknown } } | undefined;
  try {
    index = JSON.parse(payload.slice(MARK.length, end === -1 ? undefined : end));
  } catch {
    index = undefined;
  }
  if (typeof index?.h?.id !== "string") {
    throw new CheckpointCorruptError(undefined, "a delta payload has no valid index");
  }
  return typeof index.b === "string" ? index.b : null;
}

/**
 * Writes checkpoints as the change since an earlier checkpoint of their session, their base (delta
 * payloads), for an adapter: pass it to `encodeForStorage` and keep the result's `base` where a delete finds
 * it (call `stored()` once the save committed), load with `loadStoredCheckpoint`, and before deleting a
 * checkpoint store {@linkcode DeltaCodec.rebase}'s payload in place of each payload based on it. A
 * checkpoint is written as a delta when this codec saved or loaded its parent (it remembers the last ones,
 * up to `cacheSize`) in the same session: on the parent's own base when the change since it is hardly
 * bigger, else on the parent, else (a run of `maxDepth / 2` deltas on parents behind it) on the run's first
 * checkpoint; a load reads at most `maxDepth` deltas. Else, or when the deltas would outgrow the checkpoint,
 * as a keyframe, a whole checkpoint in the same format. One codec per storage instance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeltaCodec, encodeForStorage } from "@superstep/superstep/storage-kit";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const deltas = new DeltaCodec();
 * const items = Array.from({ length: 100 }, (_, i) => ({ id: i, text: "a record of some length" }));
 * const root = makeCheckpoint({ state: { items } });
 * const first = encodeForStorage("toy", root, deltas);
 * first.stored();
 * const child = makeCheckpoint({
 *   sessionId: root.sessionId,
 *   parentId: root.id,
 *   state: { items: [...items, { id: 100, text: "one more" }] },
 * });
 * const second = encodeForStorage("toy", child, deltas);
 * assert.ok(second.payload.length < first.payload.length / 10);
 * ```
 */
export class DeltaCodec {
  readonly #maxDepth: number;
  /** The longest run of deltas on parents (half of maxDepth): the rest of a chain is anchors. */
  readonly #run: number;
  readonly #cacheSize: number;
  readonly #copyLimit: number;
  /** By checkpoint id, least recently used first. */
  #known = new Map<string, Known>();
  #cached = 0;
  /** Counts uses of the cache (`#touch`, `#remember`). */
  #clock = 0;

  /**
   * Create a codec.
   *
   * @param options `maxDepth` and `cacheSize`.
   * @throws {RangeError} If an option is not a non-negative integer.
   */
  constructor(options: DeltaOptions = {}) {
    const { maxDepth = 32, cacheSize = 16 * 1024 * 1024, copyLimit = 1024 * 1024 } = options;
    if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) {
      throw new RangeError(`Invalid maxDepth: ${maxDepth} (a non-negative integer)`);
    }
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      throw new RangeError(`Invalid cacheSize: ${cacheSize} (a non-negative integer)`);
    }
    if (!Number.isSafeInteger(copyLimit) || copyLimit < 0) {
      throw new RangeError(`Invalid copyLimit: ${copyLimit} (a non-negative integer)`);
    }
    this.#copyLimit = copyLimit;
    this.#maxDepth = maxDepth;
    this.#run = Math.ceil(maxDepth / 2);
    this.#cacheSize = cacheSize;
  }

  /**
   * The payload of `checkpoint` and its base: a delta when its parent's segments are known here (it was
   * saved or loaded through this codec) and a chain may grow, else a keyframe; `undefined` when the
   * checkpoint's containers are not plain objects (the caller stores it whole, which keeps them exactly).
   * `remember` is to be called once the payload is stored. (`encodeForStorage` calls this.)
   *
   * @param checkpoint The checkpoint to store.
   * @param withCopy Also write a resume copy (the checkpoint whole, for a load that reads one payload) if
   *   the payload is a delta and the copy fits `copyLimit`.
   * @returns The payload, its base (`null` for a keyframe), its copy (or `null`) and what to call once it is
   *   stored, or `undefined`.
   * @throws {TypeError} If the checkpoint is malformed.
   * @throws {CheckpointEncodeError} If a value cannot be encoded.
   */
  encode(checkpoint: Checkpoint, withCopy = false): {
    payload: string;
    base: string | null;
    bases: readonly string[];
    copy: string | null;
    remember: () => void;
  } | undefined {
    const segments = segmentsOf(checkpoint);
    if (segments === undefined) return undefined;
    const header = headerOf(checkpoint);
    const chosen = this.#base(checkpoint, segments);
    const base = chosen?.base;
    const depth = base === undefined ? 0 : base.depth + 1;
    const run = chosen?.run ?? 0;
    const drift = base === undefined ? 0 : base.drift + chosen!.written.bytes;
    const { entries, body } = chosen?.written ?? keyframe(segments);
    const index: Index = {
      // First, so a backend can tell a delta from its payload's first bytes (DELTA_WITH_BASE).
      b: base === undefined ? null : base.id,
      h: base === undefined ? header : headerChange(header, base),
      d: depth,
      ...run !== depth && { k: run },
      r: drift,
      s: entries,
    };
    const payload = MARK + JSON.stringify(index) + "\n" + body;
    const known: Known = {
      id: checkpoint.id,
      sessionId: checkpoint.sessionId,
      depth,
      run,
      anchor: run === 0 ? checkpoint.id : base!.anchor,
      bases: base === undefined ? [] : [base.id, ...base.bases],
      drift,
      own: body.length,
      header,
      segments,
      text: undefined,
      size: sizeOf(segments),
      copy: false,
      tick: 0,
    };
    let copy = withCopy && base !== undefined && known.size <= this.#copyLimit
      ? copyOf(known, segments)
      : null;
    if (copy !== null && copy.length > this.#copyLimit) copy = null;
    known.copy = copy !== null;
    return { payload, base: index.b, bases: known.bases, copy, remember: () => this.#remember(known) };
  }

  /**
   * The base to write `checkpoint` as a delta on, with the delta and its run; `undefined` for a keyframe.
   * - The parent's own base, when the change since it is hardly bigger than since the parent (a state whose
   *   large values stay put while small ones change: every load reads two payloads, not a chain). A base
   *   serves at most MAX_SPAN supersteps, which bounds what a delete must rewrite; past it, a keyframe.
   * - Else the parent, while its run is shorter than half of `maxDepth`.
   * - Else the anchor of the parent's run: the run's changes become one delta that starts the next run, so
   *   a keyframe (the whole state) is written about once every (maxDepth / 2)² checkpoints, not every
   *   maxDepth, and a load still reads at most `maxDepth` deltas (anchors, then a run).
   */
  #base(checkpoint: Checkpoint, segments: Segments): Chosen | undefined {
    const parent = checkpoint.parentId === null ? undefined : this.#known.get(checkpoint.parentId);
    if (parent === undefined || parent.sessionId !== checkpoint.sessionId) return undefined;
    const size = sizeOf(segments);
    const onParent = delta(segments, parent);
    // Only when the parent itself changed little since its base (else the change since that base is at
    // least the parent's): a state that grows skips the second diff.
    const slack = onParent.bytes + SHARE_SLACK + onParent.bytes / 8;
    const parentBase = parent.bases[0];
    const shared = parentBase === undefined || parent.own > slack ? undefined : this.#known.get(parentBase);
    if (shared !== undefined) {
      const onShared = delta(segments, shared);
      if (onShared.bytes <= slack) {
        const span = checkpoint.superstep - shared.header.superstep;
        if (span > 0 && span <= MAX_SPAN && shared.drift + onShared.bytes <= size) {
          return { base: shared, written: onShared, run: shared.run + 1 };
        }
        // The same change as the parent's base would hold, but that base has served long enough.
        if (span > MAX_SPAN) return undefined;
      }
    }
    if (parent.run < this.#run && parent.depth < this.#maxDepth && parent.drift + onParent.bytes <= size) {
      return { base: parent, written: onParent, run: parent.run + 1 };
    }
    const anchor = this.#known.get(parent.anchor) ?? this.#furthestKnown(parent);
    if (anchor === undefined) {
      // No checkpoint of the parent's chain is known here but the parent (loaded from a resume copy, or the
      // cache let the rest go): the run goes on, as long as a load still reads at most maxDepth deltas.
      const room = parent.depth < this.#maxDepth && parent.drift + onParent.bytes <= size;
      return room ? { base: parent, written: onParent, run: parent.run + 1 } : undefined;
    }
    if (anchor.id !== parent.id && anchor.depth + 1 + this.#run <= this.#maxDepth) {
      const onAnchor = delta(segments, anchor);
      if (anchor.drift + onAnchor.bytes <= size) return { base: anchor, written: onAnchor, run: 0 };
    }
    return undefined;
  }

  /**
   * The known checkpoint of `known`'s chain nearest its keyframe, other than `known`: when the first
   * checkpoint of its run is not known (it was loaded from a resume copy), the next run starts on this one
   * instead, a delta on an ancestor as every base is.
   */
  #furthestKnown(known: Known): Known | undefined {
    for (let i = known.bases.length - 1; i >= 0; i--) {
      const found = this.#known.get(known.bases[i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * Decode a delta payload stored under `id`, reading its base chain with `read` when it is not known here.
   * (`loadStoredCheckpoint` calls this.)
   *
   * @param id The id it is stored under.
   * @param payload The delta payload.
   * @param read Reads the base chain.
   * @param copy Its resume copy as stored (see `encode`), `null` if it has none, or `undefined` if the
   *   adapter keeps none: a copy that matches the payload is read instead of the chain.
   * @returns The checkpoint.
   * @throws {CheckpointCorruptError} If it or its base chain does not decode.
   */
  async decode(id: string, payload: string, read: ReadChain, copy?: unknown): Promise<Checkpoint> {
    const cached = this.#known.get(id);
    if (typeof copy === "string") {
      // One parse, even when its segments are known here (parsing them one by one costs more). A damaged or
      // stale copy is only a lost shortcut: the chain holds the checkpoint.
      if (cached !== undefined) {
        const base = cached.bases[0];
        const checkpoint = base === undefined ? undefined : copiedCheckpoint(id, payload, copy, base);
        if (checkpoint !== undefined) {
          this.#touch(cached);
          return checkpoint;
        }
      } else {
        const copied = this.#fromCopy(id, payload, copy);
        if (copied !== undefined) {
          this.#remember(copied.known);
          return copied.checkpoint;
        }
      }
    }
    const known = await this.#resolve(id, payload, read);
    if (copy === null) known.copy = false;
    return assemble(id, known.header, flatSegments(segmentsOfKnown(known)));
  }

  /**
   * Whether a save on `parentId` in session `sessionId` must remove the parent's resume copy (its session
   * waits at it no more once a child is saved): unless it is known to have none, or to be in another session
   * (a fork's source still waits at it).
   *
   * @param parentId The parent of the checkpoint being saved.
   * @param sessionId The session of the checkpoint being saved.
   * @returns `false` when the parent is known to have no copy, or to be of another session.
   */
  mayHaveCopy(parentId: string, sessionId: string): boolean {
    const parent = this.#known.get(parentId);
    return parent === undefined || (parent.copy && parent.sessionId === sessionId);
  }

  /** What `copy` says of the checkpoint `id` stored as `payload`, or `undefined` if it does not match. */
  #fromCopy(id: string, payload: string, copy: string): { known: Known; checkpoint: Checkpoint } | undefined {
    const end = copy.indexOf("\n");
    if (!copy.startsWith(COPY_MARK) || end === -1) return undefined;
    let index: CopyIndex;
    try {
      index = JSON.parse(copy.slice(COPY_MARK.length, end));
    } catch {
      return undefined;
    }
    const { b, d, k, r, a, c } = index ?? {};
    if (
      typeof b !== "string" || typeof a !== "string" || !Number.isSafeInteger(d) ||
      !Number.isSafeInteger(r) ||
      (k !== undefined && !Number.isSafeInteger(k)) || !Array.isArray(c) || c[0] !== b ||
      !c.every((at) => typeof at === "string")
    ) {
      return undefined;
    }
    const checkpoint = copiedCheckpoint(id, payload, copy, b);
    if (checkpoint === undefined) return undefined;
    const text = copy.slice(end + 1);
    const known: Known = {
      id,
      sessionId: checkpoint.sessionId,
      depth: d,
      run: k ?? d,
      anchor: a,
      bases: c,
      drift: r,
      own: payload.length - payload.indexOf("\n") - 1,
      header: headerOf(checkpoint),
      // Made when a save is written on it, from a parse of its own (never the checkpoint handed out).
      segments: undefined,
      text,
      size: text.length,
      copy: true,
      tick: 0,
    };
    return { known, checkpoint };
  }

  /**
   * The keyframe payload of the delta payload `payload` (stored under `id`), or `undefined` if it is one
   * already or its base is not `deleted`: what its adapter writes in its place before deleting `deleted`,
   * in the same transaction, so that nothing stored needs a deleted payload.
   *
   * @param id The child's id.
   * @param payload The child's stored payload.
   * @param deleted The checkpoint about to be deleted.
   * @param read Reads the child's base chain.
   * @returns The child's payload as a keyframe, or `undefined` if it needs no rewrite.
   * @throws {CheckpointCorruptError} If the child or its base chain does not decode.
   */
  async rebase(id: string, payload: string, deleted: string, read: ReadChain): Promise<string | undefined> {
    if (!isDeltaPayload(payload)) return undefined;
    const index = parse(id, payload);
    if (index.b !== deleted) return undefined;
    const known = await this.#resolve(id, payload, read);
    const { entries, body } = keyframe(flatSegments(segmentsOfKnown(known)));
    const rewritten: Index = { b: null, h: known.header, d: 0, r: 0, s: entries };
    this.#remember({
      ...known,
      depth: 0,
      run: 0,
      anchor: id,
      bases: [],
      drift: 0,
      own: body.length,
      copy: false,
    });
    return MARK + JSON.stringify(rewritten) + "\n" + body;
  }

  /**
   * Forget what is known of `id` (its payload was deleted or replaced).
   *
   * @param id The checkpoint.
   */
  forget(id: string): void {
    const known = this.#known.get(id);
    if (known === undefined) return;
    this.#known.delete(id);
    this.#cached -= known.size;
  }

  async #resolve(
    id: string,
    payload: string,
    read: ReadChain,
    given?: Known,
    keep: "all" | "anchors" = "all",
  ): Promise<Known> {
    const cached = this.#known.get(id);
    if (cached !== undefined) return this.#touch(cached);
    const index = parse(id, payload);
    let base: Known | undefined;
    if (index.b !== null) {
      base = given?.id === index.b ? given : this.#known.get(index.b);
      if (base === undefined) base = await this.#resolveChain(id, index, read);
    }
    const header = headerFrom(id, index, base);
    const run = runOf(index);
    const known: Known = {
      id,
      sessionId: header.sessionId,
      depth: index.d,
      run,
      anchor: run === 0 || base === undefined ? id : base.anchor,
      bases: base === undefined ? [] : [base.id, ...base.bases],
      drift: index.r,
      own: payload.length - payload.indexOf("\n") - 1,
      header,
      segments: apply(id, index, payload, base === undefined ? undefined : segmentsOfKnown(base)),
      text: undefined,
      size: 0,
      copy: true,
      tick: 0,
    };
    known.size = sizeOf(known.segments!);
    if (keep === "all" || run === 0) this.#remember(known);
    return known;
  }

  /** The base of `index` (stored under `id`), from its chain of stored payloads back to a keyframe. */
  async #resolveChain(id: string, index: Index, read: ReadChain): Promise<Known> {
    const chain = await read(index.b!, Math.max(index.d, 1));
    // The chain as read, newest first: decode from its keyframe (or a known checkpoint) forwards.
    let start = chain.findIndex(({ id, payload }) =>
      this.#known.has(id) || !payload.startsWith(DELTA_WITH_BASE)
    );
    if (start === -1) {
      throw new CheckpointCorruptError(
        id,
        `its base chain from ${index.b} does not reach a whole checkpoint`,
      );
    }
    let base: Known | undefined;
    const none: ReadChain = () => Promise.resolve([]);
    for (; start >= 0; start--) {
      const { id: at, payload } = chain[start];
      if (!isDeltaPayload(payload)) {
        throw new CheckpointCorruptError(id, `its base ${at} is not a delta payload`);
      }
      // Each step's base is the one before it, passed on: a small cache may have let it go already. Kept
      // here: the base asked for and the keyframe and anchors (what later deltas are written on), not every
      // step between (each holds its own copy of a value that grew: a chain of them would be garbage).
      base = await this.#resolve(at, payload, none, base, start === 0 ? "all" : "anchors");
    }
    if (base === undefined || base.id !== index.b) {
      throw new CheckpointCorruptError(id, `its base ${index.b} is missing`);
    }
    return base;
  }

  #touch(known: Known): Known {
    // Moved to the newest end only from the older half: moving it on every use (a head loaded over and over)
    // made the map rehash its whole table every few uses, a garbage of the cache's size each time.
    if (this.#clock - known.tick > this.#known.size / 2) {
      this.#known.delete(known.id);
      this.#known.set(known.id, known);
      known.tick = this.#clock;
    }
    this.#clock++;
    return known;
  }

  #remember(known: Known): void {
    this.forget(known.id);
    const size = known.size;
    if (size > this.#cacheSize) return;
    this.#known.set(known.id, known);
    known.tick = this.#clock++;
    this.#cached += size;
    for (const [id, old] of this.#known) {
      if (this.#cached <= this.#cacheSize) break;
      this.#known.delete(id);
      this.#cached -= old.size;
    }
  }
}

/** The run of a stored payload's index (see Known). */
function runOf(index: Index): number {
  return index.b === null ? 0 : index.k ?? index.d;
}

function headerOf(checkpoint: Checkpoint): Header {
  const { id, parentId, sessionId, workflowName, graphSignature, superstep, createdAt } = checkpoint;
  return { id, parentId, sessionId, workflowName, graphSignature, superstep, createdAt };
}

/** What a delta on `base` stores of `header`: the fields that differ from what the base implies. */
function headerChange(header: Header, base: Known): Index["h"] {
  // Field by field, as headerFrom reads them back: this runs for every delta saved.
  const implied = base.header;
  const change: Index["h"] = { id: header.id };
  if (header.parentId !== base.id) change.parentId = header.parentId;
  if (header.sessionId !== implied.sessionId) change.sessionId = header.sessionId;
  if (header.workflowName !== implied.workflowName) change.workflowName = header.workflowName;
  if (header.graphSignature !== implied.graphSignature) change.graphSignature = header.graphSignature;
  if (header.superstep !== implied.superstep + 1) change.superstep = header.superstep;
  change.createdAt = header.createdAt;
  return change;
}

/** The whole header of the payload indexed by `index`: its own, or its change applied to its base's. */
function headerFrom(id: string, index: Index, base: Known | undefined): Header {
  const { h } = index;
  // Built field by field (no spread, no loop over names): this runs for every payload of a chain.
  const implied = base?.header;
  const header: Header = {
    id: h.id,
    parentId: h.parentId !== undefined ? h.parentId : base === undefined ? (undefined as never) : base.id,
    sessionId: h.sessionId ?? implied?.sessionId as string,
    workflowName: h.workflowName ?? implied?.workflowName as string,
    graphSignature: h.graphSignature ?? implied?.graphSignature as string,
    superstep: h.superstep ?? (implied === undefined ? NaN : implied.superstep + 1),
    createdAt: h.createdAt as string,
  };
  if (
    typeof header.sessionId !== "string" || typeof header.workflowName !== "string" ||
    typeof header.graphSignature !== "string" || typeof header.createdAt !== "string" ||
    (header.parentId !== null && typeof header.parentId !== "string") ||
    !Number.isSafeInteger(header.superstep)
  ) {
    throw new CheckpointCorruptError(id, "its delta payload's header is not valid");
  }
  return header;
}

/** Whether `value` is an object whose own keys are exactly its enumerable string keys, on Object.prototype. */
function isPlainContainer(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    return false;
  }
  return Reflect.ownKeys(value).length === Object.keys(value).length;
}

/**
 * The segments of a checkpoint, or `undefined` if it cannot be stored as segments exactly: a container
 * that is not a plain object, a value JSON does not keep, or an object shared between values.
 */
function segmentsOf(checkpoint: Checkpoint): Segments | undefined {
  const problem = checkpointShapeProblem(checkpoint);
  if (problem !== undefined) throw new TypeError(`Cannot encode checkpoint: ${problem}`);
  const { state, executorState, edgeState } = checkpoint;
  if (!isPlainContainer(state) || !isPlainContainer(executorState) || !isPlainContainer(edgeState)) {
    return undefined;
  }
  const names: string[] = ["m", "p"];
  const values: unknown[] = [checkpoint.messages, checkpoint.pendingRequests];
  const add = (name: string, value: unknown) => {
    names.push(name);
    values.push(value);
  };
  if (checkpoint.answers !== undefined && checkpoint.answers.length > 0) add("a", checkpoint.answers);
  if (checkpoint.versions !== undefined && Object.keys(checkpoint.versions).length > 0) {
    add("v", checkpoint.versions);
  }
  if (checkpoint.graph !== undefined) add("g", checkpoint.graph);
  add("md", checkpoint.metadata);
  for (const [key, value] of Object.entries(state)) add(`s:${key}`, value);
  for (const [key, value] of Object.entries(executorState)) add(`e:${key}`, value);
  for (const [key, value] of Object.entries(edgeState)) add(`f:${key}`, value);
  const texts = plainJsonTexts(values);
  if (texts === undefined) return undefined;
  return new Map(names.map((name, i) => [name, texts[i]]));
}

/**
 * The checkpoint in `copy`, a resume copy of checkpoint `id` stored as `payload`, or `undefined` if it is not
 * one or does not decode: both must name `base` (the copy was made of the delta on it that is still stored; a
 * rebase writes a keyframe, which names none).
 */
function copiedCheckpoint(id: string, payload: string, copy: string, base: string): Checkpoint | undefined {
  const named = '{"b":' + JSON.stringify(base) + ",";
  const end = copy.indexOf("\n");
  if (
    end === -1 || !copy.startsWith(COPY_MARK) || !copy.startsWith(named, COPY_MARK.length) ||
    !payload.startsWith(MARK) || !payload.startsWith(named, MARK.length)
  ) {
    return undefined;
  }
  try {
    return decodeCheckpoint(copy.slice(end + 1), id);
  } catch (error) {
    if (error instanceof CheckpointCorruptError) return undefined;
    throw error;
  }
}

/**
 * The segments of a known checkpoint, made (once) from its resume copy's text if it was loaded from one: a
 * fresh parse, and each value's JSON text as `segmentsOf` writes it, the same texts its saving codec had
 * (JSON keeps these values exactly).
 */
function segmentsOfKnown(known: Known): KnownSegments {
  if (known.segments === undefined) {
    known.segments = segmentsOf(JSON.parse(known.text!) as Checkpoint) ?? new Map();
    // The copy's text is no longer needed (its segments are slices of their own).
    known.text = undefined;
  }
  return known.segments;
}

function sizeOf(segments: KnownSegments): number {
  let size = 0;
  for (const text of segments.values()) size += text.length;
  return size;
}

/** The resume copy of `known` (see the format above), whose segments are `segments`. */
function copyOf(known: Known, segments: Segments): string {
  // The checkpoint's JSON from its segments' texts (what encodeCheckpoint writes, without a second encode),
  // with the same optional fields a delta's load gives.
  const { header } = known;
  const containers = { "s:": [] as string[], "e:": [] as string[], "f:": [] as string[] };
  for (const [name, text] of segments) {
    const members = containers[name.slice(0, 2) as keyof typeof containers];
    if (members !== undefined) members.push(JSON.stringify(name.slice(2)) + ":" + text);
  }
  const optional = (name: string, field: string) => {
    const text = segments.get(name);
    return text === undefined ? "" : `,"${field}":${text}`;
  };
  const whole =
    `{"version":1,"id":${JSON.stringify(header.id)},"parentId":${JSON.stringify(header.parentId)},` +
    `"sessionId":${JSON.stringify(header.sessionId)},"workflowName":${JSON.stringify(header.workflowName)},` +
    `"graphSignature":${JSON.stringify(header.graphSignature)},"superstep":${
      JSON.stringify(header.superstep)
    },` +
    `"createdAt":${JSON.stringify(header.createdAt)},"messages":${segments.get("m")},` +
    `"state":{${containers["s:"].join(",")}},"executorState":{${containers["e:"].join(",")}},` +
    `"edgeState":{${containers["f:"].join(",")}},"pendingRequests":${segments.get("p")}` +
    `${optional("a", "answers")}${optional("v", "versions")}${optional("g", "graph")},` +
    `"metadata":${segments.get("md")}}`;
  const index: CopyIndex = {
    b: known.bases[0],
    d: known.depth,
    ...known.run !== known.depth && { k: known.run },
    r: known.drift,
    a: known.anchor,
    c: known.bases as string[],
  };
  return COPY_MARK + JSON.stringify(index) + "\n" + whole;
}

function keyframe(segments: Segments): { entries: Index["s"]; body: string } {
  const entries: Index["s"] = [];
  let body = "";
  for (const [name, text] of segments) {
    entries.push([name, 1, text.length]);
    body += text;
  }
  return { entries, body };
}

/** A base chosen for a delta. */
interface Chosen {
  base: Known;
  written: Written;
  run: number;
}

interface Written {
  entries: Index["s"];
  body: string;
  bytes: number;
}

/** `segments` as changes to `base`'s: unchanged, or the differing middle between a common prefix and suffix. */
function delta(segments: Segments, base: Known): Written {
  const entries: Index["s"] = [];
  let body = "";
  const baseSegments = segmentsOfKnown(base);
  for (const [name, text] of segments) {
    const old = textOf(baseSegments, name);
    if (old === text) {
      entries.push([name, 0]);
      continue;
    }
    if (old === undefined) {
      entries.push([name, 1, text.length]);
      body += text;
      continue;
    }
    const [p, q] = common(old, text);
    const middle = text.slice(p, text.length - q);
    entries.push([name, 2, p, q, middle.length]);
    body += middle;
  }
  return { entries, body, bytes: body.length };
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * The lengths of the common prefix and suffix of two texts (not overlapping), never splitting a surrogate
 * pair. Native comparisons, galloping: a character loop over a large state would cost more than the rest of
 * a save, and a value that grew (the common case: a list with records appended) shares all but its end, so
 * the prefix is searched down from the longest and the suffix up from the shortest.
 */
function common(old: string, text: string): [number, number] {
  const limit = Math.min(old.length, text.length);
  // Comparing two slices is a memory comparison; startsWith of a slice copies it first (30× slower here).
  const prefixed = (n: number) => text.slice(0, n) === old.slice(0, n);
  let fits = limit;
  let fails = limit + 1;
  for (let step = 1; fits > 0 && !prefixed(fits); step *= 2) {
    fails = fits;
    fits = Math.max(0, limit - step);
  }
  while (fails - fits > 1) {
    const mid = (fits + fails) >>> 1;
    if (prefixed(mid)) fits = mid;
    else fails = mid;
  }
  let p = fits;
  if (p > 0 && isHigh(text.charCodeAt(p - 1))) p--;
  const room = limit - p;
  const suffixed = (n: number) => text.slice(text.length - n) === old.slice(old.length - n);
  let ok = 0;
  let bad = room + 1;
  for (let n = 1; n <= room; n *= 2) {
    if (!suffixed(n)) {
      bad = n;
      break;
    }
    ok = n;
  }
  if (bad === room + 1 && ok < room) {
    if (suffixed(room)) ok = room;
    else bad = room;
  }
  while (bad - ok > 1) {
    const mid = (ok + bad) >>> 1;
    if (suffixed(mid)) ok = mid;
    else bad = mid;
  }
  let q = ok;
  if (q > 0 && isLow(text.charCodeAt(text.length - q))) q--;
  return [p, q];
}

function parse(id: string, payload: string): Index {
  const end = payload.indexOf("\n");
  let index: unknown;
  try {
    index = end === -1 ? undefined : JSON.parse(payload.slice(MARK.length, end));
  } catch {
    index = undefined;
  }
  const record = index as Index | undefined;
  if (
    typeof record !== "object" || record === null || typeof record.h !== "object" || record.h === null ||
    !Array.isArray(record.s) || (record.b !== null && typeof record.b !== "string") ||
    !Number.isSafeInteger(record.d) || (record.k !== undefined && !Number.isSafeInteger(record.k)) ||
    record.h.id !== id
  ) {
    throw new CheckpointCorruptError(id, "its delta payload has no valid index");
  }
  return record;
}

/**
 * `segments` flat, in place: a loaded checkpoint's are joined once, when read, and stay joined (a delta
 * written on it compares them, a load parses them).
 */
function flatSegments(segments: KnownSegments): Segments {
  for (const [name, text] of segments) {
    if (typeof text !== "string") segments.set(name, flat(text));
  }
  return segments as Segments;
}

/** One of `segments`, flat (joined in place if it was in pieces). */
function textOf(segments: KnownSegments, name: string): string | undefined {
  const text = segments.get(name);
  if (text === undefined || typeof text === "string") return text;
  const joined = flat(text);
  segments.set(name, joined);
  return joined;
}

/** The segments a delta payload describes, given its base's (none for a keyframe). */
function apply(id: string, index: Index, payload: string, base: KnownSegments | undefined): KnownSegments {
  const segments: KnownSegments = new Map();
  let at = payload.indexOf("\n") + 1;
  const take = (length: number) => {
    if (!Number.isSafeInteger(length) || length < 0 || at + length > payload.length) {
      throw new CheckpointCorruptError(id, "its delta payload's body is shorter than its index says");
    }
    const text = payload.slice(at, at + length);
    at += length;
    return text;
  };
  for (const entry of index.s) {
    const [name, op] = entry;
    if (op === 1) {
      segments.set(name, take(entry[2] as number));
      continue;
    }
    const old = base?.get(name);
    if (old === undefined) {
      throw new CheckpointCorruptError(id, `its segment ${JSON.stringify(name)} has no base`);
    }
    if (op === 0) segments.set(name, old);
    else if (op === 2) {
      const [, , p, q, n] = entry as [string, 2, number, number, number];
      if (!Number.isSafeInteger(p) || !Number.isSafeInteger(q) || p < 0 || q < 0 || p + q > old.length) {
        throw new CheckpointCorruptError(id, `its segment ${JSON.stringify(name)} does not fit its base`);
      }
      segments.set(name, splice(old, p, take(n), q));
    } else throw new CheckpointCorruptError(id, `its segment ${JSON.stringify(name)} has an unknown kind`);
  }
  if (at !== payload.length) {
    throw new CheckpointCorruptError(id, "its delta payload's body is longer than its index says");
  }
  return segments;
}

/** The checkpoint of a header and its segments, checked as `decodeCheckpoint` checks a whole one. */
function assemble(id: string, header: Index["h"], segments: Segments): Checkpoint {
  const value = (name: string) => {
    const text = segments.get(name);
    try {
      return text === undefined ? undefined : JSON.parse(text);
    } catch (error) {
      throw new CheckpointCorruptError(id, `segment ${JSON.stringify(name)} is not JSON`, { cause: error });
    }
  };
  const state: Record<string, unknown> = {};
  const executorState: Record<string, unknown> = {};
  const edgeState: Record<string, unknown> = {};
  for (const name of segments.keys()) {
    if (name.startsWith("s:")) defineEntry(state, name.slice(2), value(name));
    else if (name.startsWith("e:")) defineEntry(executorState, name.slice(2), value(name));
    else if (name.startsWith("f:")) defineEntry(edgeState, name.slice(2), value(name));
  }
  const checkpoint = {
    version: 1,
    ...header,
    messages: value("m"),
    state,
    executorState,
    edgeState,
    pendingRequests: value("p"),
    ...segments.has("a") && { answers: value("a") },
    ...segments.has("v") && { versions: value("v") },
    ...segments.has("g") && { graph: value("g") },
    metadata: value("md"),
  };
  const problem = checkpointShapeProblem(checkpoint);
  if (problem !== undefined) throw new CheckpointCorruptError(id, problem);
  return checkpoint as Checkpoint;
}
