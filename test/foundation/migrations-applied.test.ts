/**
 * /readyz's migration check (src/db/check-migrations-applied.ts): not ready on an empty database
 * or one an older dfm migrated (its newest migration missing), ready once every migration of this
 * build is applied.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { checkMigrationsApplied } from '../../src/db/check-migrations-applied.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const databases: TestDatabase[] = [];
const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await Promise.all(databases.map((d) => d.drop()));
});

async function poolOn(database: Promise<TestDatabase>): Promise<pg.Pool> {
  const db = await database;
  databases.push(db);
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  pools.push(pool);
  return pool;
}

describe('checkMigrationsApplied', () => {
  it('is false on an empty database', async () => {
    expect(await checkMigrationsApplied(await poolOn(createEmptyDatabase()))).toBe(false);
  });

  it('is true when every migration is applied, false when the newest is missing', async () => {
    const pool = await poolOn(createTestDatabase());
    expect(await checkMigrationsApplied(pool)).toBe(true);
    await pool.query('delete from drizzle.__drizzle_migrations where created_at = (select max(created_at) from drizzle.__drizzle_migrations)');
    expect(await checkMigrationsApplied(pool)).toBe(false);
  });
});
