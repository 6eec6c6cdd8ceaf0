import { describe, expect, it } from 'vitest';
import { isDfmError } from '../lib/errors.js';
import { loadConfig, variables } from './load-config.js';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      kafkaBrokers: undefined,
      port: 8080,
      pipelinesDir: 'pipelines',
      logLevel: 'info',
      role: 'all',
      github: undefined,
      slack: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses every variable a user sets', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://dfm:secret@db:5432/dfm',
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
      PORT: '9000',
      DFM_PIPELINES_DIR: 'flows',
      LOG_LEVEL: 'debug',
      DFM_POSTGRES_WAREHOUSE_URL: 'postgresql://wh/wh',
      DFM_KAFKA_EVENTS_BROKERS: 'events:9092',
    });
    expect(config.kafkaBrokers).toEqual(['kafka-1:9092', 'kafka-2:9092']);
    expect(config.port).toBe(9000);
    expect(config.postgresConnections).toEqual({ warehouse: 'postgresql://wh/wh' });
    expect(config.kafkaConnections).toEqual({ events: ['events:9092'] });
  });

  it('lists every problem in one error, each naming the variable and what to set', () => {
    let caught: unknown;
    try {
      loadConfig({
        DATABASE_URL: 'mysql://nope',
        KAFKA_BROKERS: 'no-port-here',
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        DFM_WORKER_CONCURRENCY: '0',
        APP_ID: '12',
      });
    } catch (error) {
      caught = error;
    }
    expect(isDfmError(caught)).toBe(true);
    const error = caught as Error & { code: string; details: { problems: string[] } };
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.details.problems).toHaveLength(6);
    expect(error.message).toContain('Invalid configuration (6 problems)');
    for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'PORT', 'LOG_LEVEL', 'DFM_WORKER_CONCURRENCY', 'PRIVATE_KEY']) {
      expect(error.message).toContain(name);
    }
    expect(error.message).toContain('postgres://user:password@host:5432/dbname');
  });

  it('takes DFM_ROLE as a comma-separated list of role names (the registry checks the names at start)', () => {
    expect(loadConfig({ DFM_ROLE: 'scheduler, worker' }).role).toBe('scheduler, worker');
    expect(() => loadConfig({ DFM_ROLE: 'Worker!' })).toThrow('DFM_ROLE must be a role name or a comma-separated list of them, such as all, worker or scheduler,worker');
  });

  it('gives every keyed variable of the table its field, frozen', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'a:1,b:2', DFM_WORKER_CONCURRENCY: '3', DFM_ROLE: 'worker' });
    const keys = Object.values(variables).flatMap((v) => ('key' in v ? [v.key] : []));
    for (const key of keys) expect(config).toHaveProperty(key);
    expect(config).toMatchObject({ kafkaBrokers: ['a:1', 'b:2'], workerConcurrency: 3, role: 'worker' });
    expect(Object.isFrozen(config.kafkaBrokers)).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('loadConfig: logs', () => {
  it('writes logs as auto by default and accepts json and pretty', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT must be one of auto, json, pretty');
  });
});
