/**
 * Puts durable work in dfm.job, inside the caller's transaction when it passes a client (a webhook
 * delivery and its job commit together). A pending job with the same key absorbs the new one: ten
 * pushes that arrive while a sync of the source waits make one sync, which fetches the newest head.
 * NOTIFY dfm_jobs wakes the workers (delivered at commit).
 */
import type { Queryable } from '../db/with-transaction.js';

export const JOBS_CHANNEL = 'dfm_jobs';

export interface NewJob {
  readonly kind: string;
  readonly key?: string;
  readonly payload: Record<string, unknown>;
  readonly maxAttempts?: number;
}

export interface EnqueuedJob {
  readonly id: number;
  /** false: a pending job with the key existed and took this one's place. */
  readonly created: boolean;
}

export async function enqueueJob(db: Queryable, job: NewJob): Promise<EnqueuedJob> {
  // One statement, one round trip: the insert, and the NOTIFY only when a job was added (a job
  // that took an existing pending one's place was announced when that one was added; measured with
  // bench/sync.ts, a NOTIFY per absorbed request made every worker re-claim for nothing).
  const { rows } = await db.query<{ id: string; created: boolean }>({
    name: 'dfm.enqueue-job',
    text: `with added as (
       insert into dfm.job (kind, key, payload, max_attempts) values ($1, $2, $3::jsonb, $4)
       on conflict (key) where state = 'pending' do nothing
       returning id),
     notified as (select pg_notify($5, $1) from added)
     select id, true as created from added cross join (select count(*) from notified) as sent
     union all
     select id, false from dfm.job where key = $2 and state = 'pending' and not exists (select 1 from added)
     limit 1`,
    values: [job.kind, job.key ?? null, JSON.stringify(job.payload), job.maxAttempts ?? 5, JOBS_CHANNEL],
  });
  const row = rows[0];
  // The pending job was claimed between the insert's conflict and the select: enqueue anew.
  if (row === undefined) return enqueueJob(db, job);
  return { id: Number(row.id), created: row.created };
}
