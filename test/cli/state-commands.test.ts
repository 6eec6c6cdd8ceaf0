/**
 * `dfm retry`, `pause`, `unpause` and `audit` as a user types them, in-process against the real
 * database: each state change is audited as `cli:<os user>`, and `dfm audit` shows it beside the
 * other surfaces' entries (Slack's among them).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/audit/record-audit.js';
import { activate, runToEnd, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

function dfm(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliCaptured(argv, { env: { DATABASE_URL: database.url, LOG_LEVEL: 'silent' } });
}

const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table cli_gate (x int)');
  await activate(o.pool, 'id: cli-gated\nschedule: "0 * * * *"\ntasks:\n  ok: { type: postgres.sql, sql: "select 1" }\n  gated: { type: postgres.sql, needs: [ok], sql: "select 1 / (select count(*)::int from cli_gate)" }\n');
  o.startWorker();
});

describe('dfm retry', () => {
  it('runs the failed tasks again and audits it', async () => {
    const { runId, state } = await runToEnd(o.pool, 'cli-gated');
    expect(state).toBe('failed');
    await o.pool.query('insert into cli_gate values (1)');
    const retried = await dfm('retry', `#${runId}`);
    expect(retried).toMatchObject({ code: 0, stdout: `run ${runId} retrying gated\n` });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    expect((await dfm('retry', String(runId))).stderr).toContain('succeeded; there is nothing to retry');
    const { rows } = await o.pool.query("select action, outcome from dfm.audit where via = 'cli' and target = $1 order by id", [`run:${runId}`]);
    expect(rows).toEqual([{ action: 'retry', outcome: 'ok' }, { action: 'retry', outcome: 'failed' }]);
  });
});

describe('dfm pause, unpause and audit', () => {
  it('pauses and unpauses, and the audit trail lists both with the other surfaces', async () => {
    expect(await dfm('pause', 'cli-gated')).toMatchObject({ code: 0, stdout: 'cli-gated is now paused\n' });
    expect(await dfm('pause', 'cli-gated')).toMatchObject({ code: 0, stdout: 'cli-gated already was paused\n' });
    expect((await o.pool.query("select paused from dfm.pipeline where id = 'cli-gated'")).rows[0].paused).toBe(true);
    expect(await dfm('unpause', 'cli-gated')).toMatchObject({ code: 0, stdout: 'cli-gated is now unpaused\n' });
    expect((await dfm('pause', 'cli-gatd')).stderr).toContain('No pipeline "cli-gatd"');
    await recordAudit(o.pool, { actor: 'slack:T1/U2', via: 'slack', action: 'run', target: 'cli-gated', outcome: 'refused', detail: { reason: 'not allowed by DFM_SLACK_ALLOW' } });

    const listed = await dfm('audit', '--target', 'cli-gated');
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^AT\s+ACTOR\s+VIA\s+ACTION\s+TARGET\s+OUTCOME\s+DETAIL$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 6).join(' '))).toEqual([
      'slack:T1/U2 slack run cli-gated refused',
      expect.stringMatching(/^cli:\S+ cli unpause cli-gated ok$/),
      expect.stringMatching(/^cli:\S+ cli pause cli-gated ok$/),
      expect.stringMatching(/^cli:\S+ cli pause cli-gated ok$/),
    ]);
    const json = (await dfm('audit', '--json', '-n', '1')).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toEqual([expect.objectContaining({ actor: 'slack:T1/U2', outcome: 'refused', detail: { reason: 'not allowed by DFM_SLACK_ALLOW' } })]);
  });
});

describe('dfm list, status and logs', () => {
  it('lists pipelines, shows a pipeline and a run, prints and follows logs', async () => {
    const { runId } = await runToEnd(o.pool, 'cli-gated');
    await o.pool.query("insert into dfm.run_log (run_id, task_id, attempt, level, message) values ($1, 'gated', 1, 'info', 'one'), ($1, 'ok', 1, 'info', 'two')", [runId]);

    const list = await dfm('list');
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^PIPELINE\s+SCHEDULE\s+NEXT FIRE\s+LAST RUN\s+PAUSED$/);
    expect(list.stdout).toMatch(new RegExp(`cli-gated\\s+hourly at :00\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:00:00.000Z\\s+${runId} success\\s+no`));

    const pipeline = await dfm('status', 'cli-gated');
    expect(pipeline.stdout).toContain('cli-gated from pipelines/cli-gated.yaml');
    expect(pipeline.stdout).toMatch(new RegExp(`\\n  ${runId}\\s+success\\s+manual`));
    const run = await dfm('status', `#${runId}`);
    expect(run.stdout).toMatch(new RegExp(`^run ${runId} cli-gated success`));
    expect(run.stdout).toMatch(/\n {2}gated\s+success\s+attempt 1\/1/);
    expect((await dfm('status', 'cli-gatd')).stderr).toContain('No pipeline "cli-gatd"');

    const all = await dfm('logs', String(runId));
    expect(all.stdout).toMatch(/ gated\s+info\s+one\n.* ok\s+info\s+two\n$/);
    const one = await dfm('logs', String(runId), 'ok');
    const lines = one.stdout.trim().split('\n');
    expect(lines.every((l) => / ok\s+\w+\s/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/ ok\s+info\s+two$/);
    const followed = await dfm('logs', String(runId), 'ok', '--follow');
    expect(followed.stdout).toMatch(/two\nrun \d+ success\n$/);
  });
});
