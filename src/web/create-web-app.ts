/**
 * The HTTP surface on PORT: `/healthz` and `/metrics` now; the dashboard, API, GitHub webhooks and
 * Slack commands mount on the same app as they arrive.
 */
import express, { type Express, type Router } from 'express';
import type { Metrics } from '../metrics/create-metrics.js';

export interface HealthCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

export function createWebApp(options: { metrics: Metrics; healthChecks: readonly HealthCheck[]; routers?: readonly Router[] }): Express {
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
  return app;
}
