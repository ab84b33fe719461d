// Texts kept as pieces of stored payloads, joined only when read. A delta keeps a value's prefix and suffix
// from its base and puts new text between them; doing that with string concatenation copies the whole value
// at every step of a chain (V8 flattens a concatenated string when it is sliced again), so a value that grew
// over 32 deltas was copied 32 times to be loaded once. Slices of a flat string share its memory.

/** A text as the pieces it is made of, in order. */
export interface Pieces {
  readonly pieces: readonly string[];
  readonly length: number;
}

/** A text: flat, or in pieces. */
export type Text = string | Pieces;

/** Below this many code units a value is simply concatenated: copying it costs less than its pieces. */
const SMALL = 1024;

/** `text` with its middle, between its first `keep` and last `tail` code units, replaced by `middle`. */
export function splice(text: Text, keep: number, middle: string, tail: number): Text {
  if (typeof text === "string" && text.length < SMALL) {
    return text.slice(0, keep) + middle + text.slice(text.length - tail);
  }
  const pieces: string[] = [];
  pushSlice(pieces, text, 0, keep);
  if (middle.length > 0) pieces.push(middle);
  pushSlice(pieces, text, text.length - tail, text.length);
  return pieces.length === 1 ? pieces[0] : { pieces, length: keep + middle.length + tail };
}

/** The flat string of `text` (its pieces joined once). */
export function flat(text: Text): string {
  return typeof text === "string" ? text : text.pieces.join("");
}

/** Append the pieces of `text` from `start` to `end` (code units) to `into`, each a slice of a flat piece. */
function pushSlice(into: string[], text: Text, start: number, end: number): void {
  if (start >= end) return;
  if (typeof text === "string") {
    into.push(start === 0 && end === text.length ? text : text.slice(start, end));
    return;
  }
  let at = 0;
  for (const piece of text.pieces) {
    const next = at + piece.length;
    if (next > start) {
      const from = Math.max(start, at) - at;
      const to = Math.min(end, next) - at;
      into.push(from === 0 && to === piece.length ? piece : piece.slice(from, to));
    }
    at = next;
    if (at >= end) return;
  }
}
