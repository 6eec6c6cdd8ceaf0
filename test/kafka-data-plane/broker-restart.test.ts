/**
 * A Kafka broker is stopped and started again (same port, same data folder) while
 * kafka.to_postgres consumes: the task rides it out (kafkajs reconnects and rejoins, or the attempt
 * fails and its retry starts over), resumes from the offsets stored in Postgres, and lands every
 * record exactly once.
 *
 * The broker restarted is this file's own (a second local broker, DFM_KAFKA_PORT + 20, with a temporary
 * data folder: test/helpers/own-broker.ts; ~3 s to start from the cached jars), not the suite's shared one: files run two at a
 * time, and restarting the shared broker failed the neighbouring file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startWorker, type Worker } from '../../src/executor/start-worker.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { createConnections, type Connections } from '../../src/tasks/create-connections.js';
import { taskRunners } from '../../src/tasks/task-runners.js';
import { activate, taskRows, testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { useOwnBroker } from '../helpers/own-broker.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, partitionRanges, produceWithKcat } from './kafka-test-tools.js';

const N = 60_000;
const own = useOwnBroker('broker-restart', 20);
let connections: Connections | undefined;
let worker: Worker | undefined;
const topic = uniqueTopic('dfm-broker-restart');

const { o, database } = useOrchestration();
afterAll(async () => {
  await worker?.stop();
  await connections?.close();
});

const landed = async () => Number((await o.pool.query<{ n: string }>('select count(*) as n from restart_rows')).rows[0]!.n);

describe('a broker restart mid-consume', () => {
  it('resumes from the Postgres-stored offsets with no loss and no duplicate', async () => {
    const brokers = own.brokers();
    await createTopic(topic, 3, brokers);
    await produceWithKcat(topic, Array.from({ length: N }, (_, id) => ({ key: `id-${id}`, value: `{"id":${id}}` })), brokers);
    const ranges = await partitionRanges(topic, brokers);
    // 40 ms per batch of 500 (a statement trigger sleeps), and a gate: while the test holds advisory
    // lock 7301, every batch waits in its trigger. The gate is closed from the first 2,000 rows until
    // the broker has stopped, so the stop lands mid-stream however long a clean broker shutdown takes.
    await o.pool.query(`create table restart_rows (id bigint not null);
      create function restart_slow_down() returns trigger language plpgsql as $$ begin
        perform pg_advisory_xact_lock_shared(7301); perform pg_sleep(0.04); return null; end $$;
      create trigger restart_slow_down after insert on restart_rows for each statement execute function restart_slow_down();`);
    await activate(
      o.pool,
      `id: restart
defaults: { retries: 5, retry_delay: 500ms }
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: restart_rows
    mode: append
    columns: { id: { type: bigint } }
    batch_size: 500
    batch_max_wait: 100ms
    session_timeout: 6s
`,
    );
    connections = createConnections({ config: loadConfig({ DATABASE_URL: database.url }), databaseUrl: database.url, kafkaBrokers: brokers, logger: testLogger });
    worker = startWorker({
      pool: o.pool,
      databaseUrl: database.url,
      logger: testLogger,
      runners: taskRunners,
      connections,
      concurrency: 2,
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 2000,
      pollIntervalMs: 200,
      shutdownGraceMs: 2000,
    });
    const { runId } = await triggerRun(o.pool, { pipelineId: 'restart' });
    const deadline = Date.now() + 60_000;
    while ((await landed()) < 2_000) {
      if (Date.now() > deadline) throw new Error('nothing landed');
      await new Promise((r) => setTimeout(r, 5));
    }
    const gate = await o.pool.connect();
    let atStop: number;
    try {
      await gate.query('select pg_advisory_lock(7301)');
      expect(await own.stop()).toBe(true);
      atStop = await landed();
      await gate.query('select pg_advisory_unlock(7301)');
    } finally {
      gate.release();
    }
    await new Promise((r) => setTimeout(r, 1000));
    await own.start();

    expect(await waitForRun(o.pool, runId, 120_000)).toBe('success');
    expect(atStop).toBeLessThan(N);
    const counts = await o.pool.query<{ n: string; distinct: string; min: string; max: string }>('select count(*) as n, count(distinct id) as distinct, min(id) as min, max(id) as max from restart_rows');
    expect(counts.rows[0]).toEqual({ n: String(N), distinct: String(N), min: '0', max: String(N - 1) });
    const offsets = await o.pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset where consumer = $1 order by partition', ['dfm.restart.land']);
    expect(offsets.rows.map((r) => [r.partition, BigInt(r.offset)])).toEqual([...ranges].sort(([a], [b]) => a - b).map(([p, r]) => [p, r.high]));
    const task = (await taskRows(o.pool, runId))['land']!;
    console.log(`broker restart: stopped at ${atStop} rows; finished as attempt ${task.attempt}`);
  });
});
