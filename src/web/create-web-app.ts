/**
 * The HTTP surface on PORT: `/healthz` and `/metrics`, then the routers the roles contribute (the
 * dashboard, the API, GitHub webhooks and Slack commands mount here as they arrive). Under `/api/`
 * every answer is JSON, errors included: an unknown path is a JSON 404, and a handler that throws
 * is a JSON 500 that names no detail of the error (it may hold SQL, parameters or secrets); the
 * error itself goes to the log.
 */
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';

export interface HealthCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

export function createWebApp(options: { metrics: Metrics; healthChecks: readonly HealthCheck[]; routers?: readonly Router[]; logger?: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', async (_req, res) => {
    const results = await Promise.all(
      options.healthChecks.map(async (h) => {
        const up = await h.check().catch(() => false);
        options.metrics.dependencyUp.set({ dependency: h.name }, up ? 1 : 0);
        return [h.name, up ? 'up' : 'down'] as const;
      }),
    );
    const healthy = results.every(([, state]) => state === 'up');
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  for (const router of options.routers ?? []) app.use(router);

  app.use('/api', (req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: `No API route ${req.method} ${req.originalUrl}.` } });
  });
  app.use(apiErrorHandler(options.logger));
  return app;
}

function apiErrorHandler(logger: Logger | undefined): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (!req.originalUrl.startsWith('/api/') && req.originalUrl !== '/api') {
      next(error);
      return;
    }
    logger?.error({ err: { message: messageOf(error) }, method: req.method, path: req.path }, 'API request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(500).json({ error: { code: 'INTERNAL_ERROR', message: 'The request failed inside dfm; the dfm log has the details.' } });
  };
}
