import { describe, expect, it } from 'vitest';
import { findOpenFence, planOfChangedPipelines } from '../../test/helpers/plan-fixtures.js';
import { formatPlanMarkdown } from '../pipeline/format-plan.js';
import type { PipelinePlan } from '../pipeline/plan-change.js';
import { renderCheckOutput } from './render-check-output.js';

const fullPlanHint = 'dfm plan --repo . --base main --head 1a2b3c4';
const emptyPlan: PipelinePlan = {
  now: '2025-03-29T12:00:00.000Z',
  summary: { added: 0, removed: 0, changed: 0, renamed: 0, invalid: 0, unchanged: 4, errors: 0, warnings: 0 },
  pipelines: [],
  diagnostics: [],
};

describe('renderCheckOutput', () => {
  // planChange of 300 pipelines with fire-time previews takes about a second, several on a loaded CI machine.
  it('cuts a plan of 300 changed pipelines at a section boundary, below the limit, with fences closed', () => {
    const plan = planOfChangedPipelines(300);
    expect(formatPlanMarkdown(plan).length).toBeGreaterThan(65_535);
    const output = renderCheckOutput(plan, { fullPlanHint, detailsUrl: 'https://dfm.example.com/plans/7' });
    expect(output.summary.length).toBeLessThanOrEqual(65_535);
    expect(findOpenFence(output.summary)).toBeUndefined();
    const shown = output.summary.match(/^### ✏️ /gm)?.length ?? 0;
    expect(shown).toBeGreaterThan(10);
    const lines = output.summary.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(
      `… ${300 - shown} more pipelines not shown (the check summary limit is 65,535 characters); run \`${fullPlanHint}\` or open <https://dfm.example.com/plans/7> to see the whole plan.`,
    );
    // The last section shown is whole: its folded DAG is closed.
    expect(lines.at(-5)).toBe('</details>');
    expect(output.summary.startsWith('**dfm plan**: 300 changed · 0 unchanged · ✅ no errors\n\n### ✏️ `orders-000` changed')).toBe(true);
    expect(output).toMatchObject({ title: '300 changed · 0 unchanged · no errors', conclusion: 'success' });
  }, 30_000);

  it('leaves a small plan whole', () => {
    const plan = planOfChangedPipelines(2);
    const output = renderCheckOutput(plan, { fullPlanHint });
    expect(output.summary).toBe(formatPlanMarkdown(plan).replace('<!-- dfm-plan -->\n\n', ''));
    expect(output.summary).not.toContain('not shown');
    expect(output.summary).toContain('| # | Before: `5 * * * *` Europe/Berlin | After: `15 * * * *` Europe/Berlin |\n|---|---|---|\n| 1 | 2025-03-29T13:05:00+01:00 | 2025-03-29T13:15:00+01:00 |');
  });

  it('names the diagnostics left out when even the list of errors is too long', () => {
    const diagnostic = (i: number) => ({ file: `pipelines/p${i}.yaml`, line: 1, column: 1, endLine: 1, endColumn: 3, severity: 'error' as const, code: 'schema.required', message: 'tasks is required' });
    const plan: PipelinePlan = { ...emptyPlan, summary: { ...emptyPlan.summary, errors: 500 }, diagnostics: Array.from({ length: 500 }, (_, i) => diagnostic(i)) };
    const output = renderCheckOutput(plan, { fullPlanHint, maxChars: 2_000 });
    expect(output.summary.length).toBeLessThanOrEqual(2_000);
    expect(output.summary).toContain('### Diagnostics\n\n- ❌ `pipelines/p0.yaml:1:1` **schema.required** tasks is required\n');
    expect(output.summary.trimEnd().split('\n').at(-1)).toMatch(/^… \d+ more diagnostics not shown \(the check summary limit is 2,000 characters\); run `dfm plan/);
    expect(output).toMatchObject({ title: 'no pipeline changes (4 unchanged) · 500 errors', conclusion: 'failure' });
  });

  it('is neutral when no pipeline file changed', () => {
    expect(renderCheckOutput(emptyPlan, { fullPlanHint })).toEqual({
      title: 'no pipeline changes (4 unchanged) · no errors',
      summary: '**dfm plan**: no pipeline changes (4 unchanged) · ✅ no errors\n\n<sub>Fire times computed at 2025-03-29T12:00:00.000Z.</sub>\n',
      conclusion: 'neutral',
    });
  });

  it('is a success when only warnings changed nothing else', () => {
    const plan: PipelinePlan = { ...emptyPlan, summary: { ...emptyPlan.summary, warnings: 1 }, diagnostics: [{ file: 'a.yaml', line: 2, column: 1, endLine: 2, endColumn: 5, severity: 'warning', code: 'lint.x', message: 'm' }] };
    expect(renderCheckOutput(plan, { fullPlanHint })).toMatchObject({ conclusion: 'success', title: 'no pipeline changes (4 unchanged) · no errors, 1 warning' });
  });
});
