// The inspector's client of the workflow app: the same public routes as any client, with the bearer token
// the user entered, so `authorize` decides what the page may see and do.
/// <reference lib="dom" />

/** A problem document (or what stood in for one) of a request that failed. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { type?: string; title?: string; detail?: string; [key: string]: unknown },
  ) {
    super(`${status} ${problem.title ?? "Error"}: ${problem.detail ?? ""}`);
    this.name = "ApiError";
  }
}

const TOKEN_KEY = "superstep-inspector-token";

/** The API's base URL (from the page's `superstep-api` meta tag), without a trailing slash. */
export function apiBase(): string {
  const content = document.querySelector<HTMLMetaElement>('meta[name="superstep-api"]')?.content ?? "/";
  return new URL(content, location.href).href.replace(/\/+$/, "");
}

export function token(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(value: string): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra: Record<string, string> = {}): Headers {
  const result = new Headers(extra);
  const t = token();
  if (t) result.set("authorization", `Bearer ${t}`);
  return result;
}

async function failure(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let problem: ApiError["problem"];
  try {
    problem = JSON.parse(text);
  } catch {
    problem = { title: response.statusText || "Error", detail: text.slice(0, 500) };
  }
  return new ApiError(response.status, typeof problem === "object" && problem !== null ? problem : {});
}

/** GET a JSON route. */
export async function get<T>(path: string): Promise<T> {
  const response = await fetch(apiBase() + path, { headers: headers({ accept: "application/json" }) });
  if (!response.ok) throw await failure(response);
  return await response.json() as T;
}

/** One Server-Sent Event. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * POST a run or resume with `Accept: text/event-stream`, calling `onEvent` per event as it arrives; resolves
 * with the `result` event's data, rejects with the `problem` event's (or the response's) problem.
 */
export async function stream(
  path: string,
  body: unknown,
  onEvent: (event: StreamEvent) => void,
): Promise<unknown> {
  const response = await fetch(apiBase() + path, {
    method: "POST",
    headers: headers({ "content-type": "application/json", accept: "text/event-stream" }),
    body: JSON.stringify(body),
  });
  if (!response.ok || response.body === null) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let result: unknown;
  let problem: ApiError | undefined;
  const dispatch = (block: string) => {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length === 0) return;
    const parsed = JSON.parse(data.join("\n"));
    if (event === "result") result = parsed;
    else if (event === "problem") problem = new ApiError(parsed.status ?? 500, parsed);
    onEvent({ event, data: parsed });
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
  if (buffer.trim()) dispatch(buffer);
  if (problem) throw problem;
  return result;
}

/** What a failed request means to the user: 401 and 403 say what to do about it. */
export function explain(error: unknown): string {
  if (error instanceof ApiError) {
    const detail = error.problem.detail ? ` (${error.problem.detail})` : "";
    if (error.status === 401) {
      return `401 Unauthorized: the server wants a bearer token${detail}. Enter one under "Token" and retry.`;
    }
    if (error.status === 403) {
      return `403 Forbidden: the server's authorize hook refused this request${detail}. ` +
        "Another token may be allowed to do it.";
    }
    return `${error.status} ${error.problem.title ?? "Error"}${detail}`;
  }
  if (error instanceof TypeError) return `The server could not be reached: ${error.message}`;
  return String(error instanceof Error ? error.message : error);
}
