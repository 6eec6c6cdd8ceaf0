/**
 * A plan as the PR comment shows it: a one-line summary first, then one section per changed
 * pipeline (field table, task and edge changes, fire times before/after, the DAG), then the
 * head's diagnostics. GitHub renders the Mermaid blocks.
 */
import type { Diagnostic } from './diagnostic.js';
import type { FieldChange, PipelineChange, PipelinePlan, SchedulePreview } from './plan-change.js';

/** Marks the comment so the GitHub integration finds and updates it instead of posting another. */
export const PLAN_COMMENT_MARKER = '<!-- dfm-plan -->';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const code = (s: string) => `\`${s.replace(/`/g, 'ˋ').replace(/\|/g, '\\|').replace(/\n/g, ' ')}\``;
const MAX_INLINE = 60;

export function summarizePlan(plan: PipelinePlan): string {
  const s = plan.summary;
  const parts = [
    s.added && `${s.added} added`,
    s.changed && `${s.changed} changed`,
    s.renamed && `${s.renamed} renamed`,
    s.removed && `${s.removed} removed`,
    s.invalid && `${s.invalid} invalid`,
  ].filter(Boolean);
  const changes = parts.length > 0 ? `${parts.join(', ')} · ${s.unchanged} unchanged` : `no pipeline changes (${s.unchanged} unchanged)`;
  const health = s.errors > 0 ? `❌ ${plural(s.errors, 'error')}` : '✅ no errors';
  return `**dfm plan**: ${changes} · ${health}${s.warnings > 0 ? `, ${plural(s.warnings, 'warning')}` : ''}`;
}

function cell(value: string | undefined): string {
  if (value === undefined) return '—';
  if (value.length > MAX_INLINE || value.includes('\n')) return '_(see below)_';
  return code(value);
}

/** A minimal line diff (LCS) for long values such as SQL. */
function lineDiff(before: string, after: string): string {
  const a = before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { out.push(`  ${a[i]}`); i++; j++; }
    // Removals before additions, as in unified diffs.
    else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) { out.push(`- ${a[i]}`); i++; }
    else { out.push(`+ ${b[j]}`); j++; }
  }
  return out.join('\n');
}

function fieldRows(prefix: string, fields: readonly FieldChange[]): { rows: string[]; details: string[] } {
  const rows: string[] = [];
  const details: string[] = [];
  for (const f of fields) {
    const name = prefix ? `${prefix}.${f.field}` : f.field;
    rows.push(`| ${code(name)} | ${cell(f.before)} | ${cell(f.after)} |`);
    const long = [f.before, f.after].some((v) => v !== undefined && (v.length > MAX_INLINE || v.includes('\n')));
    if (long) details.push(`<details><summary>${code(name)}</summary>\n\n\`\`\`diff\n${lineDiff(f.before ?? '', f.after ?? '')}\n\`\`\`\n</details>`);
  }
  return { rows, details };
}

function fireTimes(schedule: { before?: SchedulePreview; after?: SchedulePreview }): string[] {
  const { before, after } = schedule;
  const columns = [before && `Before: ${code(before.schedule)} ${before.timezone}`, after && `After: ${code(after.schedule)} ${after.timezone}`].filter(Boolean) as string[];
  if (columns.length === 0) return [];
  const rows = Math.max(before?.nextFireTimes.length ?? 0, after?.nextFireTimes.length ?? 0);
  const lines = [`| # | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`];
  for (let i = 0; i < rows; i++) {
    const values = [before && (before.nextFireTimes[i] ?? ''), after && (after.nextFireTimes[i] ?? '')].filter((v) => v !== undefined) as string[];
    lines.push(`| ${i + 1} | ${values.join(' | ')} |`);
  }
  if (before && !after) lines.push('', '_The schedule is removed: runs start only on demand or by a trigger._');
  return ['**Next fire times**', '', ...lines];
}

function section(change: PipelineChange): string {
  const lines: string[] = [];
  switch (change.kind) {
    case 'added':
      lines.push(`### ➕ ${code(change.id)} added — ${code(change.file)}`, '', `${plural(change.taskCount ?? 0, 'task')}${change.schedule?.after ? `, schedule ${code(change.schedule.after.schedule)} (${change.schedule.after.timezone})` : ', no schedule (on demand or by trigger)'}.`);
      break;
    case 'changed':
      lines.push(`### ✏️ ${code(change.id)} changed — ${code(change.file)}`);
      break;
    case 'renamed':
      lines.push(`### 🚚 ${code(change.id)} moved ${code(change.previousFile ?? '')} → ${code(change.file)}`, '', 'Same id, so its runs and history carry over.');
      break;
    case 'removed':
      lines.push(`### 🗑️ ${code(change.id)} removed — was ${code(change.file)}`, '', 'It will be paused on merge; its run history is kept.');
      return lines.join('\n');
    case 'invalid':
      lines.push(`### ❌ ${code(change.id)} has errors — ${code(change.file)}`, '', 'Fix the diagnostics below to see its changes; until then the current version keeps running.');
      return lines.join('\n');
  }
  const pipelineFields = fieldRows('', change.fields);
  const taskRows: string[] = [];
  const details = [...pipelineFields.details];
  for (const id of change.tasks.added) taskRows.push(`| task ${code(id)} | — | added |`);
  for (const id of change.tasks.removed) taskRows.push(`| task ${code(id)} | removed | — |`);
  for (const task of change.tasks.changed) {
    const rendered = fieldRows(`tasks.${task.id}`, task.fields);
    taskRows.push(...rendered.rows);
    details.push(...rendered.details);
  }
  for (const [from, to] of change.edges.added) taskRows.push(`| edge ${code(`${from} → ${to}`)} | — | added |`);
  for (const [from, to] of change.edges.removed) taskRows.push(`| edge ${code(`${from} → ${to}`)} | removed | — |`);
  const rows = [...pipelineFields.rows, ...taskRows];
  if (rows.length > 0) lines.push('', '| Change | Before | After |', '|---|---|---|', ...rows);
  if (details.length > 0) lines.push('', ...details);
  if (change.schedule) lines.push('', ...fireTimes(change.schedule));
  else if (change.kind === 'added' && change.schedule === undefined) {
    // nothing: an added pipeline without schedule has no fire times
  }
  if (change.mermaid) lines.push('', change.kind === 'added' ? '```mermaid' : '<details><summary>DAG</summary>\n\n```mermaid', change.mermaid, '```', ...(change.kind === 'added' ? [] : ['</details>']));
  return lines.join('\n');
}

function diagnosticLine(d: Diagnostic): string {
  return `- ${d.severity === 'error' ? '❌' : '⚠️'} ${code(`${d.file}:${d.line}:${d.column}`)} **${d.code}** ${d.message}${d.hint ? ` — ${d.hint}` : ''}`;
}

export function formatPlanMarkdown(plan: PipelinePlan): string {
  const parts = [PLAN_COMMENT_MARKER, summarizePlan(plan)];
  for (const change of plan.pipelines) parts.push(section(change));
  if (plan.diagnostics.length > 0) parts.push(['### Diagnostics', '', ...plan.diagnostics.map(diagnosticLine)].join('\n'));
  parts.push(`<sub>Fire times computed at ${plan.now}.</sub>`);
  return `${parts.join('\n\n')}\n`;
}
