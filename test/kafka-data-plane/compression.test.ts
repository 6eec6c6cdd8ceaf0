/**
 * Every Kafka compression codec, as other clients write it and as dfm writes it. kcat (librdkafka)
 * produces the same records with each codec (-z), and once more into one topic where the codecs
 * alternate batch by batch in every partition: kafka.to_postgres lands each record exactly once,
 * and a Kafka trigger counts them. dfm produces with each codec (kafka.produce and
 * postgres.to_kafka) and kcat reads the same records back; the broker (Java) validated every
 * compressed batch on the way in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { COMPRESSION_CODECS } from '../../src/kafka/kafka-client.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { watchKafkaTriggers } from '../../src/scheduler/watch-kafka-triggers.js';
import { activate, taskRows, testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { brokers, codecsByPartition, createTopic, deleteTopic, partitionRanges, produceWithKcat, readWithKcat } from './kafka-test-tools.js';

const PER_CODEC = 3000;
/** The mixed topic: rounds of records, each round with the next codec, twice through all five. */
const ROUND = 400;
const ROUNDS = [...COMPRESSION_CODECS, ...COMPRESSION_CODECS];
const MIXED = ROUND * ROUNDS.length;

const kcatTopics = Object.fromEntries(COMPRESSION_CODECS.map((codec) => [codec, uniqueTopic(`dfm-kcat-${codec}`)]));
const mixedTopic = uniqueTopic('dfm-kcat-mixed');
const producedTopics = Object.fromEntries(COMPRESSION_CODECS.map((codec) => [codec, uniqueTopic(`dfm-produce-${codec}`)]));
const exportedTopics = Object.fromEntries(COMPRESSION_CODECS.map((codec) => [codec, uniqueTopic(`dfm-export-${codec}`)]));

/** Compressible JSON, as real records are (librdkafka sends a batch uncompressed when compression does not shrink it). */
const valueOf = (id: number, codec: string) => JSON.stringify({ id, codec, station: `station-${id % 25}`, reading: 'pm25 pm10 no2 o3 '.repeat(3), aqi: (id * 37) % 500 });

const { o } = useOrchestration();
beforeAll(async () => {
  o.startWorker();
});
afterAll(async () => {
  for (const topic of [...Object.values(kcatTopics), mixedTopic, ...Object.values(producedTopics), ...Object.values(exportedTopics)]) await deleteTopic(topic);
});

describe('records compressed by kcat (librdkafka)', () => {
  it('kafka.to_postgres lands every record of every codec exactly once, also with the codecs mixed in each partition; a trigger counts them', async () => {
    for (const codec of COMPRESSION_CODECS) {
      await createTopic(kcatTopics[codec]!, 3);
      await produceWithKcat(kcatTopics[codec]!, Array.from({ length: PER_CODEC }, (_, id) => ({ key: `k${id}`, value: valueOf(id, codec) })), brokers(), { compression: codec });
    }
    await createTopic(mixedTopic, 3);
    for (const [round, codec] of ROUNDS.entries()) {
      await produceWithKcat(mixedTopic, Array.from({ length: ROUND }, (_, i) => ({ key: `k${round * ROUND + i}`, value: valueOf(round * ROUND + i, codec) })), brokers(), { compression: codec });
    }
    // The batches really are compressed as asked: each topic holds its codec only, and every
    // partition of the mixed one holds all five.
    for (const codec of COMPRESSION_CODECS) {
      expect([...(await codecsByPartition(kcatTopics[codec]!)).values()].map((s) => [...s]), codec).toEqual([[codec], [codec], [codec]]);
    }
    const mixedCodecs = await codecsByPartition(mixedTopic);
    expect([...mixedCodecs.values()].map((s) => [...s].sort())).toEqual([0, 1, 2].map(() => [...COMPRESSION_CODECS].sort()));

    const targets = [...COMPRESSION_CODECS.map((codec) => ({ name: codec, topic: kcatTopics[codec]! })), { name: 'mixed', topic: mixedTopic }];
    for (const t of targets) await o.pool.query(`create table landed_${t.name} (id bigint not null, codec text not null)`);
    await activate(
      o.pool,
      `id: land-codecs
defaults: { retries: 0 }
tasks:
${targets
  .map(
    (t) => `  land_${t.name}:
    type: kafka.to_postgres
    topic: ${t.topic}
    table: landed_${t.name}
    mode: append
    columns: { id: { type: bigint }, codec: { type: text } }
    batch_size: 1000
    batch_max_wait: 100ms
    session_timeout: 6s
`,
  )
  .join('')}`,
      `id: counted
triggers:
  - kafka: { topic: ${mixedTopic}, min_records: ${MIXED} }
tasks:
  noop: { type: postgres.sql, sql: "select 1" }
`,
    );
    const { runId } = await triggerRun(o.pool, { pipelineId: 'land-codecs' });
    const state = await waitForRun(o.pool, runId, 120_000);
    const tasks = await taskRows(o.pool, runId);
    expect(state, JSON.stringify(Object.fromEntries(Object.entries(tasks).map(([id, t]) => [id, t.error])))).toBe('success');

    for (const t of targets) {
      const expected = t.name === 'mixed' ? MIXED : PER_CODEC;
      const counts = await o.pool.query<{ n: string; ids: string; low: string; high: string }>(`select count(*) as n, count(distinct id) as ids, min(id) as low, max(id) as high from landed_${t.name}`);
      expect(counts.rows[0], t.name).toEqual({ n: String(expected), ids: String(expected), low: '0', high: String(expected - 1) });
      expect((tasks[`land_${t.name}`]!.output as { records: number }).records, t.name).toBe(expected);
    }
    const mixedByCodec = await o.pool.query<{ codec: string; n: string }>('select codec, count(*) as n from landed_mixed group by codec order by codec');
    expect(mixedByCodec.rows).toEqual([...COMPRESSION_CODECS].sort().map((codec) => ({ codec, n: String(2 * ROUND) })));
    // Nothing but the records' own offsets: the stored offsets are the end offsets.
    const ends = await partitionRanges(mixedTopic);
    const stored = await o.pool.query<{ partition: number; offset: string }>("select partition, \"offset\" from dfm.kafka_offset where consumer = 'dfm.land-codecs.land_mixed'");
    expect(new Map(stored.rows.map((r) => [r.partition, BigInt(r.offset)]))).toEqual(new Map([...ends].map(([p, r]) => [p, r.high])));

    // The trigger counts the compressed records: one run, covering exactly the MIXED records.
    const watcher = watchKafkaTriggers({ pool: o.pool, logger: testLogger, config: loadConfig({}), kafkaBrokers: brokers(), isLeader: () => true, pollIntervalMs: 60_000 });
    try {
      expect(await watcher.tick()).toBe(1);
      expect(await watcher.tick()).toBe(0);
    } finally {
      await watcher.stop();
    }
    const runs = await o.pool.query<{ dedupe_key: string }>("select dedupe_key from dfm.run where pipeline_id = 'counted' and trigger = 'event'");
    expect(runs.rows).toHaveLength(1);
    const spans = runs.rows[0]!.dedupe_key.slice(`kafka:${mixedTopic}:`.length).split(',');
    expect(spans.reduce((sum, span) => sum + Number(/-(\d+)$/.exec(span)![1]) - Number(/:(\d+)-/.exec(span)![1]), 0)).toBe(MIXED);
  });
});

describe('records compressed by dfm', () => {
  it('kafka.produce and postgres.to_kafka write each codec, and kcat reads the same records back', async () => {
    const MESSAGES = 300;
    const ROWS = 2500;
    await o.pool.query('create table export_source (id bigint primary key, station text not null, reading text not null)');
    await o.pool.query(`insert into export_source select i, 'station-' || (i % 25), repeat('pm25 pm10 no2 o3 ', 3) from generate_series(1, ${ROWS}) i`);
    const messages = Array.from({ length: MESSAGES }, (_, i) => `      - { key: "k${i}", value: { id: ${i}, station: "station-${i % 25}", reading: "${'pm25 pm10 '.repeat(4)}" } }`).join('\n');
    await activate(
      o.pool,
      `id: produce-codecs
defaults: { retries: 0 }
tasks:
${COMPRESSION_CODECS.map(
  (codec) => `  produce_${codec}:
    type: kafka.produce
    topic: ${producedTopics[codec]}
    create_topic: { partitions: 3 }
    compression: ${codec}
    messages:
${messages}
  export_${codec}:
    type: postgres.to_kafka
    query: select id, station, reading from export_source order by id
    topic: ${exportedTopics[codec]}
    create_topic: { partitions: 3 }
    key: id
    batch_size: 1000
    compression: ${codec}
`,
).join('')}`,
    );
    const { runId } = await triggerRun(o.pool, { pipelineId: 'produce-codecs' });
    const state = await waitForRun(o.pool, runId, 120_000);
    const tasks = await taskRows(o.pool, runId);
    expect(state, JSON.stringify(Object.fromEntries(Object.entries(tasks).map(([id, t]) => [id, t.error])))).toBe('success');

    const reading = 'pm25 pm10 '.repeat(4);
    for (const codec of COMPRESSION_CODECS) {
      const produced = await readWithKcat(producedTopics[codec]!);
      expect(produced.map((r) => r.key).sort(), codec).toEqual(Array.from({ length: MESSAGES }, (_, i) => `k${i}`).sort());
      for (const r of produced) {
        const id = Number(r.key.slice(1));
        expect(JSON.parse(r.value)).toEqual({ id, station: `station-${id % 25}`, reading });
      }
      const exported = await readWithKcat(exportedTopics[codec]!);
      expect(exported.map((r) => Number(r.key)).sort((a, b) => a - b), codec).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
      for (const r of exported) expect(JSON.parse(r.value)).toEqual({ id: Number(r.key), station: `station-${Number(r.key) % 25}`, reading: 'pm25 pm10 no2 o3 '.repeat(3) });
      // Compressed as configured, in every partition.
      for (const topic of [producedTopics[codec]!, exportedTopics[codec]!]) {
        expect([...(await codecsByPartition(topic)).values()].map((s) => [...s]), `${codec} ${topic}`).toEqual([[codec], [codec], [codec]]);
      }
    }
  });
});
