/**
 * `dfm serve`: one process by default, or any subset of roles per process (`--role`). Every role
 * shares the same start: configuration → PostgreSQL (DATABASE_URL or embedded) → migrations under
 * an advisory lock → Kafka (KAFKA_BROKERS or the local broker) → roles → HTTP (/healthz, /metrics
 * and the routers the roles contribute). Roles are a registry (service-roles.ts): adding one is one
 * entry there and changes nothing here.
 * stop() runs the named stop steps in reverse (lib/stop-steps.ts): stop claiming, finish or
 * release in-flight work, close servers and pools, then stop the local services this process
 * started (never ones it merely reused).
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import { createStopSteps } from '../lib/stop-steps.js';
import { createPool } from '../db/create-pool.js';
import { applyMigrations } from '../db/migrate.js';
import { resolveDatabaseUrl } from '../db/resolve-database-url.js';
import { createKafka, createKafkaHealthCheck } from '../kafka/kafka-client.js';
import { resolveKafkaBrokers } from '../kafka/resolve-kafka-brokers.js';
import { createMetrics, type Metrics } from '../metrics/create-metrics.js';
import { createRunEventHub, type RunEventHub } from '../runs/run-event-hub.js';
import { createWebApp } from '../web/create-web-app.js';
import { watchDependencies } from '../health/watch-dependencies.js';
import { checkMigrationsApplied } from '../db/check-migrations-applied.js';
import { selectRoles } from './select-roles.js';


export interface RoleContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly metrics: Metrics;
  /** The process's one follower of run events (LISTEN starts with the first subscriber). */
  readonly runEvents: RunEventHub;
}

/** A running part of the service (scheduler, worker pool, …); stop() must be idempotent. */
export interface RunningRole {
  readonly name: string;
  /** Mounted on the one HTTP app, in registry order (e.g. a router for `/api/runs`). */
  readonly routers?: readonly Router[];
  stop(): Promise<void>;
}

export type RoleStarter = (context: RoleContext) => Promise<RunningRole>;

export interface RoleDefinition {
  readonly start: RoleStarter;
  /** Only answers HTTP (its routers): started by `web` as well as by `all` or its name. */
  readonly http?: boolean;
}

/** Roles by name. `all` starts every one, in the record's order; `web` the HTTP ones; otherwise those named. */
export type RoleRegistry = Readonly<Record<string, RoleDefinition>>;

export interface RunningService {
  readonly port: number;
  readonly databaseUrl: string;
  readonly kafkaBrokers: readonly string[];
  stop(): Promise<void>;
  /** While stop() runs: the step stopping now and those after it (the shutdown deadline names them). */
  pendingStops(): string[];
}

const HEALTH_TIMEOUT_MS = 2000;
/** As often as Prometheus scrapes (deploy/prometheus/prometheus.yml): each scrape sees a fresh answer. */
const HEALTH_INTERVAL_MS = 15_000;

export async function startService(options: { config: Config; logger: Logger; role: string; roles?: RoleRegistry }): Promise<RunningService> {
  const { config, logger, role } = options;
  const registry = options.roles ?? {};
  // Before anything starts: an unknown role name is a mistake to report at once.
  const selected = selectRoles(role, Object.entries(registry).map(([name, definition]) => ({ name, http: definition.http ?? false })));
  const began = Date.now();
  const cleanups = createStopSteps(logger);
  const stopAll = cleanups.stopAll;

  try {
    const database = await resolveDatabaseUrl(config, logger);
    if (database.embedded?.started) cleanups.add('the embedded PostgreSQL', () => database.embedded!.stop());
    if (config.runMigrations) await applyMigrations(database.url, logger);

    const pool = createPool(database.url, logger, { max: config.workerConcurrency + 5, applicationName: `dfm-${role.replace(/ /g, '')}` });
    cleanups.add('the PostgreSQL pool', () => pool.end());

    const kafka = await resolveKafkaBrokers(config, logger);
    cleanups.add('the local Kafka broker', kafka.stop);
    const kafkaHealth = createKafkaHealthCheck(createKafka(kafka.brokers, logger), HEALTH_TIMEOUT_MS);
    cleanups.add('the Kafka health check', () => kafkaHealth.close());

    const metrics = createMetrics();
    const runEvents = createRunEventHub({ pool, databaseUrl: database.url, logger });
    cleanups.add('the run event follower', () => runEvents.stop());
    const context: RoleContext = { config, logger, pool, databaseUrl: database.url, kafkaBrokers: kafka.brokers, metrics, runEvents };

    const routers: Router[] = [];
    for (const name of selected) {
      const running = await registry[name]!.start(context);
      cleanups.add(`the ${running.name}`, () => running.stop());
      routers.push(...(running.routers ?? []));
    }

    const healthChecks = [
      { name: 'postgres', check: () => pingPostgres(pool) },
      { name: 'kafka', check: () => kafkaHealth.check() },
    ];
    const dependencies = watchDependencies({ checks: healthChecks, metrics, intervalMs: HEALTH_INTERVAL_MS });
    cleanups.add('the dependency checks', () => dependencies.stop());
    const app = createWebApp({
      metrics,
      logger,
      healthChecks,
      readyChecks: [{ name: 'migrations', check: () => checkMigrationsApplied(pool) }],
      routers,
    });
    const server: Server = app.listen(config.port, config.host);
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    cleanups.add('the HTTP server', () => closeServer(server));
    const port = (server.address() as AddressInfo).port;
    logger.info({ port, role, ms: Date.now() - began, kafka: kafka.brokers }, `dfm is serving on http://localhost:${port}`);

    return { port, databaseUrl: database.url, kafkaBrokers: kafka.brokers, stop: stopAll, pendingStops: cleanups.pending };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function pingPostgres(pool: pg.Pool): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query({ text: 'select 1', query_timeout: HEALTH_TIMEOUT_MS } as pg.QueryConfig);
    return true;
  } finally {
    client.release();
  }
}

async function closeServer(server: Server): Promise<void> {
  server.closeIdleConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
