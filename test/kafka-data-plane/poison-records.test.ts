/**
 * Bad records are never lost and never block a partition: malformed JSON, a value that does not fit
 * its column, a missing key, a NUL in text, and a value only PostgreSQL rejects (a CHECK
 * constraint, caught by the row-by-row retry of the batch) all land in the dead-letter table with
 * their error, in the same transaction as the good rows around them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, partitionRanges, produceWithKcat } from './kafka-test-tools.js';

const topic = uniqueTopic('dfm-poison');

const { o, database } = useOrchestration();
afterAll(async () => {
  await deleteTopic(topic);
});

const GOOD = 300;
const POISON: { key: string; value: string; error: RegExp }[] = [
  { key: 'bad-json', value: '{"id": 100001, "name": ', error: /^malformed JSON/ },
  { key: 'bad-type', value: '{"id": 100002, "amount": "lots"}', error: /column amount \(integer\): expected an integer/ },
  { key: 'no-key', value: '{"name": "nameless", "amount": 3}', error: /key field "id" is missing/ },
  { key: 'too-big', value: '{"id": 100004, "amount": 99999999999}', error: /out of range for integer/ },
  { key: 'nul', value: '{"id": 100005, "name": "a\\u0000b"}', error: /NUL/ },
  { key: 'not-object', value: '[1, 2, 3]', error: /expected a JSON object/ },
  // Valid for the decoder, refused by the table's CHECK: found by the row-by-row retry.
  { key: 'check', value: '{"id": 100007, "amount": -5}', error: /rejected by PostgreSQL: .*check constraint/ },
];

describe('kafka.to_postgres with poison records', () => {
  it('lands every good record and dead-letters every bad one with its error', async () => {
    await createTopic(topic, 3);
    await o.pool.query('create table readings (id bigint primary key, name text, amount integer check (amount >= 0), at timestamptz)');
    const good = Array.from({ length: GOOD }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ id: i, name: `station ${i}`, amount: i % 50, at: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString() }) }));
    // Poison spread through the stream: every 40th position.
    const mixed = [...good];
    POISON.forEach((p, i) => mixed.splice(20 + i * 40, 0, { key: p.key, value: p.value }));
    await produceWithKcat(topic, mixed);

    await activate(
      o.pool,
      `id: poison
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: readings
    key: [id]
    columns:
      id: { type: bigint }
      name: { type: text }
      amount: { type: integer }
      at: { type: timestamptz }
    batch_size: 50
    batch_max_wait: 200ms
    session_timeout: 6s
`,
    );
    o.startWorker();
    const { runId } = await triggerRun(o.pool, { pipelineId: 'poison' });
    expect(await waitForRun(o.pool, runId, 60_000)).toBe('success');

    const rows = await o.pool.query<{ id: string; name: string; amount: number; at: Date }>('select id, name, amount, at from readings order by id');
    expect(rows.rows.map((r) => Number(r.id))).toEqual(good.map((_, i) => i));
    expect(rows.rows[7]).toMatchObject({ name: 'station 7', amount: 7 });
    expect(rows.rows[7]!.at.toISOString()).toBe('2024-01-01T00:07:00.000Z');

    const dead = await o.pool.query<{ key: string; value: string; error: string; run_id: string; consumer: string }>('select key, value, error, run_id, consumer from dfm.dead_letter order by id');
    expect(dead.rows).toHaveLength(POISON.length);
    for (const p of POISON) {
      const row = dead.rows.find((r) => r.key === p.key);
      expect(row, p.key).toBeDefined();
      expect(row!.error, p.key).toMatch(p.error);
      expect(row!.value).toBe(p.value);
      expect(Number(row!.run_id)).toBe(runId);
      expect(row!.consumer).toBe('dfm.poison.land');
    }

    // Nothing else lost: the stored offsets are the end offsets, and rows + dead letters = records.
    const ends = await partitionRanges(topic);
    const offsets = await o.pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset where consumer = $1 and topic = $2', ['dfm.poison.land', topic]);
    expect(new Map(offsets.rows.map((r) => [r.partition, BigInt(r.offset)]))).toEqual(new Map([...ends].map(([p, r]) => [p, r.high])));
    const output = (await taskRows(o.pool, runId))['land']!.output as { records: number; rows: number; deadLetters: number; stoppedBy: string };
    expect(output).toMatchObject({ records: GOOD + POISON.length, rows: GOOD, deadLetters: POISON.length, stoppedBy: 'caught_up' });
  });
});
