// Executors several test files build workflows from.
import { Executor, type WorkflowContext } from "../mod.ts";

/** Adds every message to a running total kept in its own (checkpointed) state. */
export class Tally extends Executor<number, number> {
  total = 0;
  constructor() {
    super("tally");
  }
  async handle(n: number, ctx: WorkflowContext<number>): Promise<void> {
    this.total += n;
    await ctx.send(this.total);
  }
  override snapshot(): { total: number } {
    return { total: this.total };
  }
  override restore(state: { total: number }): void {
    this.total = state.total;
  }
}
