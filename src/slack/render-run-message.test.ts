import { describe, expect, it } from 'vitest';
import { renderRunMessage, renderRunThread } from './render-run-message.js';
import type { RunMessagePayload } from './run-message-payload.js';

const failed: RunMessagePayload = {
  runId: 42, pipelineId: 'orders-hourly', channel: '#data-alerts', state: 'failed', trigger: 'manual', requestedBy: 'slack:T1/U2',
  sourceRef: '0123456789abcdef0123456789abcdef01234567', commitTitle: 'Land <orders> & totals', durationMs: 83_000,
  tasks: [{ id: 'land', state: 'success', attempt: 1 }, { id: 'totals', state: 'failed', attempt: 3 }, { id: 'publish', state: 'upstream_failed', attempt: 0 }],
  failed: { task: 'totals', attempt: 3, error: 'connect to postgres://etl:hunter2@db:5432/mart failed', logTail: 'line 1\nline 2 ```' },
};

const sectionTexts = (blocks: readonly Record<string, unknown>[]) => blocks.flatMap((b) => (b['text'] ? [(b['text'] as { text: string }).text] : []));

describe('renderRunMessage', () => {
  it('is one line of outcome, one of tasks, one of context, and the buttons, escaped', () => {
    const message = renderRunMessage(failed, 'https://dfm.example.com');
    const blocks = message.attachments![0]!.blocks;
    expect(message.attachments![0]!.color).toBe('#e01e5a');
    expect(sectionTexts(blocks)[0]).toBe(':x: *<https://dfm.example.com/runs/42|orders-hourly #42>* failed\n✓ land  ✗ totals (try 3)  ⊘ publish');
    expect((blocks[1]!['elements'] as { text: string }[])[0]!.text).toBe('manual by slack:T1/U2 · 1m 23s · commit `0123456` Land &lt;orders&gt; &amp; totals');
    expect((blocks[2]!['elements'] as { action_id: string }[]).map((e) => e.action_id)).toEqual(['dfm_retry', 'dfm_open']);
  });

  it('offers Cancel while running and turns green on success', () => {
    expect(((renderRunMessage({ ...failed, state: 'running', failed: null }, 'https://x').attachments![0]!.blocks[2]!['elements']) as { action_id: string }[]).map((e) => e.action_id)).toEqual(['dfm_cancel', 'dfm_open']);
    expect(renderRunMessage({ ...failed, state: 'success', failed: null }, 'https://x').attachments![0]!.color).toBe('#2eb67d');
  });

  it('keeps the longest run within Slack limits (3,000 characters a section, 50 blocks)', () => {
    const tasks = Array.from({ length: 500 }, (_, i) => ({ id: `a_task_with_a_rather_long_name_${i}`, state: 'failed', attempt: 100 }));
    const message = renderRunMessage({ ...failed, tasks, pipelineId: 'p'.repeat(63), commitTitle: '<'.repeat(5000) }, 'https://dfm.example.com');
    const blocks = message.attachments![0]!.blocks;
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const text of sectionTexts(blocks)) expect(text.length).toBeLessThanOrEqual(3000);
    expect(((blocks[1]!['elements'] as { text: string }[])[0]!.text).length).toBeLessThanOrEqual(3000);
  });
});

describe('renderRunThread', () => {
  it('carries the failed task, attempt, error and log tail, with passwords redacted', () => {
    const thread = renderRunThread(failed);
    const texts = sectionTexts(thread.blocks!);
    expect(texts[0]).toBe('Task *totals* failed (attempt 3)\n```connect to postgres://etl:***@db:5432/mart failed```');
    expect(texts[1]).toBe("Log tail\n```line 1\nline 2 '''```");
    expect(thread.text).not.toContain('hunter2');
  });

  it('fits a huge error and log within a section each', () => {
    const texts = sectionTexts(renderRunThread({ ...failed, failed: { task: 'totals', attempt: 1, error: 'e'.repeat(100_000), logTail: '<&>'.repeat(50_000) } }).blocks!);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(3000);
  });
});
