/**
 * A bare kafka.to_postgres consumer in its own process, without the worker around it (no task
 * claim, no heartbeat fence): what is left to stop a zombie is the offset compare-and-set alone.
 * Usage: node --import tsx test/kafka-data-plane/consume-process.ts '<json options>'
 * Prints one JSON line with the output when it finishes.
 */
import { createPool } from '../../src/db/create-pool.js';
import { createKafka } from '../../src/kafka/kafka-client.js';
import { createLogger } from '../../src/lib/logger.js';
import { consumeToPostgres } from '../../src/tasks/kafka-to-postgres/kafka-to-postgres-consume.js';

const options = JSON.parse(process.argv[2]!) as { databaseUrl: string; brokers: string[]; topic: string; table: string; groupId: string; batchSize: number; decodeOnWorker?: boolean };
const logger = createLogger(process.env['CONSUMER_LOG_LEVEL'] ?? 'warn');
const pool = createPool(options.databaseUrl, logger, { max: 2 });
const output = await consumeToPostgres({
  kafka: createKafka(options.brokers, logger),
  brokers: options.brokers,
  pool,
  topic: options.topic,
  table: options.table,
  groupId: options.groupId,
  mode: 'append',
  key: undefined,
  columns: { id: { field: undefined, type: 'bigint' } },
  until: { caughtUp: true, maxRecords: undefined, maxDurationMs: undefined },
  batchSize: options.batchSize,
  batchMaxWaitMs: 100,
  deadLetterTable: undefined,
  createTopic: undefined,
  sessionTimeoutMs: 6000,
  runId: null,
  metadataDatabase: true,
  signal: new AbortController().signal,
  logger,
  decodeOnWorker: options.decodeOnWorker ?? false,
});
process.stdout.write(`${JSON.stringify(output)}\n`);
await pool.end();
