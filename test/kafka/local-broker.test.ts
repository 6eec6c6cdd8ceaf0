/**
 * The broker the suite runs against (the local one from src/kafka/local-broker.ts unless
 * KAFKA_BROKERS is set) is a real Kafka: kafkajs round-trips keyed messages through a consumer
 * group, and kcat, an independent C client (librdkafka), reads back exactly the same messages.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { createKafka, createKafkaAdmin } from '../../src/kafka/kafka-client.js';

const run = promisify(execFile);
const MESSAGES = 100;
const KEYS = 10;

describe('the Kafka broker of the test run', () => {
  it('round-trips 100 keyed messages through kafkajs and reads the same ones back with kcat', async () => {
    const brokers = inject('kafkaBrokers');
    const topic = `dfm-test-local-broker-${randomUUID()}`;
    const kafka = createKafka(brokers, pino({ level: 'silent' }), { clientId: 'dfm-test-local-broker' });
    const sent = Array.from({ length: MESSAGES }, (_, i) => ({ key: `key-${i % KEYS}`, value: `message-${String(i).padStart(3, '0')}` }));

    const admin = kafka.admin();
    await admin.connect();
    try {
      // dfm's create waits until every partition has a leader (kafkajs' waitForLeaders can fail
      // with UNKNOWN_TOPIC_OR_PARTITION on a loaded KRaft broker).
      const creator = createKafkaAdmin(kafka, brokers);
      await creator.ensureTopic(topic, { partitions: 3, replicationFactor: 1 }).finally(() => creator.close());
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(metadata?.partitions).toHaveLength(3);

      const producer = kafka.producer();
      await producer.connect();
      try {
        await producer.send({ topic, acks: -1, messages: sent });
      } finally {
        await producer.disconnect();
      }

      const received: { key: string; value: string; partition: number }[] = [];
      const consumer = kafka.consumer({ groupId: `${topic}-group` });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        const allReceived = new Promise<void>((resolve) => {
          void consumer.run({
            eachMessage: async ({ partition, message }) => {
              received.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', partition });
              if (received.length === MESSAGES) resolve();
            },
          });
        });
        await withTimeout(allReceived, 60_000, () => `the consumer group received ${received.length} of ${MESSAGES} messages`);
      } finally {
        await consumer.disconnect();
      }

      const lines = (messages: readonly { key: string; value: string }[]) => messages.map((m) => `${m.key}=${m.value}`).sort();
      expect(lines(received)).toEqual(lines(sent));
      // Keyed: every key stays in one partition, and the keys spread over more than one.
      const partitionsOfKey = new Map<string, Set<number>>();
      for (const m of received) partitionsOfKey.set(m.key, (partitionsOfKey.get(m.key) ?? new Set()).add(m.partition));
      expect([...partitionsOfKey.values()].every((partitions) => partitions.size === 1)).toBe(true);
      expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);

      const kcat = await run('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-e', '-q', '-f', '%k=%s\\n'], { timeout: 30_000 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new Error('kcat is not installed; install it with `apt-get install -y kcat` (Debian/Ubuntu) or `brew install kcat`');
        throw error;
      });
      expect(kcat.stdout.split('\n').filter(Boolean).sort()).toEqual(lines(sent));
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});

async function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${describe()}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
