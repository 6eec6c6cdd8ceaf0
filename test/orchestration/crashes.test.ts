/**
 * Real processes, real faults: kill -9 of a worker mid-task, every dfm connection terminated by
 * the server mid-run, and SIGTERM during a run followed by a restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { eventually, spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';

const processes: DfmProcess[] = [];
const folders: { remove(): void }[] = [];

const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table effects (id serial primary key, run_id bigint, task text)');
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});
afterAll(async () => {
  for (const f of folders) f.remove();
});

function dfm(yaml: string, args: string[] = ['serve'], env: Record<string, string> = {}): DfmProcess {
  const dir = writePipelines({ 'p.yaml': yaml });
  folders.push(dir);
  const p = spawnDfm(args, { DATABASE_URL: database.url, DFM_PIPELINES_DIR: dir.dir, ...env });
  processes.push(p);
  return p;
}

const running = (runId: number, task: string) =>
  eventually(async () => ((await taskRows(o.pool, runId))[task]?.state === 'running' ? true : undefined), 20_000, `${task} running`);

describe('kill -9 of the worker during a task', () => {
  it('the task runs again as attempt 2 after the heartbeat timeout and the run succeeds', async () => {
    const yaml = `id: crashy\ndefaults: { retries: 2, retry_delay: 100ms }\ntasks:\n  slow: { type: postgres.sql, sql: "insert into effects (run_id, task) select :run_id, 'slow' from pg_sleep(2)" }\n  after: { type: postgres.sql, needs: [slow], sql: "insert into effects (run_id, task) values (:run_id, 'after')" }\n`;
    const first = dfm(yaml);
    await first.waitForOutput(/worker started/);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'crashy' });
    await running(runId, 'slow');
    first.kill('SIGKILL');
    expect(await first.exited).toBe(null);

    const second = dfm(yaml);
    expect(await waitForRun(o.pool, runId, 30_000)).toBe('success');
    const tasks = await taskRows(o.pool, runId);
    expect(tasks['slow']).toMatchObject({ state: 'success', attempt: 2 });
    expect(tasks['slow']!.claimed_by).not.toBe(null);
    const lost = await o.pool.query("select a.error->>'code' as code from dfm.task_attempt a join dfm.task_run t on t.id = a.task_run_id where t.run_id = $1 and t.task_id = 'slow' and a.attempt = 1", [runId]);
    expect(lost.rows[0].code).toBe('WORKER_LOST');
    // The killed attempt's insert rolled back with its connection: the effect happened once.
    const effects = await o.pool.query('select task from effects where run_id = $1 order by id', [runId]);
    expect(effects.rows.map((r) => r.task)).toEqual(['slow', 'after']);
    expect(second.output()).toMatch(/returned task runs of workers that stopped heartbeating/);
  });
});

describe('pg_terminate_backend on every dfm connection mid-run', () => {
  it('the process survives and the run completes', async () => {
    const yaml = `id: terminated\ndefaults: { retries: 3, retry_delay: 200ms }\ntasks:\n  a: { type: postgres.sql, sql: "select pg_sleep(1.5)" }\n  b: { type: postgres.sql, needs: [a], sql: "insert into effects (run_id, task) values (:run_id, 'b')" }\n`;
    const p = dfm(yaml);
    await p.waitForOutput(/dfm is serving/);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'terminated' });
    await running(runId, 'a');
    const killed = await o.pool.query(
      "select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'dfm-%' and pid <> pg_backend_pid()) t",
      [database.name],
    );
    expect(killed.rows[0].n).toBeGreaterThanOrEqual(2); // at least the running task and the LISTEN connection
    const state = await waitForRun(o.pool, runId, 15_000).catch(async (e) => {
      console.log(JSON.stringify(await taskRows(o.pool, runId)), p.output().slice(-5000));
      throw e;
    });
    expect(state).toBe('success');
    expect(p.child.exitCode).toBe(null);
    const tasks = await taskRows(o.pool, runId);
    expect(tasks['a']).toMatchObject({ state: 'success', attempt: 2 });
    expect((await o.pool.query('select count(*)::int as n from effects where run_id = $1', [runId])).rows[0].n).toBe(1);
    // It still serves and schedules after the storm: a second run goes through.
    const again = await triggerRun(o.pool, { pipelineId: 'terminated' });
    expect(await waitForRun(o.pool, again.runId, 30_000)).toBe('success');
  });
});

describe('SIGTERM during a run', () => {
  it('stops gracefully, releasing what did not finish in the grace period; a restart completes the run', async () => {
    const yaml = `id: graceful\ntasks:\n  long: { type: postgres.sql, sql: "insert into effects (run_id, task) select :run_id, 'long' from pg_sleep(3)" }\n  quick: { type: postgres.sql, sql: "select pg_sleep(0.2)" }\n  last: { type: postgres.sql, needs: [long, quick], sql: "insert into effects (run_id, task) values (:run_id, 'last')" }\n`;
    const first = dfm(yaml, ['serve'], { DFM_SHUTDOWN_GRACE_MS: '1000' });
    await first.waitForOutput(/worker started/);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'graceful' });
    await running(runId, 'long');
    await eventually(async () => ((await taskRows(o.pool, runId))['quick']?.state === 'success' ? true : undefined), 10_000, 'quick done');
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/released in-flight task runs after the grace period/);
    expect(first.output()).toMatch(/"msg":"dfm stopped"/);
    // Released, not failed: the attempt does not count, and nothing it wrote stayed.
    expect((await taskRows(o.pool, runId))['long']).toMatchObject({ state: 'ready', attempt: 0 });
    expect((await o.pool.query('select count(*)::int as n from effects where run_id = $1', [runId])).rows[0].n).toBe(0);

    dfm(yaml);
    expect(await waitForRun(o.pool, runId, 30_000)).toBe('success');
    const tasks = await taskRows(o.pool, runId);
    expect(tasks['long']).toMatchObject({ state: 'success', attempt: 1 });
    expect(tasks['quick']).toMatchObject({ state: 'success', attempt: 1 });
    const effects = await o.pool.query('select task from effects where run_id = $1 order by id', [runId]);
    expect(effects.rows.map((r) => r.task)).toEqual(['long', 'last']);
  });
});
