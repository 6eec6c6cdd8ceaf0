import { describe, expect, it } from 'vitest';
import type { PlanMarkdownParts } from '../pipeline/format-plan.js';
import { fitPlanMarkdown } from './fit-plan-markdown.js';

const parts = (pipelines: string[]): PlanMarkdownParts => ({ summary: '**dfm plan**: …', pipelines, diagnostics: [], footer: '<sub>Fire times computed at 2025-03-29T12:00:00.000Z.</sub>' });
const options = { head: ['**dfm plan**: …'], limitName: 'the comment limit', fullPlanHint: 'dfm plan --repo . --base main --head HEAD' };

describe('fitPlanMarkdown', () => {
  it('leaves out a single section longer than the limit rather than cut into its fence', () => {
    const huge = `### ✏️ \`big\` changed\n\n\`\`\`diff\n${'+ x\n'.repeat(5_000)}\`\`\``;
    const { markdown, cut } = fitPlanMarkdown(parts([huge]), { ...options, maxChars: 1_000 });
    expect(cut).toBe(true);
    expect(markdown).toBe(
      '**dfm plan**: …\n\n<sub>Fire times computed at 2025-03-29T12:00:00.000Z.</sub>\n\n… 1 pipeline not shown (the comment limit is 1,000 characters); run `dfm plan --repo . --base main --head HEAD` to see the whole plan.\n',
    );
  });

  it('stays within an absurdly small limit', () => {
    const { markdown } = fitPlanMarkdown(parts(['### a', '### b']), { ...options, maxChars: 40 });
    expect(markdown.length).toBeLessThanOrEqual(40);
  });

  it('fills the limit exactly when it can', () => {
    const sections = ['### a'.padEnd(100, '.'), '### b'.padEnd(100, '.'), '### c'.padEnd(100, '.')];
    const whole = fitPlanMarkdown(parts(sections), { ...options, maxChars: 100_000 }).markdown;
    expect(fitPlanMarkdown(parts(sections), { ...options, maxChars: whole.length })).toEqual({ markdown: whole, cut: false });
    const cut = fitPlanMarkdown(parts(sections), { ...options, maxChars: whole.length - 1 });
    expect(cut.markdown.length).toBeLessThanOrEqual(whole.length - 1);
    // The cut line is longer than one section, so two make room for it.
    expect(cut.markdown).toContain('### a');
    expect(cut.markdown).toContain('… 2 more pipelines not shown');
  });
});
