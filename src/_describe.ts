// One way to put a thrown value into a message, whatever was thrown.
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
