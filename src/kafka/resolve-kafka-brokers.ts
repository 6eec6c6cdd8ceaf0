import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import { ensureLocalKafka } from './local-broker.js';

/** KAFKA_BROKERS when set; otherwise the project's local KRaft broker, started or reused. */
export async function resolveKafkaBrokers(config: Config, logger: Logger): Promise<{ brokers: readonly string[]; stop: () => Promise<void> }> {
  if (config.kafkaBrokers) return { brokers: config.kafkaBrokers, stop: async () => {} };
  const local = await ensureLocalKafka({
    port: config.kafkaPort,
    dataDir: config.dataDir,
    logger,
    ...(config.kafkaCacheDir ? { cacheDir: config.kafkaCacheDir } : {}),
  });
  return { brokers: local.brokers, stop: () => local.stop() };
}
