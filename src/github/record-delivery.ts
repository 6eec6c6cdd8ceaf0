/**
 * The webhook's durable step: the delivery id (unique) and the job that handles it commit together,
 * before GitHub gets its answer. A redelivery or a repeated id finds the row and changes nothing.
 */
import type pg from 'pg';
import { JOBS_CHANNEL } from '../jobs/enqueue-job.js';

export const GITHUB_EVENT_JOB = 'github-event';

export interface Delivery {
  readonly id: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

export async function recordDelivery(pool: pg.Pool, delivery: Delivery, handled: boolean): Promise<'queued' | 'duplicate' | 'ignored'> {
  const action = typeof delivery.payload.action === 'string' ? delivery.payload.action : null;
  const repository = (delivery.payload.repository as { full_name?: string } | undefined)?.full_name ?? null;
  // One statement (one round trip, atomic on its own): the delivery row, its job when the event is
  // handled and the delivery is new, and the NOTIFY that wakes a worker. bench/sync.ts measured the
  // five round trips of BEGIN … COMMIT as most of the ingress's time per delivery.
  const { rows } = await pool.query<{ recorded: number; queued: number }>(
    `with delivery as (
       insert into dfm.webhook_delivery (delivery_id, event, action, repository, outcome) values ($1, $2, $3, $4, $5)
       on conflict (delivery_id) do nothing
       returning delivery_id),
     job as (
       insert into dfm.job (kind, key, payload)
       select $6, 'delivery:' || delivery_id, $7::jsonb from delivery where $8
       on conflict (key) where state = 'pending' do nothing
       returning id),
     notified as (select pg_notify($9, $6) from job)
     select (select count(*) from delivery)::int as recorded, (select count(*) from job)::int as queued, (select count(*) from notified)::int as notified`,
    [delivery.id, delivery.event, action, repository, handled ? 'queued' : 'ignored', GITHUB_EVENT_JOB, JSON.stringify({ deliveryId: delivery.id, event: delivery.event, payload: delivery.payload }), handled, JOBS_CHANNEL],
  );
  const row = rows[0]!;
  if (row.recorded === 0) return 'duplicate';
  return row.queued > 0 ? 'queued' : 'ignored';
}
