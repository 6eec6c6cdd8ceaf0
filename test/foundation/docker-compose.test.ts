/**
 * docker-compose.yml cannot run here (no Docker engine), so its dfm service is checked against the
 * configuration contract instead: every variable it sets must be one loadConfig knows and accepts,
 * and it must point dfm at the compose Kafka and PostgreSQL rather than the embedded ones.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, variables } from '../../src/config/load-config.js';

const REQUIRED_IN_COMPOSE = ['DATABASE_URL', 'KAFKA_BROKERS', 'PORT'];

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
    services: Record<string, { environment?: Record<string, string | number>; image?: string; depends_on?: unknown }>;
  };
  const dfm = compose.services['dfm'];
  const env = Object.fromEntries(Object.entries(dfm?.environment ?? {}).map(([k, v]) => [k, String(v)]));

  it('sets only variables loadConfig knows, with values it accepts', () => {
    const unknown = Object.keys(env).filter((name) => !(name in variables));
    expect(unknown).toEqual([]);
    expect(() => loadConfig(env)).not.toThrow();
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

  it('runs Kafka in KRaft mode from the official image, with Postgres and Prometheus', () => {
    // The same Kafka version as the broker the tests run (kafka/pom.xml).
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync('kafka/pom.xml', 'utf8'))?.[1];
    expect(compose.services['kafka']?.image).toBe(`apache/kafka:${version}`);
    expect(compose.services['kafka']?.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(compose.services['postgres']?.image).toMatch(/^postgres:/);
    expect(compose.services['prometheus']).toBeDefined();
  });
});
