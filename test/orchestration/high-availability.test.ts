/**
 * High availability with real processes (issue 18): two schedulers and two workers on one
 * PostgreSQL and Kafka run a scheduled pipeline and a Kafka-triggered one; mid-run, kill -9 of the
 * leader scheduler and of a worker that is executing a task. The other scheduler takes the
 * leadership within seconds (the lock is the dead leader's PostgreSQL session), the dead worker's
 * task is reaped and retried. The history then shows every fire run once (none missing between
 * the first and the last), every task run succeeded exactly once and its effect happened once, and
 * every Kafka record landed once and was counted by exactly one triggered run.
 * many-processes.test.ts races three schedulers on simulated time and four workers on one queue;
 * crashes.test.ts kills the only worker. This file kills the leader and a worker together.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';
import { useOrchestration } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, partitionRanges, produceWithKcat } from '../kafka-data-plane/kafka-test-tools.js';

const topic = uniqueTopic('dfm-ha');
const BATCH = 10;
const pipelines = writePipelines({
  'cron.yaml': `id: ha-cron
schedule: "* * * * *"
catchup: all
max_active_runs: 100
defaults: { retries: 3, retry_delay: 100ms }
tasks:
  slow: { type: postgres.sql, sql: "insert into ha_effects (run_id, task) select :run_id, 'slow' from pg_sleep(2)" }
  after: { type: postgres.sql, needs: [slow], sql: "insert into ha_effects (run_id, task) values (:run_id, 'after')" }
`,
  'kafka.yaml': `id: ha-kafka
triggers:
  - kafka: { topic: ${topic}, min_records: ${BATCH} }
defaults: { retries: 3, retry_delay: 100ms }
tasks:
  land: { type: kafka.to_postgres, topic: ${topic}, table: public.ha_landed }
`,
});
const processes: DfmProcess[] = [];

const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table ha_effects (id serial primary key, run_id bigint not null, task text not null)');
  await o.pool.query('create table ha_landed (id bigint not null)');
  await createTopic(topic, 3);
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});
afterAll(async () => {
  pipelines.remove();
  await deleteTopic(topic);
});

function start(role: string): DfmProcess {
  const p = spawnDfm(['serve', '--role', role], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: pipelines.dir });
  processes.push(p);
  return p;
}
const LEADER = /this process is the scheduler leader/;
const serving = (p: DfmProcess) => p.waitForOutput(/dfm is serving/, 60_000);
const produce = (from: number) => produceWithKcat(topic, Array.from({ length: BATCH }, (_, i) => ({ key: String(from + i), value: JSON.stringify({ id: from + i }) })));

describe('kill -9 of the leader scheduler and of a busy worker', () => {
  it('the other scheduler leads within seconds; every fire runs once, every task succeeds once, every record lands once', { timeout: 180_000 }, async () => {
    const schedulers = [start('scheduler')];
    await schedulers[0]!.waitForOutput(LEADER, 60_000);
    schedulers.push(start('scheduler'));
    const workers = [start('worker'), start('worker')];
    await Promise.all([...schedulers, ...workers].map(serving));
    expect(schedulers[1]!.output()).not.toMatch(LEADER);

    // Four minutes of missed fires for the leader to catch up on, and a first batch of records.
    await eventually(async () => ((await o.pool.query("select 1 from dfm.pipeline where id = 'ha-cron'")).rowCount ? true : undefined), 30_000, 'ha-cron active');
    await o.pool.query("update dfm.pipeline set scheduled_until = date_trunc('minute', now()) - interval '4 minutes 30 seconds' where id = 'ha-cron'");
    await produce(0);

    // A worker is executing a task: kill it and the leader at once.
    const busy = await eventually(async () => {
      const { rows } = await o.pool.query<{ claimed_by: string }>("select claimed_by from dfm.task_run where state = 'running' and task_id = 'slow' limit 1");
      const pid = rows[0]?.claimed_by.split(':')[1];
      return workers.find((w) => String(w.child.pid) === pid);
    }, 30_000, 'a worker running a task');
    busy.kill('SIGKILL');
    schedulers[0]!.kill('SIGKILL');
    const killedAt = Date.now();
    await Promise.all([busy.exited, schedulers[0]!.exited]);

    // While the leadership changes hands: more records, and the fires once more (already created
    // fires must not be created twice by the new leader).
    await produce(BATCH);
    await schedulers[1]!.waitForOutput(LEADER, 30_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(10_000);
    await o.pool.query("update dfm.pipeline set scheduled_until = date_trunc('minute', now()) - interval '4 minutes 30 seconds' where id = 'ha-cron'");
    await produce(2 * BATCH);

    // Everything settles: all records landed, no run open.
    await eventually(async () => {
      const { rows } = await o.pool.query<{ landed: number; open: number }>(
        "select (select count(*)::int from ha_landed) as landed, (select count(*)::int from dfm.run where state not in ('success', 'failed', 'cancelled')) as open",
      );
      return rows[0]!.landed >= 3 * BATCH && rows[0]!.open === 0 ? true : undefined;
    }, 120_000, 'every record landed and every run closed');

    // Every fire once, none missing between the first and the last.
    const fires = (await o.pool.query<{ t: Date; state: string }>("select logical_time as t, state from dfm.run where pipeline_id = 'ha-cron' order by logical_time")).rows;
    expect(fires.length).toBeGreaterThanOrEqual(4);
    expect(new Set(fires.map((f) => f.t.getTime())).size).toBe(fires.length);
    for (let i = 1; i < fires.length; i++) expect(fires[i]!.t.getTime() - fires[i - 1]!.t.getTime()).toBe(60_000);

    // Every run succeeded; every task run succeeded exactly once (one successful attempt).
    const runs = (await o.pool.query<{ pipeline_id: string; state: string }>('select pipeline_id, state from dfm.run')).rows;
    expect(runs.filter((r) => r.state !== 'success')).toEqual([]);
    const tasks = (await o.pool.query<{ id: string; state: string; successes: number }>(
      "select t.id, t.state, (select count(*)::int from dfm.task_attempt a where a.task_run_id = t.id and a.state = 'success') as successes from dfm.task_run t",
    )).rows;
    expect(tasks.filter((t) => t.state !== 'success' || t.successes !== 1)).toEqual([]);
    // The killed worker's task was retried: its attempt is recorded as lost.
    const lost = (await o.pool.query("select 1 from dfm.task_attempt where error->>'code' = 'WORKER_LOST'")).rowCount;
    expect(lost).toBeGreaterThanOrEqual(1);

    // Each effect once per run and task.
    const effects = (await o.pool.query<{ run_id: string; task: string; n: number }>('select run_id, task, count(*)::int as n from ha_effects group by 1, 2')).rows;
    expect(effects.filter((e) => e.n !== 1)).toEqual([]);
    expect(effects.length).toBe(fires.length * 2);

    // Every record landed once, and the trigger's stored offsets are the topic's end offsets.
    const landed = (await o.pool.query<{ id: string }>('select id from ha_landed order by id')).rows.map((r) => Number(r.id));
    expect(landed).toEqual(Array.from({ length: 3 * BATCH }, (_, i) => i));
    const ends = await partitionRanges(topic);
    const stored = (await o.pool.query<{ partition: number; offset: string }>("select partition, \"offset\"::text from dfm.kafka_offset where consumer = 'trigger:ha-kafka'")).rows;
    expect(Object.fromEntries(stored.map((s) => [s.partition, s.offset]))).toEqual(Object.fromEntries([...ends].map(([p, r]) => [p, r.high.toString()])));
    expect(runs.filter((r) => r.pipeline_id === 'ha-kafka').length).toBeGreaterThanOrEqual(1);
    console.log(`leadership taken over ${takeoverMs} ms after the kill; ${fires.length} fires, ${runs.length} runs, ${tasks.length} task runs`);
  });
});
