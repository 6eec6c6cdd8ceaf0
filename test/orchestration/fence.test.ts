/**
 * The fence and the ambiguous commit, played step by step. Crash recovery is tested by writing an
 * old heartbeat into the table instead of waiting (graphile-worker's trick).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { claimTaskRuns } from '../../src/executor/claim-task-runs.js';
import { reapStaleTaskRuns } from '../../src/executor/reap-stale-task-runs.js';
import { completeTaskRun } from '../../src/executor/write-task-outcome.js';
import { closeFinishedRuns, closeRunIfDone } from '../../src/runs/settle-task-run.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';


const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table effects (id serial primary key, run_id bigint, task text)');
});

describe('the fence', () => {
  it('rejects the late completion of a reaped worker and keeps the new owner’s', async () => {
    await activate(o.pool, `id: fenced\ndefaults: { retries: 1 }\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'fenced' });

    const { claimed: [zombie] } = await claimTaskRuns(o.pool, 'zombie', 1);
    expect(zombie).toMatchObject({ runId, taskId: 't', attempt: 1 });
    // The zombie stopped heartbeating an hour ago.
    await o.pool.query("update dfm.task_run set heartbeat_at = now() - interval '1 hour' where id = $1", [zombie!.id]);
    expect(await reapStaleTaskRuns(o.pool, 30_000)).toEqual([{ runId, taskId: 't', attempt: 1, worker: 'zombie' }]);
    expect((await taskRows(o.pool, runId))['t']).toMatchObject({ state: 'ready', attempt: 1, error: { code: 'WORKER_LOST' } });

    const { claimed: [fresh] } = await claimTaskRuns(o.pool, 'fresh', 1);
    expect(fresh).toMatchObject({ id: zombie!.id, attempt: 2 });

    const late = await completeTaskRun(o.pool, { ...zombie!, workerId: 'zombie' }, { from: 'zombie' });
    expect(late.applied).toBe(false);
    const onTime = await completeTaskRun(o.pool, { ...fresh!, workerId: 'fresh' }, { from: 'fresh' });
    expect(onTime).toMatchObject({ applied: true });
    expect(await closeRunIfDone(o.pool, runId)).toEqual({ state: 'success', pipelineId: 'fenced', trigger: 'manual', seconds: expect.any(Number) });
    expect((await taskRows(o.pool, runId))['t']).toMatchObject({ state: 'success', attempt: 2, claimed_by: 'fresh', output: { from: 'fresh' } });
  });

  it('does not reap a task run whose heartbeat is recent', async () => {
    await activate(o.pool, `id: alive\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'alive' });
    const { claimed: [claim] } = await claimTaskRuns(o.pool, 'alive-worker', 1);
    expect(await reapStaleTaskRuns(o.pool, 30_000)).toEqual([]);
    expect((await taskRows(o.pool, runId))['t']).toMatchObject({ state: 'running', claimed_by: 'alive-worker' });
    await completeTaskRun(o.pool, { ...claim!, workerId: 'alive-worker' }, null);
    await closeRunIfDone(o.pool, runId);
  });
});

describe('closing runs', () => {
  it('a run whose last completion crashed before closing it is closed by the sweep', async () => {
    await activate(o.pool, `id: unclosed\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'unclosed' });
    const { claimed: [claim] } = await claimTaskRuns(o.pool, 'crashes-after-commit', 1);
    await completeTaskRun(o.pool, { ...claim!, workerId: 'crashes-after-commit' }, null);
    // ... and the worker dies here, before closeRunIfDone.
    expect((await o.pool.query('select state from dfm.run where id = $1', [runId])).rows[0].state).toBe('running');
    expect(await closeFinishedRuns(o.pool)).toEqual([{ state: 'success', pipelineId: 'unclosed', trigger: 'manual', seconds: expect.any(Number) }]);
    expect((await o.pool.query('select state from dfm.run where id = $1', [runId])).rows[0].state).toBe('success');
  });
});

describe('the ambiguous commit', () => {
  it('a commit that succeeded while the worker saw a lost connection does not run the effect twice', async () => {
    await activate(o.pool, `id: ambiguous\ndefaults: { retries: 3, retry_delay: 50ms }\ntasks:\n  t: { type: postgres.sql, sql: "insert into effects (run_id, task) values (:run_id, 't')" }\n`);
    let injected = 0;
    o.startWorker({
      afterOutcomeCommit: () => {
        if (injected++ === 0) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      },
    });
    const { runId } = await triggerRun(o.pool, { pipelineId: 'ambiguous' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    expect(injected).toBeGreaterThan(0);
    const effects = await o.pool.query('select count(*)::int as n from effects where run_id = $1', [runId]);
    expect(effects.rows[0].n).toBe(1);
    expect((await taskRows(o.pool, runId))['t']).toMatchObject({ state: 'success', attempt: 1 });
  });
});
