/**
 * The job queue's SQL, one statement per step, graphile-worker's way: a claim takes due jobs with
 * SKIP LOCKED and counts the attempt; every later write is fenced on (id, attempts, locked_by), so
 * a worker whose lease ran out and whose job was taken over cannot overwrite the new owner. A
 * running job whose lease passed (its worker died, kill -9) is claimable again.
 * The statements of every job (claim, complete, enqueue) are named, so each connection plans them
 * once: planning was most of PostgreSQL's CPU per statement on the webhook path (0.68 → 0.11 ms for
 * the generic webhook's CTE), and a GitHub delivery's job runs four or five of them.
 */
import type pg from 'pg';
import { z } from 'zod';
import type { Queryable } from '../db/with-transaction.js';

export const claimedJobSchema = z.object({
  id: z.coerce.number(),
  kind: z.string(),
  key: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  attempts: z.number(),
  max_attempts: z.number(),
});
export type ClaimedJob = z.infer<typeof claimedJobSchema>;

const CLAIMABLE = `((state = 'pending' and run_at <= now()) or (state = 'running' and locked_until < now()))`;

export async function claimJobs(db: Queryable, options: { worker: string; kinds: readonly string[]; leaseMs: number; limit: number; id?: number }): Promise<ClaimedJob[]> {
  const { rows } = await db.query({
    name: 'dfm.claim-jobs',
    text: `update dfm.job j set state = 'running', attempts = j.attempts + 1, locked_by = $1, locked_until = now() + $2 * interval '1 millisecond'
      where j.id in (select id from dfm.job
                      where ${CLAIMABLE} and kind = any($3::text[]) and ($5::bigint is null or id = $5)
                      order by run_at, id limit $4 for update skip locked)
      returning j.id, j.kind, j.key, j.payload, j.attempts, j.max_attempts`,
    values: [options.worker, options.leaseMs, options.kinds, options.limit, options.id ?? null],
  });
  return rows.map((row) => claimedJobSchema.parse(row));
}

const FENCE = 'id = $1 and attempts = $2 and locked_by = $3 and state = $4';

export async function extendLease(db: Queryable, job: ClaimedJob, worker: string, leaseMs: number): Promise<boolean> {
  const result = await db.query(`update dfm.job set locked_until = now() + $5 * interval '1 millisecond' where ${FENCE}`, [job.id, job.attempts, worker, 'running', leaseMs]);
  return result.rowCount === 1;
}

export async function completeJob(db: Queryable, job: ClaimedJob, worker: string, result: unknown): Promise<boolean> {
  const updated = await db.query({
    name: 'dfm.complete-job',
    text: `update dfm.job set state = 'done', result = $5::jsonb, finished_at = now(), locked_by = null, locked_until = null where ${FENCE}`,
    values: [job.id, job.attempts, worker, 'running', JSON.stringify(result ?? null)],
  });
  return updated.rowCount === 1;
}

/**
 * A failure: retried after a backoff (2 s, 4 s, 8 s … at most 5 minutes) while attempts remain and
 * a retry can help; failed for good otherwise. A retry that finds a pending job with the same key
 * (it would do the same work) ends as failed with a note instead of waiting twice.
 */
export async function failJob(pool: pg.Pool, job: ClaimedJob, worker: string, error: { message: string; retryable: boolean }): Promise<'retried' | 'failed'> {
  const retry = error.retryable && job.attempts < job.max_attempts;
  if (retry) {
    const delayMs = Math.min(300_000, 1000 * 2 ** job.attempts);
    try {
      const updated = await pool.query(
        `update dfm.job set state = 'pending', run_at = now() + $6 * interval '1 millisecond', last_error = $5, locked_by = null, locked_until = null where ${FENCE}`,
        [job.id, job.attempts, worker, 'running', error.message, delayMs],
      );
      if (updated.rowCount === 1) return 'retried';
      return 'failed';
    } catch (failure) {
      if ((failure as { code?: string }).code !== '23505') throw failure;
    }
  }
  await pool.query(`update dfm.job set state = 'failed', last_error = $5, finished_at = now(), locked_by = null, locked_until = null where ${FENCE}`, [
    job.id,
    job.attempts,
    worker,
    'running',
    retry ? `${error.message} (not retried: a newer job with the same key is pending)` : error.message,
  ]);
  return 'failed';
}

export interface JobRow {
  readonly id: number;
  readonly kind: string;
  readonly state: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly result: unknown;
}

export async function readJob(db: Queryable, id: number): Promise<JobRow | undefined> {
  const { rows } = await db.query<{ id: string; kind: string; state: string; attempts: number; last_error: string | null; result: unknown }>(
    'select id, kind, state, attempts, last_error, result from dfm.job where id = $1',
    [id],
  );
  const row = rows[0];
  return row === undefined ? undefined : { id: Number(row.id), kind: row.kind, state: row.state, attempts: row.attempts, lastError: row.last_error, result: row.result };
}
