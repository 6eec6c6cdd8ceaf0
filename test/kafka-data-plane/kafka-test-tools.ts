/**
 * Kafka helpers of the data-plane tests. Records are seeded and read back with kcat (librdkafka),
 * a client independent of the one dfm uses, so a bug in dfm's Kafka module cannot hide itself.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { createKafka, createKafkaAdmin, startGroupConsumer, type PartitionRange } from '../../src/kafka/kafka-client.js';
import type { RecordView } from '../../src/kafka/kafkajs-record-views.js';
import { testLogger } from '../helpers/orchestration.js';

const run = promisify(execFile);

export function brokers(): string[] {
  return inject('kafkaBrokers');
}

export async function createTopic(topic: string, partitions: number, on: readonly string[] = brokers()): Promise<void> {
  const admin = createKafkaAdmin(createKafka(on, testLogger), on);
  try {
    await admin.ensureTopic(topic, { partitions, replicationFactor: 1 });
  } finally {
    await admin.close();
  }
}

export async function partitionRanges(topic: string, on: readonly string[] = brokers()): Promise<Map<number, PartitionRange>> {
  const admin = createKafkaAdmin(createKafka(on, testLogger), on);
  try {
    return await admin.fetchPartitionRanges(topic);
  } finally {
    await admin.close();
  }
}

/**
 * Produces `key<TAB>value` lines with kcat (acks=all); values must not contain tabs or newlines.
 * `compression` is kcat's -z (librdkafka's compression.codec): none, gzip, snappy, lz4 or zstd.
 */
export async function produceWithKcat(topic: string, records: readonly { key: string; value: string }[], on: readonly string[] = brokers(), options: { compression?: string } = {}): Promise<void> {
  const codec = options.compression && options.compression !== 'none' ? ['-z', options.compression] : [];
  const child = spawn('kcat', ['-P', '-b', on.join(','), '-t', topic, '-K', '\t', '-X', 'acks=all', '-X', 'linger.ms=20', '-X', 'batch.num.messages=10000', ...codec], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new Error('kcat is not installed; apt-get install -y kcat') : error));
    child.on('exit', (code) => resolve(code));
  });
  const chunk: string[] = [];
  for (const r of records) {
    chunk.push(`${r.key}\t${r.value}\n`);
    if (chunk.length === 5000) {
      if (!child.stdin!.write(chunk.join(''))) await new Promise((r) => child.stdin!.once('drain', r));
      chunk.length = 0;
    }
  }
  child.stdin!.end(chunk.join(''));
  const code = await exited;
  if (code !== 0) throw new Error(`kcat -P exited with ${code}: ${stderr}`);
}

export interface KcatRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: string;
  readonly headers: string;
}

/** Every record of the topic, read with kcat from the beginning to the current end. */
export async function readWithKcat(topic: string): Promise<KcatRecord[]> {
  const { stdout } = await run('kcat', ['-C', '-b', brokers().join(','), '-t', topic, '-e', '-q', '-f', '%p\t%o\t%k\t%h\t%s\n'], { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, offset, key, headers, ...value] = line.split('\t');
      return { partition: Number(partition), offset: Number(offset), key: key!, headers: headers!, value: value.join('\t') };
    });
}

export async function deleteTopic(topic: string): Promise<void> {
  const kafka = createKafka(brokers(), testLogger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/**
 * The codecs of the record batches in each partition of the topic, from the batch headers, read
 * with dfm's consumer: how a test knows that kcat or dfm really compressed what it produced.
 */
export async function codecsByPartition(topic: string, on: readonly string[] = brokers()): Promise<Map<number, Set<string>>> {
  const ranges = await partitionRanges(topic, on);
  const codecs = new Map([...ranges.keys()].map((p) => [p, new Set<string>()]));
  const reached = new Map<number, bigint>();
  let finish!: () => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const check = () => {
    if ([...ranges].every(([p, r]) => (reached.get(p) ?? r.low) >= r.high)) finish();
  };
  const consumer = await startGroupConsumer(createKafka(on, testLogger), on, {
    groupId: `dfm-test-codecs-${topic}`,
    topic,
    sessionTimeoutMs: 6000,
    maxWaitTimeMs: 100,
    onAssign: async (partitions) => new Map(partitions.map((p) => [p, ranges.get(p)!.low])),
    onRecords: async (partition, records, _heartbeat, next) => {
      for (const r of records) codecs.get(partition)!.add((r as RecordView).batch.codec ?? 'undefined');
      reached.set(partition, next);
      check();
    },
    onSkipped: (partition, _first, next) => {
      reached.set(partition, next);
      check();
    },
    onFail: (error) => fail(error),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    check();
    await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`reading the codecs of ${topic} took over 30 s`)), 30_000)))]);
    return codecs;
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
}
