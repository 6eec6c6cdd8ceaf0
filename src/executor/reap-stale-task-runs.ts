/**
 * Task runs whose worker stopped heartbeating (kill -9, OOM, a partition) go back to the queue as a
 * failed attempt with the retryable WORKER_LOST error, or fail for good when their attempts are
 * used up. Each is settled through the same fenced write as a worker's own failure, on the stale
 * claim, so a worker that comes back late finds its claim gone. Any number of workers may reap at
 * once: SKIP LOCKED hands each stale row to one of them. Runs left with nothing to do are closed
 * by the sweep that follows (closeFinishedRuns).
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { failTaskRunIn } from './write-task-outcome.js';

export async function reapStaleTaskRuns(pool: pg.Pool, heartbeatTimeoutMs: number, limit = 100): Promise<{ runId: number; taskId: string; attempt: number; worker: string }[]> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string; run_id: string; task_id: string; attempt: number; claimed_by: string }>(
      `select id, run_id, task_id, attempt, claimed_by from dfm.task_run
        where state = 'running' and heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
        order by heartbeat_at limit $2
        for update skip locked`,
      [heartbeatTimeoutMs, limit],
    );
    const reaped = [];
    for (const row of rows) {
      const claim = { id: Number(row.id), runId: Number(row.run_id), taskId: row.task_id, attempt: row.attempt, workerId: row.claimed_by };
      await failTaskRunIn(
        client,
        claim,
        { code: 'WORKER_LOST', message: `Worker ${row.claimed_by} stopped heartbeating for more than ${heartbeatTimeoutMs} ms`, retryable: true },
        0,
      );
      reaped.push({ runId: claim.runId, taskId: claim.taskId, attempt: claim.attempt, worker: claim.workerId });
    }
    return reaped;
  });
}
