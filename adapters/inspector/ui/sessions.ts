// The sessions this browser has seen (started, resumed or forked from the inspector), kept in
// localStorage: the sessions table lists them when the server has no session listing.
/// <reference lib="dom" />

export interface KnownSession {
  sessionId: string;
  workflow: string;
  at: string;
}

const KEY = "superstep-inspector-sessions";

function load(): KnownSession[] {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** The known sessions, newest first (of `workflow` only, when given). */
export function knownSessions(workflow?: string): KnownSession[] {
  return load().filter((k) => workflow === undefined || k.workflow === workflow);
}

/** Remember a session. */
export function rememberSession(sessionId: string, workflow: string): void {
  const rest = load().filter((k) => k.sessionId !== sessionId);
  localStorage.setItem(
    KEY,
    JSON.stringify([{ sessionId, workflow, at: new Date().toISOString() }, ...rest].slice(0, 500)),
  );
}
