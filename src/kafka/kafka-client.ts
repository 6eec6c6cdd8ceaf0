/**
 * The one module that knows kafkajs. kafkajs is unmaintained (its issues 1603, 1005, 1046), so
 * every other part of dfm talks to Kafka through the functions here, and the client can change
 * behind them.
 */
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '../lib/logger.js';

export type { Admin, Consumer, Producer, EachBatchPayload, KafkaMessage, Message, ITopicConfig } from 'kafkajs';
export { CompressionTypes } from 'kafkajs';

export function createKafka(brokers: readonly string[], logger: Logger, options: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'dfm',
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const level = entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
      logger[level]({ component: 'kafka', namespace: entry.namespace, ...rest }, message);
    },
    ...options,
  });
}

/** True when the cluster answers a metadata request within timeoutMs. */
export async function pingKafka(kafka: Kafka, timeoutMs: number): Promise<boolean> {
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('Kafka health check timed out')), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}
