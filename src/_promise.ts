// One way to tell a value that must be awaited from one that need not be: hooks and conditions may be
// synchronous or async, and awaiting only what is a thenable keeps synchronous ones free of microtasks.

/** Whether `value` is a thenable (a Promise or anything with a `then` method). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === "function";
}
