/**
 * In-process orchestration for tests: a pool on the test database, pipelines activated from YAML,
 * and workers with fast timings. Each piece is closed by close() so the leak guard stays quiet.
 */
import type pg from 'pg';
import { loadConfig } from '../../src/config/load-config.js';
import { createPool } from '../../src/db/create-pool.js';
import { startWorker, type Worker, type WorkerOptions } from '../../src/executor/start-worker.js';
import { createLogger } from '../../src/lib/logger.js';
import { parsePipelineSource } from '../../src/pipeline/parse-pipeline-source.js';
import type { Pipeline } from '../../src/pipeline/pipeline-schema.js';
import { activatePipelines } from '../../src/scheduler/activate-pipelines.js';
import { createConnections, type Connections } from '../../src/tasks/create-connections.js';
import { taskRunners } from '../../src/tasks/task-runners.js';
import { afterAll, beforeAll, inject } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export const testLogger = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');

export function parsePipeline(yaml: string): Pipeline {
  const { pipeline, diagnostics } = parsePipelineSource(yaml, 'test.yaml');
  if (!pipeline) throw new Error(`invalid test pipeline:\n${diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join('\n')}`);
  return pipeline;
}

export async function activate(pool: pg.Pool, ...yamls: string[]): Promise<Pipeline[]> {
  const pipelines = yamls.map(parsePipeline);
  await activatePipelines(pool, pipelines.map((pipeline) => ({ file: `pipelines/${pipeline.id}.yaml`, pipeline })));
  return pipelines;
}

export interface Orchestration {
  readonly pool: pg.Pool;
  readonly connections: Connections;
  startWorker(overrides?: Partial<WorkerOptions>): Worker;
  close(): Promise<void>;
}

export function createOrchestration(databaseUrl: string): Orchestration {
  const pool = createPool(databaseUrl, testLogger, { max: 20 });
  const config = loadConfig({ DATABASE_URL: databaseUrl });
  const connections = createConnections({ config, databaseUrl, kafkaBrokers: inject('kafkaBrokers'), logger: testLogger });
  const workers: Worker[] = [];
  return {
    pool,
    connections,
    startWorker(overrides = {}) {
      const worker = startWorker({
        pool,
        databaseUrl,
        logger: testLogger,
        runners: taskRunners,
        connections,
        concurrency: 4,
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 2000,
        pollIntervalMs: 200,
        shutdownGraceMs: 2000,
        ...overrides,
      });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await connections.close();
      await pool.end();
    },
  };
}

export async function waitForRun(pool: pg.Pool, runId: number, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ state: string }>('select state from dfm.run where id = $1', [runId]);
    const state = rows[0]?.state;
    if (state && ['success', 'failed', 'cancelled'].includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function taskRows(pool: pg.Pool, runId: number): Promise<Record<string, { state: string; attempt: number; claimed_by: string | null; error: { code: string; message: string } | null; output: unknown }>> {
  const { rows } = await pool.query('select task_id, state, attempt, claimed_by, error, output from dfm.task_run where run_id = $1', [runId]);
  return Object.fromEntries(rows.map((r) => [r.task_id, r]));
}

/**
 * The usual setup of a test file: a test database and an orchestration on it, created before the
 * file's tests, closed and dropped after them, then `cleanup` (topics, say). The two objects are
 * views of what beforeAll creates, so a file can destructure them at the top:
 * `const { o, database } = useOrchestration();`. Hooks the file registers later run after these
 * beforeAll hooks and before these afterAll hooks (vitest runs after-hooks as a stack).
 */
export function useOrchestration(cleanup: () => Promise<void> = async () => {}): { readonly o: Orchestration; readonly database: TestDatabase } {
  let current: { o: Orchestration; database: TestDatabase } | undefined;
  const now = () => {
    if (!current) throw new Error('useOrchestration: used before its beforeAll ran');
    return current;
  };
  beforeAll(async () => {
    const database = await createTestDatabase();
    current = { database, o: createOrchestration(database.url) };
  });
  afterAll(async () => {
    await current?.o.close();
    await current?.database.drop();
    await cleanup();
  });
  return {
    o: {
      get pool() {
        return now().o.pool;
      },
      get connections() {
        return now().o.connections;
      },
      startWorker: (overrides) => now().o.startWorker(overrides),
      close: () => now().o.close(),
    },
    database: {
      get name() {
        return now().database.name;
      },
      get url() {
        return now().database.url;
      },
      drop: () => now().database.drop(),
    },
  };
}

/** Triggers a run of the pipeline and waits until it ends: its id and final state. */
export async function runToEnd(pool: pg.Pool, pipelineId: string, timeoutMs = 60_000): Promise<{ runId: number; state: string }> {
  const { runId } = await triggerRun(pool, { pipelineId });
  return { runId, state: await waitForRun(pool, runId, timeoutMs) };
}
