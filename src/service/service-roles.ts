/**
 * The roles of `dfm serve`, in start order. `scheduler` loads DFM_PIPELINES_DIR (local mode) and
 * turns cron fires into runs; `worker` executes task runs. Both may run in any number of processes.
 * A new role (the GitHub App, Slack, the dashboard, a reporter) is one entry here: its routers are
 * mounted on the HTTP app, `http: true` makes `web` start it, and DFM_ROLE and --role take its
 * name from here (select-roles.ts).
 */
import { startWorker } from '../executor/start-worker.js';
import { startScheduler } from '../scheduler/start-scheduler.js';
import { watchKafkaTriggers } from '../scheduler/watch-kafka-triggers.js';
import { syncLocalPipelines } from '../scheduler/sync-local-pipelines.js';
import { createConnections } from '../tasks/create-connections.js';
import { taskRunners } from '../tasks/task-runners.js';
import type { RoleRegistry } from './start-service.js';

export const serviceRoles: RoleRegistry = {
  scheduler: { start: async ({ config, logger, pool, databaseUrl, kafkaBrokers, metrics }) => {
    await syncLocalPipelines(pool, config.pipelinesDir, logger);
    const scheduler = startScheduler({ pool, databaseUrl, logger, metrics, tickIntervalMs: config.pollIntervalMs });
    const triggers = watchKafkaTriggers({ pool, logger, metrics, config, kafkaBrokers, isLeader: () => scheduler.isLeader(), pollIntervalMs: config.pollIntervalMs });
    return {
      name: 'scheduler',
      stop: async () => {
        await triggers.stop();
        await scheduler.stop();
      },
    };
  } },
  worker: { start: async ({ config, logger, pool, databaseUrl, kafkaBrokers, metrics }) => {
    const connections = createConnections({ config, databaseUrl, kafkaBrokers, logger });
    const worker = startWorker({
      pool,
      databaseUrl,
      logger,
      metrics,
      runners: taskRunners,
      connections,
      concurrency: config.workerConcurrency,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      pollIntervalMs: config.pollIntervalMs,
      shutdownGraceMs: config.shutdownGraceMs,
    });
    return {
      name: 'worker',
      stop: async () => {
        await worker.stop();
        await connections.close();
      },
    };
  } },
};
