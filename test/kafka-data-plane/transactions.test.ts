/**
 * A topic written by a transactional producer (Kafka Streams, Flink, Debezium with exactly-once):
 * the log holds commit and abort markers, and records of aborted transactions. kafka.to_postgres
 * lands the committed records only, and `until: caught_up` ends although the last entry of the
 * partition is a marker no record is ever delivered for: the stored offset moves past it.
 */
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../src/kafka/kafka-client.js';
import { activate, runToEnd, taskRows, testLogger, useOrchestration } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { brokers, createTopic, deleteTopic, partitionRanges } from './kafka-test-tools.js';

const topic = uniqueTopic('dfm-transactions');
const { o } = useOrchestration(() => deleteTopic(topic));

async function produceInTransactions(transactions: readonly { ids: number[]; commit: boolean }[]): Promise<void> {
  const producer = createKafka(brokers(), testLogger).producer({ transactionalId: `${topic}-producer`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const { ids, commit } of transactions) {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: ids.map((id) => ({ key: String(id), value: JSON.stringify({ id, committed: commit }) })) });
      if (commit) await transaction.commit();
      else await transaction.abort();
    }
  } finally {
    await producer.disconnect();
  }
}

describe('kafka.to_postgres on a transactional topic', () => {
  it('lands committed records only and reaches the end offset past the last commit marker', async () => {
    await createTopic(topic, 2);
    await o.pool.query('create table events (id bigint primary key, committed boolean not null)');
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    await produceInTransactions([
      { ids: range(0, 30), commit: true },
      { ids: range(1000, 10), commit: false },
      { ids: range(30, 20), commit: true },
    ]);
    await activate(
      o.pool,
      `id: transactional
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: events
    key: [id]
    columns:
      id: { type: bigint }
      committed: { type: boolean }
    batch_max_wait: 200ms
    session_timeout: 6s
`,
    );
    o.startWorker();
    const { runId, state } = await runToEnd(o.pool, 'transactional', 30_000);
    expect(state).toBe('success');

    const rows = await o.pool.query<{ id: string; committed: boolean }>('select id, committed from events order by id');
    expect(rows.rows.map((r) => Number(r.id))).toEqual(range(0, 50));
    expect(rows.rows.every((r) => r.committed)).toBe(true);
    // Every partition's stored offset is its end offset, past the markers.
    const ends = await partitionRanges(topic);
    const offsets = await o.pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset where consumer = $1 and topic = $2', ['dfm.transactional.land', topic]);
    expect(new Map(offsets.rows.map((r) => [r.partition, BigInt(r.offset)]))).toEqual(new Map([...ends].filter(([, r]) => r.high > 0n).map(([p, r]) => [p, r.high])));
    const output = (await taskRows(o.pool, runId))['land']!.output as { records: number; rows: number; stoppedBy: string };
    expect(output).toMatchObject({ records: 50, rows: 50, stoppedBy: 'caught_up' });

    // Then only an aborted transaction: the next run's fetches hold no record at all (kafkajs
    // does not even call the batch handler), and it still ends at the new end offsets.
    await produceInTransactions([{ ids: range(2000, 10), commit: false }]);
    const second = await runToEnd(o.pool, 'transactional', 30_000);
    expect(second.state).toBe('success');
    const after = await partitionRanges(topic);
    const stored = await o.pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset where consumer = $1 and topic = $2', ['dfm.transactional.land', topic]);
    expect(new Map(stored.rows.map((r) => [r.partition, BigInt(r.offset)]))).toEqual(new Map([...after].filter(([, r]) => r.high > 0n).map(([p, r]) => [p, r.high])));
    expect((await taskRows(o.pool, second.runId))['land']!.output).toMatchObject({ records: 0, rows: 0, stoppedBy: 'caught_up' });
    expect((await o.pool.query('select count(*)::int as n from events')).rows[0].n).toBe(50);
  });
});
