import { z } from 'zod';
import { connectionSchema, createTopicSchema, topicSchema } from '../common-schemas.js';
import { defineTaskType } from './define-task-type.js';
import { kafkaCompressionSchema } from './kafka-compression.js';

const message = z
  .strictObject({
    key: z.union([z.string(), z.number()]).optional().describe('Record key (text). Default: no key.'),
    value: z.json().describe('Record value: any JSON (sent as JSON text) or a string (sent as is).'),
    headers: z.record(z.string(), z.string()).optional().describe('Record headers, text values.'),
  })
  .transform((m) => ({ key: m.key === undefined ? undefined : String(m.key), value: m.value, headers: m.headers ?? {} }));

export const kafkaProduceTaskType = defineTaskType({
  type: 'kafka.produce',
  description:
    'Publishes the listed records to a Kafka topic. Keys, values and headers may use `{{ params.x }}`, built-ins such as `{{ logical_time }}`, and `{{ tasks.<id>.output.<field> }}` of an upstream task.',
  config: z.strictObject({
    topic: topicSchema('Topic to publish to.'),
    connection: connectionSchema('Kafka connection name: `default` is KAFKA_BROKERS, `events` is DFM_KAFKA_EVENTS_BROKERS.'),
    messages: z.array(message).min(1).max(10_000).describe('Records to publish, in order (1–10000).'),
    create_topic: createTopicSchema.optional(),
    compression: kafkaCompressionSchema,
  }),
  normalize: (input) => ({ topic: input.topic, connection: input.connection, messages: input.messages, createTopic: input.create_topic, compression: input.compression }),
  templated: (config) => config.messages.map((m, index) => ({ path: ['messages', index], value: m })),
  examples: [
    {
      title: 'Publish a marker record with the logical time',
      yaml: `type: kafka.produce
topic: air_quality_markers
create_topic: { partitions: 1, replication_factor: 1 }
messages:
  - key: "{{ pipeline_id }}"
    value: { logical_time: "{{ logical_time }}", run: "{{ run_id }}" }
    headers: { source: dfm }
`,
    },
  ],
});
