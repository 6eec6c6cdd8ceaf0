/**
 * Does a Kafka broker answer at this address? Used while the local broker starts, so it is
 * deliberately small and separate from the kafkajs wrapper the pipeline uses: one admin client,
 * no retries, every kafkajs log line at debug (failures are expected until the broker is up).
 */
import { createConnection } from 'node:net';
import type { LogEntry } from 'kafkajs';
import { kafkajs } from './kafkajs.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

const { Kafka, logLevel } = kafkajs;

export type BrokerProbe =
  | { readonly ok: true; readonly clusterId: string; readonly brokerCount: number; readonly topicCount: number }
  | { readonly ok: false; readonly reason: string };

/** Answers when the cluster describes itself and a metadata request for all topics succeeds. */
export async function probeBroker(
  brokers: readonly string[],
  options: { timeoutMs?: number; logger?: Logger } = {},
): Promise<BrokerProbe> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const logger = options.logger;
  const kafka = new Kafka({
    clientId: 'dfm-probe',
    brokers: [...brokers],
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logger ? logLevel.DEBUG : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...fields } = entry.log;
      logger?.trace({ component: 'kafka-probe', namespace: entry.namespace, ...fields }, message);
    },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const metadata = await admin.fetchTopicMetadata();
    return { ok: true, clusterId: cluster.clusterId, brokerCount: cluster.brokers.length, topicCount: metadata.topics.length };
  } catch (error) {
    return { ok: false, reason: messageOf(error) };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** True when something accepts TCP connections on host:port (Kafka or not). */
export function isPortListening(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (listening: boolean): void => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
