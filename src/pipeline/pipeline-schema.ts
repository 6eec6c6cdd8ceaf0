/**
 * The one definition of a pipeline. From it derive: the TypeScript types (`Pipeline`, `Task`), the
 * validator (parse-pipeline-source.ts turns its issues into located diagnostics), the JSON Schema
 * for editors (schema/pipeline.schema.json) and the reference (docs/pipelines.md).
 *
 * Input is the YAML (snake_case keys, durations as `30s`); output is normalized for the rest of
 * dfm: camelCase keys, durations in milliseconds (`retryDelayMs`), defaults applied, tasks as a
 * list in file order (jsonb does not keep key order, and file order breaks topological ties).
 *
 * Terminology: a *pipeline* is one YAML file's definition; a *task* is one node of its DAG; a
 * *param* is a typed value supplied per run; a *fire time* is when the schedule creates a run.
 */
import { z } from 'zod';
import { checkPipeline } from './check-pipeline.js';
import { codedIssue, connectionSchema, describeValue, durationSchema, idSchema, patternString, positiveInt, topicSchema } from './common-schemas.js';
import { PARAM_NAME_PATTERN, PARAM_NAME_RULE, WEBHOOK_AUTH_MODES, WEBHOOK_SECRET_NAME_PATTERN, WEBHOOK_SECRET_NAME_RULE } from './identifiers.js';
import { checkSchedule, isValidTimeZone, knownTimeZones, SCHEDULE_NICKNAMES } from './schedule.js';
import { suggestName } from './suggest.js';
import type { TaskTypeDefinition } from './task-types/define-task-type.js';
import { kafkaProduceTaskType } from './task-types/kafka-produce.js';
import { kafkaToPostgresTaskType } from './task-types/kafka-to-postgres.js';
import { postgresSqlTaskType } from './task-types/postgres-sql.js';
import { postgresToKafkaTaskType } from './task-types/postgres-to-kafka.js';

const retries = z.number().int().min(0).max(100).describe('Retries after a failed attempt (0–100). Built-in default 0.');
const retryBackoff = z.enum(['fixed', 'exponential']).describe('`exponential` doubles the delay after each attempt, `fixed` keeps it. Built-in default exponential.');
const retryDelay = () => durationSchema('Wait before the first retry. Built-in default 30s.');
const maxRetryDelay = () => durationSchema('Cap of the wait between attempts. Built-in default 10m.');
const timeout = () => durationSchema('Longest one attempt may run before it fails. Built-in default 1h.', { min: 1 });

const settingsShape = {
  retries: retries.optional(),
  retry_delay: retryDelay().optional(),
  retry_backoff: retryBackoff.optional(),
  max_retry_delay: maxRetryDelay().optional(),
  timeout: timeout().optional(),
};

type SettingsInput = z.output<z.ZodObject<typeof settingsShape>>;
const toSettings = (v: SettingsInput) => ({
  retries: v.retries,
  retryDelayMs: v.retry_delay,
  retryBackoff: v.retry_backoff,
  maxRetryDelayMs: v.max_retry_delay,
  timeoutMs: v.timeout,
});

const commonTaskShape = {
  description: z.string().optional().describe('What the task does, shown in the dashboard and plans.'),
  needs: z.array(z.string()).default([]).describe('Ids of the tasks that must succeed before this one starts.'),
  ...settingsShape,
};
const COMMON_TASK_KEYS = new Set(['type', ...Object.keys(commonTaskShape)]);
type CommonTaskInput = z.output<z.ZodObject<typeof commonTaskShape>>;

function taskSchemaOf<Type extends string, Shape extends z.ZodRawShape, Config>(definition: TaskTypeDefinition<Type, Shape, Config>) {
  return z
    .strictObject({ type: z.literal(definition.type).describe('Task type.'), ...commonTaskShape, ...definition.config.shape })
    .superRefine((input, ctx) => {
      const config = Object.fromEntries(Object.entries(input).filter(([key]) => !COMMON_TASK_KEYS.has(key)));
      definition.check?.(config as z.output<z.ZodObject<Shape>>, ctx);
    })
    .transform((input) => {
      const config = Object.fromEntries(Object.entries(input).filter(([key]) => !COMMON_TASK_KEYS.has(key)));
      const common = input as unknown as CommonTaskInput;
      return {
        type: definition.type,
        description: common.description,
        needs: common.needs,
        ...toSettings(common),
        config: definition.normalize(config as z.output<z.ZodObject<Shape>>),
      };
    })
    .describe(definition.description);
}

export const taskSchema = z.discriminatedUnion('type', [
  taskSchemaOf(postgresSqlTaskType),
  taskSchemaOf(kafkaProduceTaskType),
  taskSchemaOf(kafkaToPostgresTaskType),
  taskSchemaOf(postgresToKafkaTaskType),
]);

export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'timestamp'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

/** Whether a value (from YAML or a run request) is of a param type. Timestamps are ISO-8601 text. */
export function matchesParamType(type: ParamType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(value) && !Number.isNaN(Date.parse(value));
  }
}

const withArticle = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;

const paramSchema = z
  .strictObject({
    type: z.enum(PARAM_TYPES).default('string').describe(`One of ${PARAM_TYPES.join(', ')} (ISO-8601 text). Default string.`),
    default: z.union([z.string(), z.number(), z.boolean()]).optional().describe('Value when a run does not supply one. Absent: the param is required.'),
    description: z.string().optional().describe('Shown in `dfm run --help`, Slack and the dashboard.'),
  })
  .superRefine((param, ctx) => {
    if (param.default !== undefined && !matchesParamType(param.type, param.default)) {
      ctx.addIssue({
        ...codedIssue('param-default-type', `Default ${describeValue(param.default)} is not ${withArticle(param.type)}`, param.type === 'timestamp' ? 'Write an ISO-8601 timestamp such as "2024-01-31T00:00:00Z"' : `Give ${withArticle(param.type)} default, or change "type"`),
        path: ['default'],
      });
    }
  })
  .transform((p) => ({ type: p.type, default: p.default, description: p.description, required: p.default === undefined }))
  .describe('A typed value supplied per run, bound in SQL as `:name` and in templates as `{{ params.name }}`.');

const notifySchema = z
  .strictObject({
    slack: z.string().regex(/^#?[A-Za-z0-9._-]{1,80}$/).optional().describe('Slack channel (`#data-alerts`) or channel id for run reports.'),
    on: z.array(z.enum(['start', 'failure', 'recovery', 'success'])).min(1).default(['failure', 'recovery']).describe('Which run events post the run\'s Slack message: start (the run started), failure, recovery (first success after a failure), success. Once posted, the one message is updated until the run ends (retries included). Default [failure, recovery].'),
  })
  .transform((n) => ({ slack: n.slack, on: n.on }))
  .describe('Where run outcomes are reported.');

const defaultsSchema = z
  .strictObject(settingsShape)
  .transform(toSettings)
  .describe('Retry and timeout settings for every task; a task’s own fields override them.');

const kafkaTriggerSchema = z
  .strictObject({
    topic: topicSchema('Topic to watch.'),
    min_records: positiveInt('Start a run when at least this many new records arrived. Default 1.').default(1),
    max_wait: durationSchema('Start a run anyway after this long when fewer than `min_records` arrived (and at least one). Default: wait for `min_records`.', { min: 1 }).optional(),
    connection: connectionSchema('Kafka connection name.'),
  })
  .describe('Start a run when a topic has new records.');

const webhookTriggerSchema = z
  .strictObject({
    // Never echo the value: whoever wrote the secret itself here would see it in every check run.
    secret: z
      .string()
      .refine((value: string) => WEBHOOK_SECRET_NAME_PATTERN.test(value), {
        error: '"secret" takes the name of a secret in configuration, not a secret (the value is not shown)',
        params: { code: 'invalid-secret-name', hint: `Use ${WEBHOOK_SECRET_NAME_RULE}, put the secret in that variable, and rotate it if this file was shared` },
      })
      .meta({ pattern: WEBHOOK_SECRET_NAME_PATTERN.source })
      .describe(
      'Name of the secret in configuration: `orders` reads `DFM_WEBHOOK_SECRET_ORDERS`. Never the secret itself.',
    ),
    auth: z.enum(WEBHOOK_AUTH_MODES).default('signature').describe(
      '`signature`: callers send `X-Dfm-Timestamp` and `X-Dfm-Signature-256: sha256=<hex HMAC SHA-256 of "<timestamp>.<raw body>">`. `bearer`: for tools that cannot sign, `Authorization: Bearer <secret>`. Default signature.',
    ),
    idempotency_field: patternString(PARAM_NAME_PATTERN, 'invalid-param-name', 'Field name', PARAM_NAME_RULE).optional().describe(
      'A top-level body field whose value makes repeated deliveries one run (like the `Idempotency-Key` header, which wins when both are sent).',
    ),
  })
  .describe('Start a run on `POST /api/hooks/<pipeline>`: the JSON body\'s fields are the run\'s params, the whole body is `{{ trigger.body }}`.');

const triggerSchema = z
  .strictObject({
    kafka: kafkaTriggerSchema.optional(),
    webhook: webhookTriggerSchema.optional(),
  })
  .superRefine((t, ctx) => {
    const kinds = [t.kafka, t.webhook].filter((k) => k !== undefined).length;
    if (kinds !== 1) ctx.addIssue(codedIssue('trigger-kind', kinds === 0 ? 'A trigger needs one kind' : 'A trigger has one kind', 'Write `- kafka: { topic: … }` or `- webhook: { secret: … }` as separate list items'));
  })
  .transform((t) =>
    t.webhook !== undefined
      ? { type: 'webhook' as const, secret: t.webhook.secret, auth: t.webhook.auth, idempotencyField: t.webhook.idempotency_field }
      : { type: 'kafka' as const, topic: t.kafka!.topic, minRecords: t.kafka!.min_records, maxWaitMs: t.kafka!.max_wait, connection: t.kafka!.connection },
  );

const scheduleSchema = z
  .string()
  .superRefine((schedule, ctx) => {
    const problem = checkSchedule(schedule);
    if (problem !== undefined) {
      ctx.addIssue(codedIssue('invalid-cron', problem, `Use 5 fields "minute hour day-of-month month day-of-week" such as "0 * * * *", or one of ${SCHEDULE_NICKNAMES.join(', ')}`));
    }
  })
  .nullish()
  .describe(`Cron (5 fields, in \`timezone\`) or ${SCHEDULE_NICKNAMES.join(', ')}. Absent: runs start only on demand or by a trigger.`);

const timezoneSchema = z
  .string()
  .superRefine((timezone, ctx) => {
    if (!isValidTimeZone(timezone)) {
      const match = suggestName(timezone, knownTimeZones());
      ctx.addIssue(codedIssue('unknown-timezone', `Unknown timezone "${timezone}"`, match ? `Did you mean "${match}"? Use an IANA name such as "Europe/Berlin" or "UTC"` : 'Use an IANA name such as "Europe/Berlin" or "UTC"'));
    }
  })
  .default('UTC')
  .describe('IANA timezone of the schedule, e.g. `Europe/Berlin`. Default UTC.');

const tasksSchema = z
  .record(idSchema('Task id'), taskSchema)
  .refine((tasks) => Object.keys(tasks).length > 0, { message: 'A pipeline needs at least one task', params: { code: 'empty-tasks', hint: 'Add a task under "tasks", e.g. a postgres.sql task' } })
  .describe('The tasks, by id. Order in the file is the tie-break of the run order.');

const pipelineShapeSchema = z
  .strictObject({
    id: idSchema('Pipeline id').describe('Unique, stable id; the file name need not match. Renaming the file keeps the history, changing the id starts a new pipeline.'),
    description: z.string().optional().describe('What the pipeline does.'),
    schedule: scheduleSchema,
    timezone: timezoneSchema,
    catchup: z.enum(['none', 'last', 'all']).default('none').describe('Missed fire times after downtime: `none` skips them, `last` runs only the latest, `all` runs each. Default none.'),
    max_active_runs: z.number().int().min(1).max(100).default(1).describe('Runs of this pipeline that may be active at once (1–100). Default 1.'),
    params: z.record(patternString(PARAM_NAME_PATTERN, 'invalid-param-name', 'Param name', PARAM_NAME_RULE), paramSchema).optional().describe('Typed run parameters, by name.'),
    notify: notifySchema.optional(),
    defaults: defaultsSchema.optional(),
    triggers: z.array(triggerSchema).optional().describe('Events that start a run besides the schedule.'),
    tasks: tasksSchema,
  })
  .transform((p) => ({
    id: p.id,
    description: p.description,
    schedule: p.schedule ?? undefined,
    timezone: p.timezone,
    catchup: p.catchup,
    maxActiveRuns: p.max_active_runs,
    params: p.params ?? {},
    notify: p.notify,
    defaults: p.defaults ?? toSettings({}),
    triggers: p.triggers ?? [],
    tasks: Object.entries(p.tasks).map(([id, task]) =>
      task.type === 'kafka.to_postgres' ? { id, ...task, config: { ...task.config, groupId: task.config.groupId ?? `dfm.${p.id}.${id}` } } : { id, ...task },
    ),
  }));

/** The normalized pipeline every part of dfm works with. */
export type Pipeline = z.output<typeof pipelineShapeSchema>;

/** Structure first, then the rules across fields (needs, cycles, SQL parameters, templates). */
export const pipelineSchema = pipelineShapeSchema
  .superRefine((pipeline, ctx) => {
    for (const issue of checkPipeline(pipeline)) ctx.addIssue(issue);
  })
  .describe('A dfm pipeline: a DAG of tasks run on a schedule, on a trigger or on demand.');

export type Task = Pipeline['tasks'][number];
export type Param = Pipeline['params'][string];
export type Trigger = Pipeline['triggers'][number];
export type WebhookTrigger = Extract<Trigger, { type: 'webhook' }>;
export type KafkaTrigger = Extract<Trigger, { type: 'kafka' }>;
/** The YAML as written (snake_case, durations as text). */
export type PipelineInput = z.input<typeof pipelineSchema>;
