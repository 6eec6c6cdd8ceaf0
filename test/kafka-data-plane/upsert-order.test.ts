/**
 * Upsert across batches in flight: kafka.to_postgres streams the next batch on a second
 * connection while the one before commits, and upserts only after it committed. A key updated
 * in many consecutive batches must end with its last record's value, every record counted once.
 */
import { describe, expect, it } from 'vitest';
import { activate, runToEnd, taskRows, useOrchestration } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, produceWithKcat } from './kafka-test-tools.js';

const topic = uniqueTopic('dfm-upsert-order');
const KEYS = 40;
const RECORDS = 6000;
const { o } = useOrchestration(() => deleteTopic(topic));

describe('kafka.to_postgres upsert with batches in flight', () => {
  it('keeps the last record of every key across consecutive batches', async () => {
    // One partition: the order of the records is the order of the updates.
    await createTopic(topic, 1);
    await o.pool.query('create table latest (station text primary key, seq integer not null, updates integer not null default 1)');
    await produceWithKcat(
      topic,
      Array.from({ length: RECORDS }, (_, seq) => ({ key: `s${seq % KEYS}`, value: JSON.stringify({ station: `s${seq % KEYS}`, seq }) })),
    );
    await activate(
      o.pool,
      `id: upsert_order
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: latest
    key: [station]
    columns:
      station: { type: text }
      seq: { type: integer }
    batch_size: 100
    batch_max_wait: 200ms
    session_timeout: 6s
`,
    );
    o.startWorker();
    const { runId, state } = await runToEnd(o.pool, 'upsert_order');
    expect(state).toBe('success');

    const rows = await o.pool.query<{ station: string; seq: number }>('select station, seq from latest order by seq');
    expect(rows.rows).toEqual(Array.from({ length: KEYS }, (_, k) => ({ station: `s${(RECORDS - KEYS + k) % KEYS}`, seq: RECORDS - KEYS + k })));
    const output = (await taskRows(o.pool, runId))['land']!.output as { records: number; rows: number; batches: number; fenced: number };
    expect(output).toMatchObject({ records: RECORDS, rows: RECORDS, fenced: 0 });
    expect(output.batches).toBeGreaterThanOrEqual(RECORDS / 100);
    const offsets = await o.pool.query<{ offset: string }>('select "offset" from dfm.kafka_offset where consumer = $1 and topic = $2', ['dfm.upsert_order.land', topic]);
    expect(offsets.rows.map((r) => Number(r.offset))).toEqual([RECORDS]);
  });
});
