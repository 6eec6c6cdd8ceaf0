/**
 * Several dfm processes on one database: schedulers racing on the same fires, workers racing on
 * the same ready task runs. Coordination is the database's alone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { activate, useOrchestration } from '../helpers/orchestration.js';
import { spawnDfm, writePipelines, eventually, type DfmProcess } from '../helpers/dfm-process.js';
import { triggerRun } from '../../src/runs/trigger-run.js';

const run = promisify(execFile);

const { o, database } = useOrchestration();

describe('3 scheduler processes', () => {
  it('create exactly one run per fire over 120 fires', async () => {
    const t0 = '2026-01-01T00:00:30.000Z';
    await o.pool.query('select 1');
    await activate(o.pool, `id: every-minute\nschedule: "* * * * *"\ncatchup: all\nmax_active_runs: 100\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    // The pipeline was activated "now"; start its schedule at simulated T0 instead.
    await o.pool.query("update dfm.pipeline set scheduled_until = $1, paused = false where id = 'every-minute'", [t0]);
    // Simulated time begins once all three processes are ready (scheduler-process.ts).
    await o.pool.query('create table sched_ready (pid integer primary key, at timestamptz not null default clock_timestamp())');
    const end = '2026-01-01T02:00:00.000Z';
    // 1 real second = 25 simulated minutes: the 120 fires pass in about 5 seconds.
    const args = [database.url, t0, '3', '1500', end];
    const results = await Promise.all([1, 2, 3].map(() => run(process.execPath, ['--import', 'tsx', 'test/helpers/scheduler-process.ts', ...args], { timeout: 60_000 })));
    const ticks = results.map((r) => JSON.parse(r.stdout.trim()).ticks as number);
    // Every process took part in the race (under a loaded machine one may tick far less than the others).
    expect(Math.min(...ticks)).toBeGreaterThanOrEqual(10);

    const runs = await o.pool.query<{ logical_time: Date; n: number }>(
      "select logical_time, count(*)::int as n from dfm.run where pipeline_id = 'every-minute' group by 1 order by 1",
    );
    expect(runs.rows.every((r) => r.n === 1)).toBe(true);
    const times = runs.rows.map((r) => r.logical_time.toISOString());
    const expected = Array.from({ length: 120 }, (_, i) => new Date(Date.parse('2026-01-01T00:01:00Z') + i * 60_000).toISOString());
    expect(times).toEqual(expected);
    const tasks = await o.pool.query("select count(*)::int as n from dfm.task_run t join dfm.run r on r.id = t.run_id where r.pipeline_id = 'every-minute'");
    expect(tasks.rows[0].n).toBe(120);
  });
});

describe('4 worker processes', () => {
  const workers: DfmProcess[] = [];
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
  });

  it('claim each of 1,000 ready task runs exactly once', async () => {
    await o.pool.query('create table claim_effects (run_id bigint, task text, pid int default pg_backend_pid())');
    const tasks = Array.from({ length: 10 }, (_, i) => `  t${i}: { type: postgres.sql, sql: "insert into claim_effects (run_id, task) values (:run_id, 't${i}')" }`).join('\n');
    const yaml = `id: wide\nmax_active_runs: 100\ntasks:\n${tasks}\n`;
    await activate(o.pool, yaml);
    // Pause the pipeline so the 100 runs' 1,000 task runs all become ready at once when it resumes.
    await o.pool.query("update dfm.pipeline set paused = true where id = 'wide'");
    const dir = writePipelines({ 'wide.yaml': yaml });
    try {
      for (let i = 0; i < 4; i++) {
        workers.push(spawnDfm(['serve', '--role', 'worker'], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: dir.dir, DFM_WORKER_CONCURRENCY: '4' }));
      }
      await Promise.all(workers.map((w) => w.waitForOutput(/worker started/)));
      await o.pool.query("update dfm.pipeline set paused = false where id = 'wide'");
      const runIds: number[] = [];
      for (let i = 0; i < 100; i++) runIds.push((await triggerRun(o.pool, { pipelineId: 'wide' })).runId);
      await eventually(async () => {
        const { rows } = await o.pool.query("select count(*)::int as n from dfm.run where pipeline_id = 'wide' and state = 'success'");
        return rows[0].n === 100 ? true : undefined;
      }, 60_000, '100 successful runs');

      const effects = await o.pool.query('select count(*)::int as n, count(distinct (run_id, task))::int as distinct_n from claim_effects');
      expect(effects.rows[0]).toEqual({ n: 1000, distinct_n: 1000 });
      const attempts = await o.pool.query(
        "select count(*)::int as n, count(distinct task_run_id)::int as distinct_n, max(a.attempt) as max_attempt, count(distinct a.worker)::int as workers from dfm.task_attempt a join dfm.task_run t on t.id = a.task_run_id where t.task_id like 't%' and t.run_id = any($1)",
        [runIds],
      );
      expect(attempts.rows[0]).toMatchObject({ n: 1000, distinct_n: 1000, max_attempt: 1 });
      expect(attempts.rows[0].workers).toBeGreaterThanOrEqual(2);
    } finally {
      dir.remove();
    }
  });
});
