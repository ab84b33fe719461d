// The input of a run over HTTP (package-private): a body must carry `input` unless the workflow takes none,
// and a refused input is answered 422 before the run starts, JSON or SSE, so that no session is named for a
// run that could not begin. The check is the core's own (`refusal`): the run checks again, with the same code.
import { refusal } from "../../src/_invoke.ts";
import { WorkflowInputError } from "../../src/errors.ts";
import { nestedOf, type Workflow } from "../../src/workflow.ts";
import { badRequest } from "./_problem.ts";

/**
 * The input to run `workflow` with, from a run body. A body without `input` runs the workflow with
 * `undefined` only when it takes none: its start executor declares what it takes (`accepts` or an `input`
 * schema) and that admits `undefined`; otherwise it is a 400. An input the start executor refuses throws
 * the `WorkflowInputError` the run would fail with (a 422). When `accepts` or the schema throws, the run
 * is left to report it, as it does for any caller (`executor-failed`).
 */
export async function runInput(
  workflow: Workflow<unknown, unknown>,
  body: Record<string, unknown>,
): Promise<unknown> {
  const { graph } = nestedOf(workflow);
  const start = graph.executors.get(graph.startId)!;
  const given = Object.hasOwn(body, "input");
  let why: string | undefined;
  try {
    why = await refusal(start, body.input);
  } catch {
    if (given) return body.input;
    why = "its check threw";
  }
  if (given) {
    if (why !== undefined) throw new WorkflowInputError(graph.name, start.id, why);
    return body.input;
  }
  if (why === undefined && (start.accepts !== undefined || start.input !== undefined)) return undefined;
  const because = why === undefined
    ? `its start executor "${start.id}" declares neither accepts() nor an input schema that admits undefined`
    : `its start executor "${start.id}" refuses none: ${why}`;
  throw badRequest(`The body has no input, and the workflow "${graph.name}" takes one: ${because}`);
}
