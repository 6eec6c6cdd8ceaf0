import { describe, expect, it } from 'vitest';
import { findOpenFence, planOfChangedPipelines } from '../../test/helpers/plan-fixtures.js';
import type { PipelinePlan } from '../pipeline/plan-change.js';
import { renderPrComment } from './render-pr-comment.js';

const fullPlanHint = 'dfm plan --repo . --base main --head 9f8e7d6';
const headSha = '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432';
const emptyPlan: PipelinePlan = {
  now: '2025-03-29T12:00:00.000Z',
  summary: { added: 0, removed: 0, changed: 0, renamed: 0, invalid: 0, unchanged: 2, errors: 0, warnings: 0 },
  pipelines: [],
  diagnostics: [],
};

describe('renderPrComment', () => {
  it('starts with the marker and says which head commit it reflects', () => {
    expect(renderPrComment(emptyPlan, { headSha, fullPlanHint, checkRunUrl: 'https://github.com/o/r/runs/42' })).toBe(
      [
        '<!-- dfm-plan -->',
        '',
        '**dfm plan**: no pipeline changes (2 unchanged) · ✅ no errors',
        '',
        '<sub>For head commit 9f8e7d6 · [check run](https://github.com/o/r/runs/42)</sub>',
        '',
        '<sub>Fire times computed at 2025-03-29T12:00:00.000Z.</sub>',
        '',
      ].join('\n'),
    );
  });

  // planChange of 300 pipelines with fire-time previews takes about a second, several on a loaded CI machine.
  it('cuts 300 changed pipelines below the comment limit with fences closed and says how to see the rest', () => {
    const comment = renderPrComment(planOfChangedPipelines(300), { headSha, fullPlanHint, checkRunUrl: 'https://github.com/o/r/runs/42' });
    expect(comment.length).toBeLessThanOrEqual(65_536);
    expect(comment.startsWith('<!-- dfm-plan -->\n\n**dfm plan**: 300 changed')).toBe(true);
    expect(findOpenFence(comment)).toBeUndefined();
    const shown = comment.match(/^### ✏️ /gm)?.length ?? 0;
    expect(comment.trimEnd().split('\n').at(-1)).toBe(
      `… ${300 - shown} more pipelines not shown (the comment limit is 65,536 characters); run \`${fullPlanHint}\` or open <https://github.com/o/r/runs/42> to see the whole plan.`,
    );
  }, 30_000);

  it('does not cut a small plan', () => {
    const comment = renderPrComment(planOfChangedPipelines(3), { headSha, fullPlanHint });
    expect(comment.match(/^### ✏️ /gm)).toHaveLength(3);
    expect(comment).not.toContain('not shown');
    expect(comment).toContain('<sub>For head commit 9f8e7d6</sub>');
  });

  it('shows a head that is not a SHA as code and keeps a link with parentheses whole', () => {
    const comment = renderPrComment(emptyPlan, { headSha: 'main @ops', fullPlanHint, checkRunUrl: 'https://x.example/a (b)' });
    expect(comment).toContain('<sub>For head commit `main @ops` · [check run](https://x.example/a%20%28b%29)</sub>');
  });
});
