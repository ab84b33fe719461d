// JSON helpers of the inspector: an editor that validates as you type, and a structural diff.
/// <reference lib="dom" />
import { h } from "./dom.ts";

/** A textarea for JSON: `value()` parses it; the button `submit` is disabled while the text is not JSON. */
export function jsonEditor(
  initial: string,
  label: string,
  submit: HTMLButtonElement,
): { element: HTMLElement; value(): unknown } {
  const area = h("textarea", { class: "json-editor", rows: 3, spellcheck: "false", "aria-label": label });
  area.value = initial;
  const status = h("div", { class: "json-status" });
  const check = () => {
    try {
      JSON.parse(area.value);
      status.textContent = "valid JSON";
      status.className = "json-status ok";
      submit.disabled = false;
    } catch (error) {
      status.textContent = `not JSON: ${(error as Error).message}`;
      status.className = "json-status bad";
      submit.disabled = true;
    }
  };
  area.addEventListener("input", check);
  check();
  return {
    element: h("div", { class: "json-field" }, h("label", {}, label, area), status),
    value: () => JSON.parse(area.value),
  };
}

/** One difference between two JSON values: where, and what it was and became. */
export interface Change {
  path: string;
  kind: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/** The differences from `before` to `after`, by JSON pointer. */
export function diff(before: unknown, after: unknown, path = ""): Change[] {
  if (Object.is(before, after)) return [];
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => {
      const at = `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (!(key in before)) return [{ path: at, kind: "added" as const, after: after[key] }];
      if (!(key in after)) return [{ path: at, kind: "removed" as const, before: before[key] }];
      return diff(before[key], after[key], at);
    });
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path || "/", kind: "changed", before, after }];
}

const short = (value: unknown) => {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

/** A table of `changes`. */
export function diffTable(changes: Change[]): HTMLElement {
  if (changes.length === 0) return h("p", { class: "muted" }, "No difference.");
  return h(
    "table",
    { class: "diff" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", {}, "path"), h("th", {}, "change"), h("th", {}, "before"), h("th", {}, "after")),
    ),
    h(
      "tbody",
      {},
      changes.map((c) =>
        h(
          "tr",
          { class: c.kind },
          h("td", {}, h("code", {}, c.path)),
          h("td", {}, c.kind),
          h("td", {}, c.kind === "added" ? "" : h("code", {}, short(c.before))),
          h("td", {}, c.kind === "removed" ? "" : h("code", {}, short(c.after))),
        )
      ),
    ),
  );
}
