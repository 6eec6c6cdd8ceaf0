/**
 * /livez, /readyz and /healthz on the app itself (checks stubbed): liveness ignores dependencies,
 * readiness needs dependencies and migrations, /healthz keeps naming only the dependencies, and the
 * dependency gauge is refreshed by the timer with no probe calling.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../metrics/create-metrics.js';
import { watchDependencies } from '../health/watch-dependencies.js';
import { createWebApp } from './create-web-app.js';

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  vi.useRealTimers();
});

async function serve(state: { kafka: boolean; migrations: boolean }) {
  const metrics = createMetrics();
  const app = createWebApp({
    metrics,
    healthChecks: [
      { name: 'postgres', check: async () => true },
      { name: 'kafka', check: async () => state.kafka },
    ],
    readyChecks: [{ name: 'migrations', check: async () => state.migrations }],
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { metrics, get: async (path: string) => { const r = await fetch(base + path); return { status: r.status, body: await r.json() }; } };
}

describe('health routes', () => {
  it('answers /livez whatever the dependencies do', async () => {
    const app = await serve({ kafka: false, migrations: false });
    expect(await app.get('/livez')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('is ready only with every dependency up and the migrations applied', async () => {
    const state = { kafka: true, migrations: true };
    const app = await serve(state);
    expect(await app.get('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { postgres: 'up', kafka: 'up', migrations: 'up' } } });
    state.migrations = false;
    expect(await app.get('/readyz')).toEqual({ status: 503, body: { status: 'unavailable', checks: { postgres: 'up', kafka: 'up', migrations: 'down' } } });
    state.migrations = true;
    state.kafka = false;
    expect((await app.get('/readyz')).status).toBe(503);
    expect(await app.get('/healthz')).toEqual({ status: 503, body: { status: 'unavailable', checks: { postgres: 'up', kafka: 'down' } } });
    const scrape = await app.metrics.registry.metrics();
    expect(scrape).toMatch(/^dfm_dependency_up\{dependency="kafka"\} 0$/m);
    expect(scrape).not.toMatch(/dependency="migrations"/);
  });

  it('refreshes the dependency gauge on its timer, with no probe', async () => {
    vi.useFakeTimers();
    const metrics = createMetrics();
    let kafka = true;
    const watch = watchDependencies({ checks: [{ name: 'kafka', check: async () => kafka }], metrics, intervalMs: 15_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(await metrics.registry.metrics()).toMatch(/^dfm_dependency_up\{dependency="kafka"\} 1$/m);
    kafka = false;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await metrics.registry.metrics()).toMatch(/^dfm_dependency_up\{dependency="kafka"\} 0$/m);
    await watch.stop();
  });
});
