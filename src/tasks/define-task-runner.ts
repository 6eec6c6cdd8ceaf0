/**
 * How a task type executes. The configuration schema of each type lives with the pipeline language
 * (src/pipeline/task-types); the runner here is keyed by the same `type` string.
 */
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';

/** Built-in values every task can bind (`:logical_time` in SQL, `{{ logical_time }}` in templates). */
export interface RunBuiltins {
  readonly logical_time: string;
  readonly interval_start: string;
  readonly interval_end: string;
  readonly run_id: string;
  readonly pipeline_id: string;
  /** The webhook delivery's JSON body as text, null for runs not started by a webhook. */
  readonly trigger_body: string | null;
}

export interface TaskContext<Config = unknown> {
  readonly pipelineId: string;
  readonly runId: number;
  readonly taskId: string;
  readonly attempt: number;
  /** The task's validated configuration from the pipeline version that made the run. */
  readonly config: Config;
  readonly params: Readonly<Record<string, unknown>>;
  readonly builtins: RunBuiltins;
  /** Aborted on timeout, cancel, reaping (lost claim) or forced shutdown; tasks must stop promptly. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** The process' Prometheus metrics, when it has them (records moved, dead letters). */
  readonly metrics?: Metrics | undefined;
  /** A line in the run's log (shown by `dfm logs`, Slack and the dashboard). */
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** Outputs of finished upstream tasks of this run, by task id. */
  upstreamOutputs(): Promise<Readonly<Record<string, unknown>>>;
  /** A pool for a named PostgreSQL connection (`default` is DATABASE_URL). */
  postgres(connection: string): pg.Pool;
  /** Bootstrap brokers of a named Kafka connection (`default` is KAFKA_BROKERS). */
  kafkaBrokers(connection: string): readonly string[];
  /**
   * Runs fn in one transaction on the metadata database together with this attempt's fenced
   * completion: the task's writes and its success commit or roll back together, so a crash or an
   * ambiguous commit can never apply them twice. Only for tasks whose effects are in the metadata
   * database (the `default` connection).
   */
  readonly transactional: <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;
}

export interface TaskRunner<Config = unknown> {
  readonly type: string;
  /** Returns the task's output: small JSON, stored on the task run and visible to downstream tasks. */
  run(context: TaskContext<Config>): Promise<unknown>;
}

export function defineTaskRunner<Config>(runner: TaskRunner<Config>): TaskRunner<Config> {
  return runner;
}
