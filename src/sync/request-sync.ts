/**
 * Every trigger of a sync (a GitHub push, the generic webhook, polling, `dfm sync`, a start)
 * becomes one durable `sync` job. The key makes triggers of one commit one job while it waits
 * (`sync:<source>:<sha>`), and triggers that name no commit one job per source (`sync:<source>`);
 * a job that finds its commit already synced ends at once (run-sync.ts).
 */
import type { Queryable } from '../db/with-transaction.js';
import { enqueueJob, JOBS_CHANNEL, type EnqueuedJob } from '../jobs/enqueue-job.js';
import type { SyncRequest } from './run-sync.js';

export const SYNC_JOB = 'sync';

/** `sync:<source>` + syncKeySuffix: the one definition of a sync job's key (also built in SQL below). */
const KEY_PREFIX = 'sync:';

function syncKeySuffix(request: Omit<SyncRequest, 'sourceId'>): string {
  if (request.confirm !== undefined) return `:confirm:${request.confirm}`;
  return request.sha !== undefined ? `:${request.sha}` : '';
}

export async function requestSync(db: Queryable, request: SyncRequest): Promise<EnqueuedJob> {
  return enqueueJob(db, { kind: SYNC_JOB, key: `${KEY_PREFIX}${request.sourceId}${syncKeySuffix(request)}`, payload: { ...request } });
}

export interface RequestedSync {
  readonly sourceId: string;
  /** null: the named commit is the source's active one, so no sync is needed and none was queued. */
  readonly id: number | null;
  /** false: a pending job took this one's place, or none was needed. */
  readonly created: boolean;
}

/**
 * A sync of every enabled Git source (`sourceId`: only that one), in one statement: the sources,
 * their jobs (or the pending ones that absorb them, as requestSync) and one NOTIFY when a job was
 * added. A source whose active commit is the named `sha` gets no job (`id: null`): the job would
 * only have found it synced (run-sync.ts), after a claim, the source's lock and four statements. The generic webhook's path: two round trips (list, then enqueue) made it 0.22–0.25× a
 * bare node:http server's requests/s (bench/sync.ts), and each round trip costs the ingress a
 * socket write and wake-up (~15 % of its CPU at saturation, bench/sync-ack-profile.ts).
 */
export async function requestSyncOfSources(db: Queryable, request: Omit<SyncRequest, 'sourceId' | 'confirm'> & { sourceId?: string }): Promise<RequestedSync[]> {
  const { rows } = await db.query<{ source_id: string; id: string | null; created: boolean; active: boolean }>({
    // Named: each connection parses and plans it once. Planning this statement on every request was
    // most of PostgreSQL's CPU per request (0.68 ms; named 0.11 ms; the bare server's INSERT 0.29).
    name: 'dfm.request-sync-of-sources',
    text: `with source as (
       select id, active_sha from dfm.sync_source where enabled and kind <> 'local' and ($1::text is null or id = $1)),
     added as (
       insert into dfm.job (kind, key, payload)
       select $2, $3 || id || $4, jsonb_strip_nulls(jsonb_build_object('sourceId', id, 'trigger', $5::text, 'sha', $6::text)) from source
        where $6::text is null or active_sha is distinct from $6
       on conflict (key) where state = 'pending' do nothing
       returning id, key),
     notified as (select pg_notify($7, $2) where exists (select 1 from added))
     select s.id as source_id, coalesce(a.id, p.id) as id, a.id is not null as created, coalesce(s.active_sha = $6, false) as active
       from source s
       left join added a on a.key = $3 || s.id || $4
       left join dfm.job p on a.id is null and p.key = $3 || s.id || $4 and p.state = 'pending'
       cross join (select count(*) from notified) as sent
      order by s.id`,
    values: [request.sourceId ?? null, SYNC_JOB, KEY_PREFIX, syncKeySuffix(request), request.trigger, request.sha ?? null, JOBS_CHANNEL],
  });
  return Promise.all(
    rows.map(async (row) => {
      if (row.active) return { sourceId: row.source_id, id: null, created: false };
      // Its pending job was claimed between the insert's conflict and the join: enqueue anew.
      if (row.id === null) return { sourceId: row.source_id, ...(await requestSync(db, { sourceId: row.source_id, trigger: request.trigger, ...(request.sha === undefined ? {} : { sha: request.sha }) })) };
      return { sourceId: row.source_id, id: Number(row.id), created: row.created };
    }),
  );
}
