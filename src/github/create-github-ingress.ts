/**
 * `/api/github/webhooks`: the GitHub App's webhook ingress. It checks what probot's middleware
 * checked, with the same status codes (415 not `application/json`, 400 a required header missing,
 * 400 a signature that does not match, 400 a body that is not JSON), verifies
 * X-Hub-Signature-256 over the raw bytes in constant time before anything reads them, records the
 * delivery and its job in one statement (record-delivery.ts), answers 200 once that committed, and
 * then wakes a worker. The work happens on a worker.
 * Why not probot's middleware any more (probot stays the App: installation tokens, Octokit): before
 * calling our handler its webhook transform built an authenticated Octokit for every event, which
 * the ingress never uses, and it parsed the payload we then serialised again for the job. Under
 * autocannon (bench/sync-ack-profile.ts) the transform alone was ~9 % of the process's CPU and the
 * ingress reached 0.15–0.17× a bare node:http server's deliveries/s (bench/sync.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Router, type Response } from 'express';
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { readRawBody } from '../lib/read-raw-body.js';
import { verifySignature } from '../lib/verify-signature.js';
import type { JobNotifier } from '../jobs/create-job-notifier.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { GITHUB_EVENT_JOB, createDeliveryRecorder, isInvalidJsonError } from './record-delivery.js';
import { HANDLED_EVENTS } from './handle-github-event.js';

export const GITHUB_WEBHOOKS_PATH = '/api/github/webhooks';

/** GitHub caps webhook payloads at 25 MB (it does not send larger ones). */
const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;
const APPLICATION_JSON = /^\s*application\/json\s*(?:;|$)/i;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'] as const;

export function createGitHubIngress(options: { webhookSecret: string; pool: pg.Pool; notifier: JobNotifier; logger: Logger; metrics: Metrics }): Router {
  const { webhookSecret, pool, notifier, logger, metrics } = options;
  const router = Router();
  const recorder = createDeliveryRecorder(pool);

  router.post(GITHUB_WEBHOOKS_PATH, async (req, res) => {
    const refuse = (status: number, code: string, message: string) => {
      const event = headerOf(req.headers, 'x-github-event')?.slice(0, 40) ?? 'unknown';
      metrics.webhookDeliveries.inc({ event, outcome: 'rejected' });
      logger.warn({ status, code, delivery: headerOf(req.headers, 'x-github-delivery'), event }, `GitHub webhook refused: ${message}`);
      res.status(status).json({ error: { code, message } });
    };
    if (!APPLICATION_JSON.test(req.headers['content-type'] ?? '')) {
      refuse(415, 'CONTENT_TYPE_UNSUPPORTED', 'The webhook must be sent as application/json: set the App\'s webhook content type to application/json.');
      return;
    }
    const missing = REQUIRED_HEADERS.filter((name) => headerOf(req.headers, name) === undefined);
    if (missing.length > 0) {
      refuse(400, 'HEADERS_MISSING', `Required headers missing: ${missing.join(', ')}.`);
      return;
    }
    const body = await readRawBody(req, MAX_PAYLOAD_BYTES);
    if (body === undefined) {
      refuse(413, 'PAYLOAD_TOO_LARGE', `The payload is larger than GitHub's 25 MB limit.`);
      return;
    }
    if (!verifySignature(webhookSecret, body, headerOf(req.headers, 'x-hub-signature-256'), { prefix: 'required' })) {
      refuse(400, 'SIGNATURE_INVALID', 'X-Hub-Signature-256 does not match the payload: check that the App\'s webhook secret matches WEBHOOK_SECRET.');
      return;
    }
    const id = headerOf(req.headers, 'x-github-delivery')!;
    const event = headerOf(req.headers, 'x-github-event')!;
    let outcome;
    try {
      outcome = await recorder.record({ id, event, body: body.toString('utf8') }, HANDLED_EVENTS.has(event));
    } catch (error) {
      if (!isInvalidJsonError(error)) throw error;
      refuse(400, 'PAYLOAD_INVALID', 'The payload is not JSON.');
      return;
    }
    if (outcome === 'queued') notifier.notify(GITHUB_EVENT_JOB);
    metrics.webhookDeliveries.inc({ event, outcome });
    // Debug, not info: a line per delivery cost the ingress a write per request, and the worker
    // logs each handled delivery with its id and result ("GitHub <event> delivery handled").
    logger.debug({ delivery: id, event, outcome }, `GitHub ${event} delivery ${outcome}`);
    answerOk(res);
  });

  return router;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** What probot answered: 200 `ok`. */
function answerOk(res: Response): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' }).end('ok\n');
}
