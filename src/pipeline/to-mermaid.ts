/**
 * A pipeline's DAG as a Mermaid flowchart (GitHub renders it in PR comments). Node ids are
 * generated (`t0`, `t1`, …) because task ids may contain `-`, which Mermaid reads as an edge.
 */
import type { GraphTask } from './dag.js';

export interface MermaidHighlight {
  added?: readonly string[];
  changed?: readonly string[];
}

const escapeLabel = (s: string) => s.replace(/"/g, '#quot;');

export function toMermaid(pipeline: { tasks: readonly (GraphTask & { type: string })[] }, highlight: MermaidHighlight = {}): string {
  const nodeId = new Map(pipeline.tasks.map((t, i) => [t.id, `t${i}`]));
  const lines = ['flowchart LR'];
  for (const task of pipeline.tasks) lines.push(`  ${nodeId.get(task.id)}["${escapeLabel(task.id)}<br/><small>${escapeLabel(task.type)}</small>"]`);
  for (const task of pipeline.tasks) {
    for (const need of task.needs) {
      const from = nodeId.get(need);
      if (from !== undefined) lines.push(`  ${from} --> ${nodeId.get(task.id)}`);
    }
  }
  const added = (highlight.added ?? []).flatMap((id) => nodeId.get(id) ?? []);
  const changed = (highlight.changed ?? []).flatMap((id) => nodeId.get(id) ?? []);
  if (added.length > 0) lines.push('  classDef added fill:#d3f9d8,stroke:#2b8a3e', `  class ${added.join(',')} added`);
  if (changed.length > 0) lines.push('  classDef changed fill:#fff3bf,stroke:#e67700', `  class ${changed.join(',')} changed`);
  return lines.join('\n');
}
