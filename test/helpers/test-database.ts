/**
 * A fresh, migrated database per test file, cloned from the run's template. Drop it in afterAll
 * (the global teardown also drops every dfm_test_* database).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A database cloned from the run's migrated template. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(inject('templateDatabase'));
}

/** A database with no migrations applied (for migration tests). */
export function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase(undefined);
}

async function createDatabase(template: string | undefined): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const name = `dfm_test_${inject('testRunId')}_${randomBytes(5).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`create database "${name}"${template ? ` template "${template}"` : ''}`));
  return {
    name,
    url: databaseUrl(adminUrl, name),
    drop: () => admin(adminUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

/** Runs fn on a short-lived connection (CREATE/DROP DATABASE cannot run in a pool transaction). */
export async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A topic name unique to this test file and call, so files never see each other's records. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
