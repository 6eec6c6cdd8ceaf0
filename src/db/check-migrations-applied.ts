/**
 * Readiness: is the database at the schema this build expects? drizzle's migrator decides what to
 * apply by the newest applied migration's folder time (`created_at`), so the same comparison says
 * whether anything is left: a replica started against a database another, older replica migrated
 * is not ready until `dfm migrate` (or a start with migrations on) has run.
 */
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type pg from 'pg';
import { MIGRATIONS_FOLDER } from './migrate.js';

export async function checkMigrationsApplied(db: Pick<pg.Pool, 'query'>, folder = MIGRATIONS_FOLDER): Promise<boolean> {
  const expected = readMigrationFiles({ migrationsFolder: folder }).reduce((latest, m) => Math.max(latest, m.folderMillis), 0);
  const { rows } = await db.query<{ latest: string | null }>(
    `select case when to_regclass('drizzle.__drizzle_migrations') is null then null
            else (select max(created_at)::text from drizzle.__drizzle_migrations) end as latest`,
  );
  return rows[0]?.latest != null && Number(rows[0].latest) >= expected;
}
