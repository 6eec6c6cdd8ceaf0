/**
 * Every LISTEN/NOTIFY channel of dfm, and the one function that sends on each. Notifications are
 * sent inside the transaction of the change they announce, so a listener never hears of a change
 * that did not commit.
 *
 * NOTIFY serializes the commits of notifying transactions (PostgreSQL takes one database-wide lock
 * from NOTIFY's pre-commit to the end of the commit), so only control transactions notify: a run
 * created, started, finished or cancelled, a fan-out of ready tasks. The per-task transactions of
 * the hot path (claim, outcome) never do; a worker announces the runs whose tasks it changed after
 * the fact (`notifyRunsChanged` over its pool, coalesced), see follow-run-events.ts.
 */
import type { Queryable } from '../db/with-transaction.js';

/** Workers LISTEN here: tasks became ready in bulk (payload empty). */
export const TASK_READY_CHANNEL = 'dfm_task_ready';

/** One notification per finished or cancelled run; the payload is the run id. */
export const RUN_FINISHED_CHANNEL = 'dfm_run_finished';

/**
 * Run events (follow-run-events.ts): the payload is the ids of runs whose run or task state
 * changed, comma-separated. Listeners read the rows for the rest, so a payload stays far below
 * NOTIFY's limit of 8000 bytes whatever the run holds.
 */
export const RUN_EVENTS_CHANNEL = 'dfm_run_events';

/** NOTIFY payloads must be shorter than 8000 bytes; ids are chunked well below that. */
const MAX_PAYLOAD_BYTES = 7000;

export async function notifyTaskReady(client: Queryable): Promise<void> {
  await client.query(`select pg_notify('${TASK_READY_CHANNEL}', '')`);
}

/** The run's end, on both channels, in one round trip (the caller holds the run's lock). */
export async function notifyRunFinished(client: Queryable, runId: number): Promise<void> {
  await client.query('select pg_notify($1, $3), pg_notify($2, $3)', [RUN_FINISHED_CHANNEL, RUN_EVENTS_CHANNEL, String(runId)]);
}

export async function notifyRunsChanged(client: Queryable, runIds: Iterable<number>, options: { tasksReady?: boolean } = {}): Promise<void> {
  const payloads = toPayloads(runIds);
  if (payloads.length === 0 && !options.tasksReady) return;
  // One round trip for both: these run inside control transactions that hold the pipeline's lock.
  await client.query(
    `select pg_notify($1, p) from unnest($2::text[]) as p
     union all select pg_notify($3, '') where $4`,
    [RUN_EVENTS_CHANNEL, payloads, TASK_READY_CHANNEL, options.tasksReady ?? false],
  );
}

export function toPayloads(runIds: Iterable<number>): string[] {
  const payloads: string[] = [];
  let current = '';
  for (const id of new Set(runIds)) {
    const text = String(id);
    if (current.length + text.length + 1 > MAX_PAYLOAD_BYTES) {
      payloads.push(current);
      current = '';
    }
    current = current ? `${current},${text}` : text;
  }
  if (current) payloads.push(current);
  return payloads;
}

export function parsePayload(payload: string | undefined): number[] {
  if (!payload) return [];
  return payload.split(',').map(Number).filter((id) => Number.isSafeInteger(id) && id > 0);
}
