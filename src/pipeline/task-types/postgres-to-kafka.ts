import { z } from 'zod';
import { columnNameSchema, connectionSchema, createTopicSchema, positiveInt, topicSchema } from '../common-schemas.js';
import { defineTaskType } from './define-task-type.js';
import { kafkaCompressionSchema } from './kafka-compression.js';

export const postgresToKafkaTaskType = defineTaskType({
  type: 'postgres.to_kafka',
  description:
    'Publishes the rows of one query to a Kafka topic, one JSON record per row, keyed by a column. With `incremental`, only rows past the last published cursor value are read.',
  config: z.strictObject({
    query: z.string().min(1).describe('One SELECT statement; `:name` binds a param or built-in. With `incremental`, `:cursor` is the last published cursor value.'),
    connection: connectionSchema('Postgres connection name.'),
    topic: topicSchema('Topic to publish to.'),
    kafka_connection: connectionSchema('Kafka connection name.'),
    key: columnNameSchema('Column whose value is the record key. Default: no key.').optional(),
    incremental: z
      .strictObject({
        cursor: columnNameSchema('Monotonic column (e.g. updated_at or id); its largest published value is stored.'),
        initial: z.union([z.string(), z.number()]).optional().describe('Cursor value before the first run. Default: all rows.'),
      })
      .transform((i) => ({ cursor: i.cursor, initial: i.initial }))
      .optional()
      .describe('Publish only new rows: the query must filter with `:cursor` and order by the cursor column.'),
    batch_size: positiveInt('Rows fetched and published per batch. Default 1000.', 1_000_000).default(1000),
    create_topic: createTopicSchema.optional(),
    compression: kafkaCompressionSchema,
  }),
  normalize: (input) => ({
    query: input.query,
    connection: input.connection,
    topic: input.topic,
    kafkaConnection: input.kafka_connection,
    key: input.key,
    incremental: input.incremental,
    batchSize: input.batch_size,
    createTopic: input.create_topic,
    compression: input.compression,
  }),
  sql: (config) => [{ path: ['query'], text: config.query }],
  examples: [
    {
      title: 'Publish the daily summary, keyed by station',
      yaml: `type: postgres.to_kafka
needs: [summarize]
query: |
  select station, day, avg_aqi, max_aqi from air_quality_daily
  where day = (:interval_start)::date
topic: air_quality_daily_summary
key: station
create_topic: { partitions: 3 }
compression: lz4
`,
    },
  ],
});
