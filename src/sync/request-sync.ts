/**
 * Every trigger of a sync (a GitHub push, the generic webhook, polling, `dfm sync`, a start)
 * becomes one durable `sync` job. The key makes triggers of one commit one job while it waits
 * (`sync:<source>:<sha>`), and triggers that name no commit one job per source (`sync:<source>`);
 * a job that finds its commit already synced ends at once (run-sync.ts).
 */
import type { Queryable } from '../db/with-transaction.js';
import { enqueueJob, type EnqueuedJob } from '../jobs/enqueue-job.js';
import type { SyncRequest } from './run-sync.js';

export const SYNC_JOB = 'sync';

export async function requestSync(db: Queryable, request: SyncRequest): Promise<EnqueuedJob> {
  const key = request.confirm !== undefined
    ? `sync:${request.sourceId}:confirm:${request.confirm}`
    : request.sha !== undefined
      ? `sync:${request.sourceId}:${request.sha}`
      : `sync:${request.sourceId}`;
  return enqueueJob(db, { kind: SYNC_JOB, key, payload: { ...request } });
}
