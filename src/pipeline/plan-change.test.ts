import { describe, expect, it } from 'vitest';
import { formatPlanMarkdown } from './format-plan.js';
import { planChange } from './plan-change.js';

const now = new Date('2025-06-01T00:00:00Z');
const pipeline = (sql: string, extra = '') => `id: features\n${extra}tasks:\n  agg:\n    type: postgres.sql\n    sql: |\n${sql.replace(/^/gm, '      ')}\n`;

describe('planChange', () => {
  it('reports nothing for identical revisions', () => {
    const files = [{ file: 'pipelines/a.yaml', text: pipeline('select 1') }];
    const plan = planChange(files, files, { now });
    expect(plan.pipelines).toEqual([]);
    expect(plan.summary.unchanged).toBe(1);
    expect(formatPlanMarkdown(plan)).toContain('**dfm plan**: no pipeline changes (1 unchanged) · ✅ no errors');
  });

  it('shows a changed multi-line SQL as a line diff', () => {
    const base = [{ file: 'a.yaml', text: pipeline('select station\nfrom t\nwhere x > 1') }];
    const head = [{ file: 'a.yaml', text: pipeline('select station\nfrom t\nwhere x > 2') }];
    const plan = planChange(base, head, { now });
    expect(plan.pipelines[0]).toMatchObject({ kind: 'changed', tasks: { changed: [{ id: 'agg', fields: [{ field: 'sql' }] }] } });
    const markdown = formatPlanMarkdown(plan);
    expect(markdown).toContain('| `tasks.agg.sql` | _(see below)_ | _(see below)_ |');
    expect(markdown).toContain('  select station\n  from t\n- where x > 1\n+ where x > 2');
  });

  it('shows a removed schedule and converts durations back to text', () => {
    const base = [{ file: 'a.yaml', text: pipeline('select 1', 'schedule: "@daily"\ndefaults: { timeout: 90s }\n') }];
    const head = [{ file: 'a.yaml', text: pipeline('select 1', 'defaults: { timeout: 2m }\n') }];
    const change = planChange(base, head, { now }).pipelines[0]!;
    expect(change.fields).toEqual([
      { field: 'schedule', before: '@daily', after: undefined },
      { field: 'defaults.timeout', before: '1m30s', after: '2m' },
    ]);
    expect(change.schedule?.before?.nextFireTimes[0]).toBe('2025-06-02T00:00:00+00:00');
    expect(change.schedule?.after).toBeUndefined();
  });

  it('marks a pipeline whose head file has errors as invalid, not removed', () => {
    const base = [{ file: 'a.yaml', text: pipeline('select 1') }];
    const head = [{ file: 'a.yaml', text: pipeline('select :oops') }];
    const plan = planChange(base, head, { now });
    expect(plan.pipelines).toEqual([expect.objectContaining({ kind: 'invalid', id: 'features' })]);
    expect(plan.summary).toMatchObject({ invalid: 1, removed: 0, errors: 1 });
  });
});
