// A small stand-in for `node:test` inside workerd, which has no test runner: it collects the
// describe/test/before/after registrations of a test file and runs them when the worker is fetched.
// Only what the project's test files use is supported (nested describe, test with options.skip, the
// suite-level before/after hooks); anything else fails loudly rather than passing silently.

type Body = () => unknown;

interface Case {
  kind: "test";
  name: string;
  fn: Body;
  skip?: string;
}

interface Suite {
  kind: "suite";
  name: string;
  children: (Case | Suite)[];
  before: Body[];
  after: Body[];
}

/** One test's outcome, as the worker reports it. */
export interface CaseResult {
  name: string;
  status: "passed" | "failed" | "skipped";
  error?: string;
}

const root: Suite = { kind: "suite", name: "", children: [], before: [], after: [] };
let current: Suite = root;

export function describe(name: string, fn: () => unknown): void {
  const suite: Suite = { kind: "suite", name, children: [], before: [], after: [] };
  current.children.push(suite);
  const parent = current;
  current = suite;
  try {
    const returned = fn();
    if (returned instanceof Promise) {
      throw new Error(`describe("${name}") returned a promise; not supported in workerd`);
    }
  } finally {
    current = parent;
  }
}

export function test(name: string, optionsOrFn: unknown, maybeFn?: Body): void {
  const fn = (typeof optionsOrFn === "function" ? optionsOrFn : maybeFn) as Body;
  const options = typeof optionsOrFn === "object" && optionsOrFn !== null
    ? optionsOrFn as { skip?: unknown }
    : {};
  const skip = options.skip ? String(options.skip) : undefined;
  if (fn.length > 0) throw new Error(`test("${name}") takes a test context; not supported in workerd`);
  current.children.push({ kind: "test", name, fn, skip });
}

export const it: typeof test = test;

export function before(fn: Body): void {
  current.before.push(fn);
}

export function after(fn: Body): void {
  current.after.push(fn);
}

function unsupported(name: string): () => never {
  return () => {
    throw new Error(`node:test ${name}() is not supported in workerd`);
  };
}
export const beforeEach: () => never = unsupported("beforeEach");
export const afterEach: () => never = unsupported("afterEach");

/** Run everything registered, depth first, in registration order. */
export async function runRegistered(): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  await runSuite(root, [], results);
  return results;
}

async function runSuite(suite: Suite, path: string[], results: CaseResult[]): Promise<void> {
  const here = suite.name ? [...path, suite.name] : path;
  let hookError: unknown;
  try {
    for (const hook of suite.before) await hook();
  } catch (error) {
    hookError = error;
  }
  for (const child of suite.children) {
    if (child.kind === "suite") {
      await runSuite(child, here, results);
      continue;
    }
    const name = [...here, child.name].join(" > ");
    if (child.skip !== undefined) {
      results.push({ name, status: "skipped" });
      continue;
    }
    if (hookError !== undefined) {
      results.push({ name, status: "failed", error: `before hook failed: ${describeError(hookError)}` });
      continue;
    }
    try {
      await child.fn();
      results.push({ name, status: "passed" });
    } catch (error) {
      results.push({ name, status: "failed", error: describeError(error) });
    }
  }
  for (const hook of suite.after) {
    try {
      await hook();
    } catch (error) {
      results.push({
        name: [...here, "(after hook)"].join(" > "),
        status: "failed",
        error: describeError(error),
      });
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
