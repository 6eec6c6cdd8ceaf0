/**
 * Starts (or reuses) the real PostgreSQL and Kafka once per test run, and prepares a migrated
 * template database that every test file clones (CREATE DATABASE … TEMPLATE is a file copy:
 * a few tens of ms, versus replaying migrations per file).
 *
 * DATABASE_URL / KAFKA_BROKERS point the suite at existing servers; otherwise it uses the same
 * embedded PostgreSQL and local Kafka broker as `npm start`.
 */
import type pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/lib/logger.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { resolveDatabaseUrl } from '../../src/db/resolve-database-url.js';
import { resolveKafkaBrokers } from '../../src/kafka/resolve-kafka-brokers.js';
import { admin, databaseUrl } from '../helpers/test-database.js';
import { isAlive } from '../helpers/is-alive.js';
import { ensureTestTools } from './ensure-test-tools.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    templateDatabase: string;
    testRunId: string;
    kafkaBrokers: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // `npm test` checked already (pretest); this covers `npx vitest run <file>`. Milliseconds.
  await ensureTestTools({ env: process.env });
  const config = loadConfig(process.env);
  const logger = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
  const began = Date.now();

  const database = await resolveDatabaseUrl(config, logger);
  // Databases of this run are named dfm_test_<pid>_…: several test runs may share one server, so a
  // run drops only its own, and those of runs whose process is gone (a crashed or killed run).
  const runId = String(process.pid);
  const template = `dfm_test_${runId}_template`;
  await admin(database.url, async (client) => {
    await dropStaleTestDatabases(client);
    await client.query(`create database "${template}"`);
  });
  await applyMigrations(databaseUrl(database.url, template), logger);

  const kafka = await resolveKafkaBrokers(config, logger);
  logger.info({ ms: Date.now() - began }, 'test services ready');

  project.provide('postgresAdminUrl', database.url);
  project.provide('templateDatabase', template);
  project.provide('testRunId', runId);
  project.provide('kafkaBrokers', [...kafka.brokers]);

  return async () => {
    await admin(database.url, (client) => dropTestDatabases(client, `dfm\\_test\\_${runId}\\_%`)).catch(() => {});
    await kafka.stop();
    if (database.embedded?.started) await database.embedded.stop();
  };
}

async function dropStaleTestDatabases(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>("select datname from pg_database where datname like 'dfm\\_test\\_%'");
  for (const { datname } of rows) {
    const owner = /^dfm_test_(\d+)_/.exec(datname)?.[1];
    if (owner === undefined || !isAlive(Number(owner))) await client.query(`drop database if exists "${datname}" with (force)`);
  }
}


async function dropTestDatabases(client: pg.Client, pattern: string): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [pattern]);
  for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
}
