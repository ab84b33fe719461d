// Sub-workflows (WorkflowExecutor): outputs forwarded, requests two and three levels deep answered through
// the outer workflow, the inner run's state in every outer checkpoint (resumed on fresh instances), events
// with their path, failures, cancellation and the graph signature. The email-validation and two-step
// checkpoint cases follow Agent Framework's test_sub_workflow.py where its design maps (its parent-side
// interception of inner requests does not: here an inner request is a request of the outer run).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineExecutor,
  Executor,
  ExecutorFailedError,
  MemoryCheckpointStorage,
  type PendingRequest,
  type Workflow,
  WorkflowBuilder,
  type WorkflowContext,
  WorkflowConvergenceError,
  type WorkflowEvent,
  WorkflowExecutor,
  type WorkflowResult,
} from "../mod.ts";

interface DomainCheck {
  domain: string;
  email: string;
}
interface Validation {
  email: string;
  valid: boolean;
  reason: string;
}

/** Agent Framework's email validation sub-workflow: format check, then a domain check asked of a person. */
function emailValidation(): Workflow<string, Validation> {
  const format = defineExecutor({
    id: "email_format_validator",
    handle: async (email: string, ctx: WorkflowContext<DomainCheck, Validation>) => {
      if (!email.includes("@")) {
        return await ctx.yieldOutput({ email, valid: false, reason: "Invalid email format" });
      }
      await ctx.send({ domain: email.split("@")[1], email });
    },
  });
  const domain = defineExecutor({
    id: "email_domain_validator",
    handle: async (check: DomainCheck, ctx: WorkflowContext<never, Validation>) => {
      await ctx.requestInfo(check);
    },
    onResponse: async (
      approved: unknown,
      request: PendingRequest,
      ctx: WorkflowContext<never, Validation>,
    ) => {
      const { email } = request.data as DomainCheck;
      await ctx.yieldOutput({
        email,
        valid: approved === true,
        reason: approved ? "Domain approved" : "Domain not approved",
      });
    },
  });
  return new WorkflowBuilder({ name: "email-validation", start: format }).addEdge(format, domain).build();
}

/** emails → (the sub-workflow, once per email) → collect the results. */
function emailsWorkflow(storage = new MemoryCheckpointStorage(), inner = emailValidation()) {
  const split = defineExecutor({
    id: "split",
    handle: async (emails: string[], ctx: WorkflowContext<string, never>) => {
      for (const email of emails) await ctx.send(email);
    },
  });
  const validation = new WorkflowExecutor("email_validation", inner);
  const collect = defineExecutor({
    id: "collect",
    handle: (result: Validation, ctx: WorkflowContext<never, Validation>) => ctx.yieldOutput(result),
  });
  return new WorkflowBuilder({ name: "emails", start: split })
    .addEdge(split, validation)
    .addEdge(validation, collect)
    .withCheckpointing(storage)
    .build();
}

describe("WorkflowExecutor", () => {
  test("a sub-workflow's outputs are sent along its edges; a request inside it is answered through the outer workflow", async () => {
    const workflow = emailsWorkflow();
    const invalid = await workflow.run(["no-at-sign"]);
    assert.deepEqual(invalid.outputs, [{
      email: "no-at-sign",
      valid: false,
      reason: "Invalid email format",
    }]);
    const paused = await workflow.run(["test@example.com"]);
    assert.equal(paused.status, "idle-pending-requests");
    const [request] = paused.pendingRequests;
    assert.deepEqual(request.data, { domain: "example.com", email: "test@example.com" });
    assert.equal(request.executorId, "email_validation");
    assert.deepEqual(request.path, ["email_validation", "email_domain_validator"]);
    const done = await workflow.respond({ [request.requestId]: true });
    assert.deepEqual(done.outputs, [{ email: "test@example.com", valid: true, reason: "Domain approved" }]);
    assert.deepEqual(done.pendingRequests, []);
  });

  test("several inner runs wait at once and are all answered in one call (Agent Framework's concurrent case)", async () => {
    const emails = [1, 2, 3, 4, 5].map((i) => `user${i}@domain${i}.com`);
    const workflow = emailsWorkflow();
    const paused = await workflow.run(emails);
    assert.equal(paused.pendingRequests.length, 5);
    assert.deepEqual(
      new Set(paused.pendingRequests.map((request) => (request.data as DomainCheck).domain)),
      new Set(emails.map((email) => email.split("@")[1])),
    );
    const done = await workflow.respond(
      Object.fromEntries(paused.pendingRequests.map((r) => [r.requestId, true])),
    );
    assert.deepEqual(new Set(done.outputs.map((result) => result.email)), new Set(emails));
    assert.ok(done.outputs.every((result) => result.valid && result.reason === "Domain approved"));
  });

  test("every outer checkpoint of a nested run resumes on a fresh instance to the uninterrupted result", async () => {
    const storage = new MemoryCheckpointStorage();
    const emails = ["a@x.org", "b@y.org", "c-without-at"];
    // The person's answers: approve x.org only. Answered until nothing waits; every call's events kept.
    const finish = async (first: WorkflowResult<Validation>) => {
      const calls = [first];
      while (calls.at(-1)!.status === "idle-pending-requests") {
        const waiting = calls.at(-1)!;
        const answers = Object.fromEntries(
          waiting.pendingRequests.map((r) => [r.requestId, (r.data as DomainCheck).domain === "x.org"]),
        );
        calls.push(await emailsWorkflow(storage).resume(waiting.checkpointId!, { responses: answers }));
      }
      return calls;
    };
    const original = await finish(await emailsWorkflow(storage).run(emails));
    const outputs = original.flatMap((call) => call.outputs);
    assert.equal(outputs.length, 3);
    // Each checkpoint the run wrote, and how many outputs came before it.
    const checkpoints: { id: string; before: number }[] = [];
    let count = 0;
    for (const call of original) {
      for (const event of call.events) {
        if (event.type === "output") count++;
        if (event.type === "superstep-completed") {
          checkpoints.push({ id: event.checkpointId!, before: count });
        }
      }
    }
    assert.ok(checkpoints.length >= 5);
    for (const { id, before } of checkpoints) {
      const resumed = await finish(await emailsWorkflow(storage).resume(id, { fork: true }));
      assert.deepEqual(
        [...outputs.slice(0, before), ...resumed.flatMap((call) => call.outputs)],
        outputs,
        `from ${id}`,
      );
    }
  });

  test("resuming a nested run streams its waiting request once, and an answer brings only the new one (Agent Framework's two-step case)", async () => {
    class TwoStep extends Executor<string, never, boolean> {
      answers: string[] = [];
      constructor() {
        super("two_step_executor");
      }
      async handle(message: string, ctx: WorkflowContext<never, boolean>): Promise<void> {
        await ctx.requestInfo({ prompt: `First request for: ${message}` });
      }
      override async onResponse(
        answer: unknown,
        _request: PendingRequest,
        ctx: WorkflowContext<never, boolean>,
      ) {
        this.answers.push(String(answer));
        if (this.answers.length === 1) await ctx.requestInfo({ prompt: "Second request" });
        else await ctx.yieldOutput(true);
      }
      override snapshot(): string[] {
        return this.answers;
      }
      override restore(answers: string[]): void {
        this.answers = [...answers];
      }
    }
    const build = (storage: MemoryCheckpointStorage) => {
      const inner = new WorkflowBuilder({ name: "two-step", start: new TwoStep() }).build();
      const sub = new WorkflowExecutor("sub_workflow_executor", inner);
      const done = defineExecutor({
        id: "done",
        handle: (ok: boolean, ctx: WorkflowContext<never, boolean>) => ctx.yieldOutput(ok),
      });
      return new WorkflowBuilder({ name: "checkpointed", start: sub }).addEdge(sub, done).withCheckpointing(
        storage,
      ).build();
    };
    const storage = new MemoryCheckpointStorage();
    const requests = (events: WorkflowEvent[]) => events.filter((event) => event.type === "request");
    const first = await build(storage).run("test_value");
    const [request] = first.pendingRequests;
    const fresh = build(storage);
    const resumed = fresh.resume(first.checkpointId!);
    const replayed: WorkflowEvent[] = [];
    for await (const event of resumed) replayed.push(event);
    assert.deepEqual(requests(replayed).map((event) => (event as PendingRequest).requestId), [
      request.requestId,
    ]);
    const answered = fresh.respond({ [request.requestId]: "first_answer" });
    const after: WorkflowEvent[] = [];
    for await (const event of answered) after.push(event);
    const asked = requests(after) as (PendingRequest & { type: string })[];
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0].data, { prompt: "Second request" });
    const final = await fresh.respond({ [asked[0].requestId]: "second_answer" });
    assert.deepEqual(final.outputs, [true]);
  });

  test("three levels: a request at the bottom is answered at the top, with its whole path, and events carry theirs", async () => {
    const ask = defineExecutor({
      id: "ask",
      handle: async (question: string, ctx: WorkflowContext<never, string>) =>
        void await ctx.requestInfo(question),
      onResponse: (answer: unknown, _request: PendingRequest, ctx: WorkflowContext<never, string>) =>
        ctx.yieldOutput(`answer: ${answer}`),
    });
    const level3 = new WorkflowBuilder({ name: "level3", start: ask }).build();
    // Level 2 runs level 3 and yields what it sends: a sub-workflow's outputs are what its executors yield.
    const l3 = new WorkflowExecutor("l3", level3);
    const relay = defineExecutor({
      id: "relay",
      handle: (text: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(text),
    });
    const level2 = new WorkflowBuilder({ name: "level2", start: l3 }).addEdge(l3, relay).build();
    const shout = defineExecutor({
      id: "shout",
      handle: (text: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(text.toUpperCase()),
    });
    const storage = new MemoryCheckpointStorage();
    const build = () =>
      new WorkflowBuilder({ name: "level1", start: new WorkflowExecutor("l2", level2) })
        .addEdge("l2", shout)
        .withCheckpointing(storage)
        .build();
    const events: WorkflowEvent[] = [];
    const run = build().run("why?");
    for await (const event of run) events.push(event);
    const paused = await run;
    const [request] = paused.pendingRequests;
    assert.deepEqual(request.path, ["l2", "l3", "ask"]);
    assert.equal(request.data, "why?");
    const nested = events.filter((event) => event.type === "nested") as Extract<
      WorkflowEvent,
      { type: "nested" }
    >[];
    assert.ok(nested.some((event) => event.path.join("/") === "l2/l3" && event.event.type === "request"));
    assert.ok(nested.some((event) => event.path.join("/") === "l2" && event.event.type === "started"));
    const done = await build().resume(paused.checkpointId!, {
      responses: { [request.requestId]: "because" },
    });
    assert.deepEqual(done.outputs, ["ANSWER: BECAUSE"]);
  });

  test("an inner failure fails the outer executor with the inner error as its cause; cancelling the outer run cancels the inner", async () => {
    const boom = defineExecutor({
      id: "boom",
      handle: () => {
        throw new Error("inner trouble");
      },
    });
    const failing = new WorkflowBuilder({
      name: "outer-fail",
      start: new WorkflowExecutor("sub", new WorkflowBuilder({ name: "inner-fail", start: boom }).build()),
    }).build();
    await assert.rejects(failing.run(null), (error: unknown) => {
      assert.ok(error instanceof ExecutorFailedError);
      assert.equal(error.executorId, "sub");
      assert.ok(error.cause instanceof ExecutorFailedError && error.cause.executorId === "boom");
      return true;
    });
    let innerSignal: AbortSignal | undefined;
    let started!: () => void;
    const running = new Promise<void>((resolve) => started = resolve);
    const wait = defineExecutor({
      id: "wait",
      handle: (_: unknown, ctx) =>
        new Promise<void>((resolve) => {
          innerSignal = ctx.signal;
          started();
          ctx.signal.addEventListener("abort", () => resolve());
        }),
    });
    const slow = new WorkflowBuilder({
      name: "outer-slow",
      start: new WorkflowExecutor("sub", new WorkflowBuilder({ name: "inner-slow", start: wait }).build()),
    }).build();
    const run = slow.run(null);
    const result = run.then((r) => r);
    await running;
    run.cancel();
    assert.equal((await result).status, "cancelled");
    assert.ok(innerSignal?.aborted, "the inner executor's signal aborted");
  });

  test("the inner workflow's own plugins see its runs, and its maxSupersteps bounds them", async () => {
    const seen: string[] = [];
    const echo = defineExecutor({
      id: "echo",
      handle: (text: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(`inner:${text}`),
    });
    const inner = new WorkflowBuilder({ name: "inner-echo", start: echo })
      .use({
        name: "inner-log",
        onEvent: (event) => void (event.type === "output" && seen.push(String(event.data))),
      })
      .build();
    const sub = new WorkflowExecutor("sub", inner);
    const sink = defineExecutor({
      id: "sink",
      handle: (text: string, ctx: WorkflowContext<never, string>) => ctx.yieldOutput(`outer:${text}`),
    });
    const outer = new WorkflowBuilder({ name: "outer-echo", start: sub }).addEdge(sub, sink).build();
    assert.deepEqual((await outer.run("a")).outputs, ["outer:inner:a"]);
    assert.deepEqual(seen, ["inner:a"], "the inner plugin saw the inner output, not the outer one");

    const spin = defineExecutor({
      id: "spin",
      handle: (n: number, ctx: WorkflowContext<number>) => ctx.send(n + 1),
    });
    const forever = new WorkflowBuilder({ name: "inner-forever", start: spin, maxSupersteps: 5 })
      .addEdge(spin, spin)
      .build();
    const bounded = new WorkflowBuilder({
      name: "outer-bounded",
      start: new WorkflowExecutor("sub", forever),
    })
      .build();
    await assert.rejects(bounded.run(0), (error: unknown) => {
      assert.ok(error instanceof ExecutorFailedError);
      assert.equal(error.executorId, "sub");
      assert.ok(error.cause instanceof WorkflowConvergenceError, `cause: ${error.cause}`);
      assert.equal(error.cause.maxSupersteps, 5);
      return true;
    });
  });

  test("the inner graph enters the outer graph signature", async () => {
    const a = defineExecutor({ id: "a", handle: () => {} });
    const b = defineExecutor({ id: "b", handle: () => {} });
    const outer = (inner: Workflow) =>
      new WorkflowBuilder({ name: "outer", start: new WorkflowExecutor("sub", inner) }).build();
    const one = outer(new WorkflowBuilder({ name: "inner", start: a }).build());
    const same = outer(new WorkflowBuilder({ name: "inner", start: a }).build());
    const other = outer(new WorkflowBuilder({ name: "inner", start: a }).addEdge(a, b).build());
    assert.equal(await one.graphSignature(), await same.graphSignature());
    assert.notEqual(await one.graphSignature(), await other.graphSignature());
  });
});
