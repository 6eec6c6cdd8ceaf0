/**
 * The safety net for a lost webhook: every DFM_SYNC_INTERVAL_MS each enabled Git source gets a
 * sync job. Jobs without a commit share one key per source, so any number of schedulers polling
 * at once leave at most one waiting sync per source.
 */
import type pg from 'pg';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { requestSync } from './request-sync.js';
import { listSyncSources } from './sync-source.js';

export function startSyncPoller(options: { pool: pg.Pool; logger: Logger; intervalMs: number }): { stop(): void } {
  if (options.intervalMs <= 0) return { stop: () => undefined };
  const timer = setInterval(() => {
    void (async () => {
      for (const source of await listSyncSources(options.pool, { enabledOnly: true })) {
        if (source.kind !== 'local') await requestSync(options.pool, { sourceId: source.id, trigger: 'poll' });
      }
    })().catch((error: unknown) => options.logger.warn({ err: { message: messageOf(error) } }, 'could not poll the sync sources'));
  }, options.intervalMs);
  return { stop: () => clearInterval(timer) };
}
