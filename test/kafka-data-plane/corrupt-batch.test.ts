/**
 * A compressed record batch that cannot be decompressed stops kafka.to_postgres with an error
 * naming topic, partition and offsets: never a crash of the process (the codecs are native code),
 * never a silent skip of the batch, nothing stored past it.
 *
 * A broker validates every compressed batch a producer sends (it decompresses it), so a corrupt
 * batch cannot be produced; it can only come from the log itself (a disk fault, a bad restore).
 * So this file runs its own broker (test/helpers/own-broker.ts: DFM_KAFKA_PORT + 11, a temporary
 * data folder) and scrambles the bytes of one zstd batch in its segment file; the broker serves
 * fetches from the file without checking CRCs.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startWorker, type Worker } from '../../src/executor/start-worker.js';
import { localKafkaPaths } from '../../src/kafka/local-broker.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { createConnections, type Connections } from '../../src/tasks/create-connections.js';
import { taskRunners } from '../../src/tasks/task-runners.js';
import { taskRows, testLogger, useOrchestration, activate, waitForRun } from '../helpers/orchestration.js';
import { useOwnBroker } from '../helpers/own-broker.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, produceWithKcat } from './kafka-test-tools.js';

const own = useOwnBroker('corrupt-batch', 11);
let connections: Connections | undefined;
let worker: Worker | undefined;
const topic = uniqueTopic('dfm-corrupt-batch');

const { o, database } = useOrchestration();
afterAll(async () => {
  await worker?.stop();
  await connections?.close();
});

/** Where each record batch of a segment file is: [position, first offset, codec id]. */
async function batchesOf(segment: string): Promise<{ position: number; firstOffset: bigint; codec: number }[]> {
  const file = await open(segment, 'r');
  try {
    const bytes = await file.readFile();
    const batches = [];
    for (let at = 0; at + 61 <= bytes.length; at += 12 + bytes.readInt32BE(at + 8)) {
      batches.push({ position: at, firstOffset: bytes.readBigInt64BE(at), codec: bytes.readInt16BE(at + 21) & 0x07 });
    }
    return batches;
  } finally {
    await file.close();
  }
}

describe('a corrupt compressed batch', () => {
  it('fails kafka.to_postgres with topic, partition and offsets, and stores nothing at or past it', async () => {
    const brokers = own.brokers();
    await createTopic(topic, 1, brokers);
    const records = (from: number) => Array.from({ length: 100 }, (_, i) => ({ key: `k${from + i}`, value: JSON.stringify({ id: from + i, text: 'some compressible text '.repeat(4) }) }));
    await produceWithKcat(topic, records(0), brokers, { compression: 'lz4' });
    await produceWithKcat(topic, records(100), brokers, { compression: 'zstd' });
    await produceWithKcat(topic, records(200), brokers, { compression: 'snappy' });

    const segment = join(localKafkaPaths(own.dataDir).logDir, `${topic}-0`, '00000000000000000000.log');
    const batches = await batchesOf(segment);
    const zstd = batches.find((b) => b.codec === 4);
    expect(zstd, JSON.stringify(batches, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toMatchObject({ firstOffset: 100n });
    expect(batches.map((b) => b.codec)).toContain(2); // the snappy batches after it are there to be skipped (they must not be)
    // The records of a v2 batch start 61 bytes in (after the count); a zstd frame with its magic
    // number (0xFD2FB528) overwritten is not one.
    const file = await open(segment, 'r+');
    try {
      await file.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, zstd!.position + 61);
    } finally {
      await file.close();
    }

    await o.pool.query('create table corrupt_rows (id bigint not null)');
    await activate(
      o.pool,
      `id: corrupt
defaults: { retries: 2, retry_delay: 1s }
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: corrupt_rows
    mode: append
    columns: { id: { type: bigint } }
    batch_size: 50
    batch_max_wait: 100ms
    session_timeout: 6s
`,
    );
    connections = createConnections({ config: loadConfig({ DATABASE_URL: database.url }), databaseUrl: database.url, kafkaBrokers: brokers, logger: testLogger });
    worker = startWorker({ pool: o.pool, databaseUrl: database.url, logger: testLogger, runners: taskRunners, connections, concurrency: 2, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000, pollIntervalMs: 200, shutdownGraceMs: 2000 });
    const { runId } = await triggerRun(o.pool, { pipelineId: 'corrupt' });
    expect(await waitForRun(o.pool, runId, 60_000)).toBe('failed');

    const land = (await taskRows(o.pool, runId))['land']!;
    // Unreadable bytes stay unreadable: the task fails at once instead of spending its retries.
    expect(land.attempt).toBe(1);
    expect(land.error!.code).toBe('KAFKA_BATCH_UNREADABLE');
    expect(land.error!.message).toMatch(new RegExp(`Kafka topic "${topic}" partition 0: the record batch at offsets 100–\\d+ \\(zstd\\) cannot be read: .+\\. Nothing at or after offset 100 of this partition was processed`));
    const ids = (await o.pool.query<{ id: string }>('select id from corrupt_rows')).rows.map((r) => Number(r.id));
    expect(ids.filter((id) => id >= 100)).toEqual([]);
    const stored = await o.pool.query<{ offset: string }>("select \"offset\" from dfm.kafka_offset where consumer = 'dfm.corrupt.land'");
    for (const r of stored.rows) expect(BigInt(r.offset)).toBeLessThanOrEqual(100n);
    // What was stored is consistent with its offset: exactly the records before it.
    const offset = stored.rows[0] ? Number(stored.rows[0].offset) : 0;
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: offset }, (_, i) => i));
  });
});
