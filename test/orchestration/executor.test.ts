/**
 * The executor against the real PostgreSQL: DAG order, retries, timeouts, cancel, the fence, the
 * heartbeat, the ambiguous commit, params bound (never spliced) and max_active_runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cancelRun } from '../../src/runs/cancel-run.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';


const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table effects (id serial primary key, run_id bigint, task text, value text, at timestamptz default clock_timestamp())');
});

const effects = async (runId: number) =>
  (await o.pool.query<{ task: string; value: string }>('select task, value from effects where run_id = $1 order by id', [runId])).rows;

describe('a run', () => {
  it('executes the DAG in dependency order and succeeds', async () => {
    await activate(
      o.pool,
      `id: diamond
tasks:
  a: { type: postgres.sql, sql: "insert into effects (run_id, task) values (:run_id, 'a')" }
  b: { type: postgres.sql, needs: [a], sql: "insert into effects (run_id, task) values (:run_id, 'b')" }
  c: { type: postgres.sql, needs: [a], sql: "insert into effects (run_id, task) values (:run_id, 'c')" }
  d: { type: postgres.sql, needs: [b, c], sql: "insert into effects (run_id, task) select :run_id, 'd' where (select count(*) from effects where run_id = :run_id) = 3" }
`,
    );
    o.startWorker();
    const { runId } = await triggerRun(o.pool, { pipelineId: 'diamond' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    const order = (await effects(runId)).map((e) => e.task);
    expect(order[0]).toBe('a');
    expect(order.slice(1, 3).sort()).toEqual(['b', 'c']);
    expect(order[3]).toBe('d');
    const tasks = await taskRows(o.pool, runId);
    expect(Object.values(tasks).map((t) => [t.state, t.attempt])).toEqual(Array(4).fill(['success', 1]));
    expect(tasks['d']!.output).toMatchObject({ rowCount: 1 });
  });

  it('fails after its retries, marks everything downstream upstream_failed and records each attempt', async () => {
    await activate(
      o.pool,
      `id: flaky
defaults: { retries: 2, retry_delay: 100ms, retry_backoff: fixed }
tasks:
  boom: { type: postgres.sql, sql: "do $$ begin raise exception 'boom'; end $$" }
  after: { type: postgres.sql, needs: [boom], sql: "insert into effects (run_id, task) values (:run_id, 'after')" }
  independent: { type: postgres.sql, sql: "insert into effects (run_id, task) values (:run_id, 'independent')" }
`,
    );
    const { runId } = await triggerRun(o.pool, { pipelineId: 'flaky' });
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    const tasks = await taskRows(o.pool, runId);
    expect(tasks['boom']).toMatchObject({ state: 'failed', attempt: 3, error: { code: 'POSTGRES_P0001', retryable: true } });
    expect(tasks['after']).toMatchObject({ state: 'upstream_failed', attempt: 0 });
    expect(tasks['independent']).toMatchObject({ state: 'success' });
    const attempts = await o.pool.query('select a.attempt, a.state from dfm.task_attempt a join dfm.task_run t on t.id = a.task_run_id where t.run_id = $1 and t.task_id = $2 order by attempt', [runId, 'boom']);
    expect(attempts.rows).toEqual([
      { attempt: 1, state: 'failed' },
      { attempt: 2, state: 'failed' },
      { attempt: 3, state: 'failed' },
    ]);
    const run = await o.pool.query('select error from dfm.run where id = $1', [runId]);
    expect(run.rows[0].error).toBe('Failed tasks: boom');
  });

  it('does not retry an error that fails the same way every time (SQL syntax)', async () => {
    await activate(o.pool, `id: typo\ndefaults: { retries: 5, retry_delay: 50ms }\ntasks:\n  t: { type: postgres.sql, sql: "selec 1" }\n`);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'typo' });
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    expect((await taskRows(o.pool, runId))['t']).toMatchObject({ state: 'failed', attempt: 1, error: { code: 'POSTGRES_42601', retryable: false } });
  });

  it('times out an attempt and cancels its statement on the server', async () => {
    await activate(o.pool, `id: slow\ntasks:\n  sleepy: { type: postgres.sql, timeout: 500ms, sql: "select pg_sleep(30)" }\n`);
    const began = Date.now();
    const { runId } = await triggerRun(o.pool, { pipelineId: 'slow' });
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    expect(Date.now() - began).toBeLessThan(10_000);
    expect((await taskRows(o.pool, runId))['sleepy']).toMatchObject({ state: 'failed', error: { code: 'TASK_TIMEOUT' } });
    const sleeping = await o.pool.query("select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'");
    expect(sleeping.rows[0].n).toBe(0);
  });

  it('binds params as data: an injection attempt is stored verbatim and the tables stay intact', async () => {
    await activate(
      o.pool,
      `id: inject
params:
  note: { type: string }
  n: { type: integer, default: 1 }
tasks:
  store: { type: postgres.sql, sql: "insert into effects (run_id, task, value) values (:run_id, 'store', :note || '/' || :n)" }
`,
    );
    const evil = "x'); drop table effects; drop table dfm.run;--";
    const { runId } = await triggerRun(o.pool, { pipelineId: 'inject', params: { note: evil, n: '7' }, paramsFromText: true });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    expect(await effects(runId)).toEqual([{ task: 'store', value: `${evil}/7` }]);
    const tables = await o.pool.query("select count(*)::int as n from information_schema.tables where table_name in ('effects', 'run')");
    expect(tables.rows[0].n).toBe(2);
  });

  it('rejects params that do not match their declared type, before creating a run', async () => {
    const attempt = triggerRun(o.pool, { pipelineId: 'inject', params: { n: 'seven', colour: 'red' }, paramsFromText: true });
    await expect(attempt).rejects.toMatchObject({
      code: 'RUN_PARAMS_INVALID',
      details: {
        problems: expect.arrayContaining(['param "note" is required (string)', 'param "n" must be an integer, got "seven"', 'unknown param "colour" (declared: n, note)']),
      },
    });
    const runs = await o.pool.query("select count(*)::int as n from dfm.run where pipeline_id = 'inject'");
    expect(runs.rows[0].n).toBe(1);
  });

  it('cancels a running run: the running statement is aborted and nothing downstream starts', async () => {
    await activate(
      o.pool,
      `id: cancellable
tasks:
  long: { type: postgres.sql, sql: "select pg_sleep(30)" }
  next: { type: postgres.sql, needs: [long], sql: "insert into effects (run_id, task) values (:run_id, 'next')" }
`,
    );
    const { runId } = await triggerRun(o.pool, { pipelineId: 'cancellable' });
    await expect.poll(async () => (await taskRows(o.pool, runId))['long']!.state, { timeout: 10_000 }).toBe('running');
    await cancelRun(o.pool, runId, 'test');
    expect(await waitForRun(o.pool, runId)).toBe('cancelled');
    await expect.poll(async () => (await o.pool.query("select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'")).rows[0].n, { timeout: 5000 }).toBe(0);
    expect(await effects(runId)).toEqual([]);
    expect(Object.values(await taskRows(o.pool, runId)).map((t) => t.state)).toEqual(['cancelled', 'cancelled']);
  });

  it('keeps at most max_active_runs running; the others wait queued and start in logical-time order', async () => {
    await activate(o.pool, `id: serial-one\nmax_active_runs: 1\ntasks:\n  t: { type: postgres.sql, sql: "select pg_sleep(0.3)" }\n`);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await triggerRun(o.pool, { pipelineId: 'serial-one' })).runId);
    const states = await o.pool.query('select state from dfm.run where id = any($1) order by id', [ids]);
    expect(states.rows.map((r) => r.state)).toEqual(['running', 'queued', 'queued']);
    for (const id of ids) expect(await waitForRun(o.pool, id)).toBe('success');
    const overlap = await o.pool.query(
      'select count(*)::int as n from dfm.run a join dfm.run b on a.id < b.id where a.id = any($1) and b.id = any($1) and b.started_at < a.finished_at',
      [ids],
    );
    expect(overlap.rows[0].n).toBe(0);
  });
});

describe('claims', () => {
  it('a slow task that keeps heartbeating is not reaped', async () => {
    await activate(o.pool, `id: slow-but-alive\ntasks:\n  t: { type: postgres.sql, sql: "select pg_sleep(3)" }\n`);
    const { runId } = await triggerRun(o.pool, { pipelineId: 'slow-but-alive' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    expect((await taskRows(o.pool, runId))['t']).toMatchObject({ state: 'success', attempt: 1 });
  });
});
