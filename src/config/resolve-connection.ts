/**
 * Named connections, resolved from configuration only (never from pipeline YAML): `default` is the
 * metadata database / KAFKA_BROKERS (or the local broker); any other name is
 * DFM_POSTGRES_<NAME>_URL / DFM_KAFKA_<NAME>_BROKERS. An unknown name says which variable to set.
 */
import { DfmError } from '../lib/errors.js';
import type { Config } from './load-config.js';

export function resolvePostgresConnection(config: Config, defaultUrl: string, name: string): string {
  const url = name === 'default' ? defaultUrl : config.postgresConnections[name];
  if (!url) throw new DfmError('CONNECTION_UNKNOWN', `No PostgreSQL connection named "${name}". Set DFM_POSTGRES_${name.toUpperCase()}_URL, or use connection: default.`);
  return url;
}

export function resolveKafkaConnection(config: Config, defaultBrokers: readonly string[], name: string): readonly string[] {
  const brokers = name === 'default' ? defaultBrokers : config.kafkaConnections[name];
  if (!brokers) throw new DfmError('CONNECTION_UNKNOWN', `No Kafka connection named "${name}". Set DFM_KAFKA_${name.toUpperCase()}_BROKERS, or use connection: default.`);
  return brokers;
}
