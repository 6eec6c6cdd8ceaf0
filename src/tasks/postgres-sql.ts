/**
 * postgres.sql: runs the task's statements with `:name` parameters bound as $1..$n (never spliced
 * into the text) from the run's params and the built-ins. Several statements run in one
 * transaction unless `transaction: false`.
 *
 * On the `default` connection (the metadata database) the statements run inside the same
 * transaction as the attempt's fenced success (unless `transaction: false` splits several
 * statements): a crash, a lost connection or an ambiguous commit
 * can then never apply them twice, and a reaped attempt's writes roll back.
 */
import type pg from 'pg';
import { bindSqlParameters } from '../pipeline/sql-parameters.js';
import { DfmError } from '../lib/errors.js';
import type { Task } from '../pipeline/pipeline-schema.js';
import { defineTaskRunner, type TaskContext } from './define-task-runner.js';

type PostgresSqlConfig = Extract<Task, { type: 'postgres.sql' }>['config'];

export interface PostgresSqlOutput {
  /** Rows affected or returned, per statement. */
  readonly rowCounts: number[];
  readonly rowCount: number;
  /** Up to `output_rows` rows returned by the last statement. */
  readonly rows: Record<string, unknown>[];
}

export const postgresSqlRunner = defineTaskRunner<PostgresSqlConfig>({
  type: 'postgres.sql',
  async run(context) {
    const { config } = context;
    // A single statement is atomic on its own, so joining it to the completion costs nothing.
    if (config.connection === 'default' && (config.transaction || config.sql.length === 1)) {
      return context.transactional((client) => runStatements(client, context));
    }
    const client = await context.postgres(config.connection).connect();
    let broken = false;
    try {
      if (config.transaction) await client.query('begin');
      const output = await runStatements(client, context);
      if (config.transaction) await client.query('commit');
      return output;
    } catch (error) {
      broken = true;
      if (config.transaction) await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release(broken);
    }
  },
});

async function runStatements(client: pg.PoolClient, context: TaskContext<PostgresSqlConfig>): Promise<PostgresSqlOutput> {
  const { config, signal } = context;
  const values: Record<string, unknown> = { ...context.params, ...context.builtins };
  const pid = (client as unknown as { processID?: number }).processID;
  // Abort (timeout, cancel, shutdown) cancels the running statement on the server.
  const onAbort = () => {
    if (pid) void context.postgres(config.connection).query('select pg_cancel_backend($1)', [pid]).catch(() => {});
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (config.statementTimeoutMs) {
      await client.query(`select set_config('statement_timeout', $1, ${config.transaction ? 'true' : 'false'})`, [`${config.statementTimeoutMs}ms`]);
    }
    const rowCounts: number[] = [];
    let rows: Record<string, unknown>[] = [];
    for (const [index, sql] of config.sql.entries()) {
      if (signal.aborted) throw signal.reason;
      const { text, names } = bindSqlParameters(sql);
      const bound = names.map((name) => {
        if (!(name in values)) {
          throw new DfmError('SQL_PARAMETER_MISSING', `Statement ${index + 1} uses :${name}, which is neither a param of this run nor a built-in`);
        }
        return toBindValue(values[name]);
      });
      const result = await client.query({ text, values: bound, rowMode: undefined } as pg.QueryConfig);
      rowCounts.push(result.rowCount ?? result.rows.length);
      rows = result.rows.slice(0, config.outputRows);
    }
    context.log(`ran ${config.sql.length} statement(s): ${rowCounts.join(', ')} row(s)`);
    return { rowCounts, rowCount: rowCounts.at(-1) ?? 0, rows };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Objects and arrays bind as JSON text; everything else as its own value (pg sends it untyped). */
function toBindValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return JSON.stringify(value);
  return value;
}
