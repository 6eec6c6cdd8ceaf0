import type pg from 'pg';
import { createPool } from '../db/create-pool.js';
import { applyMigrations } from '../db/migrate.js';
import { resolveDatabaseUrl } from '../db/resolve-database-url.js';
import { createLogger } from '../lib/logger.js';
import type { CliContext } from './cli-context.js';

/** Runs a CLI command against the metadata database (DATABASE_URL or the embedded one). */
export async function withDatabase<T>(context: CliContext, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const config = context.config();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr, config.logFormat);
  const database = await resolveDatabaseUrl(config, logger);
  // Like `dfm serve`: a fresh database gets its schema first (idempotent, under the advisory lock).
  if (config.runMigrations) await applyMigrations(database.url, logger);
  const pool = createPool(database.url, logger, { max: 2, applicationName: 'dfm-cli' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
    if (database.embedded?.started) await database.embedded.stop();
  }
}
