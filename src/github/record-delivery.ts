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

export interface DeliveryRecorder {
  record(delivery: Delivery, handled: boolean): Promise<DeliveryOutcome>;
}

interface WaitingDelivery {
  readonly delivery: Delivery;
  readonly handled: boolean;
  resolve(outcome: DeliveryOutcome): void;
  reject(error: unknown): void;
}

/**
 * Group commit for the ingress: at most `maxInFlight` (2) statements in flight; deliveries that
 * arrive meanwhile go together in the next one (up to `maxBatch`). Two, not one: while one commit
 * waits for its WAL flush the next batch is already being written. At a low rate each delivery has its statement at
 * once (no timer, no added wait); at saturation one commit (one WAL flush) carries many. GitHub
 * hears 200 only after the commit that holds its delivery. A batch PostgreSQL refuses (a body that
 * is not JSON) is recorded again one delivery at a time, so only the bad one fails.
 * Measured with bench/sync.ts --quick on a quiet machine: one statement per delivery reached 0.38×
 * the bare HMAC + INSERT server's deliveries/s at saturation (two inserts, one a 7 kB jsonb, per
 * commit).
 */
export function createDeliveryRecorder(pool: pg.Pool, options: { maxBatch?: number; maxInFlight?: number } = {}): DeliveryRecorder {
  const maxBatch = options.maxBatch ?? 100;
  const maxInFlight = options.maxInFlight ?? 2;
  const waiting: WaitingDelivery[] = [];
  let flushing = 0;

  const flush = async (): Promise<void> => {
    flushing += 1;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, maxBatch);
        try {
          const outcomes = batch.length === 1 ? [await recordDelivery(pool, batch[0]!.delivery, batch[0]!.handled)] : await recordDeliveries(pool, batch);
          batch.forEach((w, i) => w.resolve(outcomes[i]!));
        } catch (error) {
          if (batch.length > 1 && isInvalidJsonError(error)) {
            for (const w of batch) await recordDelivery(pool, w.delivery, w.handled).then(w.resolve, w.reject);
          } else {
            for (const w of batch) w.reject(error);
          }
        }
      }
    } finally {
      flushing -= 1;
    }
  };

  return {
    record(delivery, handled) {
      const outcome = new Promise<DeliveryOutcome>((resolve, reject) => waiting.push({ delivery, handled, resolve, reject }));
      if (flushing < maxInFlight) void flush();
      return outcome;
    },
  };
}

/** Several deliveries in one statement; the same id twice in one batch is recorded once (the rest are duplicates). */
async function recordDeliveries(pool: pg.Pool, batch: readonly { delivery: Delivery; handled: boolean }[]): Promise<DeliveryOutcome[]> {
  const { rows } = await pool.query<{ recorded: string[] | null; queued: string[] | null }>({
    name: 'dfm.record-deliveries',
    text: `with input as (
       select d.id, d.event, d.body::jsonb as payload, d.handled, d.n
         from unnest($1::text[], $2::text[], $3::text[], $4::bool[]) with ordinality as d(id, event, body, handled, n)),
     delivery as (
       insert into dfm.webhook_delivery (delivery_id, event, action, repository, outcome)
       select id, event, payload->>'action', payload->'repository'->>'full_name', case when handled then 'queued' else 'ignored' end
         from input order by n
       on conflict (delivery_id) do nothing
       returning delivery_id),
     job as (
       insert into dfm.job (kind, key, payload)
       select distinct on (i.id) $5, 'delivery:' || i.id, jsonb_build_object('deliveryId', i.id, 'event', i.event, 'payload', i.payload)
         from input i join delivery d on d.delivery_id = i.id
        where i.handled
        order by i.id, i.n
       on conflict (key) where state = 'pending' do nothing
       returning key)
     select (select array_agg(delivery_id) from delivery) as recorded, (select array_agg(key) from job) as queued`,
    values: [batch.map((w) => w.delivery.id), batch.map((w) => w.delivery.event), batch.map((w) => w.delivery.body), batch.map((w) => w.handled), GITHUB_EVENT_JOB],
  });
  const recorded = new Set(rows[0]?.recorded ?? []);
  const queued = new Set(rows[0]?.queued ?? []);
  return batch.map((w) => {
    // The first of a batch's copies of an id takes its outcome; the others are duplicates.
    if (!recorded.delete(w.delivery.id)) return 'duplicate';
    return queued.has(`delivery:${w.delivery.id}`) ? 'queued' : 'ignored';
  });
}
