import { z } from 'zod';
import { codedIssue, connectionSchema, durationSchema } from '../common-schemas.js';
import { defineTaskType } from './define-task-type.js';

const statement = z.string().min(1).describe('One SQL statement; `:name` binds a param or built-in.');

export const postgresSqlTaskType = defineTaskType({
  type: 'postgres.sql',
  description:
    'Runs SQL against a Postgres connection. Each entry is exactly one statement with `:name` parameters bound (never spliced). Several statements run in one transaction by default.',
  config: z.strictObject({
    sql: z
      .union([statement, z.array(statement).min(1)])
      .describe('One statement, or a list of statements run in order.'),
    connection: connectionSchema('Postgres connection name: `default` is DATABASE_URL, `warehouse` is DFM_POSTGRES_WAREHOUSE_URL.'),
    transaction: z.boolean().optional().describe('Run all statements in one transaction. Default: true when `sql` is a list of more than one statement.'),
    statement_timeout: durationSchema('Postgres statement_timeout for each statement, e.g. `5m`. Default: none (the task `timeout` still applies).', { min: 1 }).optional(),
    output_rows: z.number().int().min(0).max(1000).default(10).describe('Rows of the last statement kept as the task output sample (0–1000). Default 10.'),
  }),
  check: (input, ctx) => {
    if (input.transaction === false && !Array.isArray(input.sql)) {
      ctx.addIssue({ ...codedIssue('invalid-value', '"transaction: false" has no effect on a single statement', 'Remove "transaction" or list several statements under "sql"'), path: ['transaction'] });
    }
  },
  normalize: (input) => {
    const sql = typeof input.sql === 'string' ? [input.sql] : input.sql;
    return {
      sql,
      connection: input.connection,
      transaction: input.transaction ?? sql.length > 1,
      statementTimeoutMs: input.statement_timeout,
      outputRows: input.output_rows,
    };
  },
  // ['sql', 0] also locates a plain string: positions fall back to the deepest node that exists.
  sql: (config) => config.sql.map((text, index) => ({ path: ['sql', index], text })),
  examples: [
    {
      title: 'Aggregate the logical interval into a feature table',
      yaml: `type: postgres.sql
needs: [land_readings]
statement_timeout: 5m
sql: |
  insert into air_quality_feature_store (station, hour, avg_aqi, readings)
  select station, date_trunc('hour', time), avg(aqi), count(*)
  from air_quality_data
  where time >= :interval_start and time < :interval_end
  group by 1, 2
  on conflict (station, hour) do update set avg_aqi = excluded.avg_aqi, readings = excluded.readings
`,
    },
    {
      title: 'Several statements in one transaction',
      yaml: `type: postgres.sql
sql:
  - create table if not exists events (id bigint primary key, payload jsonb not null)
  - create index if not exists events_payload on events using gin (payload)
`,
    },
  ],
});
