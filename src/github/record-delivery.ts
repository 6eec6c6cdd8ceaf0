/**
 * The webhook's durable step: the delivery id (unique) and the job that handles it commit together,
 * before GitHub gets its answer. A redelivery or a repeated id finds the row and changes nothing.
 * The body goes to PostgreSQL as the text GitHub sent (its signature already checked): PostgreSQL
 * parses it once into the job's jsonb and reads `action` and the repository from it, so the
 * ingress neither parses nor re-serialises a payload of up to 25 MB. Text that is not JSON fails
 * the statement (SQLSTATE 22P02, nothing stored): see isInvalidJsonError.
 */
import type pg from 'pg';

export const GITHUB_EVENT_JOB = 'github-event';

export interface Delivery {
  /** `X-GitHub-Delivery`. */
  readonly id: string;
  /** `X-GitHub-Event`. */
  readonly event: string;
  /** The raw body, JSON text. */
  readonly body: string;
}

export type DeliveryOutcome = 'queued' | 'duplicate' | 'ignored';

/**
 * Records the delivery and, when `handled` and new, its `github-event` job; the caller wakes the
 * workers after a `queued` (jobs/create-job-notifier.ts).
 */
export async function recordDelivery(pool: pg.Pool, delivery: Delivery, handled: boolean): Promise<DeliveryOutcome> {
  // One statement (one round trip, atomic on its own). bench/sync.ts measured the five round trips
  // of BEGIN … COMMIT as most of the ingress's time per delivery; a round trip costs the ingress
  // process a socket write and wake-up of ~15 % of its CPU at saturation (cpu profile,
  // bench/sync-ack-profile.ts).
  const { rows } = await pool.query<{ recorded: number; queued: number }>({
    // Named: each connection parses and plans it once (planning the statement each time was most
    // of PostgreSQL's CPU per request on the generic webhook's statement: 0.68 → 0.11 ms).
    name: 'dfm.record-delivery',
    text: `with body as (select $3::jsonb as payload),
     delivery as (
       insert into dfm.webhook_delivery (delivery_id, event, action, repository, outcome)
       select $1, $2, payload->>'action', payload->'repository'->>'full_name', $4 from body
       on conflict (delivery_id) do nothing
       returning delivery_id),
     job as (
       insert into dfm.job (kind, key, payload)
       select $5, 'delivery:' || delivery_id, jsonb_build_object('deliveryId', $1::text, 'event', $2::text, 'payload', (select payload from body))
         from delivery where $6
       on conflict (key) where state = 'pending' do nothing
       returning id)
     select (select count(*) from delivery)::int as recorded, (select count(*) from job)::int as queued`,
    values: [delivery.id, delivery.event, delivery.body, handled ? 'queued' : 'ignored', GITHUB_EVENT_JOB, handled],
  });
  const row = rows[0]!;
  if (row.recorded === 0) return 'duplicate';
  return row.queued > 0 ? 'queued' : 'ignored';
}

/** PostgreSQL refused the body as JSON (`invalid input syntax for type json`). */
export function isInvalidJsonError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '22P02';
}
