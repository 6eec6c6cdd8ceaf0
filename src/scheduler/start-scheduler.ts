/**
 * The scheduler: turns cron fires into runs. One scheduler is leader at a time (a session-level
 * Postgres advisory lock on a dedicated connection; if that connection dies, the lock goes with it
 * and another process takes over). Leadership only saves work: each tick is safe to run from many
 * processes at once, because the pipeline row is locked while its fires are planned and every run
 * has a unique dedupe key.
 */
import pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { createRun } from '../runs/create-run.js';
import { nextFireTimes } from '../pipeline/schedule.js';
import { createVersionCache } from '../runs/load-version.js';
import { planDueFires } from '../pipeline/plan-due-fires.js';
import { resolveRunParams } from '../pipeline/resolve-run-params.js';

/** "dfmsched" as bytes: the advisory lock key of scheduler leadership. */
const LEADER_LOCK_KEY = '7234590193773733220';

export interface SchedulerOptions {
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly tickIntervalMs: number;
  /** A fire at most this old is on time; older ones follow the pipeline's catchup policy. Default 60 s. */
  readonly graceMs?: number;
  /** Injected clock (tests run many ticks of simulated time). */
  readonly now?: () => Date;
  /** Default true. False lets every instance tick (used to prove the database alone prevents duplicates). */
  readonly leaderElection?: boolean;
}

export interface Scheduler {
  tick(): Promise<number>;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? (() => new Date());
  const logger = options.logger.child({ component: 'scheduler' });
  const graceMs = options.graceMs ?? 60_000;
  let leaderClient: pg.Client | undefined;
  let leader = options.leaderElection === false;
  let stopping = false;
  let ticking: Promise<number> | undefined;
  const loadVersion = createVersionCache();

  async function campaign(): Promise<void> {
    if (leader || stopping) return;
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'dfm-scheduler-leader' });
    client.on('error', (error) => {
      logger.warn({ err: { message: error.message } }, 'lost the leadership connection');
      leader = false;
      leaderClient = undefined;
      options.metrics?.schedulerLeader.set(0);
      void client.end().catch(() => {});
    });
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [LEADER_LOCK_KEY]);
      if (rows[0]?.ok && !stopping) {
        leaderClient = client;
        leader = true;
        options.metrics?.schedulerLeader.set(1);
        logger.info('this process is the scheduler leader');
      } else {
        await client.end();
      }
    } catch (error) {
      await client.end().catch(() => {});
      logger.warn({ err: { message: messageOf(error) } }, 'could not campaign for scheduler leadership');
    }
  }

  async function tick(): Promise<number> {
    const at = now();
    // Only the schedule is read each tick; whole definitions come from the version cache when due.
    const { rows } = await options.pool.query<{ id: string; version_id: string; schedule: string; timezone: string; scheduled_until: Date }>(
      `select p.id, p.active_version_id as version_id, v.definition->>'schedule' as schedule,
              v.definition->>'timezone' as timezone, p.scheduled_until
         from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id
        where not p.paused and coalesce(v.definition->>'schedule', '') <> '' and p.scheduled_until < $1`,
      [at],
    );
    let created = 0;
    for (const row of rows) {
      // Most ticks fall between fires: decide that here, without a transaction per pipeline.
      const [next] = nextFireTimes(row.schedule, row.timezone, row.scheduled_until, 1);
      if (!next || next > at) continue;
      try {
        const { pipeline } = await loadVersion(options.pool, Number(row.version_id));
        created += await schedulePipeline(row.id, Number(row.version_id), pipeline, at);
      } catch (error) {
        logger.error({ pipeline: row.id, err: { message: messageOf(error) } }, 'scheduling failed; retrying at the next tick');
      }
    }
    return created;
  }

  async function schedulePipeline(pipelineId: string, versionId: number, pipeline: Pipeline, at: Date): Promise<number> {
    return withTransaction(options.pool, async (client) => {
      const locked = await client.query<{ scheduled_until: Date }>(
        'select scheduled_until from dfm.pipeline where id = $1 and active_version_id = $2 and not paused for no key update',
        [pipelineId, versionId],
      );
      const scheduledUntil = locked.rows[0]?.scheduled_until;
      if (!scheduledUntil || scheduledUntil >= at) return 0;
      const plan = planDueFires({ schedule: pipeline.schedule!, timezone: pipeline.timezone, catchup: pipeline.catchup, scheduledUntil, now: at, graceMs });
      if (plan.skipped > 0) logger.warn({ pipeline: pipelineId, skipped: plan.skipped, catchup: pipeline.catchup }, 'skipped missed fire times');
      let created = 0;
      if (plan.fires.length > 0) {
        const params = resolveRunParams(pipeline, {});
        for (const fire of plan.fires) {
          const runId = await createRun(client, { pipeline, versionId, trigger: 'schedule', ...fire, params, dedupeKey: fire.logicalTime.toISOString() });
          if (runId !== undefined) {
            created++;
            options.metrics?.runsCreated.inc({ pipeline: pipelineId, trigger: 'schedule' });
            options.metrics?.schedulerLag.observe(Math.max(0, now().getTime() - fire.logicalTime.getTime()) / 1000);
            logger.info({ pipeline: pipelineId, run: runId, logicalTime: fire.logicalTime.toISOString() }, 'scheduled run created');
          }
        }
      }
      await client.query('update dfm.pipeline set scheduled_until = $2 where id = $1', [pipelineId, at]);
      return created;
    });
  }

  const runTick = () => {
    if (stopping || ticking) return;
    ticking = (async () => {
      await campaign();
      return leader ? tick() : 0;
    })()
      .catch((error: unknown) => {
        logger.warn({ err: { message: messageOf(error) } }, 'scheduler tick failed');
        return 0;
      })
      .finally(() => {
        ticking = undefined;
      });
  };
  // Campaign and look for due fires right away, then every tick.
  setImmediate(runTick);
  const loop = setInterval(runTick, options.tickIntervalMs);

  return {
    tick,
    isLeader: () => leader,
    async stop() {
      stopping = true;
      clearInterval(loop);
      await ticking;
      if (leaderClient) {
        await leaderClient.end().catch(() => {});
        leaderClient = undefined;
        options.metrics?.schedulerLeader.set(0);
      }
      leader = false;
    },
  };
}
