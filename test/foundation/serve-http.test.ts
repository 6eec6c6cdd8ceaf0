/**
 * What `dfm serve` shows over HTTP: /healthz per dependency (503 when one is down), /readyz (also
 * migrations), /livez (always) and /metrics with
 * dfm's own counters after a run.
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';

const processes: DfmProcess[] = [];
const pipelines = writePipelines({ 'hello.yaml': 'id: hello\ntasks:\n  say: { type: postgres.sql, sql: "select 1" }\n' });

const { o, database } = useOrchestration();
afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  pipelines.remove();
});

async function serve(env: Record<string, string> = {}): Promise<string> {
  const p = spawnDfm(['serve'], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: pipelines.dir, ...env });
  processes.push(p);
  await p.waitForOutput(/dfm is serving on http:\/\/localhost:\d+/);
  return `http://127.0.0.1:${/dfm is serving on http:\/\/localhost:(\d+)/.exec(p.output())![1]}`;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('dfm serve over HTTP', () => {
  it('reports healthy dependencies and counts the runs it executed', async () => {
    const base = await serve();
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', checks: { postgres: 'up', kafka: 'up' } });
    const ready = await fetch(`${base}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'up', kafka: 'up', migrations: 'up' } });
    expect(ready.status).toBe(200);

    const { runId } = await triggerRun(o.pool, { pipelineId: 'hello' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^dfm_task_runs_finished_total\{pipeline="hello",type="postgres\.sql",outcome="success"\} 1$/m);
    expect(metrics).toMatch(/^dfm_runs_finished_total\{pipeline="hello",trigger="manual",state="success"\} 1$/m);
    expect(metrics).toMatch(/^dfm_run_duration_seconds_count\{trigger="manual",state="success"\} 1$/m);
    expect(metrics).toMatch(/^dfm_run_seconds_total\{pipeline="hello"\} [\d.e-]+$/m);
    expect(metrics).toMatch(/^dfm_task_claim_latency_seconds_count 1$/m);
    // The leader's scrape-time gauges: nothing waits now.
    expect(metrics).toMatch(/^dfm_task_runs_ready 0$/m);
    await expect.poll(async () => (await (await fetch(`${base}/metrics`)).text()).split('\n').filter((l) => l.startsWith('dfm_scheduler_leader')), { timeout: 5000 }).toEqual(['dfm_scheduler_leader 1']);
    expect(metrics).toMatch(/^dfm_task_duration_seconds_count\{type="postgres\.sql"\} 1$/m);
    expect(metrics).toMatch(/^dfm_task_run_seconds_total\{pipeline="hello",type="postgres\.sql"\} [\d.e-]+$/m);
  });

  it('answers 503 and names the dependency that is down', async () => {
    const base = await serve({ KAFKA_BROKERS: `127.0.0.1:${await closedPort()}`, DFM_ROLE: 'web' });
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'unavailable', checks: { postgres: 'up', kafka: 'down' } });
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^dfm_dependency_up\{dependency="kafka"\} 0$/m);
  });
});
