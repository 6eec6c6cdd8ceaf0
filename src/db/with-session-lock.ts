/**
 * Work under a session advisory lock (`pg_advisory_lock(hashtext(key))`) held on a connection of
 * its own for as long as the work runs, across transactions and git processes: one Git sync per
 * source, one fetch into a review mirror per repository, whichever process asks. A connection whose
 * unlock failed is discarded rather than returned to the pool still holding the lock.
 */
import type pg from 'pg';

export async function withSessionLock<T>(pool: pg.Pool, key: string, work: () => Promise<T>): Promise<T> {
  const lock = await pool.connect();
  let broken: Error | undefined;
  try {
    await lock.query('select pg_advisory_lock(hashtext($1))', [key]);
    try {
      return await work();
    } finally {
      await lock.query('select pg_advisory_unlock(hashtext($1))', [key]).catch((error: Error) => (broken = error));
    }
  } finally {
    lock.release(broken);
  }
}
