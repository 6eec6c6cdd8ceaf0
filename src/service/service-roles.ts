/**
 * The roles of `dfm serve`, in start order. `scheduler` registers the sync sources (syncs and
 * watches DFM_PIPELINES_DIR in local mode, asks for a sync of each Git source and polls them) and
 * turns cron fires into runs; `worker` executes task runs and durable jobs (syncs, GitHub
 * deliveries). Both may run in any number of processes. `github` (the App's webhook ingress) and
 * `sync` (`/api/sync`) and `hooks` (webhook triggers `/api/hooks/<pipeline>` and the run API for
 * scripts) only answer HTTP.
 * `reporter` delivers the reporting outbox (commit statuses, check runs, PR comments) to GitHub and
 * run messages to Slack; `slack` answers `/dfm` and the message buttons; any number of processes may run it (targets are leased).
 * A new role (the GitHub App, Slack, the dashboard, a reporter) is one entry here: its routers are
 * mounted on the HTTP app, `http: true` makes `web` start it, and DFM_ROLE and --role take its
 * name from here (select-roles.ts).
 */
import { startWorker } from '../executor/start-worker.js';
import { startScheduler } from '../scheduler/start-scheduler.js';
import { watchKafkaTriggers } from '../scheduler/watch-kafka-triggers.js';
import { syncLocalPipelines } from '../sync/sync-local-pipelines.js';
import { enqueueJob } from '../jobs/enqueue-job.js';
import { startJobRunner } from '../jobs/start-job-runner.js';
import { createJobNotifier } from '../jobs/create-job-notifier.js';
import { createGitHubIngress } from '../github/create-github-ingress.js';
import { gitHubAppFor } from '../github/create-github-app.js';
import { createSyncRouter } from '../sync/create-sync-router.js';
import { createHooksRouter } from '../hooks/create-hooks-router.js';
import { githubDeliverers } from '../github/deliver-github-reports.js';
import { createSlackApi } from '../slack/call-slack-api.js';
import { slackDeliverers } from '../slack/deliver-slack-reports.js';
import { createSlackIngress } from '../slack/create-slack-ingress.js';
import { startOutboxSender } from '../outbox/start-outbox-sender.js';
import { requestSync } from '../sync/request-sync.js';
import { GITHUB_REFRESH_JOB, syncJobHandlers } from './sync-job-handlers.js';
import { registerConfiguredSources } from '../sync/sync-source.js';
import { startSyncPoller } from '../sync/start-sync-poller.js';
import { watchLocalPipelines } from '../sync/watch-local-pipelines.js';
import { createConnections } from '../tasks/create-connections.js';
import { taskRunners } from '../tasks/task-runners.js';
import { createLeaderReadings } from './create-leader-readings.js';
import type { RoleRegistry } from './start-service.js';

export const serviceRoles: RoleRegistry = {
  scheduler: { start: async ({ config, logger, pool, databaseUrl, kafkaBrokers, metrics }) => {
    const sources = await registerConfiguredSources(pool, config);
    let watcher: { stop(): Promise<void> } | undefined;
    let poller: { stop(): void } | undefined;
    if (sources[0]?.kind === 'local') {
      const syncLocal = (trigger: string) => syncLocalPipelines(pool, config.pipelinesDir, logger, { settings: config, metrics, trigger });
      await syncLocal('start');
      if (config.pipelinesWatch) watcher = watchLocalPipelines({ dir: config.pipelinesDir, logger, intervalMs: config.syncIntervalMs, sync: () => syncLocal('watch') });
    } else {
      for (const source of sources) await requestSync(pool, { sourceId: source.id, trigger: 'start' });
      if (config.gitUrl === undefined) await enqueueJob(pool, { kind: GITHUB_REFRESH_JOB, key: GITHUB_REFRESH_JOB, payload: {} });
      poller = startSyncPoller({ pool, logger, intervalMs: config.syncIntervalMs });
    }
    const scheduler = startScheduler({ pool, databaseUrl, logger, metrics, tickIntervalMs: config.pollIntervalMs });
    const triggers = watchKafkaTriggers({ pool, logger, metrics, config, kafkaBrokers, isLeader: () => scheduler.isLeader(), pollIntervalMs: config.pollIntervalMs });
    const readings = createLeaderReadings({ pool, config, kafkaBrokers, logger });
    metrics.leader.readFrom(async () => (scheduler.isLeader() ? readings.read() : undefined));
    return {
      name: 'scheduler',
      stop: async () => {
        metrics.leader.readFrom(undefined);
        await readings.close();
        poller?.stop();
        await watcher?.stop();
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
    const jobs = startJobRunner({ pool, databaseUrl, logger, metrics, handlers: syncJobHandlers({ pool, config, logger, metrics }), pollIntervalMs: config.pollIntervalMs });
    return {
      name: 'worker',
      stop: async () => {
        await jobs.stop();
        await worker.stop();
        await connections.close();
      },
    };
  } },
  reporter: { start: async ({ config, logger, pool, databaseUrl, metrics }) => {
    const app = gitHubAppFor(config, logger);
    const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
    const sender = startOutboxSender({
      pool,
      databaseUrl,
      logger,
      metrics,
      deliverers: {
        ...(app ? githubDeliverers({ app, pool, publicUrl }) : {}),
        // Always present: with Slack off its reports are recorded failed with the reason at once.
        ...slackDeliverers({ pool, publicUrl, defaultChannel: config.slack?.defaultChannel, api: config.slack && createSlackApi({ apiUrl: config.slack.apiUrl, botToken: config.slack.botToken }) }),
      },
      pollIntervalMs: config.pollIntervalMs,
      concurrency: config.outboxConcurrency,
      retryBaseMs: config.outboxRetryBaseMs,
    });
    return { name: 'reporter', stop: () => sender.stop() };
  } },
  github: { http: true, start: async ({ config, logger, pool, metrics }) => {
    if (config.github === undefined) {
      logger.debug('GitHub App integration is off (set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET)');
      return { name: 'GitHub webhook ingress', stop: async () => undefined };
    }
    // The ingress needs only the webhook secret; the App (probot: tokens, Octokit) lives with the
    // workers that call GitHub, so an ingress-only replica (`--role web`) builds none.
    const notifier = createJobNotifier(pool, logger);
    return { name: 'GitHub webhook ingress', routers: [createGitHubIngress({ webhookSecret: config.github.webhookSecret, pool, notifier, logger, metrics })], stop: () => notifier.stop() };
  } },
  slack: { http: true, start: async ({ config, logger, pool, metrics }) => {
    if (config.slack === undefined) {
      logger.info('Slack is off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to use /dfm and run messages)');
      return { name: 'Slack ingress', stop: async () => undefined };
    }
    const ingress = createSlackIngress({ slack: config.slack, pool, logger, metrics, publicUrl: config.publicUrl ?? `http://localhost:${config.port}` });
    return { name: 'Slack ingress', routers: [ingress.router], stop: () => ingress.stop() };
  } },
  sync: { http: true, start: async ({ config, logger, pool, metrics }) => ({
    name: 'sync API',
    routers: [createSyncRouter({ pool, config, logger, metrics })],
    stop: async () => undefined,
  }) },
  hooks: { http: true, start: async ({ config, logger, pool, runEvents, metrics }) => ({
    name: 'webhook triggers and run API',
    routers: [createHooksRouter({ pool, config, logger: logger.child({ component: 'hooks' }), runEvents, metrics })],
    stop: async () => undefined,
  }) },
};
