/**
 * kafka.to_postgres: consumes a topic into a table, exactly once (see kafka-to-postgres-consume.ts
 * for the loop and kafka-to-postgres-writer.ts for the transaction). The consumer group is
 * `group_id` (default `dfm.<pipeline>.<task>`), and it is also the owner of the offsets stored in
 * `dfm.kafka_offset` of the target database, so every run of the task continues where the last
 * committed batch ended, whichever worker runs it.
 */
import type { Task } from '../../pipeline/pipeline-schema.js';
import { createKafka } from '../../kafka/kafka-client.js';
import { defineTaskRunner } from '../define-task-runner.js';
import { consumeToPostgres, type ConsumeToPostgresOutput } from './kafka-to-postgres-consume.js';

type KafkaToPostgresConfig = Extract<Task, { type: 'kafka.to_postgres' }>['config'];

export const kafkaToPostgresRunner = defineTaskRunner<KafkaToPostgresConfig>({
  type: 'kafka.to_postgres',
  async run(context): Promise<ConsumeToPostgresOutput> {
    const { config } = context;
    const brokers = context.kafkaBrokers(config.kafkaConnection);
    const groupId = config.groupId ?? `dfm.${context.pipelineId}.${context.taskId}`;
    const output = await consumeToPostgres({
      kafka: createKafka(brokers, context.logger, { clientId: `dfm-${context.pipelineId}-${context.taskId}` }),
      brokers,
      pool: context.postgres(config.connection),
      topic: config.topic,
      table: config.table,
      groupId,
      mode: config.mode,
      key: config.key,
      columns: config.columns,
      until: config.until,
      batchSize: config.batchSize,
      batchMaxWaitMs: config.batchMaxWaitMs,
      deadLetterTable: config.deadLetterTable,
      createTopic: config.createTopic,
      sessionTimeoutMs: config.sessionTimeoutMs,
      runId: context.runId,
      metadataDatabase: config.connection === 'default',
      signal: context.signal,
      logger: context.logger,
      onCommitted: (batch) => {
        context.metrics?.kafkaRecords.inc({ pipeline: context.pipelineId, task: context.taskId, direction: 'in' }, batch.records);
        if (batch.deadLetters > 0) context.metrics?.deadLetters.inc({ pipeline: context.pipelineId, task: context.taskId }, batch.deadLetters);
      },
    });
    context.log(
      `consumed ${output.records} record(s) of ${output.topic} into ${output.table} in ${output.batches} batch(es): ${output.rows} row(s), ${output.deadLetters} dead letter(s)${output.fenced > 0 ? `, ${output.fenced} fenced batch(es) rolled back` : ''}; stopped: ${output.stoppedBy}`,
      output.deadLetters > 0 ? 'warn' : 'info',
    );
    return output;
  },
});
