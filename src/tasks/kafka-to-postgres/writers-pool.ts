/**
 * The connections kafka.to_postgres writes batches on: WRITERS at once, each transaction
 * committing after the one before; the first from the task pool, the others from a pool of their
 * own beside it (the task pool may be full of other tasks' connections).
 */
import pg from 'pg';
import { companionOf } from '../pool-companions.js';

/**
 * Connections writing batches at once, each transaction committing after the one before. A
 * writer is busy ~17 ms per batch of 10,000 records (COPY ~13 ms, the offsets and COMMIT ~4 ms,
 * instrumented on 2 cores) while this thread builds a batch in ~7 ms: with two the builder waited
 * for a free writer now and then; with three, (c) alone ran at 696,000–940,000 records/s against
 * 660,000–873,000 (bench/kafka-to-postgres-profile.ts, alternating, 4 runs each).
 */
export const WRITERS = 3;

/**
 * The pool of the other writers of a task pool, kept across runs. A PostgreSQL backend COPYs
 * faster once it has COPYed a million rows or so (bench/README.md: its CPU per 500,000 rows went
 * 0.86 → 0.48 s over its first 3,000,000); a pool of one made for each run gave every run a cold
 * backend for half its batches. The task pool's settings (pg keeps the password non-enumerable),
 * WRITERS - 1 connections per task running at once (so a run never waits for one), closed when
 * idle as long as the task pool's are; idle ones never keep the process alive. Ended with the task
 * pool (pool-companions.ts).
 */
export function otherWritersPoolOf(pool: pg.Pool): pg.Pool {
  return companionOf(pool, 'kafka.to_postgres other writers', () => createOtherWritersPool(pool), (existing) => !(existing as unknown as { ending?: boolean }).ending);
}

function createOtherWritersPool(pool: pg.Pool): pg.Pool {
  const options = pool.options as unknown as Record<string, unknown>;
  const settings = Object.fromEntries(Object.entries(options).filter(([, v]) => typeof v !== 'function'));
  if (typeof options['password'] === 'string') settings['password'] = options['password'];
  const writersPool = new pg.Pool({ ...settings, max: (pool.options.max ?? 10) * (WRITERS - 1), idleTimeoutMillis: pool.options.idleTimeoutMillis ?? 30_000, allowExitOnIdle: true } as pg.PoolConfig);
  writersPool.on('error', () => {});
  writersPool.on('connect', (client) => client.on('error', () => {}));
  return writersPool;
}
