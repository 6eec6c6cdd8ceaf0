/**
 * postgres.to_kafka incremental: two runs export each row exactly once (the watermark advances
 * only after the broker acknowledged), with the `idempotency-key` header, read back with kcat;
 * with `:cursor` in the query and ties on the cursor column across batches too. kafka.produce:
 * templated records from params and an upstream output; a missing topic fails with its name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { brokers, deleteTopic, readWithKcat } from './kafka-test-tools.js';

const byId = uniqueTopic('dfm-export-id');
const byBucket = uniqueTopic('dfm-export-bucket');
const produced = uniqueTopic('dfm-produce');
const missing = uniqueTopic('dfm-produce-missing');

const { o, database } = useOrchestration();
beforeAll(async () => {
  o.startWorker();
});
afterAll(async () => {
  for (const topic of [byId, byBucket, produced]) await deleteTopic(topic);
});

async function runOnce(pipelineId: string, params: Record<string, unknown> = {}): Promise<Record<string, { state: string; output: unknown; error: { code: string; message: string } | null }>> {
  const { runId } = await triggerRun(o.pool, { pipelineId, params });
  await waitForRun(o.pool, runId, 60_000);
  return taskRows(o.pool, runId);
}

describe('postgres.to_kafka incremental', () => {
  it('exports each row once over two runs, with idempotency keys', async () => {
    await o.pool.query('create table exports (id bigint primary key, name text not null, bucket int not null)');
    await o.pool.query("insert into exports select i, 'row ' || i, i / 7 from generate_series(1, 250) i");
    await activate(
      o.pool,
      `id: exporter
tasks:
  by_id:
    type: postgres.to_kafka
    query: select id, name from exports
    topic: ${byId}
    create_topic: { partitions: 3 }
    key: id
    incremental: { cursor: id }
    batch_size: 100
  by_bucket:
    type: postgres.to_kafka
    query: select id, bucket from exports where :cursor::int is null or bucket > :cursor::int order by bucket, id
    topic: ${byBucket}
    create_topic: { partitions: 3 }
    key: id
    incremental: { cursor: bucket }
    batch_size: 10
`,
    );
    const first = await runOnce('exporter');
    expect(first['by_id']).toMatchObject({ state: 'success', output: { records: 250, cursor: { from: null, to: '250' } } });
    expect(first['by_bucket'], JSON.stringify(first['by_bucket']!.error)).toMatchObject({ state: 'success', output: { records: 250, cursor: { from: null, to: '35' } } });

    await o.pool.query("insert into exports select i, 'row ' || i, i / 7 from generate_series(251, 370) i");
    const second = await runOnce('exporter');
    expect(second['by_id']).toMatchObject({ state: 'success', output: { records: 120, cursor: { from: '250', to: '370' } } });
    // Bucket 35 (ids 245..251) was already exported up to 250; the new rows start with bucket 36.
    expect((second['by_bucket']!.output as { records: number }).records).toBe(370 - 251);

    const records = await readWithKcat(byId);
    expect(records).toHaveLength(370);
    expect(records.map((r) => Number(r.key)).sort((a, b) => a - b)).toEqual(Array.from({ length: 370 }, (_, i) => i + 1));
    for (const r of records) {
      expect(JSON.parse(r.value)).toEqual({ id: Number(r.key), name: `row ${r.key}` });
      expect(r.headers).toBe(`idempotency-key=exporter:by_id:${r.key}`);
    }
    const bucketRecords = await readWithKcat(byBucket);
    const ids = bucketRecords.map((r) => Number(r.key));
    // Rows 245..250 of bucket 35 once each, row 251 (bucket 35, added later) never: a cursor
    // exports rows past the watermark.
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(250 + 119);
    expect(bucketRecords.every((r) => r.headers === `idempotency-key=exporter:by_bucket:${JSON.parse(r.value).bucket}`)).toBe(true);
    const watermarks = await o.pool.query("select task_id, cursor from dfm.export_cursor where pipeline_id = 'exporter' order by task_id");
    expect(watermarks.rows).toEqual([
      { task_id: 'by_bucket', cursor: { value: '52' } },
      { task_id: 'by_id', cursor: { value: '370' } },
    ]);
  });
});

describe('kafka.produce', () => {
  it('publishes templated records and names a missing topic', async () => {
    await activate(
      o.pool,
      `id: producer
params:
  city: { type: string, default: utrecht }
tasks:
  count:
    type: postgres.sql
    sql: select 42 as answer
  publish:
    type: kafka.produce
    needs: [count]
    topic: ${produced}
    create_topic: { partitions: 1 }
    messages:
      - key: "{{ params.city }}"
        value: { city: "{{ params.city }}", answer: "{{ tasks.count.output.rows }}", run: "{{ run_id }}" }
        headers: { source: dfm }
      - value: plain text
`,
      `id: producer-missing
tasks:
  publish:
    type: kafka.produce
    topic: ${missing}
    messages: [{ value: x }]
`,
    );
    const tasks = await runOnce('producer', { city: 'delft' });
    expect(tasks['publish']).toMatchObject({ state: 'success', output: { records: 2 } });
    const records = await readWithKcat(produced);
    expect(records.map((r) => [r.key, r.headers])).toEqual([
      ['delft', 'source=dfm'],
      ['', ''],
    ]);
    expect(JSON.parse(records[0]!.value)).toMatchObject({ city: 'delft', answer: [{ answer: 42 }] });
    expect(records[1]!.value).toBe('plain text');

    const failed = await runOnce('producer-missing');
    expect(failed['publish']!.state).toBe('failed');
    expect(failed['publish']!.error).toMatchObject({ code: 'KAFKA_TOPIC_MISSING', message: expect.stringContaining(`Kafka topic "${missing}" does not exist on ${brokers().join(',')}`) });
  });
});
