/**
 * Session leases: claim a session so that one process at a time runs it, renew the claim while the run
 * goes on, and fence its saves (a run whose lease was taken over cannot save).
 *
 * @module
 */
import type { Checkpoint, CheckpointStorage, Lease, SaveOptions } from "./checkpoint.ts";
import { LeaseLostError, SessionLeasedError, StorageCapabilityError } from "./errors.ts";

/** Options of {@linkcode claimSession}. */
export interface ClaimSessionOptions {
  /** Who claims (a process, a host): a non-empty string. */
  owner: string;
  /**
   * How long the claim lasts without renewal, in milliseconds. The claim is renewed every third of it
   * while held, and before a save once half of it has passed; a host that dies holding it frees the
   * session this long after its last renewal.
   *
   * @default {30000}
   */
  leaseMs?: number;
  /**
   * The clock the lease's times are read from (ms since the epoch). Hosts sharing a storage must agree on
   * the time within a margin well under `leaseMs`. Tests pass a fake one.
   *
   * @default {Date.now}
   */
  clock?: () => number;
}

/** A held claim on a session (see {@linkcode claimSession}). */
export interface SessionClaim {
  /** The lease as last claimed or renewed. */
  readonly lease: Lease;
  /**
   * The storage to run the session with: every save carries the lease (and renews it first once half of
   * it has passed), so a save after another claimant took the session over fails with `LeaseLostError`
   * and writes nothing. Every other method is the storage's own.
   */
  readonly storage: CheckpointStorage;
  /** Whether the lease was found lost (a renewal or a save was refused). */
  readonly lost: boolean;
  /** Renew the lease now; `false` if it was lost. */
  renew(): Promise<boolean>;
  /** Stop renewing and drop the lease (if still held). */
  release(): Promise<void>;
}

/** The default lease length: 30 seconds. */
export const DEFAULT_LEASE_MS = 30_000;

/**
 * Whether a storage has the lease capability (`claimLease`, `renewLease` and `releaseLease`).
 *
 * @param storage The storage.
 * @returns `true` if it implements all three.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasLeases, MemoryCheckpointStorage } from "@superstep/superstep";
 *
 * assert.equal(hasLeases(new MemoryCheckpointStorage()), true);
 * ```
 * @experimental
 */
export function hasLeases(
  storage: CheckpointStorage,
): storage is
  & CheckpointStorage
  & Required<Pick<CheckpointStorage, "claimLease" | "renewLease" | "releaseLease">> {
  return typeof storage?.claimLease === "function" && typeof storage.renewLease === "function" &&
    typeof storage.releaseLease === "function";
}

/**
 * Claim a session: while the claim is held (until `release`, or until it lapses unrenewed), no other
 * claimant gets the session, and the claim's `storage` saves only while the lease is still this one. The
 * lease is renewed every third of `leaseMs` (on the real timer; the times written are the `clock`'s).
 *
 * @param storage A storage with the lease capability (every adapter of this package).
 * @param sessionId The session.
 * @param options The owner, the lease's length and the clock.
 * @returns The claim, or `undefined` if another claim holds the session.
 * @throws {StorageCapabilityError} If the storage has no leases.
 * @throws {RangeError} If `leaseMs` is not a positive finite number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { claimSession, MemoryCheckpointStorage } from "@superstep/superstep";
 * import { makeCheckpoint } from "@superstep/superstep/testing";
 *
 * const storage = new MemoryCheckpointStorage();
 * let now = 0;
 * const clock = () => now;
 * const first = (await claimSession(storage, "s1", { owner: "a", leaseMs: 1000, clock }))!;
 * assert.equal(await claimSession(storage, "s1", { owner: "b", leaseMs: 1000, clock }), undefined);
 * now = 1000; // a's lease lapsed unrenewed: b takes the session over, and a can no longer save
 * const second = (await claimSession(storage, "s1", { owner: "b", leaseMs: 1000, clock }))!;
 * await assert.rejects(first.storage.save(makeCheckpoint({ sessionId: "s1" })), { name: "LeaseLostError" });
 * await second.storage.save(makeCheckpoint({ sessionId: "s1" }));
 * await first.release();
 * await second.release();
 * ```
 * @experimental
 */
export async function claimSession(
  storage: CheckpointStorage,
  sessionId: string,
  options: ClaimSessionOptions,
): Promise<SessionClaim | undefined> {
  if (!hasLeases(storage)) throw new StorageCapabilityError("claimLease");
  const { owner, leaseMs = DEFAULT_LEASE_MS, clock = Date.now } = options;
  if (typeof leaseMs !== "number" || !Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new RangeError(
      `Cannot claim session ${
        JSON.stringify(sessionId)
      }: leaseMs must be a positive finite number, got ${leaseMs}`,
    );
  }
  const lease = await storage.claimLease(sessionId, owner, { now: clock(), ttlMs: leaseMs });
  if (lease === undefined) return undefined;
  return new Claim(storage, lease, leaseMs, clock);
}

/**
 * The storage a run with a `lease` option writes through, and what releases the lease when the run ends
 * (package-private: `Workflow.run` and `Workflow.resume` call it).
 *
 * @throws {SessionLeasedError} If another lease holds the session.
 */
export async function leaseForRun(
  storage: CheckpointStorage,
  sessionId: string,
  options: ClaimSessionOptions,
): Promise<{ storage: CheckpointStorage; release: () => Promise<void> }> {
  const claim = await claimSession(storage, sessionId, options);
  if (claim === undefined) throw new SessionLeasedError(sessionId, options.owner);
  return { storage: claim.storage, release: () => claim.release() };
}

type LeasedStorage = CheckpointStorage & Required<Pick<CheckpointStorage, "renewLease" | "releaseLease">>;

class Claim implements SessionClaim {
  #storage: LeasedStorage;
  #lease: Lease;
  #leaseMs: number;
  #clock: () => number;
  #lost = false;
  #released = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /**
   * The claim's storage calls, one at a time: a KV renewal changes the lease's versionstamp, which a save
   * racing it would read as a lost lease.
   */
  #queue: Promise<unknown> = Promise.resolve();
  readonly storage: CheckpointStorage;

  constructor(storage: LeasedStorage, lease: Lease, leaseMs: number, clock: () => number) {
    this.#storage = storage;
    this.#lease = lease;
    this.#leaseMs = leaseMs;
    this.#clock = clock;
    this.storage = fenced(storage, this);
    this.#timer = setInterval(() => void this.renew().catch(() => {}), Math.max(1, leaseMs / 3));
    // A claim must not keep a process alive on its own (Node, Bun: unref; Deno: Deno.unrefTimer).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  get lease(): Lease {
    return this.#lease;
  }

  get lost(): boolean {
    return this.#lost;
  }

  renew(): Promise<boolean> {
    return this.#exclusive(() => this.#renew());
  }

  async #renew(): Promise<boolean> {
    if (this.#lost || this.#released) return !this.#lost;
    const renewed = await this.#storage.renewLease(this.#lease, { now: this.#clock(), ttlMs: this.#leaseMs });
    if (renewed === undefined) this.#lose();
    else this.#lease = renewed;
    return renewed !== undefined;
  }

  /** Save with the lease: renewed first once half of it has passed; a refusal marks it lost. */
  save(checkpoint: Checkpoint, options: SaveOptions): Promise<void> {
    return this.#exclusive(async () => {
      if (!this.#lost && this.#lease.expiresAt - this.#clock() < this.#leaseMs / 2) await this.#renew();
      if (this.#lost) throw new LeaseLostError(undefined, this.#lease.sessionId, this.#lease.owner);
      try {
        await this.#storage.save(checkpoint, { ...options, lease: this.#lease });
      } catch (error) {
        if (error instanceof Error && error.name === "LeaseLostError") this.#lose();
        throw error;
      }
    });
  }

  #exclusive<T>(call: () => Promise<T>): Promise<T> {
    const done = this.#queue.then(call, call);
    this.#queue = done.catch(() => {});
    return done;
  }

  #lose(): void {
    this.#lost = true;
    this.#stop();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stop();
    await this.#exclusive(async () => {
      if (!this.#lost) await this.#storage.releaseLease(this.#lease);
    });
  }
}

/** `storage` with every save carrying the claim's lease. */
function fenced(storage: CheckpointStorage, claim: Claim): CheckpointStorage {
  return new Proxy(storage, {
    get(target, key) {
      if (key === "save") {
        return (checkpoint: Checkpoint, options: SaveOptions = {}) => claim.save(checkpoint, options);
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
