import { describe, expect, it } from 'vitest';
import { formatPlanMarkdown } from './format-plan.js';
import { planChange, type PipelinePlan } from './plan-change.js';

const now = new Date('2025-06-01T00:00:00Z');
const pipeline = (sql: string, extra = '') => `id: features\n${extra}tasks:\n  load:\n    type: postgres.sql\n    sql: select 1\n  agg:\n    type: postgres.sql\n    needs: [load]\n    sql: |\n${sql.replace(/^/gm, '      ')}\n`;

describe('formatPlanMarkdown', () => {
  it('colours the changed task in the DAG of a changed pipeline', () => {
    const plan = planChange([{ file: 'a.yaml', text: pipeline('select 1') }], [{ file: 'a.yaml', text: pipeline('select 2') }], { now });
    const markdown = formatPlanMarkdown(plan);
    expect(markdown).toContain('<details><summary>DAG (added tasks green, changed tasks yellow)</summary>\n\n```mermaid\nflowchart LR');
    expect(markdown).toContain('  class t1 changed\n```\n</details>');
  });

  it('keeps a diff fence closed when the SQL holds a code fence of its own', () => {
    const plan = planChange([{ file: 'a.yaml', text: pipeline('-- ```\nselect 1\nfrom a\nwhere b') }], [{ file: 'a.yaml', text: pipeline('-- ```\nselect 2\nfrom a\nwhere b') }], { now });
    expect(formatPlanMarkdown(plan)).toContain('<details><summary><code>tasks.agg.sql</code></summary>\n\n````diff\n  -- ```\n- select 1\n+ select 2\n  from a\n  where b\n````');
  });

  it('escapes diagnostics so a message cannot mention people or break the list', () => {
    const plan: PipelinePlan = {
      now: now.toISOString(),
      summary: { added: 0, removed: 0, changed: 0, renamed: 0, invalid: 1, unchanged: 0, errors: 1, warnings: 0 },
      pipelines: [{ kind: 'invalid', id: 'x`y', file: 'pipe|lines/a`b.yaml', fields: [], tasks: { added: [], removed: [], changed: [] }, edges: { added: [], removed: [] } }],
      diagnostics: [{ file: 'a.yaml', line: 3, column: 5, endLine: 3, endColumn: 9, severity: 'error', code: 'sql.parse', message: 'near "@admin" <script>', hint: 'see *docs*' }],
    };
    const markdown = formatPlanMarkdown(plan);
    expect(markdown).toContain('### ❌ ``x`y`` has errors — ``pipe|lines/a`b.yaml``');
    expect(markdown).toContain('- ❌ `a.yaml:3:5` **sql.parse** near "@&#8203;admin" &lt;script&gt; — see \\*docs\\*');
  });
});
