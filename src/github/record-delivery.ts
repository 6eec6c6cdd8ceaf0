/**
 * The webhook's durable step: the delivery id (unique) and the job that handles it commit together,
 * before GitHub gets its answer. A redelivery or a repeated id finds the row and changes nothing.
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { enqueueJob } from '../jobs/enqueue-job.js';

export const GITHUB_EVENT_JOB = 'github-event';

export interface Delivery {
  readonly id: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

export async function recordDelivery(pool: pg.Pool, delivery: Delivery, handled: boolean): Promise<'queued' | 'duplicate' | 'ignored'> {
  const action = typeof delivery.payload.action === 'string' ? delivery.payload.action : null;
  const repository = (delivery.payload.repository as { full_name?: string } | undefined)?.full_name ?? null;
  return withTransaction(pool, async (client) => {
    const inserted = await client.query(
      `insert into dfm.webhook_delivery (delivery_id, event, action, repository, outcome) values ($1, $2, $3, $4, $5)
       on conflict (delivery_id) do nothing`,
      [delivery.id, delivery.event, action, repository, handled ? 'queued' : 'ignored'],
    );
    if (inserted.rowCount === 0) return 'duplicate';
    if (!handled) return 'ignored';
    await enqueueJob(client, { kind: GITHUB_EVENT_JOB, key: `delivery:${delivery.id}`, payload: { deliveryId: delivery.id, event: delivery.event, payload: delivery.payload } });
    return 'queued';
  });
}
