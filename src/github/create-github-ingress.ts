/**
 * `/api/github/webhooks`: probot's middleware verifies X-Hub-Signature-256 over the raw bytes
 * (constant time) before anything else, so it is mounted without a path (the middleware compares
 * the full URL) and with no body parser in front. The handler only records the delivery and its job
 * (record-delivery.ts); GitHub's 2xx follows the commit, the work happens on a worker.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import { createNodeMiddleware } from 'probot';
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { GitHubApp } from './create-github-app.js';
import { recordDelivery } from './record-delivery.js';
import { HANDLED_EVENTS } from './handle-github-event.js';

export const GITHUB_WEBHOOKS_PATH = '/api/github/webhooks';

export async function createGitHubIngress(options: { app: GitHubApp; pool: pg.Pool; logger: Logger; metrics: Metrics }): Promise<Router> {
  const middleware = await createNodeMiddleware(
    (probot) => {
      probot.webhooks.onAny(async ({ id, name, payload }) => {
        const event = String(name);
        const outcome = await recordDelivery(options.pool, { id, event, payload: payload as unknown as Record<string, unknown> }, HANDLED_EVENTS.has(event));
        options.metrics.webhookDeliveries.inc({ event, outcome });
        options.logger[outcome === 'ignored' ? 'debug' : 'info']({ delivery: id, event, outcome }, outcome === 'ignored' ? `GitHub ${event} delivery ignored (dfm does nothing with it)` : `GitHub ${event} delivery ${outcome}`);
      });
    },
    { probot: options.app.probot, webhooksPath: GITHUB_WEBHOOKS_PATH },
  );
  const router = Router();
  router.use((req, res, next) => {
    if (req.path !== GITHUB_WEBHOOKS_PATH) {
      next();
      return;
    }
    res.on('finish', () => {
      if (res.statusCode >= 400) {
        const event = String(req.headers['x-github-event'] ?? 'unknown').slice(0, 40);
        options.metrics.webhookDeliveries.inc({ event, outcome: 'rejected' });
        options.logger.warn({ status: res.statusCode, delivery: req.headers['x-github-delivery'], event }, 'GitHub webhook refused: check that the App\'s webhook secret matches WEBHOOK_SECRET');
      }
    });
    void middleware(req as IncomingMessage, res as ServerResponse, next);
  });
  return router;
}
