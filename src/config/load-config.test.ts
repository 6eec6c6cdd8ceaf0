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

  it('reads the Git sync settings, keeping credentials out of the redacted URL', () => {
    const config = loadConfig({
      DFM_GIT_URL: 'https://ci:token123@gitlab.example.com/data/pipelines.git',
      DFM_GIT_BRANCH: 'production',
      DFM_GIT_PATH: './flows/',
      DFM_SYNC_INTERVAL_MS: '0',
      DFM_SYNC_MAX_PRUNE: '0.25',
      DFM_GIT_PROTOCOLS: 'https, ssh',
    });
    expect(config.gitUrl).toEqual({ url: 'https://ci:token123@gitlab.example.com/data/pipelines.git', protocol: 'https', redacted: 'https://gitlab.example.com/data/pipelines.git' });
    expect(config).toMatchObject({ gitBranch: 'production', gitPath: 'flows', syncIntervalMs: 0, syncMaxPrune: 0.25, gitProtocols: ['https', 'ssh'], gitTimeoutMs: 120000 });
    expect(loadConfig({})).toMatchObject({ gitUrl: undefined, gitPath: 'pipelines', syncIntervalMs: 60000, syncMaxPrune: 0.5 });
  });

  it('reports bad Git sync settings together', () => {
    let caught: unknown;
    try {
      loadConfig({ DFM_GIT_URL: 'http://example.com/x.git', DFM_GIT_PROTOCOLS: 'https', DFM_GIT_BRANCH: '-x', DFM_GIT_PATH: '../up', DFM_SYNC_MAX_PRUNE: '2', DFM_SYNC_SECRET: 'short' });
    } catch (error) {
      caught = error;
    }
    expect(isDfmError(caught)).toBe(true);
    const problems = (caught as { details: { problems: string[] } }).details.problems;
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/DFM_GIT_URL: .*http protocol is not allowed/);
    expect(problems.join('\n')).toMatch(/DFM_GIT_BRANCH.*starts with "-"/);
    expect(problems.join('\n')).toMatch(/DFM_GIT_PATH.*no "\.\."/);
    expect(problems.join('\n')).toMatch(/DFM_SYNC_MAX_PRUNE must be a number from 0 to 1/);
    expect(problems.join('\n')).toMatch(/DFM_SYNC_SECRET must be at least 16 characters/);
  });

  it('takes the GitHub App key from PRIVATE_KEY_PATH, or PRIVATE_KEY with escaped newlines', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n';
    const fromFile = loadConfig({ APP_ID: '12', PRIVATE_KEY_PATH: '/keys/app.pem', WEBHOOK_SECRET: 's' }, (path) => (path === '/keys/app.pem' ? pem : ''));
    expect(fromFile.github).toEqual({ appId: 12, privateKey: pem, webhookSecret: 's', apiUrl: 'https://api.github.com', throttle: true });
    const escaped = loadConfig({ APP_ID: '12', PRIVATE_KEY: pem.replace(/\n/g, '\\n'), WEBHOOK_SECRET: 's', GITHUB_API_URL: 'https://ghe.example.com/api/v3/' });
    expect(escaped.github).toEqual({ appId: 12, privateKey: pem, webhookSecret: 's', apiUrl: 'https://ghe.example.com/api/v3', throttle: true });
    expect(() => loadConfig({ APP_ID: '12', PRIVATE_KEY: 'not a key', WEBHOOK_SECRET: 's' })).toThrow(/not a PEM private key/);
    expect(() => loadConfig({ APP_ID: '12', PRIVATE_KEY_PATH: '/missing.pem', WEBHOOK_SECRET: 's' }, () => { throw new Error('ENOENT'); })).toThrow(/PRIVATE_KEY_PATH="\/missing.pem": cannot read the file/);
  });
});
