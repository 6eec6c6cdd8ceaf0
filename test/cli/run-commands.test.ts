/**
 * `dfm run`, `runs`, `backfill` and `cancel` as a user types them, in-process against the real
 * database, with a worker executing what they create.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { activate, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { eventually } from '../helpers/dfm-process.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

function dfm(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliCaptured(argv, { env: { DATABASE_URL: database.url, LOG_LEVEL: 'silent' } });
}

const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table cli_effects (run_id bigint, n int, at timestamptz)');
  await activate(
    o.pool,
    `id: cli-hourly
schedule: "0 * * * *"
timezone: UTC
params:
  n: { type: integer, default: 1 }
tasks:
  write: { type: postgres.sql, sql: "insert into cli_effects values (:run_id, :n, :interval_start)" }
  check: { type: postgres.sql, needs: [write], sql: "select 1 / (:n - 13)" }
`,
    `id: cli-slow\ntasks:\n  wait: { type: postgres.sql, sql: "select pg_sleep(30)" }\n`,
  );
  o.startWorker();
});

describe('dfm run', () => {
  it('--wait follows the tasks and exits 0 when the run succeeds', async () => {
    const result = await dfm('run', 'cli-hourly', '--param', 'n=5', '--wait');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^run \d+ of cli-hourly queued$/);
    expect(lines).toContain('write: success');
    expect(lines).toContain('check: success');
    expect(lines.at(-1)).toMatch(/^run \d+ success$/);
  });

  it('--wait exits 1 with the failing task and its error when the run fails', async () => {
    const result = await dfm('run', 'cli-hourly', '-p', 'n=13', '--wait');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/check: failed — division by zero/);
    expect(result.stdout).toMatch(/run \d+ failed: Failed tasks: check/);
  });

  it('rejects a param of the wrong type and names it, creating nothing', async () => {
    const before = (await o.pool.query('select count(*)::int as n from dfm.run')).rows[0].n;
    const result = await dfm('run', 'cli-hourly', '--param', 'n=five');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('param "n" must be an integer, got "five"');
    expect((await o.pool.query('select count(*)::int as n from dfm.run')).rows[0].n).toBe(before);
  });

  it('names the active pipelines when the pipeline is unknown', async () => {
    const result = await dfm('run', 'cli-hourlyy');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No pipeline "cli-hourlyy". Active pipelines: cli-hourly, cli-slow.');
  });
});

describe('dfm runs and dfm cancel', () => {
  it('lists runs newest first and cancels a running one', async () => {
    const started = await dfm('run', 'cli-slow');
    const runId = Number(/run (\d+)/.exec(started.stdout)![1]);
    await eventually(async () => ((await o.pool.query("select state from dfm.task_run where run_id = $1", [runId])).rows[0].state === 'running' ? true : undefined));
    const listed = await dfm('runs', 'cli-slow');
    expect(listed.stdout.split('\n')[1]).toMatch(new RegExp(`^${runId}\\s+cli-slow\\s+running\\s+manual`));
    const cancelled = await dfm('cancel', String(runId));
    expect(cancelled).toMatchObject({ code: 0, stdout: `run ${runId} cancelled (1 task run(s) stopped)\n` });
    expect(await waitForRun(o.pool, runId)).toBe('cancelled');
    expect((await dfm('cancel', String(runId))).stderr).toContain(`Run ${runId} already ended (cancelled).`);
  });
});

describe('dfm backfill', () => {
  it('--dry-run lists the intervals without creating runs', async () => {
    const result = await dfm('backfill', 'cli-hourly', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-01T02:00:00Z', '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '2026-01-01T00:00:00.000Z  interval [2025-12-31T23:00:00.000Z, 2026-01-01T00:00:00.000Z)',
        '2026-01-01T01:00:00.000Z  interval [2026-01-01T00:00:00.000Z, 2026-01-01T01:00:00.000Z)',
        '2026-01-01T02:00:00.000Z  interval [2026-01-01T01:00:00.000Z, 2026-01-01T02:00:00.000Z)',
        '3 interval(s) would be backfilled (dry run: nothing created)',
        '',
      ].join('\n'),
    );
    expect((await o.pool.query("select count(*)::int as n from dfm.run where trigger = 'backfill'")).rows[0].n).toBe(0);
  });

  it('creates one run per interval, waits for them, and never duplicates an interval', async () => {
    const first = await dfm('backfill', 'cli-hourly', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-01T02:00:00Z');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created 3 run\(s\)\n/);
    expect(first.stdout).toMatch(/3\/3 runs done\n$/);
    const again = await dfm('backfill', 'cli-hourly', '--from', '2026-01-01T01:00:00Z', '--to', '2026-01-01T03:00:00Z');
    expect(again.stdout).toMatch(/^created 1 run\(s\), 2 interval\(s\) already had a run\n/);
    const intervals = await o.pool.query("select e.at from cli_effects e join dfm.run r on r.id = e.run_id where r.trigger = 'backfill' order by 1");
    expect(intervals.rows.map((r) => r.at.toISOString())).toEqual([
      '2025-12-31T23:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
    ]);
  });

  it('rejects an unreadable time with a usage hint', async () => {
    const result = await dfm('backfill', 'cli-hourly', '--from', 'yesterday', '--to', '2026-01-01');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--from must be an ISO-8601 time such as 2026-01-01 or 2026-01-01T00:00:00Z, got "yesterday"');
  });
});
