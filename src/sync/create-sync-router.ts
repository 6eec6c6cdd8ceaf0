/**
 * The sync's HTTP surface:
 * - `GET /api/sync`: each source's status (get-sync-status.ts); behind the admin token when
 *   DFM_DASHBOARD_AUTH=required.
 * - `POST /api/sync`: the generic signed webhook for GitLab, Gitea, Bitbucket or a CI job. The
 *   signature (`X-Dfm-Signature-256`, or `X-Hub-Signature-256` as Gitea and Forgejo send it:
 *   `sha256=<hex HMAC SHA-256 of the raw body with DFM_SYNC_SECRET>`) is checked on the raw bytes,
 *   in constant time, before the body is read. The body may name `source` and a commit (`sha`, or
 *   a push payload's `after` / `checkout_sha`); the answer is 202 with the queued jobs.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { Router, type Request } from 'express';
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { verifySignature } from '../lib/verify-signature.js';
import { requestSyncOfSources } from './request-sync.js';
import { getSyncStatus } from './get-sync-status.js';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function createSyncRouter(options: { pool: pg.Pool; config: Config; logger: Logger; metrics: Metrics }): Router {
  const { pool, config, logger, metrics } = options;
  const router = Router();

  router.get('/api/sync', async (req, res) => {
    if (config.dashboardAuth === 'required' && !hasAdminToken(req, config)) {
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'Reading the sync status needs `Authorization: Bearer <DFM_ADMIN_TOKEN>` (DFM_DASHBOARD_AUTH=required).' } });
      return;
    }
    res.json({ sources: await getSyncStatus(pool, { includeDisabled: req.query.all === 'true' }) });
  });

  router.post('/api/sync', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    if (config.syncSecret === undefined) {
      res.status(404).json({ error: { code: 'SYNC_WEBHOOK_DISABLED', message: 'The sync webhook is off; set DFM_SYNC_SECRET to turn it on.' } });
      return;
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.get('x-dfm-signature-256') ?? req.get('x-hub-signature-256');
    if (!verifySignature(config.syncSecret, body, signature)) {
      metrics.webhookDeliveries.inc({ event: 'sync', outcome: 'rejected' });
      res.status(signature === undefined ? 400 : 401).json({
        error: { code: 'SIGNATURE_INVALID', message: signature === undefined ? 'Missing X-Dfm-Signature-256 (sha256=<hex HMAC SHA-256 of the body with DFM_SYNC_SECRET>).' : 'The signature does not match; sign the raw body with DFM_SYNC_SECRET.' },
      });
      return;
    }
    const asked = parseBody(body);
    if (typeof asked === 'string') {
      res.status(400).json({ error: { code: 'BODY_INVALID', message: asked } });
      return;
    }
    const requested = await requestSyncOfSources(pool, { trigger: 'webhook', ...(asked.source === undefined ? {} : { sourceId: asked.source }), ...(asked.sha === undefined ? {} : { sha: asked.sha }) });
    if (requested.length === 0) {
      res.status(404).json({ error: { code: 'SYNC_SOURCE_UNKNOWN', message: asked.source === undefined ? 'No Git source is configured (DFM_GIT_URL or the GitHub App).' : `No enabled sync source "${asked.source}"; GET /api/sync lists them.` } });
      return;
    }
    const jobs = requested.map((r) => ({ source: r.sourceId, job: r.id, queued: r.created }));
    metrics.webhookDeliveries.inc({ event: 'sync', outcome: 'queued' });
    // Debug, not info: a line per request is a write per request on the hot path; the sync job
    // logs what it did.
    logger.debug({ jobs, sha: asked.sha }, 'sync requested by the sync webhook');
    res.status(202).json({ jobs });
  });

  return router;
}

function parseBody(body: Buffer): { source?: string; sha?: string } | string {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body must be JSON (or empty), such as {"source": "git:https://…", "sha": "<commit>"}.';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'The body must be a JSON object.';
  const o = parsed as Record<string, unknown>;
  const source = typeof o.source === 'string' ? o.source : undefined;
  const candidate = [o.sha, o.after, o.checkout_sha].find((v) => typeof v === 'string') as string | undefined;
  const sha = candidate !== undefined && SHA.test(candidate.toLowerCase()) && !/^0+$/.test(candidate) ? candidate.toLowerCase() : undefined;
  return { ...(source === undefined ? {} : { source }), ...(sha === undefined ? {} : { sha }) };
}

function hasAdminToken(req: Request, config: Config): boolean {
  const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
  if (token === undefined || config.adminToken === undefined) return false;
  const a = Buffer.from(token);
  const b = Buffer.from(config.adminToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

