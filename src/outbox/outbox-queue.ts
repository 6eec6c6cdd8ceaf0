/**
 * The outbox's SQL, one statement per step, the job queue's way (jobs/job-queue.ts): a sender
 * claims whole targets with SKIP LOCKED and a lease; every write after that is fenced on
 * `locked_by`, so a sender whose lease ran out (a pause, a dead process) cannot mark a report that
 * a new owner is delivering. A target whose lease passed is claimable again.
 */
import { z } from 'zod';
import type { Queryable } from '../db/with-transaction.js';

export const pendingReportSchema = z.object({
  id: z.coerce.number(),
  target: z.string(),
  kind: z.string(),
  key: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  attempts: z.number(),
});
export type PendingReport = z.infer<typeof pendingReportSchema>;

/** Targets due now with something pending, oldest `not_before` first. */
export async function claimTargets(db: Queryable, options: { sender: string; leaseMs: number; limit: number }): Promise<string[]> {
  const { rows } = await db.query<{ target: string }>(
    `update dfm.outbox_target t set locked_by = $1, locked_until = now() + $2 * interval '1 millisecond'
      where t.target in (select c.target from dfm.outbox_target c
                          where c.not_before <= now() and (c.locked_until is null or c.locked_until < now())
                            and exists (select 1 from dfm.outbox o where o.target = c.target and o.state = 'pending')
                          order by c.not_before limit $3 for update skip locked)
      returning t.target`,
    [options.sender, options.leaseMs, options.limit],
  );
  return rows.map((r) => r.target);
}

/**
 * Gives a pending report whose target row is missing (pruned while idle, see pruneOutbox, as the
 * report was being written) its row back, so no report can be stranded by the prune. Run at the
 * sender's polls, not with every claim: at every claim it cost a pass over all pending reports
 * (bench/pr-check.ts: a third of the throughput with 1,000 reports waiting).
 */
export async function healTargets(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `insert into dfm.outbox_target (target) select distinct target from dfm.outbox where state = 'pending' on conflict (target) do nothing`,
  );
  return rowCount ?? 0;
}

/**
 * The target's oldest pending report, in one round trip that also records the previous report's
 * delivery (`delivered`, fenced on the lease), renews the lease, and supersedes every pending
 * report that a later one of the same key replaces. Finds nothing once the lease is lost.
 */
export async function nextReport(
  db: Queryable,
  options: { sender: string; target: string; leaseMs: number; delivered?: { id: number; result: unknown } },
): Promise<{ report: PendingReport | undefined; superseded: number; lost: boolean; recorded: boolean }> {
  const { rows } = await db.query<{ lost: boolean; superseded: number; recorded: number; report: unknown }>(
    `with lease as (
       update dfm.outbox_target set locked_until = now() + $3 * interval '1 millisecond'
        where target = $2 and locked_by = $1 returning target),
     done as (
       update dfm.outbox set state = 'delivered', attempts = attempts + 1, result = $5::jsonb, finished_at = now(), last_error = null
        where id = $4 and state = 'pending' and exists (select 1 from lease)
        returning id),
     superseded as (
       update dfm.outbox o set state = 'superseded', finished_at = now()
        where o.target = $2 and o.state = 'pending' and o.key is not null and exists (select 1 from lease)
          and exists (select 1 from dfm.outbox l where l.target = o.target and l.key = o.key and l.state = 'pending' and l.id > o.id)
        returning o.id),
     next as (
       select o.id, o.target, o.kind, o.key, o.payload, o.attempts from dfm.outbox o
        where o.target = $2 and o.state = 'pending' and exists (select 1 from lease)
          and o.id <> coalesce($4, 0) and o.id not in (select id from superseded)
        order by o.id limit 1)
     select not exists (select 1 from lease) as lost, (select count(*) from superseded)::int as superseded,
            (select count(*) from done)::int as recorded, (select row_to_json(next) from next) as report`,
    [options.sender, options.target, options.leaseMs, options.delivered?.id ?? null, JSON.stringify(options.delivered?.result ?? null)],
  );
  const row = rows[0]!;
  return { lost: row.lost, superseded: row.superseded, recorded: row.recorded > 0, report: row.report === null ? undefined : pendingReportSchema.parse(row.report) };
}

const LEASE_HELD = `exists (select 1 from dfm.outbox_target where target = $2 and locked_by = $3)`;

/** Failed for good (rejected, or out of attempts): later reports of the target go on. */
export async function markFailed(db: Queryable, options: { id: number; target: string; sender: string; error: string }): Promise<boolean> {
  const { rowCount } = await db.query(
    `update dfm.outbox set state = 'failed', attempts = attempts + 1, last_error = $4, finished_at = now()
      where id = $1 and state = 'pending' and ${LEASE_HELD}`,
    [options.id, options.target, options.sender, options.error],
  );
  return rowCount === 1;
}

/**
 * Not delivered this time: the attempt is counted, and the whole target waits `delayMs` (a backoff,
 * or the API's retry-after) and is released for any sender to take when it is due. A rate limit
 * (`group: true`) defers every target of the group too (`github:<owner>/<repo>|…`: GitHub's limits
 * are per App installation, so the repository's other lanes would only be refused as well).
 */
export async function deferTarget(db: Queryable, options: { id: number; target: string; sender: string; error: string; delayMs: number; group?: boolean }): Promise<void> {
  await db.query(
    `with report as (
       update dfm.outbox set attempts = attempts + 1, last_error = $4 where id = $1 and state = 'pending' and ${LEASE_HELD} returning id),
     others as (
       update dfm.outbox_target set not_before = greatest(not_before, now() + $5 * interval '1 millisecond')
        where $6 and target <> $2 and split_part(target, '|', 1) = split_part($2, '|', 1))
     update dfm.outbox_target set not_before = now() + $5 * interval '1 millisecond', last_error = $4, locked_by = null, locked_until = null
      where target = $2 and locked_by = $3`,
    [options.id, options.target, options.sender, options.error, Math.max(0, Math.round(options.delayMs)), options.group ?? false],
  );
}

/** Lets the target go (nothing pending, or the sender stops). */
export async function releaseTarget(db: Queryable, options: { target: string; sender: string }): Promise<void> {
  await db.query('update dfm.outbox_target set locked_by = null, locked_until = null where target = $1 and locked_by = $2', [options.target, options.sender]);
}

/**
 * Delivered and superseded reports older than `days`, failed ones after 30 days, and targets idle
 * for a day (a lane per commit and status context would otherwise pile up): the outbox stays small.
 * A target row removed while a report for it is being written comes back at the next claim.
 */
export async function pruneOutbox(db: Queryable, days = 7): Promise<number> {
  const { rowCount } = await db.query(
    `delete from dfm.outbox where state <> 'pending'
       and finished_at < now() - (case when state = 'failed' then 30 else $1 end) * interval '1 day'`,
    [days],
  );
  await db.query(
    `delete from dfm.outbox_target t where t.locked_by is null and t.not_before < now() - interval '1 day'
        and not exists (select 1 from dfm.outbox o where o.target = t.target and o.state = 'pending')`,
  );
  return rowCount ?? 0;
}

export interface OutboxDepth {
  readonly target: string;
  readonly pending: number;
  readonly oldestSeconds: number;
}

/** Pending reports and the age of the oldest, per target kind (the part before the first colon). */
export async function readOutboxDepth(db: Queryable): Promise<OutboxDepth[]> {
  const { rows } = await db.query<{ target: string; pending: number; oldest: number }>(
    `select split_part(target, ':', 1) as target, count(*)::int as pending, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as oldest
       from dfm.outbox where state = 'pending' group by 1`,
  );
  return rows.map((r) => ({ target: r.target, pending: r.pending, oldestSeconds: r.oldest }));
}
