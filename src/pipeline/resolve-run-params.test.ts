import { describe, expect, it } from 'vitest';
import { parsePipelineSource } from './parse-pipeline-source.js';
import { manualInterval } from './manual-interval.js';
import { resolveRunParams } from './resolve-run-params.js';

const { pipeline } = parsePipelineSource(
  `id: params
params:
  day: { type: timestamp }
  limit: { type: integer, default: 100 }
  ratio: { type: number, default: 0.5 }
  dry_run: { type: boolean, default: false }
  label: { type: string, default: "x" }
tasks:
  t: { type: postgres.sql, sql: "select :day, :limit, :ratio, :dry_run, :label" }
`,
  'params.yaml',
);

describe('resolveRunParams', () => {
  it('fills defaults and converts command-line text to the declared types', () => {
    expect(resolveRunParams(pipeline!, { day: '2026-01-31T00:00:00Z', limit: '7', ratio: '1.25', dry_run: 'true' }, { fromText: true })).toEqual({
      day: '2026-01-31T00:00:00Z',
      limit: 7,
      ratio: 1.25,
      dry_run: true,
      label: 'x',
    });
  });

  it('reports every problem at once', () => {
    expect(() => resolveRunParams(pipeline!, { limit: '7.5', dry_run: 'yes', extra: '1' }, { fromText: true })).toThrow(
      /unknown param "extra".*param "day" is required \(timestamp\).*param "limit" must be an integer, got "7.5".*param "dry_run" must be a boolean, got "yes"/,
    );
  });

  it('keeps typed values from JSON callers as they are', () => {
    expect(() => resolveRunParams(pipeline!, { day: '2026-01-31', limit: '7' })).toThrow('param "limit" must be an integer, got "7"');
  });
});

const { pipeline: hourly } = parsePipelineSource('id: hourly\nschedule: "5 * * * *"\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n', 'hourly.yaml');

describe('manualInterval', () => {
  it('is [now, now) for a pipeline without a schedule', () => {
    const now = new Date('2026-03-01T10:30:00Z');
    expect(manualInterval(pipeline!, now)).toEqual({ intervalStart: now, intervalEnd: now });
  });
  it('is the last complete schedule interval before now', () => {
    const { intervalStart, intervalEnd } = manualInterval(hourly!, new Date('2026-03-01T10:30:00Z'));
    expect([intervalStart.toISOString(), intervalEnd.toISOString()]).toEqual(['2026-03-01T09:05:00.000Z', '2026-03-01T10:05:00.000Z']);
  });
  it('includes a fire at exactly now', () => {
    const { intervalEnd } = manualInterval(hourly!, new Date('2026-03-01T10:05:00Z'));
    expect(intervalEnd.toISOString()).toBe('2026-03-01T10:05:00.000Z');
  });
});
