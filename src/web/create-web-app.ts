/**
 * The HTTP surface on PORT: `/healthz`, `/livez`, `/readyz` and `/metrics`, then the routers the roles contribute (the
 * dashboard, the API, GitHub webhooks and Slack commands mount here as they arrive). Under `/api/`
 * every answer is JSON, errors included: an unknown path is a JSON 404, and a handler that throws
 * is a JSON 500 that names no detail of the error (it may hold SQL, parameters or secrets); the
 * error itself goes to the log.
 * Health: `/livez` answers 200 while the process can answer at all (a Kubernetes liveness probe:
 * restarting dfm does not bring PostgreSQL back); `/readyz` answers 200 when every dependency and
 * every readiness check (migrations applied) answers (a readiness probe: take the replica out of the
 * Service meanwhile); `/healthz` keeps its documented meaning, the dependencies only.
 */
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { runChecks, type HealthCheck } from '../health/watch-dependencies.js';

export type { HealthCheck };

export function createWebApp(options: {
  metrics: Metrics;
  healthChecks: readonly HealthCheck[];
  /** Checked by /readyz besides the dependencies (e.g. migrations applied); no gauge. */
  readyChecks?: readonly HealthCheck[];
  routers?: readonly Router[];
  logger?: Logger;
}): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', async (_req, res) => {
    const checks = await runChecks(options.healthChecks, options.metrics);
    const healthy = Object.values(checks).every((state) => state === 'up');
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', checks });
  });

  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const [dependencies, others] = await Promise.all([runChecks(options.healthChecks, options.metrics), runChecks(options.readyChecks ?? [])]);
    const checks = { ...dependencies, ...others };
    const ready = Object.values(checks).every((state) => state === 'up');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
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
