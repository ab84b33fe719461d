// Resume copies (src/_delta.ts through the storage kit): a delta checkpoint its session waits at is also
// stored whole, so resuming it reads one payload; a copy that no longer matches its payload, or is damaged,
// is only a lost shortcut (the chain is read), and what a load from a copy teaches the codec lets the next
// save continue the chain exactly as if the chain had been read.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Checkpoint } from "../mod.ts";
import {
  deltaBase,
  DeltaCodec,
  type EncodedCheckpoint,
  encodeForStorage,
  loadStoredCheckpoint,
  type ReadChain,
} from "../src/storage_kit.ts";
import { makeCheckpoint } from "../testing/mod.ts";

const WAITING = [{ requestId: "r1", executorId: "review", data: { question: "ok?" } }];

/** A session whose state grows by a record each superstep; the last checkpoint waits for an answer. */
function session(length: number, waitAtEnd = true): Checkpoint[] {
  // A large value that stays put, so that the deltas stay small beside the state (no keyframe by drift).
  const first = makeCheckpoint({ state: { doc: "a document. ".repeat(1000), items: [] } });
  const out = [first];
  for (let i = 1; i < length; i++) {
    const parent = out[i - 1];
    out.push(makeCheckpoint({
      sessionId: first.sessionId,
      parentId: parent.id,
      superstep: i,
      state: {
        doc: parent.state.doc,
        items: [...(parent.state.items as unknown[]), { n: i, text: `record ${i} of the session` }],
      },
      messages: i === length - 1 && waitAtEnd ? [] : [{ source: "a", data: i }],
      pendingRequests: i === length - 1 && waitAtEnd ? WAITING : [],
    }));
  }
  return out;
}

/** Encode `checkpoints` through `codec` with copies, as an adapter keeping them would store them. */
function save(codec: DeltaCodec, checkpoints: Checkpoint[], stored = new Map<string, EncodedCheckpoint>()) {
  for (const checkpoint of checkpoints) {
    const encoded = encodeForStorage("test", checkpoint, codec, { copies: true });
    stored.set(checkpoint.id, encoded);
    const parent = encoded.dropCopy === null ? undefined : stored.get(encoded.dropCopy);
    if (parent !== undefined) parent.copy = null;
    encoded.stored();
  }
  const reads: string[] = [];
  const read: ReadChain = (id, count) => {
    reads.push(id);
    const out: { id: string; payload: string }[] = [];
    for (let at: string | null = id; at !== null && stored.has(at) && out.length < count;) {
      const { payload } = stored.get(at)!;
      out.push({ id: at, payload });
      at = deltaBase(payload);
    }
    return Promise.resolve(out);
  };
  const load = (codec: DeltaCodec, id: string, copy?: unknown) => {
    const record = stored.get(id)!;
    return loadStoredCheckpoint("test", record.summary, record.payload, codec, read, copy);
  };
  return { stored, read, reads, load };
}

describe("resume copies", () => {
  test("only a delta checkpoint its session waits at gets one, and only when the adapter keeps copies", () => {
    const codec = new DeltaCodec();
    const checkpoints = session(6);
    const { stored } = save(codec, checkpoints);
    const copies = checkpoints.map(({ id }) => stored.get(id)!.copy !== null);
    assert.deepEqual(copies, [false, false, false, false, false, true]);
    const head = stored.get(checkpoints[5].id)!;
    assert.ok(head.copy!.length > head.payload.length, "a copy holds the whole state");

    const without = new DeltaCodec();
    for (const checkpoint of checkpoints) {
      const encoded = encodeForStorage("test", checkpoint, without);
      assert.equal(encoded.copy, null);
      assert.equal(encoded.dropCopy, null);
      encoded.stored();
    }
  });

  test("a keyframe that waits gets none: it loads from one payload already", () => {
    const waiting = makeCheckpoint({ state: { a: 1 }, pendingRequests: WAITING });
    assert.equal(encodeForStorage("test", waiting, new DeltaCodec(), { copies: true }).copy, null);
  });

  test("copyLimit bounds a copy; 0 writes none", () => {
    const checkpoints = session(6);
    for (const copyLimit of [0, 2000]) {
      const { stored } = save(new DeltaCodec({ copyLimit }), checkpoints);
      assert.equal(stored.get(checkpoints[5].id)!.copy, null, `copyLimit ${copyLimit}`);
    }
    assert.throws(() => new DeltaCodec({ copyLimit: -1 }), RangeError);
  });

  test("a cold codec loads the waiting head from its copy alone, exactly", async () => {
    const checkpoints = session(40);
    const { load, reads, stored } = save(new DeltaCodec(), checkpoints);
    const head = checkpoints.at(-1)!;
    assert.deepEqual(await load(new DeltaCodec(), head.id, undefined), head, "through the chain");
    assert.ok(reads.length > 0);
    reads.length = 0;
    assert.deepEqual(await load(new DeltaCodec(), head.id, stored.get(head.id)!.copy), head);
    assert.deepEqual(reads, [], "the copy is read instead of the chain");
  });

  test("after a load from the copy the saves go on as deltas, about as small as those of one codec throughout", async () => {
    const checkpoints = session(60, false);
    // The same session saved by one codec throughout, and by a process that resumes at checkpoint 29.
    const reference = save(new DeltaCodec(), checkpoints).stored;
    const resumedAt = 29;
    const before = checkpoints.slice(0, resumedAt + 1).map((checkpoint, i) =>
      i === resumedAt ? { ...checkpoint, messages: [], pendingRequests: WAITING } : checkpoint
    );
    const first = save(new DeltaCodec(), before);
    const head = first.stored.get(checkpoints[resumedAt].id)!;
    assert.notEqual(head.copy, null);
    const resumed = new DeltaCodec();
    first.reads.length = 0;
    assert.deepEqual(await first.load(resumed, head.summary.id, head.copy), before[resumedAt]);
    assert.deepEqual(first.reads, []);
    const after = save(resumed, checkpoints.slice(resumedAt + 1), first.stored);
    // Its base's payload is not known to the resumed codec: the chain goes on on parents, never past 32.
    const resumedBytes = { saved: 0, reference: 0 };
    for (const checkpoint of checkpoints.slice(resumedAt + 1)) {
      const encoded = after.stored.get(checkpoint.id)!;
      assert.ok(encoded.bases.length <= 32, `${checkpoint.superstep}: a bounded chain`);
      assert.equal(encoded.bases[0] ?? null, encoded.base);
      resumedBytes.saved += encoded.payload.length;
      resumedBytes.reference += reference.get(checkpoint.id)!.payload.length;
    }
    assert.notEqual(after.stored.get(checkpoints[resumedAt + 1].id)!.base, null, "a delta on the head");
    assert.ok(
      resumedBytes.saved < resumedBytes.reference * 1.5,
      `${resumedBytes.saved} B against ${resumedBytes.reference} B saved by one codec throughout`,
    );
    // The copy was dropped by the first save on it; every checkpoint loads exactly from a cold codec.
    assert.equal(first.stored.get(head.summary.id)!.copy, null);
    for (const checkpoint of checkpoints.slice(resumedAt + 1)) {
      assert.deepEqual(await after.load(new DeltaCodec(), checkpoint.id, null), checkpoint);
    }
  });

  test("a save drops its parent's copy unless the codec knows the parent has none", () => {
    const checkpoints = session(3);
    const codec = new DeltaCodec();
    const { stored } = save(codec, checkpoints.slice(0, 2));
    const child = encodeForStorage("test", checkpoints[2], codec, { copies: true });
    assert.equal(child.dropCopy, null, "the parent was saved here without a copy");
    assert.equal(stored.get(checkpoints[1].id)!.copy, null);
    const unknown = encodeForStorage("test", checkpoints[2], new DeltaCodec(), { copies: true });
    assert.equal(unknown.dropCopy, checkpoints[1].id, "a parent this codec never saw may have one");
    const answered = makeCheckpoint({
      sessionId: checkpoints[0].sessionId,
      parentId: checkpoints[2].id,
      superstep: 3,
      state: checkpoints[2].state,
    });
    const waitedAt = save(codec, [checkpoints[2]], stored);
    assert.notEqual(waitedAt.stored.get(checkpoints[2].id)!.copy, null);
    assert.equal(encodeForStorage("test", answered, codec, { copies: true }).dropCopy, checkpoints[2].id);
    // A fork from the waiting head: its source session still waits there, so its copy stays.
    const fork = makeCheckpoint({ parentId: checkpoints[2].id, state: checkpoints[2].state });
    assert.equal(encodeForStorage("test", fork, codec, { copies: true }).dropCopy, null);
  });

  test("a copy that does not match the payload, or is damaged, is ignored: the chain is read", async () => {
    const checkpoints = session(12);
    const head = checkpoints.at(-1)!;
    const saving = new DeltaCodec();
    const { stored, load, reads, read } = save(saving, checkpoints);
    const copy = stored.get(head.id)!.copy!;
    const [index, body] = [copy.slice(0, copy.indexOf("\n")), copy.slice(copy.indexOf("\n") + 1)];
    const damaged = {
      "another mark": "~x" + copy.slice(2),
      "an index that is not JSON": index.slice(0, -1) + "\n" + body,
      "a body cut short": copy.slice(0, -5),
      "a body that is not JSON": index + "\n" + body.replace("record", "rec\u0001rd"),
      "a body that is not a checkpoint": index + "\n" + body.replace('"pendingRequests":', '"pending":'),
      "another checkpoint's": index + "\n" + body.replaceAll(head.id, checkpoints[3].id),
      "another base": index.replace(`"b":"${stored.get(head.id)!.base}"`, `"b":"${checkpoints[0].id}"`) +
        "\n" + body,
      "bases that do not start at the base": index.replace('"c":["', '"c":["x","') + "\n" + body,
      "not text": 42,
    };
    for (const [what, text] of Object.entries(damaged)) {
      assert.notEqual(text, copy, what);
      reads.length = 0;
      assert.deepEqual(await load(new DeltaCodec(), head.id, text), head, what);
      assert.ok(reads.length > 0, `${what}: the chain was read`);
      // The codec that saved it knows it: it falls back to what it knows.
      assert.deepEqual(await load(saving, head.id, text), head, `${what}, known`);
    }
    // Its payload rewritten as a keyframe (its base deleted): the old copy no longer matches.
    const codec = new DeltaCodec();
    const record = stored.get(head.id)!;
    const keyframe = await codec.rebase(head.id, record.payload, record.base!, read);
    assert.notEqual(keyframe, undefined);
    stored.set(head.id, { ...record, payload: keyframe!, base: null });
    reads.length = 0;
    assert.deepEqual(await load(new DeltaCodec(), head.id, copy), head);
    assert.deepEqual(reads, [], "a keyframe reads nothing else");
  });
});
