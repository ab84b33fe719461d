// Draw a workflow graph as Mermaid or Graphviz DOT. Node ids are generated
// (n0, n1, …) so that any executor id is safe; labels are escaped.
import type { EdgeGroupSpec, WorkflowGraph } from "./_graph.ts";

interface Line {
  from: string;
  to: string;
  label?: string;
  dashed?: boolean;
}

/** Every drawn edge, with fan-in joins as extra nodes `j0`, `j1`, …. */
function layout(graph: WorkflowGraph): { nodes: Map<string, string>; joins: string[]; lines: Line[] } {
  const nodes = new Map<string, string>();
  for (const id of graph.executors.keys()) nodes.set(id, `n${nodes.size}`);
  const node = (id: string) => nodes.get(id)!;
  const joins: string[] = [];
  const lines: Line[] = [];
  const draw = (group: EdgeGroupSpec) => {
    switch (group.kind) {
      case "single":
        lines.push({
          from: node(group.source),
          to: node(group.target),
          label: group.when ? "when" : undefined,
        });
        break;
      case "fan-out":
        for (const target of group.targets) {
          lines.push({
            from: node(group.source),
            to: node(target),
            label: group.select ? "select" : "fan-out",
          });
        }
        break;
      case "switch":
        group.cases.forEach((c, i) =>
          lines.push({ from: node(group.source), to: node(c.target), label: `case ${i + 1}` })
        );
        if (group.defaultTarget !== undefined) {
          lines.push({
            from: node(group.source),
            to: node(group.defaultTarget),
            label: "default",
            dashed: true,
          });
        }
        break;
      case "fan-in":
      case "collect": {
        const join = `j${joins.length}`;
        joins.push(join);
        for (const source of group.sources) lines.push({ from: node(source), to: join });
        lines.push({ from: join, to: node(group.target), label: group.kind });
        break;
      }
    }
  };
  graph.groups.forEach(draw);
  return { nodes, joins, lines };
}

export function renderMermaid(graph: WorkflowGraph): string {
  const { nodes, joins, lines } = layout(graph);
  const out = ["flowchart TD"];
  for (const [id, node] of nodes) {
    out.push(`  ${node}["${mermaidText(id)}"]${id === graph.startId ? ":::start" : ""}`);
  }
  for (const join of joins) out.push(`  ${join}((" "))`);
  for (const line of lines) {
    const arrow = line.dashed ? "-.->" : "-->";
    out.push(`  ${line.from} ${arrow}${line.label ? `|"${mermaidText(line.label)}"|` : ""} ${line.to}`);
  }
  out.push("  classDef start stroke-width:3px");
  return out.join("\n");
}

export function renderDot(graph: WorkflowGraph): string {
  const { nodes, joins, lines } = layout(graph);
  const out = [`digraph "${dotText(graph.name)}" {`, "  rankdir=TB;", "  node [shape=box];"];
  for (const [id, node] of nodes) {
    out.push(`  ${node} [label="${dotText(id)}"${id === graph.startId ? ", style=bold" : ""}];`);
  }
  for (const join of joins) out.push(`  ${join} [shape=point];`);
  for (const line of lines) {
    const attributes = [
      line.label ? `label="${dotText(line.label)}"` : "",
      line.dashed ? "style=dashed" : "",
    ].filter(Boolean);
    out.push(`  ${line.from} -> ${line.to}${attributes.length ? ` [${attributes.join(", ")}]` : ""};`);
  }
  out.push("}");
  return out.join("\n");
}

function mermaidText(text: string): string {
  return text.replace(/[#"<>&]/g, (c) => `#${c.charCodeAt(0)};`);
}

function dotText(text: string): string {
  return text.replace(/["\\]/g, (c) => `\\${c}`);
}
