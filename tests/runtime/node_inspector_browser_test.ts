// The inspector (adapters/inspector) in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against the demo workflows behind the bearer-token example (examples/auth.ts), served
// on 127.0.0.1 by @hono/node-server. Chromium missing is a failure that says how to install it (.ci/run
// does), never a skip. SUPERSTEP_SCREENSHOTS=docs writes the README's screenshots into docs/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { createWorkflowApp } from "../../adapters/hono/mod.ts";
import { defineExecutor, MemoryCheckpointStorage, type Workflow, WorkflowBuilder } from "../../mod.ts";
import { createInspector } from "../../adapters/inspector/mod.ts";
import { createBearerTokenApp } from "../../examples/auth.ts";
import { demoWorkflows } from "../../examples/_demo_workflows.ts";

const CHROMIUM = "/usr/bin/chromium";
// Without the networking flags Chromium's own connections are refused on a closed network, many at a time.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const SCREENSHOTS = process.env.SUPERSTEP_SCREENSHOTS;

/** With SUPERSTEP_SCREENSHOTS=<dir>, the page as docs/inspector-<name>.png shows it. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) {
    await page.screenshot({ path: join(SCREENSHOTS, `inspector-${name}.png`), fullPage: true });
  }
}

/** A server on 127.0.0.1 (a free port) and a fresh Chromium profile on it; `stop` ends both. */
interface Harness {
  url: string;
  page: Page;
  stop(): Promise<void>;
}

async function startHarness(app: Hono): Promise<Harness> {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is missing: the inspector's browser tests need ${CHROMIUM} ` +
      "(apt-get install -y chromium; .ci/run installs it)",
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  const profile = mkdtempSync(join(tmpdir(), "superstep-chromium-"));
  let context: BrowserContext | undefined;
  const stop = async () => {
    await context?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as { closeAllConnections?(): void }).closeAllConnections?.();
    });
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 860 },
    });
    const page = context.pages()[0] ?? await context.newPage();
    return { url: `http://127.0.0.1:${address.port}`, page, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

describe("the inspector in Chromium, behind the bearer-token example", () => {
  let url: string;
  let page: Page;
  let harness: Harness | undefined;

  before(async () => {
    const workflowApp = createBearerTokenApp({
      workflows: demoWorkflows,
      storage: new MemoryCheckpointStorage(),
      tokens: ["alice", "bob"],
    });
    // The inspector's routes first: the bearer-token app answers every path it is given.
    const app = new Hono();
    app.route("/inspector", createInspector({ enabled: true }));
    app.all("*", (c) => workflowApp.fetch(c.req.raw, c.env));
    harness = await startHarness(app);
    ({ url, page } = harness);
  });

  after(() => harness?.stop());

  const violations: string[] = [];
  const useToken = async (token: string) => {
    await page.fill("#token", token);
    await page.click("#token-form button");
  };

  test("without a token the page says 401 clearly instead of breaking", async () => {
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    page.on("pageerror", (error) => violations.push(`page error: ${error.message}`));
    const response = await page.goto(`${url}/inspector`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
    await page.waitForSelector("#banner:not([hidden])");
    assert.match(await page.textContent("#banner") ?? "", /401 Unauthorized.*bearer token/);
  });

  test("with a token: the graph is an SVG with a node per executor, kinds and edges shown", async () => {
    await useToken("alice");
    await page.click('a[href="#/workflows/approval"]');
    await page.waitForSelector('.graph-box[data-workflow="approval"] svg.graph');
    const nodes = await page.$$eval(
      '.graph-box[data-workflow="approval"] g.node',
      (elements) => elements.map((e) => e.getAttribute("data-executor")),
    );
    assert.deepEqual(nodes, ["draft", "review", "publish"]);
    assert.equal(await page.locator("g.node.start").getAttribute("data-executor"), "draft");
    assert.equal(await page.locator("g.node.asks").getAttribute("data-executor"), "review");
    assert.equal(await page.locator("g.edge").count(), 2);
    assert.equal(await page.isHidden("#banner"), true);
    await screenshot(page, "graph");
  });

  let sessionId: string;

  test("an approval run: its request appears live, is answered in the page, the run completes", async () => {
    await page.fill('textarea[aria-label="Input (JSON)"]', "not json");
    assert.equal(await page.isDisabled("button.start"), true); // the editor validates
    await page.fill('textarea[aria-label="Input (JSON)"]', '"v2.0"');
    await page.click("button.start");
    // The request arrives as an SSE event while the run goes on, then stays pending with an answer form.
    await page.waitForSelector('.events li[data-event="request"]');
    assert.match(await page.textContent('.events li[data-event="request"]') ?? "", /Publish this draft\?/);
    await page.waitForSelector(".run-status.status-idle-pending-requests");
    assert.match(await page.textContent(".pending-request") ?? "", /Publish this draft\?/);
    await page.waitForSelector(".run-lineage li.checkpoint");
    const before = await page.locator(".run-lineage li.checkpoint").count();
    sessionId = (await page.getAttribute(".run-lineage li.checkpoint", "data-session"))!;
    await page.fill(".pending-request textarea", '"yes"');
    await page.click(".pending-request button.answer");
    await page.waitForSelector(".run-status.status-idle");
    assert.match(await page.textContent(".outputs") ?? "", /"approved": true/);
    await page.locator(".run-lineage li.checkpoint").nth(before).waitFor(); // one more than before
    const after = await page.locator(".run-lineage li.checkpoint").count();
    assert.ok(after > before, `the lineage grew from ${before} to ${after} checkpoints`);
    await screenshot(page, "run");
  });

  test("the graph highlights the executors of the running superstep", async () => {
    // A live run paints `active` on invoked executors; after the run, the last superstep's stay `done`.
    assert.equal(await page.locator("g.node.active").count(), 0);
    assert.ok((await page.locator("g.node.done").count()) >= 1);
  });

  /** Select the checkpoint row `selector` and wait for its details. */
  const select = async (selector: string) => {
    const id = await page.getAttribute(selector, "data-checkpoint");
    await page.click(`${selector} > button`);
    await page.waitForSelector(`.checkpoint-detail[data-checkpoint="${id}"]`);
  };

  test("fork from a middle checkpoint: the branch shows in the lineage tree", async () => {
    await page.goto(`${url}/inspector#/sessions/${encodeURIComponent(sessionId)}`);
    await page.waitForSelector(".checkpoint-detail[data-checkpoint]");
    const own = `.lineage li.checkpoint[data-session="${sessionId}"]`;
    const count = await page.locator(own).count();
    assert.ok(count >= 4, `the session has ${count} checkpoints`);
    // The one after `draft` ran: `review` has yet to ask.
    await select(`${own}:nth-child(2)`);
    assert.equal(await page.isDisabled("button.resume"), true); // not the head: only a fork
    await page.click("button.fork");
    await page.waitForSelector(".lineage .branch");
    const branch = await page.getAttribute(".lineage .branch", "data-branch-session");
    assert.ok(branch && branch !== sessionId);
    assert.equal(await page.getAttribute(".lineage", "data-sessions"), "2");
    // The fork ran on from there: `review` asked again, in the new session.
    await page.waitForSelector(`.lineage .branch li.checkpoint[data-session="${branch}"]`);
    await screenshot(page, "lineage");
  });

  test("a checkpoint shows its state, messages, requests, snapshots and a diff against its parent", async () => {
    await select(`.lineage li.checkpoint[data-session="${sessionId}"]:nth-child(3)`);
    const text = await page.textContent(".checkpoint-detail") ?? "";
    for (
      const part of ["Pending requests", "State", "Queued messages", "Executor snapshots", "Diff against"]
    ) {
      assert.ok(text.includes(part), `the detail shows ${part}`);
    }
    assert.ok(await page.locator("table.diff tr").count() > 1, "the diff lists changes");
    await screenshot(page, "checkpoint");
  });

  test("the sessions table lists the sessions with their status, filtered by status", async () => {
    await page.click('nav a[data-view="sessions"]');
    await page.waitForSelector(`tr[data-session="${sessionId}"]`);
    assert.equal(await page.getAttribute(`tr[data-session="${sessionId}"]`, "data-status"), "completed");
    assert.equal(await page.locator("table.sessions tbody tr").count(), 2); // the run and its fork
    await screenshot(page, "sessions");
    await page.selectOption('select[aria-label="Status"]', "waiting");
    await page.waitForSelector(`tr[data-session="${sessionId}"]`, { state: "detached" });
    assert.equal(await page.locator('tr[data-status="waiting"]').count(), 1);
  });

  test("another token's session: a 403 from authorize shows a clear message", async () => {
    await page.goto(`${url}/inspector#/sessions/${encodeURIComponent(sessionId)}`);
    await page.waitForSelector(".checkpoint-detail h2");
    await useToken("bob");
    await page.waitForSelector("#banner:not([hidden])");
    assert.match(
      await page.textContent("#banner") ?? "",
      /403 Forbidden: the server's authorize hook refused/,
    );
    await screenshot(page, "forbidden");
    assert.deepEqual(violations, []);
  });
});

/** `slow`: `first` sends its input on to `wait`, which emits `progress` and holds until `release()`. */
let release: () => void = () => {};
const held = new Promise<void>((resolve) => release = resolve);
function slow(): Workflow<string, string> {
  const first = defineExecutor<string, string, never>({ id: "first", handle: (text, ctx) => ctx.send(text) });
  const wait = defineExecutor<string, never, string>({
    id: "wait",
    handle: async (text, ctx) => {
      ctx.emit("progress", { waiting: true });
      await held;
      await ctx.yieldOutput(text);
    },
  });
  return new WorkflowBuilder({ name: "slow", start: first }).addEdge(first, wait).build();
}

describe("the inspector in Chromium, beside a workflow app with a session index", () => {
  let url: string;
  let page: Page;
  let harness: Harness | undefined;
  const asked: string[] = [];

  before(async () => {
    const app = new Hono();
    app.use("*", async (c, next) => {
      asked.push(`${c.req.method} ${new URL(c.req.url).pathname}`);
      await next();
    });
    app.route("/inspector", createInspector({ enabled: true, api: "/api" }));
    app.route(
      "/api",
      createWorkflowApp({ workflows: { ...demoWorkflows, slow }, storage: new MemoryCheckpointStorage() }),
    );
    harness = await startHarness(app);
    ({ url, page } = harness);
  });

  after(() => harness?.stop());

  const run = async (workflow: string, input: string, status: string) => {
    await page.goto(`${url}/inspector#/workflows/${workflow}`);
    await page.fill('textarea[aria-label="Input (JSON)"]', input);
    await page.click("button.start");
    await page.waitForSelector(`.run-status.status-${status}`);
  };

  test("a live run: the running superstep's executor is highlighted and its custom event shown", async () => {
    await page.goto(`${url}/inspector#/workflows/slow`);
    await page.fill('textarea[aria-label="Input (JSON)"]', '"tick"');
    await page.click("button.start");
    // `wait` holds its superstep open: the page shows it running, and what it emitted so far.
    await page.waitForSelector('g.node.active[data-executor="wait"]');
    assert.equal(await page.locator('g.node.done[data-executor="first"]').count(), 0); // another superstep
    await page.waitForSelector('.events li[data-event="custom"]');
    assert.match(await page.textContent('.events li[data-event="custom"]') ?? "", /progress from wait/);
    assert.match(await page.textContent(".run-status") ?? "", /Running: superstep 2/);
    await screenshot(page, "live");
    release();
    await page.waitForSelector(".run-status.status-idle");
    assert.equal(await page.locator("g.node.active").count(), 0);
    assert.equal(await page.locator('g.node.done[data-executor="wait"]').count(), 1);
  });

  test("runs, then the sessions table from GET /sessions, filtered by status and workflow", async () => {
    await run("wordlen", '"hello big world"', "idle");
    assert.match(await page.textContent(".outputs") ?? "", /\[\s*5,\s*3,\s*5\s*\]/);
    await run("approval", '"a"', "idle-pending-requests");
    await run("approval", '"b"', "idle-pending-requests");
    await page.click('nav a[data-view="sessions"]');
    await page.waitForSelector("table.sessions tbody tr[data-session]");
    assert.match(await page.textContent(".content") ?? "", /From the session index/);
    assert.ok(asked.includes("GET /api/sessions"), "the page asked the session index");
    assert.equal(await page.locator("table.sessions tbody tr[data-session]").count(), 4); // and `slow`
    await page.selectOption('select[aria-label="Status"]', "waiting");
    await page.locator('table.sessions tbody tr[data-status="completed"]').first().waitFor({
      state: "detached",
    });
    assert.equal(await page.locator("table.sessions tbody tr[data-session]").count(), 2);
    await page.selectOption('select[aria-label="Status"]', "");
    await page.selectOption('select[aria-label="Workflow"]', "wordlen");
    await page.locator('table.sessions tbody tr[data-status="waiting"]').first().waitFor({
      state: "detached",
    });
    assert.equal(await page.locator("table.sessions tbody tr[data-session]").count(), 1);
  });

  test("a waiting session's request is answered from its head through POST /requests/:id", async () => {
    await page.selectOption('select[aria-label="Workflow"]', "approval");
    await page.locator('table.sessions tbody tr[data-status="waiting"]').nth(1).waitFor();
    const sessionId = await page.getAttribute(
      'table.sessions tbody tr[data-status="waiting"]',
      "data-session",
    );
    await page.click(`table.sessions tbody tr[data-session="${sessionId}"] a`);
    await page.waitForSelector(".checkpoint-detail[data-checkpoint] .pending-request");
    const requestId = await page.getAttribute(".checkpoint-detail .pending-request", "data-request");
    await page.fill(".checkpoint-detail .pending-request textarea", "{ not json");
    assert.equal(await page.isDisabled(".checkpoint-detail .pending-request button.answer"), true);
    await page.fill(".checkpoint-detail .pending-request textarea", '"no"');
    await page.click(".checkpoint-detail .pending-request button.answer");
    await page.waitForSelector(".run-status.status-idle");
    assert.ok(asked.includes(`POST /api/requests/${requestId}`), "answered through the inbox's route");
    assert.match(await page.textContent(".run-panel .outputs") ?? "", /"approved": false/);
  });

  test("the inbox (GET /requests) lists the request still waiting and answers it", async () => {
    await page.click('nav a[data-view="requests"]');
    await page.waitForSelector(".inbox .pending-request");
    assert.equal(await page.locator(".inbox .pending-request").count(), 1); // the other approval run's
    assert.match(await page.textContent(".inbox .pending-request") ?? "", /Publish this draft\?/);
    await screenshot(page, "requests");
    await page.click(".inbox .pending-request button.answer");
    await page.waitForSelector(".inbox-result .run-status.status-idle");
    await page.waitForSelector('.inbox p.muted:text("No request is waiting.")');
    assert.equal(asked.filter((line) => line.startsWith("POST /api/requests/")).length, 2);
  });
});
