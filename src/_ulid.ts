/**
 * Time-ordered ids (package-private). Checkpoint ids are ULIDs: 26 Crockford base32 characters, 48 bits of
 * milliseconds then 80 random bits, so that sorting ids as strings sorts them by creation time.
 *
 * @module
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_LENGTH = 10;
const RANDOM_LENGTH = 16;
const MAX_TIME = 2 ** 48 - 1;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < TIME_LENGTH; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

// Random bytes for 256 ids at a time: one getRandomValues call costs microseconds on Node, more than the
// rest of a small checkpoint, and an id needs only 16 bytes. Filled on first use, never at import (workerd
// forbids random values in the global scope).
const POOL = new Uint8Array(RANDOM_LENGTH * 256);
let poolOffset = POOL.length;

/** The alphabet's character codes, by digit. */
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));

function encodeRandom(): string {
  if (poolOffset === POOL.length) {
    crypto.getRandomValues(POOL);
    poolOffset = 0;
  }
  // 256 is a multiple of 32, so the low five bits of a uniform byte are uniform. One string made at once: a
  // loop of `+=` makes sixteen, and a rope V8 flattens again when the id is first hashed or compared.
  const p = POOL;
  const o = poolOffset;
  poolOffset += RANDOM_LENGTH;
  return String.fromCharCode(
    CODES[p[o] & 31],
    CODES[p[o + 1] & 31],
    CODES[p[o + 2] & 31],
    CODES[p[o + 3] & 31],
    CODES[p[o + 4] & 31],
    CODES[p[o + 5] & 31],
    CODES[p[o + 6] & 31],
    CODES[p[o + 7] & 31],
    CODES[p[o + 8] & 31],
    CODES[p[o + 9] & 31],
    CODES[p[o + 10] & 31],
    CODES[p[o + 11] & 31],
    CODES[p[o + 12] & 31],
    CODES[p[o + 13] & 31],
    CODES[p[o + 14] & 31],
    CODES[p[o + 15] & 31],
  );
}

/** The milliseconds of a ULID's time part. */
function timeOf(id: string): number {
  let ms = 0;
  for (let i = 0; i < TIME_LENGTH; i++) ms = ms * 32 + ALPHABET.indexOf(id[i]);
  return ms;
}

/** The millisecond after a ULID's time. */
function nextTime(id: string): number {
  const ms = timeOf(id) + 1;
  if (ms > MAX_TIME) throw new RangeError(`Cannot make an id greater than ${id}: the id space is exhausted`);
  return ms;
}

/** The ULID one greater than `id` (carrying from the random part into the time part). */
function increment(id: string): string {
  // The common case: the last digit grows without a carry.
  const last = ALPHABET.indexOf(id[id.length - 1]);
  if (last < 31) return id.slice(0, -1) + ALPHABET[last + 1];
  const digits = id.split("");
  for (let i = digits.length - 1; i >= 0; i--) {
    const value = ALPHABET.indexOf(digits[i]);
    if (value < 31) {
      digits[i] = ALPHABET[value + 1];
      const next = digits.join("");
      if (next[0] > "7") break;
      return next;
    }
    digits[i] = "0";
  }
  throw new RangeError(`Cannot make an id greater than ${id}: the id space is exhausted`);
}

/**
 * A generator of strictly increasing ULIDs with its own state. {@linkcode newId} is the process-wide one;
 * tests make their own so that moving the clock cannot leak between them.
 *
 * @returns The generator, with the behaviour documented on {@linkcode newId}.
 */
export function idGenerator(): (after?: string) => string {
  let last = "";
  let lastTime = -1;
  let timeText = "";
  return (after?: string): string => {
    const now = Math.min(Math.max(Date.now(), 0), MAX_TIME);
    if (now !== lastTime) {
      lastTime = now;
      timeText = encodeTime(now);
    }
    let id = timeText + encodeRandom();
    if (after !== undefined && after > last && ULID.test(after)) {
      // `after` comes from another writer whose clock may be ahead: borrow its time, never its random part.
      // Other writers lagging behind the same parent must not all derive one id from it (`after` + 1).
      if (id <= after) id = encodeTime(timeOf(after)) + id.slice(TIME_LENGTH);
      if (id <= after) id = encodeTime(nextTime(after)) + id.slice(TIME_LENGTH);
    } else if (id <= last) {
      // Our own previous id (same millisecond, or our clock stepped back): no other writer has it.
      id = increment(last);
    }
    last = id;
    return id;
  };
}

const processIds = idGenerator();

/**
 * A new ULID: 26 Crockford base32 characters, time-ordered.
 *
 * Ids from one process are strictly increasing, even within one millisecond (the previous id is
 * incremented) or when the clock steps back. With `after` (a parent's id), the result is also strictly
 * greater than `after`, so a child sorts after its parent even when it is written by another process whose
 * clock is behind: it takes `after`'s time (or the next millisecond) with fresh random bits, so several such
 * processes writing children of one parent still get distinct ids. `after` is honoured only if it is a ULID (uppercase Crockford base32, as made here); any
 * other string is ignored, since ids written by other tools must not make a run fail.
 *
 * @param after An id the result must sort after.
 * @returns The new id.
 * @throws {RangeError} If `after` is the greatest possible ULID.
 */
export function newId(after?: string): string {
  return processIds(after);
}

/**
 * A new session id: `crypto.randomUUID()` (122 random bits). Sessions are named, not ordered, so their ids
 * carry no creation time (which a ULID would leak).
 *
 * @returns The new session id.
 */
export function newSessionId(): string {
  return crypto.randomUUID();
}
