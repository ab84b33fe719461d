/**
 * The storage kit's part for leases (package-private; re-exported by `storage_kit.ts`): how an adapter
 * checks a claim, makes a lease, decides whether a stored lease is free, and words a lost lease.
 *
 * @module
 */
import type { Lease, LeaseRequest } from "./checkpoint.ts";
import { idProblem } from "./_ids.ts";
import { LeaseLostError } from "./errors.ts";
import { newId } from "./_ulid.ts";

/** A claim as an adapter gets it once checked: the session, the owner, and the request's times. */
export interface CheckedLeaseClaim {
  /** The session to claim. */
  sessionId: string;
  /** The claimant. */
  owner: string;
  /** The claimant's time now (ms since the epoch). */
  now: number;
  /** When the new lease lapses: `now + ttlMs`. */
  expiresAt: number;
}

/**
 * Check the arguments of `claimLease`.
 *
 * @param adapter The adapter's name, which starts the message.
 * @param sessionId The session to claim.
 * @param owner The claimant.
 * @param request The claimant's clock and the lease's length.
 * @returns The claim, with its `expiresAt`.
 * @throws {TypeError} If the session id or owner is not a non-empty well-formed string, or `now` is not a
 *   finite number.
 * @throws {RangeError} If `ttlMs` is not a positive finite number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLeaseClaim } from "@superstep/superstep/storage-kit";
 *
 * assert.equal(checkLeaseClaim("toy", "s1", "worker", { now: 1000, ttlMs: 500 }).expiresAt, 1500);
 * assert.throws(() => checkLeaseClaim("toy", "s1", "", { now: 1000, ttlMs: 500 }), TypeError);
 * assert.throws(() => checkLeaseClaim("toy", "s1", "worker", { now: 1000, ttlMs: 0 }), RangeError);
 * ```
 */
export function checkLeaseClaim(
  adapter: string,
  sessionId: unknown,
  owner: unknown,
  request: LeaseRequest,
): CheckedLeaseClaim {
  const operation = "claim a lease";
  checkName(adapter, operation, "session id", sessionId);
  checkName(adapter, operation, "owner", owner);
  const { now, expiresAt } = checkRequest(adapter, operation, request);
  return { sessionId: sessionId as string, owner: owner as string, now, expiresAt };
}

/**
 * Check a lease given to `renewLease`, `releaseLease` or `save` (a value of the {@linkcode Lease} shape).
 *
 * @param adapter The adapter's name, which starts the message.
 * @param operation What is being done, as a verb phrase (`"renew a lease"`).
 * @param lease The lease.
 * @returns The lease.
 * @throws {TypeError} If it is not a lease.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLease } from "@superstep/superstep/storage-kit";
 *
 * const lease = { sessionId: "s1", owner: "w", token: "t", expiresAt: 1 };
 * assert.equal(checkLease("toy", "renew a lease", lease), lease);
 * assert.throws(() => checkLease("toy", "renew a lease", { sessionId: "s1" } as never), TypeError);
 * ```
 */
export function checkLease(adapter: string, operation: string, lease: Lease): Lease {
  if (typeof lease !== "object" || lease === null) {
    throw new TypeError(`${adapter}: cannot ${operation}: the lease must be an object, got ${lease}`);
  }
  checkName(adapter, operation, "lease session id", lease.sessionId);
  checkName(adapter, operation, "lease owner", lease.owner);
  checkName(adapter, operation, "lease token", lease.token);
  return lease;
}

/**
 * Check the request of `renewLease`.
 *
 * @param adapter The adapter's name, which starts the message.
 * @param request The claimant's clock and the lease's length.
 * @returns The time now and the renewed lease's `expiresAt`.
 * @throws {TypeError} If `now` is not a finite number.
 * @throws {RangeError} If `ttlMs` is not a positive finite number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLeaseRequest } from "@superstep/superstep/storage-kit";
 *
 * assert.deepEqual(checkLeaseRequest("toy", { now: 10, ttlMs: 5 }), { now: 10, expiresAt: 15 });
 * ```
 */
export function checkLeaseRequest(
  adapter: string,
  request: LeaseRequest,
): { now: number; expiresAt: number } {
  return checkRequest(adapter, "renew a lease", request);
}

/**
 * A new lease for a checked claim, with a fresh token.
 *
 * @param claim The checked claim.
 * @returns The lease.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLeaseClaim, newLease } from "@superstep/superstep/storage-kit";
 *
 * const claim = checkLeaseClaim("toy", "s1", "w", { now: 0, ttlMs: 10 });
 * assert.notEqual(newLease(claim).token, newLease(claim).token);
 * ```
 */
export function newLease(claim: CheckedLeaseClaim): Lease {
  return { sessionId: claim.sessionId, owner: claim.owner, token: newId(), expiresAt: claim.expiresAt };
}

/**
 * Whether a stored lease leaves its session free to claim at `now`: there is none, or it lapsed.
 *
 * @param stored The session's stored lease's `expiresAt`, or `undefined` for none.
 * @param now The claimant's time now.
 * @returns Whether a claim may take the session.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leaseFree } from "@superstep/superstep/storage-kit";
 *
 * assert.equal(leaseFree(undefined, 5), true);
 * assert.equal(leaseFree(5, 5), true);
 * assert.equal(leaseFree(6, 5), false);
 * ```
 */
export function leaseFree(stored: number | undefined, now: number): boolean {
  return stored === undefined || stored <= now;
}

/**
 * The error of a save whose lease is no longer its session's.
 *
 * @param adapter The adapter's name, which starts the message.
 * @param lease The lease the save carried.
 * @returns The error to throw (nothing was written).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leaseLost } from "@superstep/superstep/storage-kit";
 *
 * const error = leaseLost("toy", { sessionId: "s1", owner: "w", token: "t", expiresAt: 1 });
 * assert.equal(error.name, "LeaseLostError");
 * ```
 */
export function leaseLost(adapter: string, lease: Lease): LeaseLostError {
  return new LeaseLostError(adapter, lease.sessionId, lease.owner);
}

function checkName(adapter: string, operation: string, what: string, value: unknown): void {
  const problem = idProblem(value);
  if (problem !== undefined) {
    throw new TypeError(
      `${adapter}: cannot ${operation}: invalid ${what} ${JSON.stringify(value)}: ${problem}`,
    );
  }
}

function checkRequest(
  adapter: string,
  operation: string,
  request: LeaseRequest,
): { now: number; expiresAt: number } {
  const { now, ttlMs } = request ?? {};
  if (typeof now !== "number" || !Number.isFinite(now)) {
    throw new TypeError(`${adapter}: cannot ${operation}: now must be a finite number, got ${now}`);
  }
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(
      `${adapter}: cannot ${operation}: ttlMs must be a positive finite number, got ${ttlMs}`,
    );
  }
  return { now, expiresAt: now + ttlMs };
}
