/**
 * Cancels a run: tasks not yet started never start, running ones are aborted (their worker's next
 * heartbeat finds the claim gone and its outcome write is fenced out), and the run ends cancelled.
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import { notifyRunFinished } from './run-channels.js';
import { reportRunStates } from './report-run-states.js';
import { startQueuedRuns } from './start-queued-runs.js';

/** `within` runs in the cancel's transaction before it commits (the audit row), with the run's pipeline. */
export async function cancelRun(pool: pg.Pool, runId: number, by?: string, within?: (client: pg.PoolClient, pipelineId: string) => Promise<void>): Promise<{ cancelledTasks: number }> {
  return withTransaction(pool, async (client) => {
    const run = await client.query<{ state: string; pipeline_id: string }>('select state, pipeline_id from dfm.run where id = $1 for update', [runId]);
    const row = run.rows[0];
    if (!row) throw new DfmError('RUN_UNKNOWN', `No run ${runId}.`);
    if (!['queued', 'running'].includes(row.state)) throw new DfmError('RUN_FINISHED', `Run ${runId} already ended (${row.state}).`);
    const tasks = await client.query(
      `update dfm.task_run set state = 'cancelled', finished_at = now(),
              error = jsonb_build_object('code', 'CANCELLED', 'message', $2::text)
        where run_id = $1 and state in ('pending', 'ready', 'running')`,
      [runId, `Cancelled${by ? ` by ${by}` : ''}`],
    );
    await client.query(`update dfm.run set state = 'cancelled', finished_at = now(), error = $2 where id = $1`, [runId, `Cancelled${by ? ` by ${by}` : ''}`]);
    await notifyRunFinished(client, runId);
    await reportRunStates(client, [runId]);
    await startQueuedRuns(client, row.pipeline_id);
    await within?.(client, row.pipeline_id);
    return { cancelledTasks: tasks.rowCount ?? 0 };
  });
}
