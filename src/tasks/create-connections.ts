/**
 * Connections by name, from configuration only (never from pipeline YAML): `default` is the
 * metadata database and KAFKA_BROKERS; `warehouse` is DFM_POSTGRES_WAREHOUSE_URL, `events` is
 * DFM_KAFKA_EVENTS_BROKERS. Task pools are separate from dfm's own pool, so a task holding its
 * connections for a long query never starves claims, heartbeats and completions.
 */
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import { resolveKafkaConnection, resolvePostgresConnection } from '../config/resolve-connection.js';
import { createPool } from '../db/create-pool.js';
import type { Logger } from '../lib/logger.js';
import { endCompanions } from './pool-companions.js';

export interface Connections {
  postgres(name: string): pg.Pool;
  kafkaBrokers(name: string): readonly string[];
  close(): Promise<void>;
}

export function createConnections(options: { config: Config; databaseUrl: string; kafkaBrokers: readonly string[]; logger: Logger }): Connections {
  const pools = new Map<string, pg.Pool>();
  return {
    postgres(name) {
      const existing = pools.get(name);
      if (existing) return existing;
      const url = resolvePostgresConnection(options.config, options.databaseUrl, name);
      const pool = createPool(url, options.logger, { max: options.config.workerConcurrency, applicationName: `dfm-task-${name}` });
      pools.set(name, pool);
      return pool;
    },
    kafkaBrokers: (name) => resolveKafkaConnection(options.config, options.kafkaBrokers, name),
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.flatMap((pool) => [pool.end(), endCompanions(pool)]));
    },
  };
}
