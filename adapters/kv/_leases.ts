// The leases of the Deno KV checkpoint storage (package-private): one key per claimed session, holding the
// lease as JSON; a claim, a renewal and a release are each one atomic checked on the key's versionstamp,
// and a save carrying a lease checks the same versionstamp in its own commit (the fence).
import type { Lease, LeaseRequest } from "../../src/checkpoint.ts";
import * as kit from "../../src/storage_kit.ts";
import type { KvHandle, KvKey } from "./handle.ts";
import type { Layout } from "./_layout.ts";
import { decodeText, encodeText } from "./_records.ts";

const ADAPTER = "kv";

/** A session's lease as read, with the versionstamp a commit checks. */
interface Held {
  lease: Lease | undefined;
  check: { key: KvKey; versionstamp: string | null };
}

export class KvLeases {
  readonly #kv: KvHandle;
  readonly #keys: Layout;

  constructor(kv: KvHandle, keys: Layout) {
    this.#kv = kv;
    this.#keys = keys;
  }

  async claim(sessionId: string, owner: string, request: LeaseRequest): Promise<Lease | undefined> {
    const claim = kit.checkLeaseClaim(ADAPTER, sessionId, owner, request);
    const held = await this.#read(sessionId);
    if (!kit.leaseFree(held.lease?.expiresAt, claim.now)) return undefined;
    const lease = kit.newLease(claim);
    // A claimant that read the same free lease and committed first makes this check fail: one owner.
    return await this.#write(held, lease) ? lease : undefined;
  }

  async renew(lease: Lease, request: LeaseRequest): Promise<Lease | undefined> {
    kit.checkLease(ADAPTER, "renew a lease", lease);
    const { expiresAt } = kit.checkLeaseRequest(ADAPTER, request);
    const held = await this.#read(lease.sessionId);
    if (held.lease?.token !== lease.token) return undefined;
    const renewed = { ...held.lease, expiresAt };
    return await this.#write(held, renewed) ? renewed : undefined;
  }

  async release(lease: Lease): Promise<boolean> {
    kit.checkLease(ADAPTER, "release a lease", lease);
    const held = await this.#read(lease.sessionId);
    if (held.lease?.token !== lease.token) return false;
    return (await this.#kv.atomic().check(held.check).delete(held.check.key).commit()).ok;
  }

  /**
   * The check a save carrying `lease` adds to its commit.
   *
   * @throws {LeaseLostError} If `lease` is not the session's lease now.
   */
  async fence(lease: Lease, sessionId: string): Promise<{ key: KvKey; versionstamp: string | null }> {
    kit.checkLease(ADAPTER, "save a checkpoint", lease);
    const held = await this.#read(sessionId);
    if (lease.sessionId !== sessionId || held.lease?.token !== lease.token) {
      throw kit.leaseLost(ADAPTER, lease);
    }
    return held.check;
  }

  /** Whether `lease` is still the session's lease (after a failed commit, to explain it). */
  async holds(lease: Lease): Promise<boolean> {
    return (await this.#read(lease.sessionId)).lease?.token === lease.token;
  }

  async #read(sessionId: string): Promise<Held> {
    const key = this.#keys.lease(sessionId);
    const entry = await this.#kv.get(key);
    return { lease: decodeLease(entry.value), check: { key, versionstamp: entry.versionstamp } };
  }

  async #write(held: Held, lease: Lease): Promise<boolean> {
    const value = encodeText(JSON.stringify(lease));
    return (await this.#kv.atomic().check(held.check).set(held.check.key, value).commit()).ok;
  }
}

/** The stored lease; one that does not decode counts as none (a claim replaces it). */
function decodeLease(value: unknown): Lease | undefined {
  const text = decodeText(value);
  if (text === undefined) return undefined;
  try {
    const lease = JSON.parse(text) as Lease;
    return typeof lease?.token === "string" && typeof lease.expiresAt === "number" ? lease : undefined;
  } catch {
    return undefined;
  }
}
