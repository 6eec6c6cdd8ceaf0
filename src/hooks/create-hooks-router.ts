/**
 * Webhook control (role `hooks`):
 * - `POST /api/hooks/<pipeline>`: a pipeline's webhook trigger. The credentials (signature over
 *   "<timestamp>.<raw body>", or a bearer token) are checked on the raw bytes, in constant time,
 *   before the body is parsed; the run is created in the request's transaction and the answer is
 *   202 with its id and dashboard URL; the workers execute it.
 * - the run API for scripts, with DFM_API_TOKENS: `POST /api/pipelines/<id>/runs`,
 *   `GET /api/runs/<id>`, `POST /api/runs/<id>/cancel`, `POST /api/runs/<id>/retry`,
 *   `GET /api/runs/<id>/events` (server-sent events until the run ends).
 * The handlers only check, then call the run lifecycle (runs/); every state change is audited in
 * its own transaction, with `token:<name>` (API) or `webhook:<secret name>` (webhooks).
 *
 * Probing: a pipeline that does not exist, and one without a webhook trigger, get the same 404 as
 * any unknown path; a webhook pipeline with wrong credentials gets a bare 401. Refusals create
 * nothing and are not audited (a flood of forged requests must not fill the audit table).
 */
import { timingSafeEqual } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type pg from 'pg';
import { recordAudit } from '../audit/record-audit.js';
import { webhookSecretVariable, type Config } from '../config/load-config.js';
import { mayActOn, type ApiToken } from '../config/parse-api-tokens.js';
import { DfmError, isDfmError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { WebhookTrigger } from '../pipeline/pipeline-schema.js';
import { cancelRun } from '../runs/cancel-run.js';
import { getRunStatus } from '../runs/get-run-status.js';
import { loadActivePipeline, type ActivePipeline } from '../runs/load-active-pipeline.js';
import { retryRun } from '../runs/retry-run.js';
import type { RunEventHub } from '../runs/run-event-hub.js';
import type { RunOutcome, RunRequest } from '../runs/trigger-run.js';
import { batchRunRequests } from './batch-run-requests.js';
import { limitConcurrency } from './limit-concurrency.js';
import { parseRawBody } from './parse-raw-body.js';
import { rememberBriefly } from './remember-briefly.js';
import { streamRunEvents } from './stream-run-events.js';
import { createTokenBuckets } from './token-bucket.js';
import { bearerToken, digest, verifyBearer, verifyHookSignature } from './verify-hook-request.js';

export interface HooksRouterOptions {
  readonly pool: pg.Pool;
  readonly config: Config;
  readonly logger: Logger;
  readonly runEvents: RunEventHub;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

/** Seconds a caller refused for a full queue should wait: runs start within a poll or two. */
const QUEUE_FULL_RETRY_AFTER_S = 5;
/** How long the ingress trusts a pipeline definition it read (the run's transaction reads it again), in ms. */
const DEFINITION_TTL_MS = 1000;
/** How long a pipeline found at DFM_MAX_QUEUED_RUNS is refused without asking the database, in ms. */
const FULL_QUEUE_TTL_MS = 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

const UNAUTHORIZED = { error: { code: 'UNAUTHORIZED', message: '401 Unauthorized' } };

export function createHooksRouter(options: HooksRouterOptions): Router {
  const { pool, config, logger } = options;
  const now = options.now ?? Date.now;
  const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const pipelineBuckets = createTokenBuckets({ ratePerSecond: config.hooksPipelineRate, burst: config.hooksPipelineRate * 2 });
  const tokenBuckets = createTokenBuckets({ ratePerSecond: config.apiTokenRate, burst: config.apiTokenRate * 2 });
  const tokenDigests = config.apiTokens.map((token) => ({ token, digest: digest(token.token) }));
  const router = Router();
  const rawBody = parseRawBody(config.hooksBodyLimitBytes);
  // Both memos make a flood cheap: no database round trip to refuse a forged delivery, one for an
  // unknown pipeline or one for a full queue. Measured on the 2-core machine (load 9): 2,000
  // deliveries took 21 s and /healthz peaked at 336 ms with a lookup and a transaction per refusal.
  const definitions = rememberBriefly<ActivePipeline | null>(DEFINITION_TTL_MS);
  const fullQueues = rememberBriefly<true>(FULL_QUEUE_TTL_MS);
  // A third of the pool (at least 2), split between run transactions and definition lookups; the
  // rest stays free for /healthz, claims and heartbeats. Run transactions wait their turn (at most
  // one per pipeline, batch-run-requests.ts); definition lookups past 1,000 waiting are refused (429).
  const share = Math.max(2, Math.floor((pool.options.max ?? 10) / 3));
  const lookups = limitConcurrency(Math.floor(share / 2), 1000);
  const batcher = batchRunRequests({ pool, gate: limitConcurrency(share - Math.floor(share / 2), Number.POSITIVE_INFINITY) });

  const notFound = (req: Request, res: Response) => res.status(404).json({ error: { code: 'NOT_FOUND', message: `No API route ${req.method} ${req.originalUrl}.` } });
  const tooMany = (res: Response, retryAfterS: number, message: string) => res.status(429).set('retry-after', String(retryAfterS)).json({ error: { code: 'RATE_LIMITED', message } });
  const accepted = (res: Response, pipelineId: string, run: { runId: number; created: boolean }) =>
    res.status(202).json({ run: { id: run.runId, pipeline: pipelineId, url: `${publicUrl}/runs/${run.runId}`, created: run.created } });

  /** Lifecycle refusals as HTTP; anything else goes to the app's JSON 500. */
  const refuse = (res: Response, error: unknown): boolean => {
    if (!isDfmError(error)) return false;
    const status = { PIPELINE_UNKNOWN: 404, RUN_UNKNOWN: 404, PIPELINE_PAUSED: 409, RUN_FINISHED: 409, RUN_SUCCEEDED: 409, RUN_NOT_FINISHED: 409, RUN_NOTHING_TO_RETRY: 409, RUN_PARAMS_INVALID: 422, RUN_QUEUE_FULL: 429 }[error.code];
    if (status === undefined) return false;
    if (status === 429) res.set('retry-after', String(QUEUE_FULL_RETRY_AFTER_S));
    const problems = error.details?.problems;
    res.status(status).json({ error: { code: error.code, message: error.message, ...(Array.isArray(problems) ? { problems } : {}) } });
    return true;
  };

  router.post('/api/hooks/:pipeline', rawBody, async (req, res) => {
    res.on('finish', () => {
      const outcome = res.statusCode === 202 ? (res.locals.duplicate === true ? 'duplicate' : 'queued') : res.statusCode === 401 ? 'rejected' : 'refused';
      options.metrics?.webhookDeliveries.inc({ event: 'hook', outcome });
    });
    await receiveHook(req, res);
  });

  /** Sends the outcome of a run request: 202, or the refusal of this request or of its pipeline. */
  const requestRun = async (res: Response, pipelineId: string, request: RunRequest): Promise<void> => {
    let outcome: RunOutcome | 'busy';
    try {
      outcome = await batcher.submit(pipelineId, request);
    } catch (error) {
      if (!refuse(res, error)) throw error;
      return;
    }
    if (outcome === 'busy') tooMany(res, 1, `Too many requests for "${pipelineId}" are waiting; retry after 1 s.`);
    else if ('error' in outcome) {
      if (outcome.error.code === 'RUN_QUEUE_FULL') fullQueues.set(pipelineId, true, now());
      if (!refuse(res, outcome.error)) throw outcome.error;
    } else {
      res.locals.duplicate = !outcome.created;
      accepted(res, pipelineId, outcome);
    }
  };

  const receiveHook = async (req: Request, res: Response): Promise<void> => {
    const pipelineId = String(req.params.pipeline);
    let known = definitions.get(pipelineId, now());
    if (known === undefined) {
      const read = await lookups.run(() =>
        loadActivePipeline(pool, pipelineId).catch((error: unknown) => {
          if (isDfmError(error) && error.code === 'PIPELINE_UNKNOWN') return null;
          throw error;
        }),
      );
      if (read === undefined) {
        tooMany(res, 1, 'dfm is busy with other deliveries; retry after 1 s.');
        return;
      }
      definitions.set(pipelineId, read, now());
      known = read;
    }
    const active = known ?? undefined;
    const trigger = active?.pipeline.triggers.find((t): t is WebhookTrigger => t.type === 'webhook');
    const secret = trigger === undefined ? undefined : config.webhookSecrets[trigger.secret];
    if (active === undefined || trigger === undefined || secret === undefined) {
      if (trigger !== undefined) logger.error({ pipeline: pipelineId }, `webhook of ${pipelineId} refused: set ${webhookSecretVariable(trigger.secret)}`);
      notFound(req, res);
      return;
    }
    const body = req.body as Buffer;
    const authorized = trigger.auth === 'bearer'
      ? verifyBearer(secret, req.get('authorization'))
      : verifyHookSignature(secret, body, { timestamp: req.get('x-dfm-timestamp'), signature: req.get('x-dfm-signature-256') }, now());
    if (!authorized) {
      res.status(401).json(UNAUTHORIZED);
      return;
    }
    const parsed = parseJsonObject(body);
    if (typeof parsed === 'string') {
      res.status(parsed.startsWith('The body is not JSON') ? 400 : 422).json({ error: { code: 'BODY_INVALID', message: parsed } });
      return;
    }
    const { [trigger.idempotencyField ?? '\0']: fieldKey, ...params } = parsed;
    const key = req.get('idempotency-key') ?? (typeof fieldKey === 'string' || typeof fieldKey === 'number' ? String(fieldKey) : undefined);
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      res.status(400).json({ error: { code: 'IDEMPOTENCY_KEY_INVALID', message: 'Idempotency-Key must be 1–200 printable ASCII characters.' } });
      return;
    }
    const rate = pipelineBuckets.take(pipelineId, now());
    if (!rate.allowed) {
      tooMany(res, rate.retryAfterS, `Too many runs requested for "${pipelineId}" (DFM_HOOKS_PIPELINE_RATE per second); retry after ${rate.retryAfterS} s.`);
      return;
    }
    // A repeat (Idempotency-Key) must still find its run, so only deliveries without a key are refused from memory.
    if (key === undefined && fullQueues.get(pipelineId, now())) {
      refuse(res, queueFull(pipelineId, config.maxQueuedRuns));
      return;
    }
    await requestRun(res, pipelineId, {
      params,
      trigger: 'webhook',
      triggerBody: parsed,
      requestedBy: `webhook:${trigger.secret}`,
      maxQueuedRuns: config.maxQueuedRuns,
      ...(key === undefined ? {} : { dedupeKey: `webhook:${key}` }),
      audit: { actor: `webhook:${trigger.secret}`, via: 'webhook', detail: key === undefined ? {} : { idempotencyKey: key } },
    });
  };

  /** The API token of the request, or a 401 sent. */
  const authenticate = (req: Request, res: Response): ApiToken | undefined => {
    const given = bearerToken(req.get('authorization'));
    const found = given === undefined ? undefined : findToken(tokenDigests, digest(given));
    if (found === undefined) {
      res.status(401).json(UNAUTHORIZED);
      return undefined;
    }
    const rate = tokenBuckets.take(found.name, now());
    if (!rate.allowed) {
      tooMany(res, rate.retryAfterS, `Too many requests with token "${found.name}" (DFM_API_TOKEN_RATE per second); retry after ${rate.retryAfterS} s.`);
      return undefined;
    }
    return found;
  };
  /** Reads are open when DFM_DASHBOARD_AUTH=open (as the dashboard is); a token that is sent must be valid. */
  const reader = (req: Request, res: Response): { token: ApiToken | undefined } | undefined => {
    if (config.dashboardAuth === 'open' && req.get('authorization') === undefined) return { token: undefined };
    const token = authenticate(req, res);
    return token === undefined ? undefined : { token };
  };
  const runId = (req: Request): number | undefined => {
    const id = Number(req.params.id);
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  };
  const runUnknown = (res: Response, id: unknown) => res.status(404).json({ error: { code: 'RUN_UNKNOWN', message: `No run ${String(id)}.` } });
  /** The run's pipeline when the token may act on it; otherwise a 404 (no probing of other pipelines' runs). */
  const pipelineOfRun = async (id: number, token: ApiToken | undefined): Promise<string | undefined> => {
    const { rows } = await pool.query<{ pipeline_id: string }>('select pipeline_id from dfm.run where id = $1', [id]);
    const pipelineId = rows[0]?.pipeline_id;
    return pipelineId !== undefined && (token === undefined || mayActOn(token, pipelineId)) ? pipelineId : undefined;
  };

  router.post('/api/pipelines/:id/runs', rawBody, async (req, res) => {
    const token = authenticate(req, res);
    if (token === undefined) return;
    const pipelineId = String(req.params.id);
    if (!mayActOn(token, pipelineId)) {
      notFound(req, res);
      return;
    }
    const parsed = parseJsonObject(req.body as Buffer);
    if (typeof parsed === 'string') {
      res.status(parsed.startsWith('The body is not JSON') ? 400 : 422).json({ error: { code: 'BODY_INVALID', message: parsed } });
      return;
    }
    const params = parsed.params ?? {};
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      res.status(422).json({ error: { code: 'BODY_INVALID', message: '"params" must be a JSON object of param names to values.' } });
      return;
    }
    const key = req.get('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      res.status(400).json({ error: { code: 'IDEMPOTENCY_KEY_INVALID', message: 'Idempotency-Key must be 1–200 printable ASCII characters.' } });
      return;
    }
    const rate = pipelineBuckets.take(pipelineId, now());
    if (!rate.allowed) {
      tooMany(res, rate.retryAfterS, `Too many runs requested for "${pipelineId}" (DFM_HOOKS_PIPELINE_RATE per second); retry after ${rate.retryAfterS} s.`);
      return;
    }
    await requestRun(res, pipelineId, {
      params: params as Record<string, unknown>,
      trigger: 'api',
      requestedBy: `token:${token.name}`,
      maxQueuedRuns: config.maxQueuedRuns,
      ...(key === undefined ? {} : { dedupeKey: `api:${key}` }),
      audit: { actor: `token:${token.name}`, via: 'api' },
    });
  });

  router.get('/api/runs/:id', async (req, res) => {
    const access = reader(req, res);
    if (access === undefined) return;
    const id = runId(req);
    const status = id === undefined ? undefined : await getRunStatus(pool, id);
    if (status === undefined || (access.token !== undefined && !mayActOn(access.token, status.pipelineId))) {
      runUnknown(res, req.params.id);
      return;
    }
    res.json({ run: { ...status, url: `${publicUrl}/runs/${status.id}` } });
  });

  router.get('/api/runs/:id/events', async (req, res) => {
    const access = reader(req, res);
    if (access === undefined) return;
    const id = runId(req);
    if (id === undefined) {
      runUnknown(res, req.params.id);
      return;
    }
    await streamRunEvents(req, res, { pool, runEvents: options.runEvents, runId: id, authorize: (status) => access.token === undefined || mayActOn(access.token, status.pipelineId) });
  });

  /** The token and the run a state-changing run call names (its pipeline one the token may act on); undefined once answered. */
  const runActedOn = async (req: Request, res: Response) => {
    const token = authenticate(req, res);
    if (token === undefined) return undefined;
    const id = runId(req);
    const pipelineId = id === undefined ? undefined : await pipelineOfRun(id, token);
    if (id === undefined || pipelineId === undefined) {
      runUnknown(res, req.params['id']);
      return undefined;
    }
    return { token, id, pipelineId };
  };

  router.post('/api/runs/:id/cancel', async (req, res) => {
    const target = await runActedOn(req, res);
    if (target === undefined) return;
    const { token, id, pipelineId } = target;
    try {
      const result = await cancelRun(pool, id, `token:${token.name}`, (client) =>
        recordAudit(client, { actor: `token:${token.name}`, via: 'api', action: 'run.cancel', target: `run:${id}`, outcome: 'ok', detail: { pipeline: pipelineId } }).then(() => undefined),
      );
      res.json({ run: { id, pipeline: pipelineId, state: 'cancelled', cancelledTasks: result.cancelledTasks } });
    } catch (error) {
      if (!refuse(res, error)) throw error;
    }
  });

  router.post('/api/runs/:id/retry', async (req, res) => {
    const target = await runActedOn(req, res);
    if (target === undefined) return;
    const { token, id, pipelineId } = target;
    try {
      const retried = await retryRun(pool, id, (client, r) =>
        recordAudit(client, { actor: `token:${token.name}`, via: 'api', action: 'run.retry', target: `run:${id}`, outcome: 'ok', detail: { pipeline: pipelineId, tasks: r.tasks } }).then(() => undefined),
      );
      res.status(202).json({ run: { id, pipeline: pipelineId, tasks: retried.tasks, started: retried.started, url: `${publicUrl}/runs/${id}` } });
    } catch (error) {
      if (!refuse(res, error)) throw error;
    }
  });

  return router;
}

function queueFull(pipelineId: string, max: number): DfmError {
  return new DfmError('RUN_QUEUE_FULL', `Pipeline "${pipelineId}" already has ${max} queued runs (DFM_MAX_QUEUED_RUNS); try again once some have started.`, { retryable: true });
}

/** Compares against every token, whatever matches first, so the time does not say which one. */
function findToken(tokens: readonly { token: ApiToken; digest: Buffer }[], given: Buffer): ApiToken | undefined {
  let found: ApiToken | undefined;
  for (const candidate of tokens) if (timingSafeEqual(candidate.digest, given) && found === undefined) found = candidate.token;
  return found;
}

/** An empty body is `{}`; otherwise a JSON object, or the message saying what is wrong. */
function parseJsonObject(body: Buffer): Record<string, unknown> | string {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body is not JSON; send a JSON object whose fields are the run\'s params.';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'The body must be a JSON object whose fields are the run\'s params.';
  return parsed as Record<string, unknown>;
}
