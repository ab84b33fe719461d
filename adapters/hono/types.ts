/**
 * The public types of the Hono adapter: its options, what `authorize` is asked, the bodies of every route,
 * the problem documents, and the app's schema for Hono's typed `hc` client.
 *
 * @module
 */
import type { Context, Env, Hono } from "hono";
import type { BlankEnv } from "hono/types";
import type {
  Checkpoint,
  CheckpointStorage,
  CheckpointSummary,
  SessionSummary,
  WaitingRequest,
} from "../../src/checkpoint.ts";
import type { PendingRequest, RunStatus } from "../../src/events.ts";
import type { Workflow } from "../../src/workflow.ts";
import type { JsonElementForm } from "./json_form.ts";
import type { GraphBody } from "./graph_body.ts";

/**
 * What a request asks to do; passed to `authorize`. `POST /checkpoints/:id/resume` is `"resume"` when it
 * continues the checkpoint's own session, and `"fork"` when it branches into another one (`fork: true`, or
 * a `sessionId` other than the checkpoint's): a fork only reads the checkpoint and writes its target.
 * `GET /sessions` is `"list-sessions"`, `GET /requests` `"list-requests"` (both asked once for the listing,
 * then per listed session: see `WorkflowAppOptions.authorize`), `POST /requests/:id` `"answer"`.
 */
export type WorkflowAction =
  | "list-workflows"
  | "run"
  | "resume"
  | "fork"
  | "list-checkpoints"
  | "read-checkpoint"
  | "read-lineage"
  | "delete-session"
  | "list-sessions"
  | "list-requests"
  | "answer"
  | "prune";

/**
 * What `authorize` is asked about. For checkpoint routes, `sessionId` is the checkpoint's session: absent
 * when the checkpoint does not exist, or is damaged so badly that its session cannot be read either.
 */
export interface AuthorizeRequest {
  /** The action. */
  action: WorkflowAction;
  /** The workflow concerned, when known (the route's, or the checkpoint's). */
  workflow?: string;
  /**
   * The session concerned: named by the request, or the checkpoint's (absent if the checkpoint does not
   * exist). For `"fork"` it is the session read from, the checkpoint's; the one written is `targetSessionId`.
   */
  sessionId?: string;
  /** The checkpoint concerned, for checkpoint routes (and for `"answer"`: the head holding the request). */
  checkpointId?: string;
  /** For `"answer"`: the request answered. */
  requestId?: string;
  /**
   * For `"resume"` and `"fork"`: the session the run will write. A resume writes the checkpoint's own
   * session (equal to `sessionId`); a fork writes the `sessionId` its body names, or, when it names none, a
   * new session with a generated id (then `targetSessionId` is absent).
   */
  targetSessionId?: string;
}

/**
 * What `authorize` may return for a listing (`"list-sessions"`, `"list-requests"`, asked without a
 * `sessionId`) instead of `true`: whether the caller may see one listed session. The listing then shows only
 * the sessions (and their requests) it accepts, and `authorize` is not asked per session.
 */
export type AuthorizeFilter = (
  session: { sessionId: string; workflow: string },
) => boolean | Promise<boolean>;

/**
 * Workflow factories by name, as {@linkcode createWorkflowApp} serves them. Typed factories (returning a
 * `Workflow<TIn, TOutput>`) type the app's routes for Hono's `hc` client.
 */
export type WorkflowFactories = Record<string, () => Workflow>;

/**
 * The options of {@linkcode createWorkflowApp}.
 *
 * @typeParam E The Hono environment (bindings, variables) of the requests.
 * @typeParam W The workflow factories, by name (inferred from `workflows`).
 */
export interface WorkflowAppOptions<
  E extends Env = BlankEnv,
  W extends WorkflowFactories = WorkflowFactories,
> {
  /**
   * The workflows served, by name. Each value is a factory called once per request, so concurrent
   * requests never share executor instances. A key must equal its workflow's `name`.
   */
  workflows: W;
  /** Where checkpoints live: an adapter, or a function of the request (Workers bindings exist per request). */
  storage: CheckpointStorage | ((c: Context<E>) => CheckpointStorage | Promise<CheckpointStorage>);
  /**
   * Called on every route before any work (after the request is found well-formed: a 400, 413 or 415 is
   * answered without asking); return `false` to answer 403. A denial reveals nothing: a nonexistent
   * checkpoint is asked about without a `sessionId` and, when denied, looks exactly like a foreign one. A
   * damaged checkpoint is asked about with the session and workflow its summary still names, and only an
   * allowed caller learns of the damage (500 `checkpoint-corrupt`); when even its session cannot be read,
   * nobody can be shown to be allowed, and it is asked about and answered exactly as one that does not
   * exist. It may throw an `HTTPException` (e.g. 401) to answer with that status instead (a problem document
   * `urn:superstep:problem:http-<status>`, with the headers of the exception's `res`).
   *
   * The listings (`GET /sessions`: `"list-sessions"`, `GET /requests`: `"list-requests"`) filter to what the
   * caller may read. `authorize` is asked once for the listing, without a `sessionId` (with the `workflow`
   * and, for requests, the `sessionId` the query names): `false` answers 403. `true` lets it list, and then
   * each listed session is asked about with the same action, its `sessionId` and `workflow`: a session it
   * denies is left out, with its requests (so an `authorize` written before the listings, that allows
   * exactly the sessions a caller owns, keeps them private). Or it returns an {@linkcode AuthorizeFilter},
   * which decides per session instead of those calls. `POST /requests/:id` is asked `"answer"` with the
   * request, the session and workflow holding it, and the head `checkpointId`.
   *
   * @default {allow everything}
   */
  authorize?: (
    c: Context<E>,
    request: AuthorizeRequest,
  ) => boolean | AuthorizeFilter | Promise<boolean | AuthorizeFilter>;
  /**
   * The largest request body accepted, in bytes; larger ones are answered 413.
   *
   * @default {1048576}
   */
  bodyLimit?: number;
  /**
   * The largest answer sent, in bytes of UTF-8: a JSON answer, or one SSE event's data. A larger one is
   * answered 500 `response-too-large` instead (with the run's `sessionId` and `checkpointId`; over SSE the
   * stream ends with that problem and the run is cancelled, its last checkpoint resumable). The size is
   * counted while the answer is made, so a giant one is never built.
   *
   * @default {16777216}
   */
  responseLimit?: number;
}

/** One served workflow, as `GET /workflows` lists it. */
export interface WorkflowInfo {
  /** Its name (the route segment). */
  name: string;
  /** Its graph as a Mermaid flowchart. */
  mermaid: string;
  /** Its graph as JSON: executors (with their kinds) and edges (with theirs), what the inspector draws. */
  graph: GraphBody;
}

/**
 * The JSON body of `POST /workflows/:name/runs`.
 *
 * `input` is the start executor's message. It is required (else 400) unless the workflow takes none: its
 * start executor declares `accepts` or an `input` schema, and that admits `undefined`. One the start
 * executor refuses is a 422 `input-refused`, before the run starts. Typed by the workflow's input `TIn`:
 * optional when `TIn` admits `undefined` (what a schema or `accepts` must then admit too). It travels as
 * JSON, so a workflow served over HTTP takes what JSON can carry.
 *
 * @typeParam TIn The workflow's input.
 */
export type RunRequestBody<TIn = unknown> =
  & {
    /** Append to this session (it must be authorized) instead of starting a new one. */
    sessionId?: string;
  }
  & (undefined extends TIn ? {
      /** The start executor's message (the workflow takes none: it may be left out). */
      input?: TIn;
    }
    : {
      /** The start executor's message. */
      input: TIn;
    });

/** The JSON body of `POST /checkpoints/:id/resume`. */
export interface ResumeRequestBody {
  /** Answers to pending requests, by request id. */
  responses?: Record<string, unknown>;
  /**
   * Branch into another session (a new one, unless `sessionId` names it) instead of continuing the
   * checkpoint's own, which needs the checkpoint to be its session's head.
   */
  fork?: boolean;
  /**
   * The session to write: the checkpoint's own (a resume), or another one that does not exist yet (a fork
   * into it, as `fork: true` with that id; an existing one is a 409 `checkpoint-conflict`).
   */
  sessionId?: string;
}

/**
 * The JSON answer of a run or resume (without `Accept: text/event-stream`).
 *
 * @typeParam TOutput What the workflow yields: `outputs` holds its JSON forms ({@linkcode JsonForm}).
 */
export interface RunResponseBody<TOutput = unknown> {
  /** The terminal status. */
  status: RunStatus;
  /** The outputs, JSON-encoded safely (BigInt as string, Map as pairs …; see {@linkcode JsonForm}). */
  outputs: JsonElementForm<TOutput>[];
  /** Requests still unanswered. */
  pendingRequests: PendingRequest[];
  /** The checkpoint to resume from, or `null` when none was written. */
  checkpointId: string | null;
  /** The session of the run. */
  sessionId: string;
}

/** The answer of `GET /sessions/:id/checkpoints`. */
export interface CheckpointPage {
  /** Summaries, newest first. */
  checkpoints: CheckpointSummary[];
  /** The `before` cursor of the next page, or `null` on the last page. */
  next: string | null;
}

/** The answer of `GET /checkpoints/:id/lineage`. */
export interface LineageBody {
  /**
   * Summaries from the checkpoint back to its root, or to the last one that can be shown: the first
   * ancestor in a session the caller may not read is left out with all before it, and a walk ends where a
   * parent was deleted.
   */
  lineage: CheckpointSummary[];
  /**
   * Whether the lineage stops short of a root (the last summary's `parentId` is not `null`): ancestors were
   * left out because the caller may not read their session, or the parent was deleted (`parentDeleted`).
   */
  truncated: boolean;
  /**
   * Whether the walk ended at a parent that no longer exists (deleted with its session, or on its own): the
   * last summary's `parentId` names it. `false` when the lineage stops at an ancestor the caller may not
   * read (what lies beyond it is not shown).
   */
  parentDeleted: boolean;
}

/**
 * The answer of `GET /sessions?status=&workflow=&limit=&before=`: the session index, newest head first, only
 * the sessions the caller may read. `status` is `waiting`, `interrupted` or `completed`; `limit` 1 to 1000
 * (default 50); `before` the `next` of the previous page.
 */
export interface SessionPage {
  /** The sessions: each `{ sessionId, workflowName, status, pendingRequests, head }` (`head` a summary). */
  sessions: SessionSummary[];
  /** The `before` cursor of the next page (a head id), or `null` on the last page. */
  next: string | null;
}

/**
 * The answer of `GET /requests?workflow=&session=&limit=&before=`: the inbox, newest request first, only
 * requests of sessions the caller may read. Answer one with `POST /requests/:id`.
 */
export interface RequestPage {
  /**
   * The waiting requests: each `{ requestId, executorId, data, path?, sessionId, workflowName, checkpointId,
   * createdAt, cursor }` (`data` in its JSON form).
   */
  requests: WaitingRequest[];
  /** The `before` cursor of the next page (an entry's `cursor`), or `null` on the last page. */
  next: string | null;
}

/**
 * The JSON body of `POST /requests/:id`: the answer. The route finds the session head holding the request,
 * resumes it with the answer (retrying when another writer moved the head first) and answers like a resume:
 * a {@linkcode RunResponseBody}, or Server-Sent Events. A request no longer pending (answered already, or
 * unknown) is a 409 `request-not-pending`; one pending in several sessions (a fork) without `sessionId` a
 * 409 `request-ambiguous`.
 */
export interface AnswerRequestBody {
  /** The answer (JSON). */
  response?: unknown;
  /** The session holding the request, when a fork holds it too. */
  sessionId?: string;
}

/** The answer of `DELETE /sessions/:id`. */
export interface DeleteSessionBody {
  /** The session. */
  sessionId: string;
  /** How many checkpoints were deleted. */
  deleted: number;
}

/**
 * The body of `POST /sessions/:id/prune` and `POST /workflows/:name/prune`: which checkpoints go (see
 * `prune` in the core; at least one of the two).
 */
export interface PruneRequestBody {
  /** Keep the newest `keepLast` checkpoints of each session. */
  keepLast?: number;
  /** Remove only checkpoints created before this ISO-8601 time. */
  olderThan?: string;
}

/** The answer of the prune routes: what was removed, and how many were kept as heads or waiting. */
export interface PruneResponseBody {
  /** The summaries of the removed checkpoints, newest first. */
  removed: CheckpointSummary[];
  /** Checkpoints the rule would remove but that were kept: session heads, and those waiting for answers. */
  protected: number;
}

/** The statuses of the problem documents the routes answer with. */
export type ProblemStatus = 400 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 500 | 501;

/** One route in Hono's schema form: input `I`, a 200 JSON answer `O`, or a problem document. */
export type RouteSchema<I, O> =
  | { input: I; output: O; outputFormat: "json"; status: 200 }
  | { input: I; output: ProblemDocument; outputFormat: "json"; status: ProblemStatus };

/** The input type of a workflow factory's workflow (`unknown` for an untyped one). */
export type WorkflowInputOf<F> = F extends () => Workflow<infer TIn, infer _> ? TIn : unknown;

/** The output type of a workflow factory's workflow: the union of what its executors yield. */
export type WorkflowOutputOf<F> = F extends () => Workflow<infer _, infer TOutput> ? TOutput : unknown;

/**
 * The routes of a workflow app, in Hono's schema form: what Hono's `hc` client is typed from.
 *
 * With typed factories (`W` names them), every workflow also has its own route,
 * `/workflows/<name>/runs`, whose body takes the workflow's input and whose answer's `outputs` are its
 * outputs (`client.workflows.wordlen.runs.$post({ json: { input: "hi" } })`); it is the same route as
 * `/workflows/:name/runs` at run time. A resume's workflow is the checkpoint's, which the URL does not
 * name: its `outputs` are typed as any served workflow's (the union), its `responses` as `unknown`.
 *
 * @typeParam W The workflow factories, by name.
 */
export type WorkflowAppSchema<W extends WorkflowFactories = WorkflowFactories> =
  & {
    "/workflows": { $get: RouteSchema<Record<never, never>, { workflows: WorkflowInfo[] }> };
    "/workflows/:name/runs": {
      $post: RouteSchema<
        { param: { name: string }; json: RunRequestBody },
        RunResponseBody<WorkflowOutputOf<W[keyof W]>>
      >;
    };
    "/checkpoints/:id/resume": {
      $post: RouteSchema<
        { param: { id: string } } & { json: ResumeRequestBody },
        RunResponseBody<WorkflowOutputOf<W[keyof W]>>
      >;
    };
    "/sessions/:id/checkpoints": {
      $get: RouteSchema<
        { param: { id: string } } & { query: { limit?: string; before?: string } },
        CheckpointPage
      >;
    };
    "/checkpoints/:id": { $get: RouteSchema<{ param: { id: string } }, Checkpoint> };
    "/checkpoints/:id/lineage": { $get: RouteSchema<{ param: { id: string } }, LineageBody> };
    "/sessions/:id": { $delete: RouteSchema<{ param: { id: string } }, DeleteSessionBody> };
    "/sessions/:id/prune": {
      $post: RouteSchema<{ param: { id: string } } & { json: PruneRequestBody }, PruneResponseBody>;
    };
    "/workflows/:name/prune": {
      $post: RouteSchema<{ param: { name: string } } & { json: PruneRequestBody }, PruneResponseBody>;
    };
    "/sessions": {
      $get: RouteSchema<
        { query: { status?: string; workflow?: string; limit?: string; before?: string } },
        SessionPage
      >;
    };
    "/requests": {
      $get: RouteSchema<
        { query: { workflow?: string; session?: string; limit?: string; before?: string } },
        RequestPage
      >;
    };
    "/requests/:id": {
      $post: RouteSchema<
        { param: { id: string } } & { json: AnswerRequestBody },
        RunResponseBody<WorkflowOutputOf<W[keyof W]>>
      >;
    };
  }
  // Only for names that are known: a `string` index would turn every path into a workflow name.
  & (string extends keyof W ? Record<never, never> : {
    [Name in keyof W & string as `/workflows/${Name}/runs`]: {
      $post: RouteSchema<
        { json: RunRequestBody<WorkflowInputOf<W[Name]>> },
        RunResponseBody<WorkflowOutputOf<W[Name]>>
      >;
    };
  });

/**
 * The Hono app {@linkcode createWorkflowApp} returns; `hc<WorkflowApp>(url)` is a typed client for it, and
 * `hc<typeof app>(url)` one that knows the app's workflows (their inputs and outputs).
 *
 * @typeParam E The Hono environment of the requests.
 * @typeParam W The workflow factories, by name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hc } from "hono/client";
 * import { defineExecutor, WorkflowBuilder, type WorkflowContext } from "@superstep/superstep";
 * import { MemoryCheckpointStorage } from "@superstep/superstep/memory";
 * import { createWorkflowApp } from "@superstep/superstep/hono";
 *
 * const length = defineExecutor({
 *   id: "length",
 *   handle: (text: string, ctx: WorkflowContext<never, number>) => ctx.yieldOutput(text.length),
 * });
 * const app = createWorkflowApp({
 *   workflows: { length: () => new WorkflowBuilder({ name: "length", start: length }).build() },
 *   storage: new MemoryCheckpointStorage(),
 * });
 * const client = hc<typeof app>("http://localhost", { fetch: app.request });
 * const res = await client.workflows.length.runs.$post({ json: { input: "hello" } }); // input: string
 * if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
 * const outputs: number[] = (await res.json()).outputs;
 * assert.deepEqual(outputs, [5]);
 * ```
 */
export type WorkflowApp<E extends Env = BlankEnv, W extends WorkflowFactories = WorkflowFactories> = Hono<
  E,
  WorkflowAppSchema<W>,
  "/"
>;

/** An RFC 9457 problem document, as the Hono adapter sends it. */
export interface ProblemDocument {
  /** A URI naming the kind of problem: `urn:superstep:problem:<slug>`. */
  type: string;
  /** A short summary of the kind of problem. */
  title: string;
  /** The HTTP status code. */
  status: number;
  /** What went wrong in this occurrence. */
  detail: string;
  /**
   * Extension members: `checkpointId`, `executorId`; and, on the problem of a run that started (it failed,
   * or its answer was too large), its `sessionId` and last `checkpointId` (`null` if it wrote none). A 422
   * `checkpoint-mismatch` carries `incompatibilities` (what does not fit: `Incompatibility[]`) and, when the
   * checkpoint recorded the graph that wrote it, `changes` (`GraphChanges`).
   */
  [extension: string]: unknown;
}
