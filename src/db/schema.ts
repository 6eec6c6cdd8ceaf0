/**
 * The metadata store, one drizzle definition from which the TypeScript types and the migrations in
 * drizzle/ (drizzle-kit generate) come.
 *
 * Terminology, used exactly across dfm:
 * - pipeline: a stable id; its active version says what runs. Paused pipelines keep their history.
 * - version: one parsed definition of a pipeline and the commit SHA (or local revision) it came from.
 * - run: one execution of a version for a logical interval [interval_start, interval_end), made by a
 *   trigger (schedule | manual | backfill | event).
 * - task run: one task of a run. `attempt` counts claims; a claim sets claimed_by and attempt, and
 *   every later write is fenced on both, so a worker whose claim was taken over cannot overwrite it.
 * - claim: a worker taking ready task runs with FOR UPDATE SKIP LOCKED.
 * - delivery: one GitHub webhook delivery, deduplicated by its id.
 * - source: where a set of pipelines comes from (a repository's branch and folder, or the local
 *   folder); every pipeline belongs to one. A sync makes a source's commit the active one.
 * - job: durable work (a sync, a webhook delivery's handling) queued in Postgres and run by workers.
 * - offset: the next Kafka offset to consume per consumer, topic and partition, stored with the data.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const dfm = pgSchema('dfm');

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const runStates = ['queued', 'running', 'success', 'failed', 'cancelled'] as const;
export type RunState = (typeof runStates)[number];
export const runTriggers = ['schedule', 'manual', 'backfill', 'event', 'webhook', 'api'] as const;
export type RunTrigger = (typeof runTriggers)[number];
/**
 * pending: waits for its needs · ready: claimable from ready_at · running: claimed by a worker ·
 * success | failed | cancelled | upstream_failed: final.
 */
export const taskStates = ['pending', 'ready', 'running', 'success', 'failed', 'cancelled', 'upstream_failed'] as const;
export type TaskState = (typeof taskStates)[number];

export const pipeline = dfm.table('pipeline', {
  id: text('id').primaryKey(),
  activeVersionId: bigint('active_version_id', { mode: 'number' }),
  paused: boolean('paused').notNull().default(false),
  /**
   * Who paused it: `sync` when its file left the synced branch (a sync whose commit has the file
   * again unpauses it), otherwise the actor of the pause (`slack:T1/U2`, `cli:alice`, …), whose
   * pause only an unpause lifts. Null when not paused.
   */
  pausedBy: text('paused_by'),
  pausedAt: timestamptz('paused_at'),
  /** The sync source whose files define it (`local` in local mode): a sync pauses only its own pipelines. */
  sourceId: text('source_id').notNull().default('local'),
  /** Copied from the active version: runs beyond it wait in `queued`. */
  maxActiveRuns: integer('max_active_runs').notNull().default(1),
  /** Every fire time up to here has been considered by the scheduler (compare-and-set). */
  scheduledUntil: timestamptz('scheduled_until'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

export const pipelineVersion = dfm.table(
  'pipeline_version',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    pipelineId: text('pipeline_id').notNull().references(() => pipeline.id),
    /** Commit SHA for git-synced versions; `local:<sha256 of the file>` in local mode. */
    sourceRef: text('source_ref').notNull(),
    file: text('file').notNull(),
    definitionHash: text('definition_hash').notNull(),
    definition: jsonb('definition').notNull(),
    /** The commit the version came from (git-synced versions; null in local mode). */
    commitAuthor: text('commit_author'),
    commitMessage: text('commit_message'),
    committedAt: timestamptz('committed_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('pipeline_version_dedupe').on(t.pipelineId, t.definitionHash, t.sourceRef)],
);

export const run = dfm.table(
  'run',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    pipelineId: text('pipeline_id').notNull().references(() => pipeline.id),
    versionId: bigint('version_id', { mode: 'number' }).notNull().references(() => pipelineVersion.id),
    trigger: text('trigger', { enum: runTriggers }).notNull(),
    /** Unique per pipeline when set: `<logical time ISO>` for schedule and backfill, the trigger batch for event runs. */
    dedupeKey: text('dedupe_key'),
    logicalTime: timestamptz('logical_time').notNull(),
    intervalStart: timestamptz('interval_start').notNull(),
    intervalEnd: timestamptz('interval_end').notNull(),
    params: jsonb('params').notNull().default({}),
    /** The JSON body of the webhook delivery that started the run (`{{ trigger.body }}`, `:trigger_body`); null otherwise. */
    triggerBody: jsonb('trigger_body'),
    state: text('state', { enum: runStates }).notNull().default('queued'),
    requestedBy: text('requested_by'),
    error: text('error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    uniqueIndex('run_dedupe').on(t.pipelineId, t.dedupeKey),
    index('run_pipeline_state').on(t.pipelineId, t.state),
    index('run_pipeline_created').on(t.pipelineId, t.createdAt),
    // The sweep that closes runs whose last completion crashed before closing them.
    index('run_running').on(t.id).where(sql`state = 'running'`),
  ],
);

export const taskRun = dfm.table(
  'task_run',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull().references(() => run.id, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull(),
    taskType: text('task_type').notNull(),
    needs: text('needs').array().notNull().default(sql`'{}'::text[]`),
    state: text('state', { enum: taskStates }).notNull().default('pending'),
    /** Claims so far; the fence of every write by the claiming worker. */
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(1),
    readyAt: timestamptz('ready_at'),
    claimedBy: text('claimed_by'),
    claimedAt: timestamptz('claimed_at'),
    heartbeatAt: timestamptz('heartbeat_at'),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
    error: jsonb('error'),
    output: jsonb('output'),
  },
  (t) => [
    uniqueIndex('task_run_run_task').on(t.runId, t.taskId),
    index('task_run_ready').on(t.readyAt, t.id).where(sql`state = 'ready'`),
    index('task_run_running').on(t.heartbeatAt).where(sql`state = 'running'`),
    // "Is anything of this run left to do?" after every completion, without reading the whole run.
    index('task_run_open').on(t.runId).where(sql`state in ('pending', 'ready', 'running')`),
  ],
);

/** One row per finished attempt, for the dashboard and `dfm status`. */
export const taskAttempt = dfm.table(
  'task_attempt',
  {
    taskRunId: bigint('task_run_id', { mode: 'number' }).notNull().references(() => taskRun.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    worker: text('worker'),
    state: text('state').notNull(),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at').notNull().defaultNow(),
    error: jsonb('error'),
  },
  (t) => [primaryKey({ columns: [t.taskRunId, t.attempt] })],
);

export const runLog = dfm.table(
  'run_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull().references(() => run.id, { onDelete: 'cascade' }),
    taskId: text('task_id'),
    attempt: integer('attempt'),
    level: text('level').notNull(),
    message: text('message').notNull(),
    at: timestamptz('at').notNull().defaultNow(),
  },
  (t) => [index('run_log_run').on(t.runId, t.id)],
);

export const webhookDelivery = dfm.table('webhook_delivery', {
  deliveryId: text('delivery_id').primaryKey(),
  event: text('event').notNull(),
  /** `action` of the payload (`created`, `opened` …) when it has one. */
  action: text('action'),
  /** `owner/name` of the payload's repository, when it has one. */
  repository: text('repository'),
  receivedAt: timestamptz('received_at').notNull().defaultNow(),
  /** queued (its job waits or runs), handled, ignored (no handler for the event), failed. */
  outcome: text('outcome'),
  handledAt: timestamptz('handled_at'),
});

export const syncSourceKinds = ['local', 'git', 'github'] as const;
export type SyncSourceKind = (typeof syncSourceKinds)[number];

/**
 * A place pipelines come from: `local` (DFM_PIPELINES_DIR), `git:<url>` (DFM_GIT_URL) or
 * `github:<owner>/<name>` (a repository of the GitHub App's installations). Its active commit is
 * what runs; a held prune waits here for a confirmation.
 */
export const syncSource = dfm.table('sync_source', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: syncSourceKinds }).notNull(),
  /** Fetch URL without credentials (null for local). */
  url: text('url'),
  /** Null: the remote's default branch. */
  branch: text('branch'),
  path: text('path').notNull(),
  installationId: bigint('installation_id', { mode: 'number' }),
  /** Configured now (false: left over from an earlier configuration or a removed installation). */
  enabled: boolean('enabled').notNull().default(true),
  activeSha: text('active_sha'),
  /** { sha, author, message, committedAt } of the active commit. */
  activeCommit: jsonb('active_commit'),
  activatedAt: timestamptz('activated_at'),
  /** A prune waiting for `dfm sync --confirm <sha>`: { sha, commit, pause: [ids], activeCount, at }. */
  heldPrune: jsonb('held_prune'),
  lastCheckedAt: timestamptz('last_checked_at'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

export const syncOutcomes = ['applied', 'invalid', 'held', 'stale', 'failed'] as const;
export type SyncOutcome = (typeof syncOutcomes)[number];

/**
 * One sync that looked at a new commit (a sync that found the active commit again only moves
 * sync_source.last_checked_at): applied, invalid (errors kept, nothing changed), held (a large
 * prune waits), stale (older than the active commit) or failed (git, network).
 */
export const sync = dfm.table(
  'sync',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sourceId: text('source_id').notNull().references(() => syncSource.id),
    /** What asked: github-push, webhook, poll, cli, start, confirm, watch. */
    trigger: text('trigger').notNull(),
    sha: text('sha'),
    outcome: text('outcome', { enum: syncOutcomes }).notNull(),
    /** Diagnostics with file, line, column (invalid) or { message } (failed). */
    errors: jsonb('errors').notNull().default([]),
    /** Pipelines activated with a new version, and paused because their file left. */
    changed: text('changed').array().notNull().default(sql`'{}'::text[]`),
    paused: text('paused').array().notNull().default(sql`'{}'::text[]`),
    startedAt: timestamptz('started_at').notNull(),
    finishedAt: timestamptz('finished_at').notNull().defaultNow(),
    durationMs: integer('duration_ms').notNull(),
  },
  (t) => [index('sync_source_finished').on(t.sourceId, t.id)],
);

export const jobStates = ['pending', 'running', 'done', 'failed'] as const;
export type JobState = (typeof jobStates)[number];

/**
 * Durable work: the ingress inserts a row (and answers), workers claim it with SKIP LOCKED and a
 * lease, fenced by `attempts`. A pending job with the same `key` absorbs a new one (many triggers
 * for one source while a sync waits → one sync).
 */
export const job = dfm.table(
  'job',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    kind: text('kind').notNull(),
    key: text('key'),
    payload: jsonb('payload').notNull().default({}),
    state: text('state', { enum: jobStates }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    runAt: timestamptz('run_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: timestamptz('locked_until'),
    lastError: text('last_error'),
    result: jsonb('result'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    uniqueIndex('job_pending_key').on(t.key).where(sql`state = 'pending'`),
    index('job_claimable').on(t.runAt, t.id).where(sql`state in ('pending', 'running')`),
  ],
);

export const kafkaOffset = dfm.table(
  'kafka_offset',
  {
    consumer: text('consumer').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    /** The next offset to consume (last written + 1). */
    offset: bigint('offset', { mode: 'bigint' }).notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.consumer, t.topic, t.partition] })],
);

/** Watermarks of incremental exports (postgres.to_kafka), advanced after the broker acknowledged. */
export const exportCursor = dfm.table(
  'export_cursor',
  {
    pipelineId: text('pipeline_id').notNull(),
    taskId: text('task_id').notNull(),
    cursor: jsonb('cursor').notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.taskId] })],
);

export const deadLetter = dfm.table(
  'dead_letter',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    consumer: text('consumer').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    offset: bigint('offset', { mode: 'bigint' }).notNull(),
    key: text('key'),
    value: text('value'),
    error: text('error').notNull(),
    runId: bigint('run_id', { mode: 'number' }),
    at: timestamptz('at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('dead_letter_position').on(t.consumer, t.topic, t.partition, t.offset)],
);

export const auditOutcomes = ['ok', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof auditOutcomes)[number];

/**
 * Every state-changing request from a person or a system (a run, cancel, retry, pause, unpause,
 * prune confirmation …) from any surface, allowed or not: who, through what, what, on what, when,
 * and how it ended. Shown by `dfm audit` and the dashboard.
 */
export const audit = dfm.table(
  'audit',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamptz('at').notNull().defaultNow(),
    /** A stable identity, never a display name: `slack:<team>/<user>`, `token:<name>`, `cli:<os user>`, `github:<login id>`. */
    actor: text('actor').notNull(),
    /** The surface: cli, slack, github, dashboard, api, webhook. */
    via: text('via').notNull(),
    action: text('action').notNull(),
    /** The pipeline id, `run:<id>` or the SHA acted on. */
    target: text('target'),
    outcome: text('outcome', { enum: auditOutcomes }).notNull(),
    /** Why a refusal or failure happened, or what was created (`{ runId }`); never a secret. */
    detail: jsonb('detail').notNull().default({}),
  },
  (t) => [index('audit_at').on(t.at, t.id), index('audit_target').on(t.target, t.at)],
);

export const outboxStates = ['pending', 'delivered', 'superseded', 'failed'] as const;
export type OutboxState = (typeof outboxStates)[number];

/**
 * The reporting outbox: every outbound report (a commit status, a check run create or update, the
 * PR comment, a Slack message) is a row written in the transaction of the state change it reports,
 * and delivered after commit by the sender (outbox/start-outbox-sender.ts). `target` is the unit of
 * order and of rate limits (`github:<owner>/<repo>`, `slack:<channel>`): a target's reports go out
 * one at a time, oldest first. `key` names what a report replaces: a pending report with a later
 * one of the same target and key is superseded, never sent (a status overtaken by the next one).
 */
export const outbox = dfm.table(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    target: text('target').notNull(),
    kind: text('kind').notNull(),
    key: text('key'),
    payload: jsonb('payload').notNull(),
    state: text('state', { enum: outboxStates }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    result: jsonb('result'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [index('outbox_pending').on(t.target, t.id).where(sql`state = 'pending'`), index('outbox_finished').on(t.finishedAt).where(sql`state <> 'pending'`)],
);

/**
 * One row per outbox target: who delivers it now (a lease, fenced by `locked_by`) and when it may
 * be tried next (`not_before`: the backoff after a failure, or GitHub's / Slack's `retry-after`, so
 * a rate-limited repository waits without holding up any other).
 */
export const outboxTarget = dfm.table(
  'outbox_target',
  {
    target: text('target').primaryKey(),
    notBefore: timestamptz('not_before').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: timestamptz('locked_until'),
    lastError: text('last_error'),
  },
);

/**
 * Pull-request review (github/review-pull-request.ts): one row per pull request and head commit
 * reviewed, with its check run once GitHub created it. `seq` orders heads by the arrival of the
 * delivery that asked (the newest is what the PR shows); an older head's check run is completed as
 * cancelled when a newer one arrives.
 */
export const prReview = dfm.table(
  'pr_review',
  {
    repository: text('repository').notNull(),
    prNumber: integer('pr_number').notNull(),
    headSha: text('head_sha').notNull(),
    baseSha: text('base_sha'),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    state: text('state').notNull().default('queued'),
    conclusion: text('conclusion'),
    checkRunId: bigint('check_run_id', { mode: 'number' }),
    fromFork: boolean('from_fork').notNull().default(false),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.repository, t.prNumber, t.headSha] }), index('pr_review_head').on(t.repository, t.headSha)],
);

/** The one plan comment of a pull request (found by its hidden marker once, then by id). */
export const prComment = dfm.table(
  'pr_comment',
  {
    repository: text('repository').notNull(),
    prNumber: integer('pr_number').notNull(),
    commentId: bigint('comment_id', { mode: 'number' }).notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.repository, t.prNumber] })],
);

/**
 * The one Slack message of a run (slack/deliver-slack-reports.ts): the row is written with the
 * run's first Slack report, in the run's transaction (so later state changes know to update it),
 * and `ts` (with the channel id Slack answered) once chat.postMessage succeeded; every later report
 * is a chat.update of that ts.
 */
export const slackMessage = dfm.table('slack_message', {
  runId: bigint('run_id', { mode: 'number' }).primaryKey().references(() => run.id, { onDelete: 'cascade' }),
  /** As configured (`#data-alerts`), or empty for DFM_SLACK_DEFAULT_CHANNEL. */
  channel: text('channel').notNull(),
  channelId: text('channel_id'),
  ts: text('ts'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});
