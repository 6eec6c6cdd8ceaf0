/**
 * Puts an outbound report in the outbox, inside the caller's transaction: the report commits with
 * the state change it reports, or not at all (a run that rolled back is never announced). The
 * NOTIFY wakes the senders at commit; they poll as well, so a lost NOTIFY only delays a report.
 *
 * Callers on a hot path that report in SQL (a run's commit status is an INSERT … SELECT in the
 * run's own transaction, github/enqueue-run-statuses.ts) use OUTBOX_INSERT_SQL's shape directly.
 */
import type { Queryable } from '../db/with-transaction.js';

export const OUTBOX_CHANNEL = 'dfm_outbox';

export interface NewReport {
  /** The unit of order and rate limits: `github:<owner>/<repo>`, `slack:<channel>`. */
  readonly target: string;
  /** Which deliverer sends it (`github.commit-status`, `github.check-run` …). */
  readonly kind: string;
  /** What it replaces: a pending report with a later one of the same target and key is superseded. */
  readonly key?: string;
  readonly payload: Record<string, unknown>;
}

export async function enqueueReport(db: Queryable, report: NewReport): Promise<number> {
  const [id] = await enqueueReports(db, [report]);
  return id!;
}

/** Several reports in one statement, in order (ids ascending in the order given). */
export async function enqueueReports(db: Queryable, reports: readonly NewReport[]): Promise<number[]> {
  if (reports.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `with input as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) with ordinality as r(target, kind, key, payload, n)),
     added as (
       insert into dfm.outbox (target, kind, key, payload)
       select target, kind, key, payload from input order by n
       returning id, target),
     targets as (
       insert into dfm.outbox_target (target) select distinct target from input
       on conflict (target) do nothing),
     notified as (select pg_notify($5, '') )
     select id from added cross join (select count(*) from notified) as sent order by id`,
    [reports.map((r) => r.target), reports.map((r) => r.kind), reports.map((r) => r.key ?? null), reports.map((r) => JSON.stringify(r.payload)), OUTBOX_CHANNEL],
  );
  return rows.map((r) => Number(r.id));
}
