/**
 * Many runs of one pipeline created at once (a flood of `dfm run`, webhook deliveries, Slack
 * commands) all succeed: none fails with "deadlock detected", and max_active_runs still holds.
 */
import { describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const { o } = useOrchestration();

describe('concurrent manual runs of one pipeline', () => {
  it('creates every one, and runs them one at a time', async () => {
    await activate(o.pool, `id: crowded\nmax_active_runs: 1\ntasks:\n  t: { type: postgres.sql, sql: "select pg_sleep(0.02)" }\n`);
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => triggerRun(o.pool, { pipelineId: 'crowded' })));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures).toEqual([]);
    const running = await o.pool.query<{ n: number }>("select count(*)::int as n from dfm.run where pipeline_id = 'crowded' and state = 'running'");
    expect(running.rows[0]!.n).toBe(1);
    o.startWorker();
    const ids = results.map((r) => (r as PromiseFulfilledResult<{ runId: number }>).value.runId);
    for (const id of ids) expect(await waitForRun(o.pool, id, 60_000)).toBe('success');
    const overlapping = await o.pool.query<{ n: number }>(
      `select count(*)::int as n from dfm.run a join dfm.run b on a.id < b.id and a.pipeline_id = b.pipeline_id
        where a.pipeline_id = 'crowded' and a.started_at < b.finished_at and b.started_at < a.finished_at`,
    );
    expect(overlapping.rows[0]!.n).toBe(0);
  }, 90_000);
});
