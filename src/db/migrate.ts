/**
 * Applies drizzle/ migrations under a session-level advisory lock. drizzle's migrator takes no lock
 * (drizzle-orm issue 874): replicas starting together would run the same CREATE TABLE twice and one
 * would crash. With the lock, the first applies them and the others find nothing left to do.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Logger } from '../lib/logger.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Advisory lock key: the bytes of "dfmmigr" (any constant works; this one is unlikely to collide). */
const MIGRATION_LOCK_KEY = 0x64666d6d696772n;

export async function applyMigrations(url: string, logger: Logger, folder = MIGRATIONS_FOLDER): Promise<{ applied: number }> {
  const client = new pg.Client({ connectionString: url, application_name: 'dfm-migrate' });
  client.on('error', (error) => logger.warn({ err: error }, 'migration connection failed'));
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      const before = await countApplied(client);
      await migrate(drizzle(client), { migrationsFolder: folder });
      const applied = (await countApplied(client)) - before;
      logger.info({ applied }, applied > 0 ? 'applied database migrations' : 'database schema is up to date');
      return { applied };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const table = await client.query<{ exists: boolean }>("select to_regclass('drizzle.__drizzle_migrations') is not null as exists");
  if (!table.rows[0]?.exists) return 0;
  const result = await client.query<{ n: string }>('select count(*) as n from drizzle.__drizzle_migrations');
  return Number(result.rows[0]?.n ?? 0);
}
