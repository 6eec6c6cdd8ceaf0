/**
 * Retrying a failed run runs only what did not succeed, with the version it ran; pausing is a
 * user's and survives syncs, while a pause caused by a removed file is lifted only by the file.
 * The audit trail lists what was done newest first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/list-audit.js';
import { recordAudit } from '../../src/audit/record-audit.js';
import { retryRun } from '../../src/runs/retry-run.js';
import { setPipelinePaused } from '../../src/runs/set-pipeline-paused.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activatePipelines } from '../../src/scheduler/activate-pipelines.js';
import { activate, parsePipeline, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const { o } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table effects (id serial primary key, run_id bigint, task text); create table switch (on_ boolean)');
});

const FIXABLE = `id: fixable
defaults: { retries: 1, retry_delay: 50ms, retry_backoff: fixed }
tasks:
  a: { type: postgres.sql, sql: "insert into effects (run_id, task) values (:run_id, 'a')" }
  b: { type: postgres.sql, needs: [a], sql: "insert into effects (run_id, task) select :run_id, 'b' from switch where 1 / (select count(*) from switch)::int = 1" }
  c: { type: postgres.sql, needs: [b], sql: "insert into effects (run_id, task) values (:run_id, 'c')" }
`;

describe('retry', () => {
  it('runs the failed task and what it blocked again, not what succeeded, and the run ends green', async () => {
    await activate(o.pool, FIXABLE);
    o.startWorker();
    const { runId } = await triggerRun(o.pool, { pipelineId: 'fixable' });
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    await expect(retryRun(o.pool, runId + 1000)).rejects.toMatchObject({ code: 'RUN_UNKNOWN' });
    await o.pool.query('insert into switch values (true)');
    const retried = await retryRun(o.pool, runId);
    expect(retried).toMatchObject({ runId, pipelineId: 'fixable', tasks: ['b', 'c'], started: true });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    const tasks = await taskRows(o.pool, runId);
    expect(tasks['a']).toMatchObject({ state: 'success', attempt: 1 });
    // b's division by zero failed at once (not retryable); its retry got a full budget of two more attempts.
    expect(tasks['b']).toMatchObject({ state: 'success', attempt: 2 });
    const budget = await o.pool.query("select max_attempts from dfm.task_run where run_id = $1 and task_id = 'b'", [runId]);
    expect(budget.rows[0].max_attempts).toBe(3);
    expect(tasks['c']).toMatchObject({ state: 'success', attempt: 1 });
    const done = await o.pool.query<{ task: string }>('select task from effects where run_id = $1 order by id', [runId]);
    expect(done.rows.map((r) => r.task)).toEqual(['a', 'b', 'c']);
    const run = await o.pool.query('select state, error, finished_at is not null as finished from dfm.run where id = $1', [runId]);
    expect(run.rows[0]).toEqual({ state: 'success', error: null, finished: true });
    await expect(retryRun(o.pool, runId)).rejects.toMatchObject({ code: 'RUN_SUCCEEDED' });
  });

  it('a retried run of a paused pipeline waits queued and starts on unpause', async () => {
    await o.pool.query('truncate switch');
    const { runId } = await triggerRun(o.pool, { pipelineId: 'fixable' });
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    await o.pool.query('insert into switch values (true)');
    await setPipelinePaused(o.pool, 'fixable', true, 'cli:test');
    expect(await retryRun(o.pool, runId)).toMatchObject({ started: false });
    expect((await o.pool.query('select state from dfm.run where id = $1', [runId])).rows[0].state).toBe('queued');
    await setPipelinePaused(o.pool, 'fixable', false, 'cli:test');
    expect(await waitForRun(o.pool, runId)).toBe('success');
  });
});

describe('pause', () => {
  it("a user's pause refuses runs and survives a sync of the same file; unpause lifts it", async () => {
    await activate(o.pool, `id: pausable\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    expect(await setPipelinePaused(o.pool, 'pausable', true, 'slack:T1/U1')).toEqual({ pipelineId: 'pausable', paused: true, changed: true });
    expect(await setPipelinePaused(o.pool, 'pausable', true, 'slack:T1/U1')).toMatchObject({ changed: false });
    await expect(triggerRun(o.pool, { pipelineId: 'pausable' })).rejects.toMatchObject({ code: 'PIPELINE_PAUSED' });
    await activate(o.pool, FIXABLE, `id: pausable\ndescription: changed\ntasks:\n  t: { type: postgres.sql, sql: "select 2" }\n`);
    const row = await o.pool.query("select paused, paused_by from dfm.pipeline where id = 'pausable'");
    expect(row.rows[0]).toEqual({ paused: true, paused_by: 'slack:T1/U1' });
    await setPipelinePaused(o.pool, 'pausable', false, 'slack:T1/U1');
    const { runId } = await triggerRun(o.pool, { pipelineId: 'pausable' });
    expect(runId).toBeGreaterThan(0);
    await expect(setPipelinePaused(o.pool, 'pausabel', true, 'cli:test')).rejects.toMatchObject({ code: 'PIPELINE_UNKNOWN' });
  });

  it('a pipeline whose file was removed cannot be unpaused by hand, and comes back with its file', async () => {
    const removable = parsePipeline(`id: removable\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    const fixable = parsePipeline(FIXABLE);
    await activatePipelines(o.pool, [{ file: 'pipelines/removable.yaml', pipeline: removable }, { file: 'pipelines/fixable.yaml', pipeline: fixable }]);
    await activatePipelines(o.pool, [{ file: 'pipelines/fixable.yaml', pipeline: fixable }]);
    expect((await o.pool.query("select paused, paused_by from dfm.pipeline where id = 'removable'")).rows[0]).toEqual({ paused: true, paused_by: 'sync' });
    await expect(setPipelinePaused(o.pool, 'removable', false, 'cli:test')).rejects.toMatchObject({ code: 'PIPELINE_REMOVED' });
    await activatePipelines(o.pool, [{ file: 'pipelines/removable.yaml', pipeline: removable }, { file: 'pipelines/fixable.yaml', pipeline: fixable }]);
    expect((await o.pool.query("select paused, paused_by from dfm.pipeline where id = 'removable'")).rows[0]).toEqual({ paused: false, paused_by: null });
  });
});

describe('audit', () => {
  it('lists entries newest first, page by page, filtered by actor or target', async () => {
    for (let i = 0; i < 5; i++) {
      await recordAudit(o.pool, { actor: i % 2 ? 'slack:T1/U1' : 'token:ci', via: i % 2 ? 'slack' : 'api', action: 'run', target: 'fixable', outcome: i === 4 ? 'refused' : 'ok', detail: { i } });
    }
    const first = await listAudit(o.pool, { limit: 3 });
    expect(first.map((r) => r.detail['i'])).toEqual([4, 3, 2]);
    expect(first[0]).toMatchObject({ actor: 'token:ci', via: 'api', action: 'run', target: 'fixable', outcome: 'refused' });
    expect(first[0]!.at).toBeInstanceOf(Date);
    const second = await listAudit(o.pool, { limit: 3, before: first.at(-1)!.id });
    expect(second.map((r) => r.detail['i'])).toEqual([1, 0]);
    expect((await listAudit(o.pool, { actor: 'slack:T1/U1' })).map((r) => r.detail['i'])).toEqual([3, 1]);
    await expect(recordAudit(o.pool, { actor: '', via: 'api', action: 'run', outcome: 'ok' })).rejects.toThrow();
  });
});
