import { describe, expect, it } from 'vitest';
import { effectiveTaskSettings, retryDelayMs } from './effective-task-settings.js';
import { parsePipelineSource } from './parse-pipeline-source.js';
import { renderTemplates } from './templates.js';

const source = `id: settings
defaults: { retries: 3, retry_delay: 1m, timeout: 10m }
tasks:
  a:
    type: postgres.sql
    sql: select 1
  b:
    type: postgres.sql
    retries: 0
    retry_backoff: fixed
    timeout: 90s
    sql: select 2
`;

describe('normalized pipeline', () => {
  const { pipeline, diagnostics } = parsePipelineSource(source, 'settings.yaml');

  it('parses without diagnostics into camelCase with durations in ms', () => {
    expect(diagnostics).toEqual([]);
    expect(pipeline?.defaults).toEqual({ retries: 3, retryDelayMs: 60_000, retryBackoff: undefined, maxRetryDelayMs: undefined, timeoutMs: 600_000 });
    expect(pipeline?.tasks.map((t) => t.id)).toEqual(['a', 'b']);
    expect(pipeline?.tasks[0]).toMatchObject({ type: 'postgres.sql', needs: [], config: { sql: ['select 1'], connection: 'default', transaction: false, outputRows: 10 } });
  });

  it('resolves task settings: task over defaults over built-ins', () => {
    expect(effectiveTaskSettings(pipeline!, 'a')).toEqual({ retries: 3, retryDelayMs: 60_000, retryBackoff: 'exponential', maxRetryDelayMs: 600_000, timeoutMs: 600_000 });
    expect(effectiveTaskSettings(pipeline!, 'b')).toEqual({ retries: 0, retryDelayMs: 60_000, retryBackoff: 'fixed', maxRetryDelayMs: 600_000, timeoutMs: 90_000 });
    expect(() => effectiveTaskSettings(pipeline!, 'nope')).toThrow(RangeError);
  });

  it('computes retry delays with backoff and cap', () => {
    const settings = effectiveTaskSettings(pipeline!, 'a');
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(settings, n))).toEqual([60_000, 120_000, 240_000, 480_000, 600_000]);
  });

  it('fills the consumer group id of kafka.to_postgres', () => {
    const result = parsePipelineSource('id: land\ntasks:\n  in:\n    type: kafka.to_postgres\n    topic: t\n    table: x\n', 'land.yaml');
    expect(result.pipeline?.tasks[0]?.config).toMatchObject({ groupId: 'dfm.land.in', mode: 'append', until: { caughtUp: true } });
  });

  it('rejects oversized files with a diagnostic, not a crash', () => {
    const result = parsePipelineSource(`id: big\n# ${'x'.repeat(1_100_000)}\n`, 'big.yaml');
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([['file-too-large', 1, 1]]);
  });
});

describe('renderTemplates', () => {
  it('keeps the type of a whole-string template and interpolates inside text', () => {
    const context = { params: { city: 'amsterdam', n: 3 }, builtins: { logical_time: '2025-01-01T00:00:00Z' }, taskOutputs: { count: { rows: [{ n: 7 }], n: 7 } } };
    expect(renderTemplates({ a: '{{ params.n }}', b: 'station {{ params.city }} at {{ logical_time }}', c: ['{{ tasks.count.output.n }}'] }, context)).toEqual({ a: 3, b: 'station amsterdam at 2025-01-01T00:00:00Z', c: [7] });
  });
});
