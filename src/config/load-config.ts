/**
 * Configuration is a pure function of an environment object: validated once, every problem
 * reported at once, frozen, passed down. Nothing else in dfm reads process.env.
 *
 * Each entry of `variables` is the contract users script against: the name, its default and unit,
 * and what it means. The README's configuration table is checked against this list by a test.
 */
import { readFileSync as readFileBuffer } from 'node:fs';
import { z } from 'zod';
import { DfmError } from '../lib/errors.js';
import { LOG_FORMATS } from '../lib/logger.js';
import { parseApiTokens, type ApiToken } from './parse-api-tokens.js';
import { parseSlackAllow, type SlackAllowRule } from './parse-slack-allow.js';
import { checkBranchName, checkGitUrl, checkRepositoryPath, GIT_PROTOCOLS, type CheckedGitUrl, type GitProtocol } from '../git/validate-git-input.js';

const readFileSync = (path: string): string => readFileBuffer(path, 'utf8');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const positiveInt = (name: string) =>
  z.coerce.number({ error: `${name} must be a whole number` }).int(`${name} must be a whole number`).positive(`${name} must be greater than 0`);

const port = (name: string) =>
  z.coerce.number({ error: `${name} must be a port number` }).int().min(0, `${name} must be a port number from 0 to 65535 (0 picks a free port)`).max(65535, `${name} must be a port number from 0 to 65535 (0 picks a free port)`);

const postgresUrl = (name: string) =>
  z.string().trim().min(1).refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), {
    message: `${name} must be a PostgreSQL URL such as postgres://user:password@host:5432/dbname`,
  });

const brokerList = (name: string) =>
  z.string().trim().min(1).transform((value, ctx) => {
    const brokers = value.split(',').map((b) => b.trim()).filter(Boolean);
    for (const broker of brokers) {
      if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(broker)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a comma-separated list of host:port, got "${broker}"` });
      }
    }
    return brokers;
  });

/** A string checked by one of git/validate-git-input.ts's functions (their message is the issue). */
const gitChecked = <T>(check: (value: string) => T) =>
  z.string().transform((value, ctx) => {
    try {
      return check(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const fraction = (name: string) =>
  z.coerce.number({ error: `${name} must be a number from 0 to 1` }).min(0, `${name} must be a number from 0 to 1`).max(1, `${name} must be a number from 0 to 1`);

const nonNegativeInt = (name: string) =>
  z.coerce.number({ error: `${name} must be a whole number` }).int(`${name} must be a whole number`).min(0, `${name} must be 0 or more`);

const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Every variable dfm reads: its `key` in Config (variables without one feed a group below, such
 * as `github`), its schema (default included) and its documentation (the README's table).
 */
export const variables = {
  DATABASE_URL: { key: 'databaseUrl', schema: postgresUrl('DATABASE_URL').optional(), doc: 'PostgreSQL for dfm metadata and the default `postgres` connection. Unset: dfm starts an embedded PostgreSQL in `DFM_DATA_DIR`.' },
  KAFKA_BROKERS: { key: 'kafkaBrokers', schema: brokerList('KAFKA_BROKERS').optional(), doc: 'Comma-separated Kafka bootstrap brokers (host:port). Unset: dfm starts a local single-node KRaft broker from Maven Central jars.' },
  PORT: { key: 'port', schema: port('PORT').default(8080), doc: 'HTTP port of the dashboard, API, `/healthz` and `/metrics`. Default 8080; 0 picks a free port.' },
  HOST: { key: 'host', schema: z.string().trim().min(1).default('0.0.0.0'), doc: 'Address the HTTP server binds. Default 0.0.0.0.' },
  DFM_PIPELINES_DIR: { key: 'pipelinesDir', schema: z.string().trim().min(1).default('pipelines'), doc: 'Folder of pipeline YAML files synced in local mode (no DFM_GIT_URL, no GitHub App; watched for changes) and validated by `dfm validate`. Default `pipelines`.' },
  LOG_LEVEL: { key: 'logLevel', schema: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'), doc: 'pino log level: fatal, error, warn, info, debug, trace, silent. Default info.' },
  LOG_FORMAT: { key: 'logFormat', schema: z.enum(LOG_FORMATS, { error: `LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}` }).default('auto'), doc: 'How logs are written to stderr: auto (readable lines when stderr is a terminal, JSON otherwise), json (one JSON object a line, for log collectors) or pretty. Default auto.' },
  DFM_DATA_DIR: { key: 'dataDir', schema: z.string().trim().min(1).default('.dfm'), doc: 'Local state of the embedded PostgreSQL and local Kafka broker (data folders, logs). Default `.dfm`.' },
  DFM_EMBEDDED_PG_PORT: { key: 'embeddedPostgresPort', schema: port('DFM_EMBEDDED_PG_PORT').default(54329), doc: 'Port of the embedded PostgreSQL (only when DATABASE_URL is unset). Default 54329.' },
  DFM_KAFKA_PORT: { key: 'kafkaPort', schema: port('DFM_KAFKA_PORT').default(9092), doc: 'Port of the local Kafka broker (only when KAFKA_BROKERS is unset). Default 9092; the controller listens on this port + 1.' },
  DFM_KAFKA_CACHE_DIR: { key: 'kafkaCacheDir', schema: z.string().trim().min(1).optional(), doc: 'Where Maven puts the Kafka broker jars. Default `~/.cache/dfm/kafka` (shared by every clone).' },
  DFM_WORKER_CONCURRENCY: { key: 'workerConcurrency', schema: positiveInt('DFM_WORKER_CONCURRENCY').default(8), doc: 'Task runs one worker process executes at once. Default 8.' },
  DFM_HEARTBEAT_INTERVAL_MS: { key: 'heartbeatIntervalMs', schema: positiveInt('DFM_HEARTBEAT_INTERVAL_MS').default(5000), doc: 'How often a worker refreshes the heartbeat of its running task runs, in ms. Default 5000.' },
  DFM_HEARTBEAT_TIMEOUT_MS: { key: 'heartbeatTimeoutMs', schema: positiveInt('DFM_HEARTBEAT_TIMEOUT_MS').default(30000), doc: 'A running task run whose heartbeat is older than this is reaped and retried as a new attempt, in ms. Default 30000.' },
  DFM_POLL_INTERVAL_MS: { key: 'pollIntervalMs', schema: positiveInt('DFM_POLL_INTERVAL_MS').default(2000), doc: 'How often workers look for ready task runs besides NOTIFY, the scheduler looks for due fires and Kafka triggers look at their topics, in ms. Default 2000.' },
  DFM_SHUTDOWN_GRACE_MS: { key: 'shutdownGraceMs', schema: positiveInt('DFM_SHUTDOWN_GRACE_MS').default(30000), doc: 'On SIGTERM, how long in-flight task runs may finish before they are released back to the queue, in ms. Default 30000.' },
  DFM_SHUTDOWN_TIMEOUT_MS: { schema: positiveInt('DFM_SHUTDOWN_TIMEOUT_MS').optional(), doc: 'Overall limit on a shutdown of `dfm serve`, in ms: past it dfm logs what did not stop and exits with 1. Default DFM_SHUTDOWN_GRACE_MS + 30000.' },
  DFM_RECONNECT_TIMEOUT_MS: { key: 'reconnectTimeoutMs', schema: positiveInt('DFM_RECONNECT_TIMEOUT_MS').default(120000), doc: 'How long `dfm run --wait` and `dfm backfill` keep reconnecting to a PostgreSQL that went away (a restart, a failover) while they follow runs, in ms. Default 120000.' },
  // The names are checked against the role registry when dfm serve starts (service/select-roles.ts): the registry is their one list.
  DFM_ROLE: { key: 'role', schema: z.string().trim().regex(/^[a-z][a-z0-9-]*( *, *[a-z][a-z0-9-]*)*$/, 'DFM_ROLE must be a role name or a comma-separated list of them, such as all, worker or scheduler,worker').default('all'), doc: 'Roles `dfm serve` runs, comma-separated: all, web (the roles that only answer HTTP), scheduler, worker and each registered role by name (`--role` overrides). Default all.' },
  DFM_RUN_MIGRATIONS: { key: 'runMigrations', schema: booleanFlag.default(true), doc: 'Apply pending migrations at start (under an advisory lock). Default true.' },
  DFM_PUBLIC_URL: { key: 'publicUrl', schema: z.string().trim().url('DFM_PUBLIC_URL must be a URL such as https://dfm.example.com').transform((u) => u.replace(/\/+$/, '')).optional(), doc: 'The URL users reach dfm at (behind a proxy, say), for links in Slack messages, GitHub checks and API answers. Default http://localhost:PORT.' },
  DFM_ADMIN_TOKEN: { key: 'adminToken', schema: z.string().min(16, 'DFM_ADMIN_TOKEN must be at least 16 characters').optional(), doc: "The dashboard's sign-in token for actions (run, cancel, retry, pause, confirm a prune). Unset: the dashboard is read-only." },
  DFM_DASHBOARD_AUTH: { key: 'dashboardAuth', schema: z.enum(['open', 'required'], { error: 'DFM_DASHBOARD_AUTH must be open or required' }).default('open'), doc: 'open: anyone who reaches dfm may read the dashboard and the read API; required: reading needs the sign-in (or an API token) too. Default open.' },
  DFM_GIT_PROTOCOLS: { key: 'gitProtocols', schema: z.string().transform((value, ctx) => {
    const list = value.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
    for (const p of list) if (!(GIT_PROTOCOLS as readonly string[]).includes(p)) ctx.addIssue({ code: 'custom', message: `DFM_GIT_PROTOCOLS: unknown protocol "${p}"; use any of ${GIT_PROTOCOLS.join(', ')}` });
    return list as GitProtocol[];
  }).default([...GIT_PROTOCOLS]), doc: 'Protocols git may use to fetch, comma-separated, from https, http, ssh, git, file (transport helpers such as ext:: are always refused). Default all five.' },
  DFM_GIT_URL: { schema: z.string().optional(), doc: 'The Git repository to sync pipelines from: https://, ssh://, git://, file:// URL, user@host:path or an absolute path. Unset: the GitHub App installations\' repositories, or local mode.' },
  DFM_GIT_BRANCH: { key: 'gitBranch', schema: gitChecked((v) => checkBranchName(v, 'DFM_GIT_BRANCH')).optional(), doc: "The branch whose head runs. Default: the remote's default branch (its HEAD)." },
  DFM_GIT_PATH: { key: 'gitPath', schema: gitChecked((v) => checkRepositoryPath(v, 'DFM_GIT_PATH')).default('pipelines'), doc: 'The pipelines folder inside the repository (`.` for its root). Default `pipelines`.' },
  DFM_GIT_CACHE_DIR: { key: 'gitCacheDir', schema: z.string().trim().min(1).optional(), doc: 'Where the bare mirrors of synced repositories are kept and reused between syncs. Default `DFM_DATA_DIR/git`.' },
  DFM_GIT_TIMEOUT_MS: { key: 'gitTimeoutMs', schema: positiveInt('DFM_GIT_TIMEOUT_MS').default(120000), doc: 'Longest a git command of a sync may run (fetch included) before it is killed and the sync fails, in ms. Default 120000.' },
  DFM_SYNC_INTERVAL_MS: { key: 'syncIntervalMs', schema: nonNegativeInt('DFM_SYNC_INTERVAL_MS').default(60000), doc: 'How often each Git source is polled for a new head, the safety net for a lost webhook, in ms; 0 turns polling off. Default 60000.' },
  DFM_SYNC_MAX_PRUNE: { key: 'syncMaxPrune', schema: fraction('DFM_SYNC_MAX_PRUNE').default(0.5), doc: "A Git sync that would pause more than this fraction of a source's active pipelines (and always one that would pause all of them) is held until `dfm sync --confirm <sha>`; local mode applies deletions at once. Default 0.5." },
  DFM_SYNC_SECRET: { key: 'syncSecret', schema: z.string().min(16, 'DFM_SYNC_SECRET must be at least 16 characters').optional(), doc: 'Secret of the generic sync webhook `POST /api/sync` (header `X-Dfm-Signature-256: sha256=<HMAC SHA-256 of the raw body>`). Unset: that endpoint answers 404.' },
  DFM_PIPELINES_WATCH: { key: 'pipelinesWatch', schema: booleanFlag.default(true), doc: 'Local mode: re-sync when files in DFM_PIPELINES_DIR change. Default true.' },
  APP_ID: { schema: positiveInt('APP_ID').optional(), doc: 'GitHub App id. GitHub integration is off until APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET are set.' },
  PRIVATE_KEY: { schema: z.string().min(1).optional(), doc: 'GitHub App private key (PEM; `\\n` escapes are accepted, as probot does).' },
  PRIVATE_KEY_PATH: { schema: z.string().trim().min(1).optional(), doc: 'A file holding the GitHub App private key, instead of PRIVATE_KEY.' },
  WEBHOOK_SECRET: { schema: z.string().min(1).optional(), doc: 'GitHub webhook secret (HMAC SHA-256), checked on `/api/github/webhooks`.' },
  GITHUB_API_URL: { schema: z.string().trim().url('GITHUB_API_URL must be a URL such as https://github.example.com/api/v3').transform((u) => u.replace(/\/+$/, '')).default('https://api.github.com'), doc: 'GitHub REST API base URL (GitHub Enterprise Server: https://<host>/api/v3). Default https://api.github.com.' },
  DFM_GITHUB_THROTTLE: { schema: booleanFlag.default(true), doc: "Pace GitHub API writes as GitHub's secondary rate limits ask (octokit's throttling: about one write a second, comments one every 3 s). Default true; false only against a test stand-in." },
  DFM_OUTBOX_CONCURRENCY: { key: 'outboxConcurrency', schema: positiveInt('DFM_OUTBOX_CONCURRENCY').default(32), doc: 'Report targets (GitHub repositories, Slack channels) one process delivers to at once; each target gets its reports in order, one at a time. Default 32 (GitHub allows 100 concurrent requests; throttling paces the writes).' },
  DFM_OUTBOX_RETRY_BASE_MS: { key: 'outboxRetryBaseMs', schema: positiveInt('DFM_OUTBOX_RETRY_BASE_MS').default(1000), doc: "Backoff before a failed report's first retry, doubled with each attempt up to 5 minutes (25 attempts, then the report is recorded failed), in ms. Default 1000." },
  DFM_API_TOKENS: { schema: z.string().optional(), doc: 'Tokens of the run API (`/api/pipelines/<id>/runs`, `/api/runs/<id>…`): comma-separated `<name>:<token>:<pipelines>`, pipelines `*` or ids separated by `|`, e.g. `ci:<32 random characters>:orders-hourly|orders-daily`. The name is recorded in the audit trail as `token:<name>`; the token is 16–512 characters of letters, digits and `-._~+/=`. Unset: the run API refuses every state-changing call.' },
  DFM_HOOKS_BODY_LIMIT_BYTES: { key: 'hooksBodyLimitBytes', schema: positiveInt('DFM_HOOKS_BODY_LIMIT_BYTES').default(1_048_576), doc: 'Largest body `POST /api/hooks/<pipeline>` and the run API accept (413 above it), in bytes. Default 1048576 (1 MB).' },
  DFM_HOOKS_PIPELINE_RATE: { key: 'hooksPipelineRate', schema: positiveInt('DFM_HOOKS_PIPELINE_RATE').default(50), doc: 'Runs per second one process lets webhooks and the run API start for one pipeline, with bursts of twice as many (a token bucket in memory); beyond it 429 with Retry-After. Default 50.' },
  DFM_API_TOKEN_RATE: { key: 'apiTokenRate', schema: positiveInt('DFM_API_TOKEN_RATE').default(20), doc: 'Requests per second one process accepts from one API token, with bursts of twice as many; beyond it 429 with Retry-After. Default 20.' },
  DFM_MAX_QUEUED_RUNS: { key: 'maxQueuedRuns', schema: positiveInt('DFM_MAX_QUEUED_RUNS').default(1000), doc: 'Queued runs one pipeline may have before webhooks and the run API are refused with 429 (so a flood cannot fill the database); schedules and the CLI are not limited. Default 1000.' },
  SLACK_BOT_TOKEN: { schema: z.string().min(1).optional(), doc: 'Slack bot token (xoxb-…). Slack is off until SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set.' },
  SLACK_SIGNING_SECRET: { schema: z.string().min(1).optional(), doc: 'Slack signing secret.' },
  SLACK_API_URL: { schema: z.string().trim().url('SLACK_API_URL must be a URL such as https://slack.com/api/').transform((u) => u.replace(/\/*$/, '/')).default('https://slack.com/api/'), doc: 'Slack Web API base URL (a test stand-in). Default https://slack.com/api/.' },
  DFM_SLACK_DEFAULT_CHANNEL: { schema: z.string().trim().regex(/^#?[A-Za-z0-9._-]{1,80}$/, 'DFM_SLACK_DEFAULT_CHANNEL must be a channel name (#data-alerts) or id').optional(), doc: "Channel for run messages of pipelines whose `notify` names no `slack` channel. Unset: those pipelines' messages are not sent (recorded failed in the outbox)." },
  DFM_SLACK_ALLOW: { schema: z.string().optional(), doc: 'Who may run, cancel, retry, pause and unpause (and read) from Slack, commands and buttons, by Slack ids: rules `<team_id>/<user_id>=<actions>[@<pipelines>]` separated by `;`, e.g. `T024BE7LD/U0G9QF9C6=run,retry@orders-*;T024BE7LD/*=retry`; user `*` is the whole team, actions `*` all of them, no `@` every pipeline. Action `read` matters only with DFM_SLACK_READ=allowed. Unset: nobody may change anything from Slack.' },
  DFM_SLACK_READ: { schema: z.enum(['open', 'allowed'], { error: 'DFM_SLACK_READ must be open or allowed' }).default('open'), doc: 'Who may use the read-only commands (list, status, logs): open (anyone in the workspace) or allowed (a DFM_SLACK_ALLOW rule with `read`, or `*`, for the pipeline; `list` shows only those). Default open.' },
} as const;

type Variables = typeof variables;
type Parsed = { [K in keyof Variables]: z.output<Variables[K]['schema']> };
type Frozen<T> = T extends readonly (infer U)[] ? readonly U[] : T;
/** The Config fields the table gives: one per variable with a `key`. */
type KeyedFields = {
  readonly [N in keyof Variables as Variables[N] extends { readonly key: infer K extends string } ? K : never]: Frozen<Parsed[N]>;
};

/** Named connections: `DFM_POSTGRES_<NAME>_URL` and `DFM_KAFKA_<NAME>_BROKERS`; `default` is DATABASE_URL / KAFKA_BROKERS. */
const POSTGRES_CONNECTION = /^DFM_POSTGRES_([A-Z0-9_]+)_URL$/;
const KAFKA_CONNECTION = /^DFM_KAFKA_([A-Z0-9_]+)_BROKERS$/;
/** Webhook secrets: `webhook: { secret: orders }` reads DFM_WEBHOOK_SECRET_ORDERS. */
const WEBHOOK_SECRET = /^DFM_WEBHOOK_SECRET_([A-Z][A-Z0-9_]*)$/;
export const webhookSecretVariable = (name: string): string => `DFM_WEBHOOK_SECRET_${name.toUpperCase()}`;

export interface Config extends KeyedFields {
  /** DFM_SHUTDOWN_TIMEOUT_MS, whose default depends on DFM_SHUTDOWN_GRACE_MS. */
  readonly shutdownTimeoutMs: number;
  /** Extra named Postgres connections for tasks (`connection: warehouse` → DFM_POSTGRES_WAREHOUSE_URL). */
  readonly postgresConnections: Readonly<Record<string, string>>;
  /** Extra named Kafka clusters for tasks (`connection: events` → DFM_KAFKA_EVENTS_BROKERS). */
  readonly kafkaConnections: Readonly<Record<string, readonly string[]>>;
  readonly github: { readonly appId: number; readonly privateKey: string; readonly webhookSecret: string; readonly apiUrl: string; readonly throttle: boolean } | undefined;
  /** DFM_GIT_URL, checked against DFM_GIT_PROTOCOLS. */
  readonly gitUrl: CheckedGitUrl | undefined;
  readonly slack: SlackConfig | undefined;
  /** DFM_API_TOKENS: the run API's tokens with the pipelines each may act on. */
  readonly apiTokens: readonly ApiToken[];
  /** Webhook trigger secrets by name (lower case): DFM_WEBHOOK_SECRET_<NAME>. */
  readonly webhookSecrets: Readonly<Record<string, string>>;
}

export interface SlackConfig {
  readonly botToken: string;
  readonly signingSecret: string;
  /** SLACK_API_URL, ending in `/`. */
  readonly apiUrl: string;
  readonly defaultChannel: string | undefined;
  readonly allow: readonly SlackAllowRule[];
  /** DFM_SLACK_READ. */
  readonly read: 'open' | 'allowed';
}

/** `readFile` is injected so the function stays pure in tests (PRIVATE_KEY_PATH). */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, readFile: (path: string) => string = readFileSync): Config {
  const problems: string[] = [];
  const parsed: Partial<Record<keyof Variables, unknown>> = {};
  for (const [name, { schema }] of Object.entries(variables) as [keyof Variables, Variables[keyof Variables]][]) {
    const raw = env[name];
    const result = (schema as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (result.success) parsed[name] = result.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  }

  const postgresConnections: Record<string, string> = {};
  const kafkaConnections: Record<string, string[]> = {};
  const webhookSecrets: Record<string, string> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    const secret = WEBHOOK_SECRET.exec(name);
    if (secret?.[1]) {
      if (raw.length < 16) problems.push(`${name}: a webhook secret must be at least 16 characters`);
      else webhookSecrets[secret[1].toLowerCase()] = raw;
    }
    const pg = POSTGRES_CONNECTION.exec(name);
    if (pg?.[1]) {
      const result = postgresUrl(name).safeParse(raw);
      if (result.success) postgresConnections[pg[1].toLowerCase()] = result.data;
      else problems.push(`${name}: ${result.error.issues.map((i) => i.message).join('; ')}`);
    }
    const kafka = KAFKA_CONNECTION.exec(name);
    if (kafka?.[1]) {
      const result = brokerList(name).safeParse(raw);
      if (result.success) kafkaConnections[kafka[1].toLowerCase()] = result.data;
      else problems.push(`${name}: ${result.error.issues.map((i) => i.message).join('; ')}`);
    }
  }

  const p = parsed as Parsed;
  let privateKey = p.PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (p.PRIVATE_KEY_PATH !== undefined) {
    if (privateKey !== undefined) problems.push('PRIVATE_KEY and PRIVATE_KEY_PATH are both set; keep one');
    else {
      try {
        privateKey = readFile(p.PRIVATE_KEY_PATH);
      } catch (error) {
        problems.push(`PRIVATE_KEY_PATH=${JSON.stringify(p.PRIVATE_KEY_PATH)}: cannot read the file (${(error as Error).message})`);
      }
    }
  }
  if (privateKey !== undefined && !/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/.test(privateKey)) {
    problems.push('PRIVATE_KEY: not a PEM private key; paste the .pem file GitHub generated for the App (it starts with -----BEGIN RSA PRIVATE KEY-----)');
  }
  const githubSet = [p.APP_ID, privateKey, p.WEBHOOK_SECRET].filter((v) => v !== undefined).length;
  if (githubSet > 0 && githubSet < 3) {
    problems.push('GitHub integration needs all of APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET; set the missing ones or unset all three');
  }
  let gitUrl: CheckedGitUrl | undefined;
  if (p.DFM_GIT_URL !== undefined) {
    try {
      gitUrl = checkGitUrl(p.DFM_GIT_URL, p.DFM_GIT_PROTOCOLS ?? GIT_PROTOCOLS, 'DFM_GIT_URL');
    } catch (error) {
      problems.push(`DFM_GIT_URL: ${(error as Error).message}`);
    }
  }
  const apiTokens = p.DFM_API_TOKENS === undefined ? { tokens: [], problems: [] } : parseApiTokens(p.DFM_API_TOKENS);
  problems.push(...apiTokens.problems.map((m) => `DFM_API_TOKENS: ${m}`));
  const slackSet = [p.SLACK_BOT_TOKEN, p.SLACK_SIGNING_SECRET].filter((v) => v !== undefined).length;
  if (slackSet === 1) {
    problems.push('Slack integration needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; set the missing one or unset both');
  }
  let slackAllow: SlackAllowRule[] = [];
  if (p.DFM_SLACK_ALLOW !== undefined) {
    const allow = parseSlackAllow(p.DFM_SLACK_ALLOW);
    if ('problems' in allow) problems.push(...allow.problems.map((m) => `DFM_SLACK_ALLOW: ${m}`));
    else slackAllow = allow.rules;
  }
  if (problems.length > 0) {
    throw new DfmError(
      'CONFIG_INVALID',
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((m) => `  - ${m}`).join('\n')}\nFix these environment variables and start dfm again (the README lists every variable).`,
      { details: { problems } },
    );
  }

  const keyed: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(variables) as [keyof Variables, Variables[keyof Variables]][]) {
    if (!('key' in variable)) continue;
    const value = p[name];
    keyed[variable.key] = Array.isArray(value) ? Object.freeze(value) : value;
  }
  return Object.freeze({
    ...(keyed as unknown as KeyedFields),
    // The grace for in-flight task runs, then 30 s for releasing them and stopping servers, pools
    // and the local services (a local broker's controlled shutdown measured 2–6 s here).
    shutdownTimeoutMs: p.DFM_SHUTDOWN_TIMEOUT_MS ?? p.DFM_SHUTDOWN_GRACE_MS + 30_000,
    postgresConnections: Object.freeze(postgresConnections),
    kafkaConnections: Object.freeze(kafkaConnections),
    github: p.APP_ID !== undefined && privateKey !== undefined && p.WEBHOOK_SECRET !== undefined
      ? Object.freeze({ appId: p.APP_ID, privateKey, webhookSecret: p.WEBHOOK_SECRET, apiUrl: p.GITHUB_API_URL, throttle: p.DFM_GITHUB_THROTTLE })
      : undefined,
    gitUrl: gitUrl === undefined ? undefined : Object.freeze(gitUrl),
    slack: p.SLACK_BOT_TOKEN !== undefined && p.SLACK_SIGNING_SECRET !== undefined
      ? Object.freeze({ botToken: p.SLACK_BOT_TOKEN, signingSecret: p.SLACK_SIGNING_SECRET, apiUrl: p.SLACK_API_URL, defaultChannel: p.DFM_SLACK_DEFAULT_CHANNEL, allow: Object.freeze(slackAllow), read: p.DFM_SLACK_READ })
      : undefined,
    apiTokens: Object.freeze(apiTokens.tokens.map((t) => Object.freeze(t))),
    webhookSecrets: Object.freeze(webhookSecrets),
  });
}
