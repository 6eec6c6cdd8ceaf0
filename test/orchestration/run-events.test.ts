/**
 * Run events as a reporter sees them: a follower (followRunEvents) is told of a real run's
 * creation, start, every task attempt and its end, with pipeline, version and source commit, and
 * misses nothing when its LISTEN connection is terminated and a whole run happens in the gap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { followRunEvents, type RunEventFollower } from '../../src/runs/follow-run-events.js';
import { runEventSchema, type RunEvent } from '../../src/runs/run-event.js';
import { activate, testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const { o, database } = useOrchestration();
const events: RunEvent[] = [];
let follower: RunEventFollower;

beforeAll(async () => {
  await activate(
    o.pool,
    `id: chain
tasks:
  first: { type: postgres.sql, sql: "select pg_sleep(1)" }
  second: { type: postgres.sql, needs: [first], sql: "select 1" }
`,
    `id: breaks
tasks:
  ok: { type: postgres.sql, sql: "select 1" }
  boom: { type: postgres.sql, needs: [ok], retries: 0, sql: "select 1 / 0" }
  after: { type: postgres.sql, needs: [boom], sql: "select 1" }
`,
  );
  follower = followRunEvents({ pool: o.pool, databaseUrl: database.url, logger: testLogger, retryDelayMs: 6000, onEvent: (e) => events.push(runEventSchema.parse(e)) });
  await follower.ready;
  o.startWorker();
});
afterAll(async () => {
  await follower.stop();
});

const of = (runId: number) => events.filter((e) => e.run.runId === runId).map((e) => ('task' in e ? `${e.type} ${e.task.taskId}#${e.task.attempt} ${e.task.state}` : `${e.type} ${e.run.state}`));

async function eventsUntilFinished(runId: number): Promise<string[]> {
  await expect.poll(() => of(runId).at(-1), { timeout: 15_000 }).toMatch(/^run\.finished/);
  return of(runId);
}

describe('run events', () => {
  it('tells a follower of a run: created, started, each task started and finished, finished', async () => {
    const { runId } = await triggerRun(o.pool, { pipelineId: 'chain' });
    const seen = await eventsUntilFinished(runId);
    expect(seen[0]).toBe('run.created running');
    expect(seen).toContain('run.started running');
    expect(seen.filter((s) => s.startsWith('task.')).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['task.started first#1', 'task.finished first#1', 'task.started second#1', 'task.finished second#1']);
    expect(seen.at(-1)).toBe('run.finished success');
    expect(seen.filter((s) => s.startsWith('run.finished'))).toHaveLength(1);
    // Live, not only at the end: the first task was seen running (it sleeps 1 s; announcements are 250 ms apart).
    expect(seen).toContain('task.started first#1 running');

    const { rows } = await o.pool.query<{ version_id: string; source_ref: string }>('select r.version_id, v.source_ref from dfm.run r join dfm.pipeline_version v on v.id = r.version_id where r.id = $1', [runId]);
    const finished = events.find((e) => e.run.runId === runId && e.type === 'run.finished')!;
    expect(finished.run).toMatchObject({ pipelineId: 'chain', versionId: Number(rows[0]!.version_id), sourceRef: rows[0]!.source_ref, state: 'success', failedTasks: [], trigger: 'manual' });
    expect(finished.run.startedAt!.getTime()).toBeLessThanOrEqual(finished.run.finishedAt!.getTime());
  });

  it('names the failed task of a failed run and the tasks that never ran', async () => {
    const { runId } = await triggerRun(o.pool, { pipelineId: 'breaks' });
    const seen = await eventsUntilFinished(runId);
    expect(seen).toContain('task.finished boom#1 failed');
    expect(seen).toContain('task.finished after#0 upstream_failed');
    const finished = events.find((e) => e.run.runId === runId && e.type === 'run.finished')!;
    expect(finished.run).toMatchObject({ state: 'failed', failedTasks: ['boom'], error: 'Failed tasks: boom' });
    const boom = events.find((e) => e.run.runId === runId && e.type === 'task.finished' && e.task.taskId === 'boom');
    expect(boom && 'task' in boom ? boom.task.error?.message : undefined).toMatch(/division by zero/);
  });

  it('loses no event when its LISTEN connection is terminated and a whole run happens meanwhile', async () => {
    const killed = await o.pool.query<{ n: number }>(
      "select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'dfm-run-events') t",
      [database.name],
    );
    expect(killed.rows[0]!.n).toBe(1);
    await expect.poll(() => follower.isListening(), { timeout: 2000 }).toBe(false);

    // The whole run starts and ends while the follower is away (it reconnects after 6 s).
    const { runId } = await triggerRun(o.pool, { pipelineId: 'chain' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    expect(follower.isListening()).toBe(false);
    expect(of(runId)).toEqual([]);

    const seen = await eventsUntilFinished(runId);
    expect(follower.isListening()).toBe(true);
    expect(seen).toEqual([
      'run.created success',
      'run.started success',
      'task.started first#1 success',
      'task.finished first#1 success',
      'task.started second#1 success',
      'task.finished second#1 success',
      'run.finished success',
    ]);

    // And it follows new runs as before.
    const next = await triggerRun(o.pool, { pipelineId: 'chain' });
    expect((await eventsUntilFinished(next.runId)).at(-1)).toBe('run.finished success');
  });
});
