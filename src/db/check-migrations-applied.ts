/**
 * Readiness: is the database at the schema this build expects? drizzle's migrator decides what to
 * apply by the newest applied migration's folder time (`created_at`), so the same comparison says
 * whether anything is left: a replica started against a database another, older replica migrated
 * is not ready until `dfm migrate` (or a start with migrations on) has run.
 */
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type pg from 'pg';
import { MIGRATIONS_FOLDER } from './migrate.js';

/** The newest migration's folder time, by folder: the files do not change while dfm runs. */
const newestByFolder = new Map<string, number>();

export async function checkMigrationsApplied(db: Pick<pg.Pool, 'query'>, folder = MIGRATIONS_FOLDER): Promise<boolean> {
  let expected = newestByFolder.get(folder);
  if (expected === undefined) {
    expected = readMigrationFiles({ migrationsFolder: folder }).reduce((latest, m) => Math.max(latest, m.folderMillis), 0);
    newestByFolder.set(folder, expected);
  }
  // Two statements: one that names a missing table fails at parse time, whatever a CASE says.
  const table = await db.query<{ exists: boolean }>("select to_regclass('drizzle.__drizzle_migrations') is not null as exists");
  if (!table.rows[0]?.exists) return false;
  const { rows } = await db.query<{ latest: string | null }>('select max(created_at)::text as latest from drizzle.__drizzle_migrations');
  return rows[0]?.latest != null && Number(rows[0].latest) >= expected;
}
