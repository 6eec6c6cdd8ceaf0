/**
 * Runs are closed after their last outcome commits, by a check that rides on the worker's next
 * claim. With the reaper's sweep switched off, every run must still close at once: nothing here
 * may depend on the sweep, which only mends crashes.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { RUN_FINISHED_CHANNEL } from '../../src/runs/run-channels.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, useOrchestration } from '../helpers/orchestration.js';
import { eventually } from '../helpers/dfm-process.js';


const { o, database } = useOrchestration();

describe('closing runs', () => {
  it('announces each finished run once on the dfm_run_finished channel', async () => {
    await activate(o.pool, `id: announced\ntasks:\n  t: { type: postgres.sql, sql: "select 1" }\n`);
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`listen ${RUN_FINISHED_CHANNEL}`);
    try {
      o.startWorker({ concurrency: 2, reap: false, heartbeatTimeoutMs: 600_000 });
      const { runId } = await triggerRun(o.pool, { pipelineId: 'announced' });
      await eventually(async () => (heard.includes(String(runId)) ? true : undefined), 10_000, 'the run-finished notification');
      expect(heard.filter((id) => id === String(runId))).toHaveLength(1);
    } finally {
      await listener.end();
    }
  });

  it('closes every run as soon as its last task commits, with many task runs of each run finishing at once', async () => {
    const tasks = Array.from({ length: 30 }, (_, i) => `  t${i}: { type: postgres.sql, sql: "select ${i}" }`).join('\n');
    await activate(o.pool, `id: wide-closing\nmax_active_runs: 20\ntasks:\n${tasks}\n`);
    await o.pool.query("update dfm.pipeline set paused = true where id = 'wide-closing'");
    o.startWorker({ concurrency: 10, reap: false, heartbeatTimeoutMs: 600_000 });
    await o.pool.query("update dfm.pipeline set paused = false where id = 'wide-closing'");
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push((await triggerRun(o.pool, { pipelineId: 'wide-closing' })).runId);
    await eventually(async () => {
      const { rows } = await o.pool.query("select count(*)::int as n from dfm.task_run where run_id = any($1) and state = 'success'", [ids]);
      return rows[0].n === 600 ? true : undefined;
    }, 60_000, 'all 600 task runs');
    // Closing follows within a claim round trip, not at the next sweep.
    await eventually(async () => {
      const { rows } = await o.pool.query("select count(*)::int as n from dfm.run where id = any($1) and state = 'success'", [ids]);
      return rows[0].n === 20 ? true : undefined;
    }, 2000, 'all 20 runs closed');
    const { rows } = await o.pool.query('select max(r.finished_at - t.last)::text as lag from dfm.run r join (select run_id, max(finished_at) as last from dfm.task_run group by 1) t on t.run_id = r.id where r.id = any($1)', [ids]);
    expect(rows[0].lag < '00:00:01').toBe(true);
  });
});
