/**
 * Roles are a registry: a role registered with its own router serves its route on the one HTTP app,
 * only when it is selected, and `/api/` answers JSON for unknown paths and failing handlers.
 */
import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startService, type RoleRegistry, type RunningService } from '../../src/service/start-service.js';
import { testLogger } from '../helpers/orchestration.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let database: TestDatabase;
const services: RunningService[] = [];
const started: string[] = [];
const stopped: string[] = [];

/** A role as the GitHub App or Slack will be one: a name, routes, a stop. */
const roles: RoleRegistry = {
  probe: { start: async ({ pool }) => {
    started.push('probe');
    const router = Router();
    router.get('/api/probe', async (_req, res) => {
      const { rows } = await pool.query<{ n: number }>('select 41 + 1 as n');
      res.json({ answer: rows[0]!.n });
    });
    router.get('/api/probe/boom', async () => {
      throw new Error('connection to postgres://dfm:hunter2@db failed');
    });
    return { name: 'probe', routers: [router], stop: async () => void stopped.push('probe') };
  } },
  /** An HTTP-only role (as the dashboard or the Slack ingress): `web` starts it too. */
  page: { http: true, start: async () => {
    started.push('page');
    const router = Router();
    router.get('/api/page', (_req, res) => void res.json({ page: true }));
    return { name: 'page', routers: [router], stop: async () => void stopped.push('page') };
  } },
};

async function serve(role: 'all' | 'web'): Promise<string> {
  const config = loadConfig({ DATABASE_URL: database.url, KAFKA_BROKERS: inject('kafkaBrokers').join(','), PORT: '0', HOST: '127.0.0.1', DFM_RUN_MIGRATIONS: 'false' });
  const service = await startService({ config, logger: testLogger, role, roles });
  services.push(service);
  return `http://127.0.0.1:${service.port}`;
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await database.drop();
});

describe('service roles', () => {
  it('mounts the routes of a registered role, answers JSON 404 and a 500 without detail under /api/', async () => {
    const base = await serve('all');
    expect(started).toEqual(['probe', 'page']);

    const ok = await fetch(`${base}/api/probe`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ answer: 42 });

    const missing = await fetch(`${base}/api/x`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No API route GET /api/x.' } });

    const boom = await fetch(`${base}/api/probe/boom`);
    expect(boom.status).toBe(500);
    expect(boom.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await boom.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'The request failed inside dfm; the dfm log has the details.' } });
    expect(text).not.toMatch(/hunter2|postgres:|at .*\.ts/);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('starts only the selected roles: --role web serves the HTTP roles without the background ones', async () => {
    started.length = 0;
    const base = await serve('web');
    expect(started).toEqual(['page']);
    expect((await fetch(`${base}/api/probe`)).status).toBe(404);
    expect(await (await fetch(`${base}/api/page`)).json()).toEqual({ page: true });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('stops the roles it started with the service', async () => {
    await services[0]!.stop();
    expect(stopped).toEqual(['page', 'probe']);
  });
});
