/**
 * Superstep: checkpointed workflow graphs for Deno, Node, Bun and edge workers.
 *
 * Executors joined by edges run in supersteps (bulk-synchronous: a message sent
 * in superstep N is delivered in N+1). After every superstep a checkpoint goes
 * to a pluggable storage adapter; any checkpoint can be resumed — in another
 * process, on another runtime — with its ancestry intact.
 *
 * The types flow through the graph: an executor says what it handles, sends
 * and yields (`WorkflowContext<TOut, TYield>`), the builder checks every edge,
 * and the workflow's `run` takes the start executor's input and returns its
 * executors' outputs, typed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder, type WorkflowContext } from "@superstep/superstep";
 *
 * const split = defineExecutor({
 *   id: "split",
 *   handle: async (text: string, ctx: WorkflowContext<string, never>) => {
 *     for (const word of text.split(" ")) await ctx.send(word);
 *   },
 * });
 * const len = defineExecutor({
 *   id: "len",
 *   handle: async (word: string, ctx: WorkflowContext<never, number>) => await ctx.yieldOutput(word.length),
 * });
 * const workflow = new WorkflowBuilder({ name: "wordlen", start: split })
 *   .addEdge(split, len) // addEdge(len, split) would not compile: len sends nothing split takes
 *   .withCheckpointing(new MemoryCheckpointStorage())
 *   .build();
 * const result = await workflow.run("hello big world"); // run(42) would not compile
 * const lengths: number[] = result.outputs;
 * assert.deepEqual(lengths, [5, 3, 5]);
 * ```
 *
 * @module
 */
export { defineExecutor, Executor } from "./src/executor.ts";
export type {
  AnyExecutor,
  ExecutorDefinition,
  ExecutorInput,
  ExecutorOptions,
  ExecutorOutput,
  ExecutorRef,
  ExecutorTypes,
  ExecutorYield,
} from "./src/executor.ts";
export type { SendOptions, WorkflowContext, WorkflowState } from "./src/context.ts";
export type { StandardSchema, StandardSchemaResult } from "./src/standard_schema.ts";
export { WorkflowBuilder } from "./src/workflow_builder.ts";
export type {
  EdgeOptions,
  FanOutOptions,
  SwitchOptions,
  WorkflowBuilderOptions,
} from "./src/workflow_builder.ts";
export type {
  ChainCheck,
  EdgeCheck,
  EdgeTypeError,
  JoinedOf,
  MessageOf,
  SendersOf,
  SwitchCase,
  SwitchCases,
  TargetsCheck,
  YieldsOf,
} from "./src/edge_types.ts";
export { Workflow } from "./src/workflow.ts";
export { prune } from "./src/prune.ts";
export { listPendingRequests, listSessions } from "./src/sessions.ts";
export { claimSession, hasLeases } from "./src/leases.ts";
export type { ClaimSessionOptions, SessionClaim } from "./src/leases.ts";
export { recover, recoverEvery } from "./src/recover.ts";
export { listDueTimers, sleep, sleepUntil, timerDue } from "./src/timers.ts";
export type { TimerData, TimerFired, WaitingTimer } from "./src/timers.ts";
export type { RecoverEveryOptions, RecoverOptions, RecoverResult } from "./src/recover.ts";
export { answerRequest } from "./src/answer_request.ts";
export type { AnswerRequestOptions } from "./src/answer_request.ts";
export type { PruneOptions, PruneResult } from "./src/prune.ts";
export { WorkflowExecutor } from "./src/workflow_executor.ts";
export type { RespondOptions, ResumeOptions, RunOptions } from "./src/workflow.ts";
export type { ExecutorCall, PluginHook, RunInfo, RunKind, WorkflowPlugin } from "./src/plugin.ts";
export type { WorkflowRun } from "./src/workflow_run.ts";
export type {
  PendingRequest,
  RunState,
  RunStatus,
  StrandedMessages,
  WorkflowEvent,
  WorkflowEventType,
  WorkflowResult,
} from "./src/events.ts";
export { CHECKPOINT_VERSION, sessionStatus, toSummary } from "./src/checkpoint.ts";
export type {
  Answer,
  Checkpoint,
  CheckpointQuery,
  CheckpointStorage,
  CheckpointSummary,
  Lease,
  LeaseRequest,
  PendingRequestQuery,
  QueuedMessage,
  SaveOptions,
  SessionQuery,
  SessionStatus,
  SessionSummary,
  WaitingRequest,
} from "./src/checkpoint.ts";
export { decodeCheckpoint, decodeValue, encodeCheckpoint, encodeValue } from "./src/codec.ts";
export { children, head, lineage } from "./src/ancestry.ts";
export { MemoryCheckpointStorage } from "./adapters/memory.ts";
export {
  AmbiguousRequestError,
  CheckpointConflictError,
  CheckpointCorruptError,
  CheckpointEncodeError,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  CheckpointSaveError,
  ExecutorFailedError,
  LeaseLostError,
  PluginError,
  RequestNotPendingError,
  SessionLeasedError,
  StorageCapabilityError,
  StorageError,
  StorageSchemaError,
  SuperstepError,
  WorkflowAlreadyRunningError,
  WorkflowConvergenceError,
  WorkflowInputError,
  WorkflowRoutingError,
  WorkflowValidationError,
} from "./src/errors.ts";
export type {
  CheckpointConflictDetails,
  CheckpointConflictReason,
  GraphChanges,
  Incompatibility,
  IncompatibilityKind,
} from "./src/errors.ts";
export type { EvolutionOptions } from "./src/_evolution.ts";
