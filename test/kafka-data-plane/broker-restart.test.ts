/**
 * The local Kafka broker is stopped and started again (same port, same data folder) while
 * kafka.to_postgres consumes: the task rides it out (kafkajs reconnects and rejoins, or the attempt
 * fails and its retry starts over), resumes from the offsets stored in Postgres, and lands every
 * record exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ensureLocalKafka, localKafkaStatus, startLocalKafka, stopLocalKafka } from '../../src/kafka/local-broker.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, createOrchestration, taskRows, testLogger, waitForRun, type Orchestration } from '../helpers/orchestration.js';
import { createTestDatabase, uniqueTopic, type TestDatabase } from '../helpers/test-database.js';
import { brokers, createTopic, deleteTopic, partitionRanges, produceWithKcat } from './kafka-test-tools.js';

const N = 60_000;
const config = loadConfig(process.env);
let database: TestDatabase;
let o: Orchestration;
const topic = uniqueTopic('dfm-broker-restart');

beforeAll(async () => {
  database = await createTestDatabase();
  o = createOrchestration(database.url);
});
afterAll(async () => {
  await o.close();
  await database.drop();
  // Leave the shared broker running whatever happened above.
  await ensureLocalKafka({ port: config.kafkaPort, dataDir: config.dataDir, logger: testLogger, cacheDir: config.kafkaCacheDir });
  await deleteTopic(topic);
});

const landed = async () => Number((await o.pool.query<{ n: string }>('select count(*) as n from restart_rows')).rows[0]!.n);

describe('a broker restart mid-consume', () => {
  it('resumes from the Postgres-stored offsets with no loss and no duplicate', async () => {
    const status = await localKafkaStatus({ port: config.kafkaPort, dataDir: config.dataDir });
    if (status.pid === undefined || brokers().join(',') !== `127.0.0.1:${config.kafkaPort}`) {
      throw new Error(`This test restarts the local broker of ${config.dataDir}; the suite runs against ${brokers().join(',')} (KAFKA_BROKERS) which it cannot restart. Unset KAFKA_BROKERS.`);
    }
    await createTopic(topic, 3);
    await produceWithKcat(topic, Array.from({ length: N }, (_, id) => ({ key: `id-${id}`, value: `{"id":${id}}` })));
    const ranges = await partitionRanges(topic);
    await o.pool.query('create table restart_rows (id bigint not null)');
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
    o.startWorker();
    const { runId } = await triggerRun(o.pool, { pipelineId: 'restart' });
    const deadline = Date.now() + 60_000;
    while ((await landed()) < 2_000) {
      if (Date.now() > deadline) throw new Error('nothing landed');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await stopLocalKafka(config.dataDir)).toBe(true);
    const atStop = await landed();
    await new Promise((r) => setTimeout(r, 1000));
    await startLocalKafka({ port: config.kafkaPort, dataDir: config.dataDir, logger: testLogger, cacheDir: config.kafkaCacheDir });

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
