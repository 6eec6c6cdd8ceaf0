/**
 * dfm side of the scheduler bench: the real executor (startWorker) with a no-op runner registered
 * under `postgres.sql` (the worker looks runners up by task type), so what is measured is the
 * executor's own overhead: claim, dispatch, outcome, downstream promotion, run completion.
 */
import type { Metrics } from '../../src/metrics/create-metrics.js';
import pg from 'pg';
import { loadConfig } from '../../src/config/load-config.js';
import { createPool } from '../../src/db/create-pool.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { startWorker, type Worker } from '../../src/executor/start-worker.js';
import type { Logger } from '../../src/lib/logger.js';
import { parsePipelineSource } from '../../src/pipeline/parse-pipeline-source.js';
import type { Pipeline } from '../../src/pipeline/pipeline-schema.js';
import { loadActivePipeline } from '../../src/runs/load-active-pipeline.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activatePipelines } from '../../src/scheduler/activate-pipelines.js';
import { createRun } from '../../src/runs/create-run.js';
import { createConnections } from '../../src/tasks/create-connections.js';
import type { TaskRunner } from '../../src/tasks/define-task-runner.js';
import { Events, sampleWaits, sleep, waitNoBackends, within, xactCommit, type BenchOptions } from './common.js';
import { throughputFigures, type System, type ThroughputResult } from './graphile.js';

export const C1_PIPELINE = 'bench-c1';
export const C2_PIPELINE = 'bench-c2';
export const C3_PIPELINE = 'bench-c3';
export const PROBE_PIPELINE = 'bench-probe';

const pad = (i: number) => `t${String(i).padStart(5, '0')}`;

function pipelineYaml(id: string, tasks: number, chain: boolean, maxActiveRuns: number): string {
  const lines = [`id: ${id}`, `max_active_runs: ${maxActiveRuns}`, 'tasks:'];
  for (let i = 1; i <= tasks; i++) {
    lines.push(`  ${pad(i)}:`, '    type: postgres.sql', '    sql: select 1');
    if (chain && i > 1) lines.push(`    needs: [${pad(i - 1)}]`);
  }
  return `${lines.join('\n')}\n`;
}

function parse(id: string, text: string): Pipeline {
  const parsed = parsePipelineSource(text, `${id}.yaml`);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (!parsed.pipeline || errors.length > 0) throw new Error(`bench pipeline ${id} is invalid: ${JSON.stringify(parsed.diagnostics.slice(0, 3))}`);
  return parsed.pipeline;
}

export async function setupDfm(url: string, logger: Logger, options: BenchOptions): Promise<void> {
  await applyMigrations(url, logger);
  const pool = createPool(url, logger, { max: 2, applicationName: 'bench-setup' });
  try {
    const sources = [
      { id: C1_PIPELINE, text: pipelineYaml(C1_PIPELINE, 1, false, 1) },
      { id: C2_PIPELINE, text: pipelineYaml(C2_PIPELINE, options.c2Steps, true, 1) },
      { id: C3_PIPELINE, text: pipelineYaml(C3_PIPELINE, options.c3TasksPerRun, false, 100) },
      ...(options.probe ? [{ id: PROBE_PIPELINE, text: pipelineYaml(PROBE_PIPELINE, 5 * options.c3TasksPerRun, false, 100) }] : []),
    ];
    await activatePipelines(pool, sources.map(({ id, text }) => ({ file: `${id}.yaml`, pipeline: parse(id, text) })));
  } finally {
    await pool.end();
  }
}

interface Hooks {
  onStart(runId: number, taskId: string): void;
  onCommit(runId: number, taskId: string): void;
}

interface RunningWorker {
  readonly worker: Worker;
  stop(): Promise<void>;
}

function launch(url: string, logger: Logger, concurrency: number, hooks: Hooks, metrics?: Metrics): RunningWorker {
  const pool = createPool(url, logger, { applicationName: 'bench-dfm-worker' });
  const config = loadConfig({ DATABASE_URL: url });
  const connections = createConnections({ config, databaseUrl: url, kafkaBrokers: [], logger });
  const noop: TaskRunner<unknown> = {
    type: 'postgres.sql',
    run: async (ctx) => {
      hooks.onStart(ctx.runId, ctx.taskId);
      return null;
    },
  };
  const worker = startWorker({
    pool,
    databaseUrl: url,
    logger,
    runners: new Map([['postgres.sql', noop as TaskRunner<never>]]),
    connections,
    concurrency,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    pollIntervalMs: config.pollIntervalMs,
    shutdownGraceMs: config.shutdownGraceMs,
    afterOutcomeCommit: (claim) => hooks.onCommit(claim.runId, claim.taskId),
    metrics,
  });
  return {
    worker,
    async stop() {
      await worker.stop();
      await connections.close();
      await pool.end();
    },
  };
}

/** The worker's LISTEN connection is up once it has run its first claim; wait for that before timing. */
async function settle(): Promise<void> {
  await sleep(300);
}

/**
 * Creates a manual run the way triggerRun does (loadActivePipeline + createRun in one
 * transaction) on our own connection, so the moment COMMIT is sent is known.
 */
async function createRunTimed(client: pg.Client, pipelineId: string, beforeCommit?: (runId: number) => void): Promise<{ runId: number; t0: number; tCommit: number }> {
  const t0 = performance.now();
  await client.query('begin');
  try {
    const active = await loadActivePipeline(client, pipelineId);
    const now = new Date();
    const runId = await createRun(client, {
      pipeline: active.pipeline,
      versionId: active.versionId,
      trigger: 'manual',
      logicalTime: now,
      intervalStart: now,
      intervalEnd: now,
      params: {},
    });
    beforeCommit?.(runId!);
    const tCommit = performance.now();
    await client.query('commit');
    return { runId: runId!, t0, tCommit };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

export function dfmSystem(url: string, logger: Logger): System & { runsSucceeded(): Promise<number> } {
  const events = new Events();
  let running: RunningWorker | undefined;
  let client: pg.Client | undefined;
  const chainRuns: number[] = [];
  return {
    name: 'dfm',
    async start(concurrency) {
      running = launch(url, logger, concurrency, {
        onStart: (runId, taskId) => events.record(`start:${runId}:${taskId}`),
        onCommit: (runId, taskId) => events.record(`done:${runId}:${taskId}`),
      });
      client = new pg.Client({ connectionString: url, application_name: 'bench-enqueue' });
      await client.connect();
      await settle();
    },
    async stop() {
      await client?.end();
      await running?.stop();
      client = undefined;
      running = undefined;
    },
    async latencySample() {
      const { runId, t0, tCommit } = await createRunTimed(client!, C1_PIPELINE);
      const started = await events.wait(`start:${runId}:${pad(1)}`);
      await events.wait(`done:${runId}:${pad(1)}`);
      return { fromCommit: started - tCommit, fromEnqueue: started - t0 };
    },
    async chain(_rep, steps) {
      const { runId, tCommit } = await createRunTimed(client!, C2_PIPELINE);
      // The no-op runner returns right after recording its start: handler end = handler start.
      const end = await events.wait(`start:${runId}:${pad(steps)}`, 60_000);
      await events.wait(`done:${runId}:${pad(steps)}`, 60_000);
      chainRuns.push(runId);
      return end - tCommit;
    },
    ranTwice: () => events.duplicates('start:').length,
    /** Chain runs whose run row says success (every step's outcome committed, run closed). */
    async runsSucceeded() {
      const check = new pg.Client({ connectionString: url, application_name: 'bench-verify' });
      await check.connect();
      try {
        const { rows } = await check.query<{ n: number }>("select count(*)::int as n from dfm.run where id = any($1::bigint[]) and state = 'success'", [chainRuns]);
        return rows[0]!.n === chainRuns.length ? chainRuns.length : -rows[0]!.n;
      } finally {
        await check.end();
      }
    },
  };
}

export interface DfmThroughputResult extends ThroughputResult {
  readonly verified: { taskRuns: number; succeededFirstAttempt: number; attempts: number; runsSucceeded: number; runs: number };
}

/**
 * C3: `tasks / tasksPerRun` runs of a pipeline of `tasksPerRun` independent tasks, created with
 * triggerRun before the worker starts (all runs active: max_active_runs 100), then one worker with
 * `concurrency` until every outcome is committed.
 */
export async function dfmThroughput(
  url: string,
  database: string,
  admin: pg.Client,
  logger: Logger,
  options: BenchOptions,
  shape: { pipelineId: string; tasks: number; tasksPerRun: number } = { pipelineId: C3_PIPELINE, tasks: options.c3Tasks, tasksPerRun: options.c3TasksPerRun },
  /** The worker counts into these (bench/metrics-overhead.ts); without, it counts nothing. */
  metrics?: Metrics,
): Promise<DfmThroughputResult> {
  const n = shape.tasks;
  const runCount = n / shape.tasksPerRun;
  await waitNoBackends(admin, database);
  const beforeEnqueue = await xactCommit(admin, database);
  const enqueueStart = performance.now();
  const enqueuePool = createPool(url, logger, { max: 1, applicationName: 'bench-enqueue' });
  const runIds: number[] = [];
  try {
    for (let r = 0; r < runCount; r++) runIds.push((await triggerRun(enqueuePool, { pipelineId: shape.pipelineId })).runId);
  } finally {
    await enqueuePool.end();
  }
  const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
  await waitNoBackends(admin, database);
  const beforeRun = await xactCommit(admin, database);

  const runIndex = new Map(runIds.map((id, index) => [id, index]));
  const ran = new Uint8Array(n);
  const index = (runId: number, taskId: string) => runIndex.get(runId)! * shape.tasksPerRun + Number(taskId.slice(1)) - 1;
  let committed = 0;
  let allDone: () => void = () => {};
  const allDonePromise = new Promise<void>((resolve) => (allDone = resolve));
  let foreign = 0;
  const waits = sampleWaits(options.adminUrl, database);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const running = launch(url, logger, options.concurrency, {
    onStart: (runId, taskId) => {
      if (!runIndex.has(runId)) {
        foreign++;
        return;
      }
      const i = index(runId, taskId);
      if (ran[i]! < 255) ran[i]!++;
    },
    onCommit: (runId) => {
      if (runIndex.has(runId) && ++committed === n) allDone();
    },
  }, metrics);
  let t1 = 0;
  try {
    await within(allDonePromise, 30 * 60_000, 'all dfm task runs');
    t1 = performance.now();
  } finally {
    await running.stop();
  }
  const used = process.cpuUsage(cpu);
  const waitSummary = await waits.stop();
  await waitNoBackends(admin, database);
  const after = await xactCommit(admin, database);

  // Verification (after the commit count was read).
  const check = new pg.Client({ connectionString: url, application_name: 'bench-verify' });
  await check.connect();
  let verified: DfmThroughputResult['verified'];
  let leftInQueue: number;
  try {
    const tr = await check.query<{ n: number; ok: number; open: number }>(
      `select count(*)::int as n, count(*) filter (where state = 'success' and attempt = 1)::int as ok,
              count(*) filter (where state in ('pending', 'ready', 'running'))::int as open
         from dfm.task_run where run_id = any($1::bigint[])`,
      [runIds],
    );
    const at = await check.query<{ n: number }>(
      'select count(*)::int as n from dfm.task_attempt a join dfm.task_run t on t.id = a.task_run_id where t.run_id = any($1::bigint[])',
      [runIds],
    );
    const runs = await check.query<{ n: number }>("select count(*)::int as n from dfm.run where id = any($1::bigint[]) and state = 'success'", [runIds]);
    verified = { taskRuns: tr.rows[0]!.n, succeededFirstAttempt: tr.rows[0]!.ok, attempts: at.rows[0]!.n, runsSucceeded: runs.rows[0]!.n, runs: runCount };
    leftInQueue = tr.rows[0]!.open;
  } finally {
    await check.end();
  }
  return {
    ...throughputFigures({ ran, t0, t1, commits: { beforeEnqueue, beforeRun, after }, enqueueSeconds, leftInQueue, cpu: used, waits: waitSummary, foreign }),
    setup: `${runCount} manual runs (triggerRun) of pipeline ${shape.pipelineId}: ${shape.tasksPerRun} independent postgres.sql tasks each, max_active_runs 100, created before one worker with concurrency ${options.concurrency} starts`,
    verified,
  };
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the statements a completion runs, against a fresh run of
 * `tasks` ready tasks, each inside a rolled-back transaction (nothing changes).
 */
export async function explainHotStatements(url: string, logger: Logger, pipelineId: string): Promise<Record<string, string>> {
  const pool = createPool(url, logger, { max: 1, applicationName: 'bench-explain' });
  const out: Record<string, string> = {};
  try {
    const { runId } = await triggerRun(pool, { pipelineId });
    const client = await pool.connect();
    const explain = async (name: string, sql: string, params: unknown[]) => {
      await client.query('begin');
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off) ${sql}`, params);
        out[name] = rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await client.query('rollback');
      }
    };
    try {
      await explain(
        'claim (limit 10)',
        `with picked as (
           select id from dfm.task_run where state = 'ready' and ready_at <= now() order by ready_at, id limit $2 for update skip locked)
         update dfm.task_run t set state = 'running', attempt = t.attempt + 1, claimed_by = $1,
                claimed_at = now(), heartbeat_at = now(), started_at = now(), finished_at = null
           from picked, dfm.run r where t.id = picked.id and r.id = t.run_id
         returning t.id, r.pipeline_id`,
        ['bench', 10],
      );
      await explain(
        'promoteDownstream',
        `update dfm.task_run d set state = 'ready', ready_at = now()
          where d.run_id = $1 and d.state = 'pending' and $2 = any(d.needs)
            and not exists (select 1 from dfm.task_run u where u.run_id = d.run_id and u.task_id = any(d.needs) and u.state <> 'success')`,
        [runId, pad(1)],
      );
      await explain(
        'finishRunIfDone count',
        `select count(*) filter (where state in ('pending', 'ready', 'running'))::int as open,
                count(*) filter (where state in ('failed', 'upstream_failed', 'cancelled'))::int as failed
           from dfm.task_run where run_id = $1`,
        [runId],
      );
    } finally {
      client.release();
    }
    // Leave nothing ready behind.
    await pool.query("update dfm.task_run set state = 'cancelled' where run_id = $1", [runId]);
    await pool.query("update dfm.run set state = 'cancelled' where id = $1", [runId]);
  } finally {
    await pool.end();
  }
  return out;
}
