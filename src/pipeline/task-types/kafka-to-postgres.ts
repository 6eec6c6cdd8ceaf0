import { z } from 'zod';
import { codedIssue, columnNameSchema, connectionSchema, createTopicSchema, durationSchema, positiveInt, tableSchema, topicSchema } from '../common-schemas.js';
import { defineTaskType } from './define-task-type.js';

export const COLUMN_TYPES = ['text', 'integer', 'bigint', 'numeric', 'double', 'boolean', 'timestamptz', 'jsonb'] as const;

const column = z
  .strictObject({
    field: z
      .string()
      .regex(/^(?:\$\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/)
      .optional()
      .describe('Field of the JSON record value, a name or dotted path (`station.name`). Default: the column name.'),
    type: z
      .enum(COLUMN_TYPES)
      .default('text')
      .describe(
        `Postgres type the value is cast to: ${COLUMN_TYPES.join(', ')}. Default text. timestamptz takes ISO-8601 text (\`2024-01-31\`, \`2024-01-31T10:00:05.123+05:30\`; without a zone it is read in the connection's TimeZone) or epoch milliseconds.`,
      ),
  })
  .transform((c) => ({ field: c.field?.replace(/^\$\./, ''), type: c.type }));

const until = z
  .union([
    z.literal('caught_up'),
    z.strictObject({
      caught_up: z.boolean().default(true).describe('Stop when the consumer has reached the end offsets seen at start. Default true.'),
      max_records: positiveInt('Stop after this many records.').optional(),
      max_duration: durationSchema('Stop after this long, e.g. `5m`.', { min: 1 }).optional(),
    }),
  ])
  .default('caught_up')
  .describe('When the task finishes: `caught_up` (default), or a mapping of `caught_up`, `max_records`, `max_duration`; the first one reached stops it.');

export const kafkaToPostgresTaskType = defineTaskType({
  type: 'kafka.to_postgres',
  description:
    'Consumes a Kafka topic into a Postgres table, exactly once: each batch and its consumed offsets commit in one Postgres transaction, and a restart resumes from the stored offsets. It holds three connections to the target database while it runs (the next batches are written while the one before commits; one connection when an append target has a unique index).',
  config: z.strictObject({
    topic: topicSchema('Topic to consume.'),
    table: tableSchema('Target table, optionally schema-qualified (`raw.orders`).'),
    connection: connectionSchema('Postgres connection name of the target table.'),
    kafka_connection: connectionSchema('Kafka connection name of the topic.'),
    group_id: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/).optional().describe('Kafka consumer group id. Default `dfm.<pipeline>.<task>`.'),
    key: z.array(columnNameSchema('Key column.')).min(1).optional().describe('Upsert key columns. Absent: append mode.'),
    mode: z.enum(['upsert', 'append']).optional().describe('`upsert` (needs `key`) or `append`. Default: upsert when `key` is set, else append.'),
    columns: z
      .record(columnNameSchema('Column name.'), column)
      .optional()
      .describe(
        'Column mapping from the JSON record value. Absent: by name, read from the table when the task starts: each column takes the field of the same name, cast to the column\'s type (text, character varying, character, integer, smallint, bigint, numeric, double precision, real, boolean, timestamp with or without time zone, date, jsonb, json; any other type stops the task at start: map such a table here). A missing or null field is the column\'s default where it has one, else NULL; a record without a key column\'s or a NOT NULL column\'s (without default) field is a dead letter naming the column. Fields without a column are ignored; identity and generated columns are left to PostgreSQL. A table whose columns without a default, the key columns aside, are one jsonb (or json) column receives the whole value in that column.',
      ),
    until,
    batch_size: positiveInt('Records per transaction. Default 10000.', 1_000_000).default(10_000),
    batch_max_wait: durationSchema('Longest wait to fill a batch before writing it. Default 1s.', { min: 1 }).prefault('1s'),
    dead_letter_table: tableSchema('Table for records that cannot be decoded or cast (topic, partition, offset, key, raw value, error), written in the batch\'s transaction; created with the columns of dfm.dead_letter when missing. Default `dfm.dead_letter`.').optional(),
    session_timeout: durationSchema('The consumer group evicts a silent member after this long; a crashed worker\'s partitions move to the retry after it. Brokers accept 6s to 5m by default. Default 10s.', { min: 6000 }).prefault('10s'),
    create_topic: createTopicSchema.optional(),
  }),
  check: (input, ctx) => {
    if (input.mode === 'upsert' && input.key === undefined) {
      ctx.addIssue({ ...codedIssue('invalid-value', '"mode: upsert" needs "key" columns', 'Add key: [<column>, …] or use mode: append'), path: ['mode'] });
    }
    if (input.mode === 'append' && input.key !== undefined) {
      ctx.addIssue({ ...codedIssue('invalid-value', '"key" has no effect with "mode: append"', 'Remove "key", or use mode: upsert'), path: ['key'] });
    }
    if (input.key !== undefined && input.columns !== undefined) {
      input.key.forEach((name, index) => {
        if (!(name in input.columns!)) {
          ctx.addIssue({ ...codedIssue('invalid-value', `Key column "${name}" is not in "columns"`, `Add "${name}" under columns`), path: ['key', index] });
        }
      });
    }
    if (typeof input.until === 'object' && !input.until.caught_up && input.until.max_records === undefined && input.until.max_duration === undefined) {
      ctx.addIssue({ ...codedIssue('invalid-value', 'This task would never finish', 'Set caught_up: true, max_records or max_duration under "until"'), path: ['until'] });
    }
  },
  normalize: (input) => ({
    topic: input.topic,
    table: input.table,
    connection: input.connection,
    kafkaConnection: input.kafka_connection,
    /** Filled in by the pipeline schema with `dfm.<pipeline>.<task>` when absent. */
    groupId: input.group_id,
    key: input.key,
    mode: input.mode ?? (input.key === undefined ? ('append' as const) : ('upsert' as const)),
    columns: input.columns,
    until:
      input.until === 'caught_up'
        ? { caughtUp: true, maxRecords: undefined, maxDurationMs: undefined }
        : { caughtUp: input.until.caught_up, maxRecords: input.until.max_records, maxDurationMs: input.until.max_duration },
    batchSize: input.batch_size,
    batchMaxWaitMs: input.batch_max_wait,
    deadLetterTable: input.dead_letter_table,
    sessionTimeoutMs: input.session_timeout,
    createTopic: input.create_topic,
  }),
  examples: [
    {
      title: 'Upsert JSON readings into typed columns until caught up',
      yaml: `type: kafka.to_postgres
topic: air_quality_info
table: air_quality_data
key: [station, time]
columns:
  station: { type: text }
  time: { type: timestamptz }
  aqi: { type: integer }
  pm25: { field: iaqi_pm25, type: double }
until: caught_up
batch_size: 5000
dead_letter_table: air_quality_rejects
`,
    },
    {
      title: 'Land JSON records into the columns of the same name (a table of id int, station text, aqi int)',
      yaml: `type: kafka.to_postgres
topic: readings
table: readings
`,
    },
    {
      title: 'Append raw records for at most five minutes',
      yaml: `type: kafka.to_postgres
topic: clicks
table: raw.clicks
until: { caught_up: false, max_duration: 5m }
`,
    },
  ],
});
