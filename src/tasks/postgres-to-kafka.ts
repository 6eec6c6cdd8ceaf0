/**
 * postgres.to_kafka: one query's rows published as JSON records, keyed by a column, read through a
 * server-side cursor `batch_size` rows at a time.
 *
 * Incremental mode keeps a watermark of the cursor column in `dfm.export_cursor` (metadata
 * database) and advances it only after the broker acknowledged a batch (acks = -1): a crash
 * between the send and the watermark re-sends that batch, so delivery is at least once, and every
 * record carries the header `idempotency-key: <pipeline>:<task>:<cursor value>` for consumers to
 * de-duplicate. The query either uses `:cursor` itself (the last published value, NULL before the
 * first export unless `initial` is set) or, without `:cursor`, is wrapped as
 * `select * from (<query>) where <cursor> > :cursor or :cursor is null order by <cursor>`.
 *
 * Ties: rows sharing the last cursor value of a batch may continue in the next batch, so the
 * watermark stops before that value until the batch after it (or the end) is published; otherwise
 * a crash there would skip the rest of the tie.
 */
import pg from 'pg';
import type { OutgoingRecord } from '../kafka/kafka-client.js';
import { DfmError } from '../lib/errors.js';
import type { Task } from '../pipeline/pipeline-schema.js';
import { bindSqlParameters, sqlParameters } from '../pipeline/sql-parameters.js';
import { defineTaskRunner } from './define-task-runner.js';
import { quoteName } from './quote-name.js';
import { openTopicProducer } from './open-topic-producer.js';

type PostgresToKafkaConfig = Extract<Task, { type: 'postgres.to_kafka' }>['config'];

export interface PostgresToKafkaOutput {
  readonly topic: string;
  readonly records: number;
  readonly batches: number;
  /** Incremental mode: the watermark before and after this run (text of the cursor column). */
  readonly cursor?: { readonly from: string | null; readonly to: string | null };
}

const RAW_TEXT = { getTypeParser: () => (value: string) => value };
const INT8_OID = 20;

export const postgresToKafkaRunner = defineTaskRunner<PostgresToKafkaConfig>({
  type: 'postgres.to_kafka',
  async run(context): Promise<PostgresToKafkaOutput> {
    const { config, signal } = context;
    const metadata = context.postgres('default');
    const incremental = config.incremental;
    const from = incremental ? await readWatermark(metadata, context.pipelineId, context.taskId, incremental.initial) : null;

    const usesCursor = sqlParameters(config.query).includes('cursor');
    const query = config.query.trim().replace(/;\s*$/, '');
    const text =
      incremental && !usesCursor
        ? `select * from (${query}) as dfm_export where dfm_export.${quoteName(incremental.cursor)} > :cursor or :cursor is null order by dfm_export.${quoteName(incremental.cursor)}`
        : query;
    const bound = bindSqlParameters(text);
    const values: Record<string, unknown> = { ...context.params, ...context.builtins, cursor: from };
    const parameters = bound.names.map((name) => {
      if (!(name in values)) throw new DfmError('SQL_PARAMETER_MISSING', `The query uses :${name}, which is neither a param of this run nor a built-in`);
      return values[name] ?? null;
    });

    const producer = await openTopicProducer(context, config.kafkaConnection, config.topic, config.createTopic, { compression: config.compression });
    const client = await context.postgres(config.connection).connect();
    let broken = false;
    let records = 0;
    let batches = 0;
    let watermark = from;
    let lastSeen: string | null = null;
    try {
      // One snapshot for the whole export: rows committed meanwhile wait for the next run.
      await client.query('begin isolation level repeatable read read only');
      await client.query({ text: `declare dfm_export_cursor no scroll cursor for ${bound.text}`, values: parameters });
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const result = await client.query({ text: `fetch forward ${config.batchSize} from dfm_export_cursor`, types: RAW_TEXT });
        if (result.rows.length === 0) break;
        const fields = result.fields;
        if (config.key !== undefined && !fields.some((f) => f.name === config.key)) {
          throw new DfmError('EXPORT_KEY_MISSING', `The query returns no column "${config.key}" (key); it returns ${fields.map((f) => f.name).join(', ')}`);
        }
        if (incremental && !fields.some((f) => f.name === incremental.cursor)) {
          throw new DfmError('EXPORT_CURSOR_MISSING', `The query returns no column "${incremental.cursor}" (incremental.cursor); it returns ${fields.map((f) => f.name).join(', ')}`);
        }
        const parsers = fields.map((f) => (f.dataTypeID === INT8_OID ? parseInt8 : pg.types.getTypeParser(f.dataTypeID, 'text')));
        const rows = result.rows as Record<string, string | null>[];
        const batch: OutgoingRecord[] = rows.map((row, index) => {
          const value: Record<string, unknown> = {};
          fields.forEach((f, i) => {
            const raw = row[f.name];
            value[f.name] = raw === null || raw === undefined ? null : parsers[i]!(raw);
          });
          const idempotency = incremental ? `${context.pipelineId}:${context.taskId}:${row[incremental.cursor] ?? ''}` : `${context.pipelineId}:${context.taskId}:${context.runId}:${records + index}`;
          return { key: config.key === undefined ? null : (row[config.key] ?? null), value: JSON.stringify(value), headers: { 'idempotency-key': idempotency } };
        });
        await producer.send(config.topic, batch);
        records += batch.length;
        batches++;
        context.metrics?.kafkaRecords.inc({ pipeline: context.pipelineId, task: context.taskId, direction: 'out' }, batch.length);
        if (incremental) {
          lastSeen = rows.at(-1)![incremental.cursor] ?? lastSeen;
          const last = rows.length < config.batchSize ? rows.at(-1)![incremental.cursor] ?? null : safeWatermark(rows, incremental.cursor);
          if (last !== null && last !== undefined && last !== watermark) {
            await writeWatermark(metadata, context.pipelineId, context.taskId, last);
            watermark = last;
          }
        }
        if (rows.length < config.batchSize) break;
      }
      // The last full batch may have held back a tie; the end of the result releases it.
      if (incremental && lastSeen !== null && lastSeen !== watermark) {
        await writeWatermark(metadata, context.pipelineId, context.taskId, lastSeen);
        watermark = lastSeen;
      }
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
      await producer.close();
    }
    context.log(`published ${records} record(s) to ${config.topic}${incremental ? `; cursor ${from ?? '(start)'} → ${watermark ?? '(start)'}` : ''}`);
    return { topic: config.topic, records, batches, ...(incremental ? { cursor: { from, to: watermark } } : {}) };
  },
});

/** The cursor value below the batch's trailing tie (undefined when the whole batch is one tie). */
function safeWatermark(rows: readonly Record<string, string | null>[], cursor: string): string | undefined {
  const last = rows.at(-1)![cursor];
  for (let i = rows.length - 2; i >= 0; i--) {
    const value = rows[i]![cursor];
    if (value !== last) return value ?? undefined;
  }
  return undefined;
}

function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

async function readWatermark(pool: pg.Pool, pipelineId: string, taskId: string, initial: string | number | undefined): Promise<string | null> {
  const { rows } = await pool.query<{ cursor: { value: string } }>('select cursor from dfm.export_cursor where pipeline_id = $1 and task_id = $2', [pipelineId, taskId]);
  if (rows[0]) return rows[0].cursor.value;
  return initial === undefined ? null : String(initial);
}

async function writeWatermark(pool: pg.Pool, pipelineId: string, taskId: string, value: string): Promise<void> {
  await pool.query(
    `insert into dfm.export_cursor (pipeline_id, task_id, cursor) values ($1, $2, $3::jsonb)
     on conflict (pipeline_id, task_id) do update set cursor = excluded.cursor, updated_at = now()`,
    [pipelineId, taskId, JSON.stringify({ value })],
  );
}
