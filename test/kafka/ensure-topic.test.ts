/**
 * A task that sets `create_topic` produces right after the create: the topic must be usable when
 * ensureTopic returns, also when several tasks create topics at once and two race on the same one
 * (a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment after a create, which once
 * failed a run with KAFKA_TOPIC_CREATE_FAILED).
 */
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKafka, createKafkaAdmin, createKafkaProducer } from '../../src/kafka/kafka-client.js';
import { uniqueTopic } from '../helpers/test-database.js';

const logger = pino({ level: 'silent' });
const topics = Array.from({ length: 8 }, (_, i) => uniqueTopic(`dfm-test-ensure-${i}`));

afterAll(async () => {
  const admin = createKafka(inject('kafkaBrokers'), logger).admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
});

describe('ensureTopic with create', () => {
  it('returns a topic every partition of which takes records at once, with creates racing', async () => {
    const brokers = inject('kafkaBrokers');
    const kafka = createKafka(brokers, logger);
    // Two creators per topic, all at once: one creates it, the other finds it being created.
    const creators = topics.flatMap((topic) => [topic, topic]).map(async (topic) => {
      const admin = createKafkaAdmin(kafka, brokers);
      try {
        return await admin.ensureTopic(topic, { partitions: 3, replicationFactor: 1 });
      } finally {
        await admin.close();
      }
    });
    const results = await Promise.all(creators);
    expect(results.filter((r) => r.created).length).toBeGreaterThanOrEqual(topics.length);

    const producer = await createKafkaProducer(kafka, brokers);
    try {
      for (const topic of topics) {
        const sent = await producer.send(
          topic,
          Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
        );
        expect(new Set(sent.map((s) => s.partition)).size).toBe(3);
      }
    } finally {
      await producer.close();
    }

    const admin = createKafkaAdmin(kafka, brokers);
    try {
      for (const topic of topics) {
        const ranges = await admin.fetchPartitionRanges(topic);
        expect([...ranges.values()].reduce((n, r) => n + Number(r.high - r.low), 0)).toBe(30);
      }
    } finally {
      await admin.close();
    }
  });
});
