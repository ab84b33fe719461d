/**
 * Superstep: checkpointed workflow graphs for Deno, Node, Bun and edge workers.
 *
 * Executors joined by edges run in supersteps (bulk-synchronous: a message sent
 * in superstep N is delivered in N+1). After every superstep a checkpoint goes
 * to a pluggable storage adapter; any checkpoint can be resumed — in another
 * process, on another runtime — with its ancestry intact.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "@superstep/superstep";
 *
 * const split = defineExecutor({
 *   id: "split",
 *   handle: async (text: string, ctx) => {
 *     for (const word of text.split(" ")) await ctx.send(word);
 *   },
 * });
 * const len = defineExecutor({
 *   id: "len",
 *   handle: async (word: string, ctx) => await ctx.yieldOutput(word.length),
 * });
 * const workflow = new WorkflowBuilder({ name: "wordlen", start: split })
 *   .addEdge(split, len)
 *   .withCheckpointing(new MemoryCheckpointStorage())
 *   .build();
 * const result = await workflow.run("hello big world");
 * assert.deepEqual(result.outputs, [5, 3, 5]);
 * ```
 *
 * @module
 */
export { defineExecutor, Executor } from "./src/executor.ts";
export type {
  ExecutorDefinition,
  SendOptions,
  StandardSchema,
  StandardSchemaResult,
  WorkflowContext,
  WorkflowState,
} from "./src/executor.ts";
export { WorkflowBuilder } from "./src/workflow_builder.ts";
export type {
  AnyExecutor,
  EdgeOptions,
  ExecutorRef,
  FanOutOptions,
  SwitchCase,
  SwitchOptions,
  WorkflowBuilderOptions,
} from "./src/workflow_builder.ts";
export { Workflow } from "./src/workflow.ts";
export type { RespondOptions, ResumeOptions, RunOptions } from "./src/workflow.ts";
export type { ExecutorCall, PluginHook, RunInfo, RunKind, WorkflowPlugin } from "./src/plugin.ts";
export type { WorkflowRun } from "./src/workflow_run.ts";
export type {
  PendingRequest,
  RunState,
  RunStatus,
  WorkflowEvent,
  WorkflowEventType,
  WorkflowResult,
} from "./src/events.ts";
export { CHECKPOINT_VERSION, toSummary } from "./src/checkpoint.ts";
export type {
  Checkpoint,
  CheckpointQuery,
  CheckpointStorage,
  CheckpointSummary,
  QueuedMessage,
} from "./src/checkpoint.ts";
export { decodeCheckpoint, decodeValue, encodeCheckpoint, encodeValue } from "./src/codec.ts";
export { children, head, lineage } from "./src/ancestry.ts";
export { MemoryCheckpointStorage } from "./adapters/memory.ts";
export {
  CheckpointConflictError,
  CheckpointCorruptError,
  CheckpointEncodeError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  CheckpointSaveError,
  ExecutorFailedError,
  PluginError,
  RequestNotPendingError,
  StorageError,
  StorageSchemaError,
  SuperstepError,
  WorkflowAlreadyRunningError,
  WorkflowConvergenceError,
  WorkflowRoutingError,
  WorkflowValidationError,
} from "./src/errors.ts";
export type { CheckpointConflictDetails, CheckpointConflictReason } from "./src/errors.ts";
