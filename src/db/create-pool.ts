import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Logger } from '../lib/logger.js';
import * as schema from './schema.js';

export type Database = NodePgDatabase<typeof schema>;

/**
 * A pg pool whose idle-client errors (server restart, pg_terminate_backend) are logged, never
 * thrown: an unhandled 'error' event would crash the process, and the pool replaces the client.
 */
export function createPool(url: string, logger: Logger, options: { max?: number; applicationName?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'dfm',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => logger.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, 'an idle PostgreSQL connection failed; the pool replaces it'));
  // The pool listens for errors only on idle clients. A checked-out client whose server backend is
  // terminated (pg_terminate_backend, failover) emits 'error' too, and an unheard 'error' event
  // kills the process; its running query rejects on its own, so here it only needs to be heard.
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.debug({ err: { message: error.message } }, 'a PostgreSQL connection in use failed'));
  });
  return pool;
}

export function createDatabase(pool: pg.Pool): Database {
  return drizzle(pool, { schema });
}
