import { describe, expect, it } from 'vitest';
import { describeRunStatus, statusContext } from './describe-run-status.js';

describe('describeRunStatus', () => {
  it('says a running run is pending', () => {
    expect(describeRunStatus({ state: 'running', durationMs: 1_200 })).toEqual({ state: 'pending', description: 'Running…' });
  });

  it('says how long a successful run took', () => {
    expect(describeRunStatus({ state: 'success', durationMs: 133_000 })).toEqual({ state: 'success', description: 'Succeeded in 2m 13s' });
    expect(describeRunStatus({ state: 'success', durationMs: 400 })).toEqual({ state: 'success', description: 'Succeeded in 0s' });
    expect(describeRunStatus({ state: 'success', durationMs: 3_600_000 + 5 * 60_000 + 7_000 })).toEqual({ state: 'success', description: 'Succeeded in 1h 5m' });
    expect(describeRunStatus({ state: 'success', durationMs: 2 * 86_400_000 })).toEqual({ state: 'success', description: 'Succeeded in 2d' });
    expect(describeRunStatus({ state: 'success', durationMs: null })).toEqual({ state: 'success', description: 'Succeeded' });
  });

  it('names the failed task and the first line of its error', () => {
    expect(
      describeRunStatus({ state: 'failed', durationMs: 41_000, failedTask: { id: 'load_orders', error: '\nrelation "raw.orders" does not exist\n    at Parser.parseErrorMessage (node_modules/pg-protocol/dist/parser.js:287:98)' } }),
    ).toEqual({ state: 'failure', description: 'Failed in 41s: task load_orders — relation "raw.orders" does not exist' });
    expect(describeRunStatus({ state: 'failed', durationMs: 41_000, failedTask: null })).toEqual({ state: 'failure', description: 'Failed in 41s' });
    expect(describeRunStatus({ state: 'failed', durationMs: 61_000, failedTask: { id: 'publish', error: '' } })).toEqual({ state: 'failure', description: 'Failed in 1m 1s: task publish' });
  });

  it('cuts a huge multi-line error to one line of at most 140 characters', () => {
    const error = `${'deadlock detected\t'.repeat(40)}\nDETAIL: Process 123 waits for ShareLock\n${'x'.repeat(10_000)}`;
    const { state, description } = describeRunStatus({ state: 'failed', durationMs: 9_000, failedTask: { id: 'hourly_totals', error } });
    expect(state).toBe('failure');
    expect(description).toHaveLength(140);
    expect(description).not.toMatch(/[\n\r\t]/);
    expect(description.startsWith('Failed in 9s: task hourly_totals — deadlock detected deadlock detected')).toBe(true);
    expect(description.endsWith('…')).toBe(true);
  });

  it('does not split an emoji when cutting', () => {
    const { description } = describeRunStatus({ state: 'failed', durationMs: 1_000, failedTask: { id: 't', error: '🔥'.repeat(200) } });
    expect(description.length).toBeLessThanOrEqual(140);
    expect(description.endsWith('🔥…')).toBe(true);
  });

  it('reports a cancelled run as an error with how long it ran', () => {
    expect(describeRunStatus({ state: 'cancelled', durationMs: 302_000 })).toEqual({ state: 'error', description: 'Cancelled after 5m 2s' });
    expect(describeRunStatus({ state: 'cancelled', durationMs: null })).toEqual({ state: 'error', description: 'Cancelled' });
  });
});

describe('statusContext', () => {
  it('is dfm/<pipeline>', () => {
    expect(statusContext('orders-hourly')).toBe('dfm/orders-hourly');
  });
});
