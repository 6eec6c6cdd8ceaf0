/**
 * A real Prometheus (the Debian package's server) on loopback, with the shipped configuration and
 * rules (deploy/prometheus/; only the targets replaced by a dfm started in this process and the
 * intervals shortened), scrapes dfm: after a run, Prometheus' HTTP API holds the run's series with
 * the right values, and the Kafka consumer lag of a kafka.to_postgres task that is behind by 7
 * records reads 7. Every query of the Grafana dashboard (deploy/grafana/dfm.json) is accepted by it
 * and names only series dfm exports. `promtool check metrics` finds nothing to say about a scrape.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createKafka } from '../../src/kafka/kafka-client.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { serviceRoles } from '../../src/service/service-roles.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { eventually, writePipelines } from '../helpers/dfm-process.js';
import { freePort } from '../helpers/free-port.js';
import { testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const TOPIC = `obs-lag-${randomUUID().slice(0, 8)}`;
const BEHIND = 7;
const pipelines = writePipelines({
  'hello.yaml': 'id: hello\ntasks:\n  say: { type: postgres.sql, sql: "select 1" }\n',
  // Never run here: everything produced to its topic is lag.
  'lagging.yaml': `id: lagging\ntasks:\n  land: { type: kafka.to_postgres, topic: ${TOPIC}, table: public.landed, key: [id] }\n`,
});
const { o, database } = useOrchestration();
let service: RunningService;
let prometheus: ChildProcess;
let promUrl: string;
let promDir: string;

async function produceBehind(): Promise<void> {
  const kafka = createKafka(inject('kafkaBrokers'), testLogger);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: Array.from({ length: BEHIND }, (_, i) => ({ key: String(i), value: JSON.stringify({ id: i }) })) });
  await producer.disconnect();
}

/** The shipped prometheus.yml, its discovery replaced by the dfm under test. */
function writePrometheusConfig(dfmPort: number): string {
  const shipped = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: Record<string, unknown>[];
  };
  const [job] = shipped.scrape_configs;
  const config = {
    ...shipped,
    global: { ...shipped.global, scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: shipped.rule_files.map((f) => resolve('deploy/prometheus', f)),
    scrape_configs: [{ job_name: job!['job_name'], metrics_path: job!['metrics_path'], static_configs: [{ targets: [`127.0.0.1:${dfmPort}`] }] }],
  };
  const file = join(promDir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  return file;
}

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

beforeAll(async () => {
  await produceBehind();
  const config = loadConfig({
    DATABASE_URL: database.url,
    KAFKA_BROKERS: inject('kafkaBrokers').join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    DFM_PIPELINES_DIR: pipelines.dir,
    DFM_POLL_INTERVAL_MS: '300',
  });
  service = await startService({ config, logger: testLogger, role: 'all', roles: serviceRoles });

  promDir = mkdtempSync(join(tmpdir(), 'dfm-prometheus-'));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [`--config.file=${writePrometheusConfig(service.port)}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prometheus.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  await eventually(async () => ((await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000, `Prometheus ready (its log: ${log})`);
}, 90_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus.once('exit', r));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await service?.stop();
  if (promDir) rmSync(promDir, { recursive: true, force: true });
  pipelines.remove();
});

describe('a real Prometheus with the shipped configuration', () => {
  it('scrapes dfm and holds the series of a run and the lag of a task that is behind', { timeout: 90_000 }, async () => {
    const { runId } = await triggerRun(o.pool, { pipelineId: 'hello' });
    expect(await waitForRun(o.pool, runId)).toBe('success');

    const finished = await eventually(async () => {
      const result = await query('dfm_runs_finished_total{pipeline="hello"}');
      return result.length > 0 ? result : undefined;
    }, 30_000, 'the run in Prometheus');
    expect(finished.map((r) => ({ ...r.metric, value: r.value[1] }))).toEqual([
      { __name__: 'dfm_runs_finished_total', job: 'dfm', instance: `127.0.0.1:${service.port}`, pipeline: 'hello', trigger: 'manual', state: 'success', value: '1' },
    ]);
    expect((await query('dfm_task_runs_finished_total{pipeline="hello"}')).map((r) => [r.metric['type'], r.metric['outcome'], r.value[1]])).toEqual([['postgres.sql', 'success', '1']]);
    expect((await query('dfm_run_duration_seconds_count{trigger="manual",state="success"}'))[0]?.value[1]).toBe('1');
    expect(Number((await query('dfm_run_seconds_total{pipeline="hello"}'))[0]?.value[1])).toBeGreaterThan(0);
    expect((await query('up{job="dfm"}'))[0]?.value[1]).toBe('1');
    expect((await query('dfm_scheduler_leader'))[0]?.value[1]).toBe('1');

    const lag = await eventually(async () => {
      const result = await query('dfm_kafka_consumer_lag{pipeline="lagging"}');
      return result.length > 0 ? result : undefined;
    }, 30_000, 'the lag gauge in Prometheus');
    expect(lag.map((r) => ({ task: r.metric['task'], topic: r.metric['topic'], value: r.value[1] }))).toEqual([{ task: 'land', topic: TOPIC, value: String(BEHIND) }]);

    // The shipped rules are loaded and evaluated (none fires against a healthy dfm).
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBeGreaterThan(10);
    expect(loaded.filter((r) => r.health === 'err')).toEqual([]);
  });

  it('answers every query of the Grafana dashboard, and they name only series dfm exports', async () => {
    const dashboard = JSON.parse(readFileSync('deploy/grafana/dfm.json', 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$pipeline', '.*') })));
    expect(exprs.length).toBeGreaterThan(25);
    const scrape = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    const exported = new Set([...scrape.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
    for (const { panel, expr } of exprs) {
      const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      expect({ panel, status: response.status, body: response.ok ? '' : await response.text() }).toEqual({ panel, status: 200, body: '' });
      const names = (expr.match(/\bdfm_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, ''));
      expect(names.filter((n) => !exported.has(n)), panel).toEqual([]);
    }
  });

  it('passes promtool check metrics on a /metrics scrape', async () => {
    const scrape = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    const promtool = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    promtool.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    promtool.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const code = new Promise((r) => promtool.once('close', r));
    promtool.stdin!.end(scrape);
    expect(await code).toBe(0);
    expect(output).toBe('');
  });
});
