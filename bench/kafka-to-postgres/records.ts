/**
 * What both kafka-to-postgres benches use: ~200-byte air-quality-like JSON records, the column
 * mapping that lands them, the task's options, and seeding a topic with kcat (an independent
 * client, so the producer costs nothing on dfm's side).
 */
import { spawn } from 'node:child_process';
import type pg from 'pg';
import type { CompressionCodec, KafkaClient } from '../../src/kafka/kafka-client.js';
import type { Logger } from '../../src/lib/logger.js';
import type { ConsumeToPostgresOptions } from '../../src/tasks/kafka-to-postgres/kafka-to-postgres-consume.js';

export const COLUMNS = {
  id: { field: undefined, type: 'bigint' as const },
  station: { field: undefined, type: 'text' as const },
  time: { field: undefined, type: 'timestamptz' as const },
  aqi: { field: undefined, type: 'integer' as const },
  pm25: { field: undefined, type: 'double' as const },
  note: { field: undefined, type: 'text' as const },
};

/** ~200 bytes of JSON, like an air-quality reading. */
export function recordValue(id: number): string {
  const base = `{"id":${id},"station":"station-${String(id % 500).padStart(4, '0')}","time":"${new Date(Date.UTC(2024, 0, 1) + id * 1000).toISOString()}","aqi":${id % 300},"pm25":${((id % 1000) / 10).toFixed(1)},"note":"`;
  return `${base}${'x'.repeat(Math.max(0, 198 - base.length))}"}`;
}

/** Produces records 0..records-1 (key = id) to the topic with kcat, acks from all replicas. */
export async function seedWithKcat(brokers: readonly string[], topic: string, records: number, compression: CompressionCodec = 'none'): Promise<void> {
  // -z: librdkafka's compression.codec, batch by batch, as a compressed production topic holds them.
  const codec = compression === 'none' ? [] : ['-z', compression];
  const child = spawn('kcat', ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-X', 'acks=all', '-X', 'linger.ms=50', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.messages=1000000', ...codec], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  let text = '';
  for (let id = 0; id < records; id++) {
    text += `${id}\t${recordValue(id)}\n`;
    if (text.length >= 1 << 20) {
      if (!child.stdin.write(text)) await new Promise((r) => child.stdin.once('drain', r));
      text = '';
    }
  }
  child.stdin.end(text);
  if ((await exited) !== 0) throw new Error('kcat failed to seed the topic');
}

/** kafka.to_postgres as the benches run it: append the bench records until caught up, exactly once. */
export function benchTaskOptions(o: { kafka: KafkaClient; brokers: readonly string[]; pool: pg.Pool; topic: string; table: string; groupId: string; batchSize: number; logger: Logger }): ConsumeToPostgresOptions {
  return {
    ...o,
    mode: 'append',
    key: undefined,
    columns: COLUMNS,
    until: { caughtUp: true, maxRecords: undefined, maxDurationMs: undefined },
    batchMaxWaitMs: 1000,
    deadLetterTable: undefined,
    createTopic: undefined,
    sessionTimeoutMs: 10_000,
    runId: null,
    metadataDatabase: true,
    signal: new AbortController().signal,
  };
}
