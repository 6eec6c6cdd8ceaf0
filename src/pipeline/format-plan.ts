/**
 * A plan as the PR comment shows it: a one-line summary first, then one section per changed
 * pipeline (field table, task and edge changes, fire times before/after, the DAG with added and
 * changed tasks coloured), then the head's diagnostics. GitHub renders the Mermaid blocks.
 *
 * Everything from the repository (paths, ids of invalid files, values, messages) is escaped here,
 * so every surface that shows a plan gets it escaped by construction.
 */
import type { Diagnostic } from './diagnostic.js';
import { escapeMarkdown, fencedBlock, inlineCode } from './escape-markdown.js';
import type { FieldChange, PipelineChange, PipelinePlan, SchedulePreview } from './plan-change.js';

/** Marks the comment so the GitHub integration finds and updates it instead of posting another. */
export const PLAN_COMMENT_MARKER = '<!-- dfm-plan -->';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const code = (s: string) => inlineCode(s);
const cellCode = (s: string) => inlineCode(s, { inTable: true });
// Inside `<details>` GitHub reads raw HTML up to the next blank line, so Markdown code would show
// its backticks: use HTML there.
const htmlCode = (s: string) => `<code>${s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</code>`;
const MAX_INLINE = 60;

/** The counts of a plan in words, without Markdown: `{ changes: '1 added · 3 unchanged', health: '2 errors, 1 warning' }`. */
export function describePlanCounts(plan: PipelinePlan): { changes: string; health: string } {
  const s = plan.summary;
  const parts = [
    s.added && `${s.added} added`,
    s.changed && `${s.changed} changed`,
    s.renamed && `${s.renamed} renamed`,
    s.removed && `${s.removed} removed`,
    s.invalid && `${s.invalid} invalid`,
  ].filter(Boolean);
  const changes = parts.length > 0 ? `${parts.join(', ')} · ${s.unchanged} unchanged` : `no pipeline changes (${s.unchanged} unchanged)`;
  const health = `${s.errors > 0 ? plural(s.errors, 'error') : 'no errors'}${s.warnings > 0 ? `, ${plural(s.warnings, 'warning')}` : ''}`;
  return { changes, health };
}

export function summarizePlan(plan: PipelinePlan): string {
  const { changes, health } = describePlanCounts(plan);
  return `**dfm plan**: ${changes} · ${plan.summary.errors > 0 ? '❌' : '✅'} ${health}`;
}

function cell(value: string | undefined): string {
  if (value === undefined) return '—';
  if (value.length > MAX_INLINE || value.includes('\n')) return '_(see below)_';
  return cellCode(value);
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
    rows.push(`| ${cellCode(name)} | ${cell(f.before)} | ${cell(f.after)} |`);
    const long = [f.before, f.after].some((v) => v !== undefined && (v.length > MAX_INLINE || v.includes('\n')));
    if (long) details.push(`<details><summary>${htmlCode(name)}</summary>\n\n${fencedBlock('diff', lineDiff(f.before ?? '', f.after ?? ''))}\n</details>`);
  }
  return { rows, details };
}

function fireTimes(schedule: { before?: SchedulePreview; after?: SchedulePreview }): string[] {
  const { before, after } = schedule;
  const columns = [before && `Before: ${cellCode(before.schedule)} ${escapeMarkdown(before.timezone)}`, after && `After: ${cellCode(after.schedule)} ${escapeMarkdown(after.timezone)}`].filter(Boolean) as string[];
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
  for (const id of change.tasks.added) taskRows.push(`| task ${cellCode(id)} | — | added |`);
  for (const id of change.tasks.removed) taskRows.push(`| task ${cellCode(id)} | removed | — |`);
  for (const task of change.tasks.changed) {
    const rendered = fieldRows(`tasks.${task.id}`, task.fields);
    taskRows.push(...rendered.rows);
    details.push(...rendered.details);
  }
  for (const [from, to] of change.edges.added) taskRows.push(`| edge ${cellCode(`${from} → ${to}`)} | — | added |`);
  for (const [from, to] of change.edges.removed) taskRows.push(`| edge ${cellCode(`${from} → ${to}`)} | removed | — |`);
  const rows = [...pipelineFields.rows, ...taskRows];
  if (rows.length > 0) lines.push('', '| Change | Before | After |', '|---|---|---|', ...rows);
  if (details.length > 0) lines.push('', ...details);
  if (change.schedule) lines.push('', ...fireTimes(change.schedule));
  if (change.mermaid) {
    const diagram = fencedBlock('mermaid', change.mermaid);
    // An added pipeline's DAG is the news; for a changed one it is context, so it starts folded.
    lines.push('', change.kind === 'added' ? diagram : `<details><summary>DAG (added tasks green, changed tasks yellow)</summary>\n\n${diagram}\n</details>`);
  }
  return lines.join('\n');
}

function diagnosticLine(d: Diagnostic): string {
  return `- ${d.severity === 'error' ? '❌' : '⚠️'} ${code(`${d.file}:${d.line}:${d.column}`)} **${escapeMarkdown(d.code)}** ${escapeMarkdown(d.message)}${d.hint ? ` — ${escapeMarkdown(d.hint)}` : ''}`;
}

/**
 * A plan's Markdown in the pieces a length limit may cut between: each pipeline section and each
 * diagnostic line is self-contained (its code fences and `<details>` closed), so a renderer that
 * keeps whole pieces never leaves a fence open.
 */
export interface PlanMarkdownParts {
  /** The one-line summary (`**dfm plan**: …`). */
  summary: string;
  /** One section per changed pipeline, in plan order. */
  pipelines: string[];
  /** `### Diagnostics`; absent when the head has none. */
  diagnosticsHeading?: string;
  /** One list item per head diagnostic, in file and position order. */
  diagnostics: string[];
  /** The reference time of the fire-time previews. */
  footer: string;
}

export function toPlanMarkdownParts(plan: PipelinePlan): PlanMarkdownParts {
  return {
    summary: summarizePlan(plan),
    pipelines: plan.pipelines.map(section),
    ...(plan.diagnostics.length > 0 ? { diagnosticsHeading: '### Diagnostics' } : {}),
    diagnostics: plan.diagnostics.map(diagnosticLine),
    footer: `<sub>Fire times computed at ${plan.now}.</sub>`,
  };
}

/** Joins the parts the way every surface lays them out: blocks apart, diagnostics as one list. */
export function joinPlanMarkdownParts(head: readonly string[], parts: Omit<PlanMarkdownParts, 'summary'>, tail: readonly string[] = []): string {
  const blocks = [...head, ...parts.pipelines];
  if (parts.diagnosticsHeading !== undefined && parts.diagnostics.length > 0) blocks.push([parts.diagnosticsHeading, '', ...parts.diagnostics].join('\n'));
  blocks.push(parts.footer, ...tail);
  return `${blocks.join('\n\n')}\n`;
}

export function formatPlanMarkdown(plan: PipelinePlan): string {
  const parts = toPlanMarkdownParts(plan);
  return joinPlanMarkdownParts([PLAN_COMMENT_MARKER, parts.summary], parts);
}
