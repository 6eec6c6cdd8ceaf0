/**
 * Prometheus metrics. prom-client's default process and Node.js metrics keep their standard names
 * (so stock dashboards work); every metric of dfm's own starts with `dfm_`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createLeaderGauges } from './create-leader-gauges.js';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named `_total` fail `promtool check metrics` (a name ending in _total is a counter); the
  // same counts remain by type in nodejs_active_handles, nodejs_active_requests and
  // nodejs_active_resources, and `sum()` of those is the dropped total.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const metric = { registers: [registry] };
  return {
    registry,
    runsCreated: new Counter({ name: 'dfm_runs_created_total', help: 'Runs this process created, by pipeline and trigger (schedule and event; manual and backfill runs are created by the CLI process that asked for them)', labelNames: ['pipeline', 'trigger'] as const, ...metric }),
    runsFinished: new Counter({ name: 'dfm_runs_finished_total', help: 'Runs that reached a final state, by pipeline, trigger and state (success, failed)', labelNames: ['pipeline', 'trigger', 'state'] as const, ...metric }),
    runDuration: new Histogram({ name: 'dfm_run_duration_seconds', help: 'Runs from start (their first task ready) to their final state, by trigger and state', labelNames: ['trigger', 'state'] as const, buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 14400], ...metric }),
    runSeconds: new Counter({ name: 'dfm_run_seconds_total', help: 'Seconds from start to final state of the runs that finished, by pipeline (÷ dfm_runs_finished_total = mean run time)', labelNames: ['pipeline'] as const, ...metric }),
    schedulerLag: new Histogram({ name: 'dfm_scheduler_lag_seconds', help: 'From a cron fire time to its run created (catchup runs of missed fires count their whole delay)', buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600], ...metric }),
    claimLatency: new Histogram({ name: 'dfm_task_claim_latency_seconds', help: 'From a task run ready to claimed by a worker', buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300], ...metric }),
    retries: new Counter({ name: 'dfm_task_retries_total', help: 'Failed task attempts that will be retried, by pipeline and task type', labelNames: ['pipeline', 'type'] as const, ...metric }),
    taskRunsFinished: new Counter({ name: 'dfm_task_runs_finished_total', help: 'Task attempts finished by this process, by pipeline, task type and outcome', labelNames: ['pipeline', 'type', 'outcome'] as const, ...metric }),
    // Histograms are by task type or trigger, never by pipeline: with the pipeline label, 1,000
    // pipelines made a 2.5 MB scrape taking 84–363 ms (12 lines per histogram per pipeline);
    // per-pipeline time is the `_seconds_total` counters, divided by the finished counts.
    taskDuration: new Histogram({ name: 'dfm_task_duration_seconds', help: 'Duration of task attempts executed by this process, by task type', labelNames: ['type'] as const, buckets: [0.005, 0.02, 0.1, 0.5, 1, 5, 15, 60, 300, 1800], ...metric }),
    taskSeconds: new Counter({ name: 'dfm_task_run_seconds_total', help: 'Seconds spent in task attempts by this process, by pipeline and task type (÷ dfm_task_runs_finished_total = mean attempt time)', labelNames: ['pipeline', 'type'] as const, ...metric }),
    tasksRunning: new Gauge({ name: 'dfm_tasks_running', help: 'Task runs this process is executing now', ...metric }),
    claims: new Counter({ name: 'dfm_task_claims_total', help: 'Task runs claimed by this process', ...metric }),
    reaped: new Counter({ name: 'dfm_task_runs_reaped_total', help: 'Task runs whose worker stopped heartbeating, returned to the queue', ...metric }),
    fenced: new Counter({ name: 'dfm_task_writes_fenced_total', help: 'Completions rejected because the claim was taken over (stale worker)', ...metric }),
    schedulerLeader: new Gauge({ name: 'dfm_scheduler_leader', help: '1 while this process holds the scheduler leadership', ...metric }),
    kafkaRecords: new Counter({ name: 'dfm_kafka_records_total', help: 'Kafka records moved, by pipeline, task and direction (in, out)', labelNames: ['pipeline', 'task', 'direction'] as const, ...metric }),
    deadLetters: new Counter({ name: 'dfm_dead_letters_total', help: 'Records written to a dead-letter table, by pipeline and task', labelNames: ['pipeline', 'task'] as const, ...metric }),
    syncDuration: new Histogram({ name: 'dfm_sync_duration_seconds', help: 'Syncs that looked at a new commit, from the lock to the committed outcome, by source and outcome', labelNames: ['source', 'outcome'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300], ...metric }),
    syncs: new Counter({ name: 'dfm_syncs_total', help: 'Syncs run by this process, by source and outcome (applied, unchanged, invalid, held, stale, failed, skipped)', labelNames: ['source', 'outcome'] as const, ...metric }),
    syncLastSuccess: new Gauge({ name: 'dfm_sync_last_success_timestamp_seconds', help: 'When a sync of the source last succeeded (applied or unchanged), Unix time', labelNames: ['source'] as const, ...metric }),
    webhookDeliveries: new Counter({ name: 'dfm_webhook_deliveries_total', help: 'Webhook deliveries received, by event and outcome (queued, duplicate, ignored, rejected: a bad signature or token, refused: a request dfm would not take, such as 404, 409, 413, 422, 429); event `hook` for POST /api/hooks/<pipeline>', labelNames: ['event', 'outcome'] as const, ...metric }),
    jobs: new Counter({ name: 'dfm_jobs_total', help: 'Durable jobs this process ran, by kind and outcome (done, retried, failed)', labelNames: ['kind', 'outcome'] as const, ...metric }),
    reports: new Counter({ name: 'dfm_outbox_reports_total', help: 'Outbox reports this process handled, by kind and outcome (delivered, superseded, retried, rate_limited, failed)', labelNames: ['kind', 'outcome'] as const, ...metric }),
    reportDuration: new Histogram({ name: 'dfm_outbox_delivery_seconds', help: 'Time of one outbox delivery (the API request), by kind', labelNames: ['kind'] as const, buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15], ...metric }),
    slackCommands: new Counter({ name: 'dfm_slack_commands_total', help: 'Slack /dfm commands and message buttons answered by this process, by command and outcome (ok, refused, failed, invalid)', labelNames: ['command', 'outcome'] as const, ...metric }),
    dependencyUp: new Gauge({ name: 'dfm_dependency_up', help: '1 when the dependency answered the last health check', labelNames: ['dependency'] as const, ...metric }),
    /** Global gauges, read at scrape time by the scheduler leader only (create-leader-gauges.ts). */
    leader: createLeaderGauges(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
