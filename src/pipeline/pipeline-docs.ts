/**
 * docs/pipelines.md, generated from the schema (field tables), the task-type registry (one section
 * and examples per type) and the diagnostic code catalog, so the reference cannot drift from what
 * `dfm validate` accepts. Regenerate with `npx tsx scripts/generate-pipeline-docs.ts`.
 */
import { BUILTIN_TASK_SETTINGS } from './effective-task-settings.js';
import { DIAGNOSTIC_CODES } from './diagnostic-codes.js';
import { formatDuration } from './duration.js';
import { BUILTIN_PARAMETERS, ID_RULE, PARAM_NAME_RULE } from './identifiers.js';
import { toPipelineJsonSchema } from './json-schema.js';
import { MAX_ALIAS_COUNT, MAX_PIPELINE_FILE_BYTES } from './parse-pipeline-source.js';
import { SCHEDULE_NICKNAMES } from './schedule.js';
import { taskTypes } from './task-types/registry.js';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  $ref?: string;
};

const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(schema: JsonSchema): string {
  if (schema.$ref) return 'any JSON';
  if (schema.const !== undefined) return `\`${String(schema.const)}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(', ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const kinds = [...new Set(union.map(typeOf))];
    return kinds.length === 1 && union.length > 1 && kinds[0] === 'mapping' ? 'task (see Tasks)' : kinds.join(' or ');
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0) return 'any JSON';
  return types
    .map((t) => {
      if (t === 'array') return schema.items ? `list of ${typeOf(schema.items)}` : 'list';
      if (t === 'object') return typeof schema.additionalProperties === 'object' ? `map of ${typeOf(schema.additionalProperties)}` : 'mapping';
      if (t === 'string' && schema.pattern?.includes('(ms|s|m|h|d)')) return 'duration';
      if (t === 'integer') return schema.minimum !== undefined || schema.maximum !== undefined ? `integer (${schema.minimum ?? '…'}–${schema.maximum ?? '…'})` : 'integer';
      return t;
    })
    .join(' or ');
}

function fieldTable(schema: JsonSchema, skip: ReadonlySet<string> = new Set()): string {
  const rows = Object.entries(schema.properties ?? {})
    .filter(([name]) => !skip.has(name))
    .map(([name, field]) => {
      const required = schema.required?.includes(name) && field.default === undefined ? ' **(required)**' : '';
      const fallback = field.default === undefined ? '' : `\`${typeof field.default === 'string' ? field.default : JSON.stringify(field.default)}\``;
      return `| \`${name}\`${required} | ${escapeCell(typeOf(field))} | ${fallback} | ${escapeCell(field.description ?? '')} |`;
    });
  return ['| Field | Type | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
}

const EXAMPLE = `id: orders-hourly                # unique and stable; the file name need not match
description: Land orders from Kafka and publish hourly totals
schedule: "5 * * * *"            # cron (5 fields) or @hourly, @daily, …; absent = on demand
timezone: Europe/Berlin
catchup: last
max_active_runs: 1
params:
  min_amount: { type: number, default: 0 }
notify: { slack: "#data-alerts", on: [failure, recovery] }
defaults: { retries: 3, retry_delay: 30s, retry_backoff: exponential, timeout: 10m }
tasks:
  land_orders:
    type: kafka.to_postgres
    topic: orders
    table: raw.orders
    key: [order_id]
  hourly_totals:
    type: postgres.sql
    needs: [land_orders]
    sql: |
      insert into mart.hourly_totals (hour, total)
      select date_trunc('hour', created_at), sum(amount) from raw.orders
      where created_at >= :interval_start and created_at < :interval_end and amount >= :min_amount
      group by 1
      on conflict (hour) do update set total = excluded.total
  publish:
    type: postgres.to_kafka
    needs: [hourly_totals]
    query: select hour, total from mart.hourly_totals where hour >= :interval_start
    topic: hourly-totals
    key: hour
`;

/** Tables for nested mappings of a task (`messages[]`, `columns.<name>`, `until`, …). */
function nestedTables(schema: JsonSchema, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (skip.has(name)) continue;
    const candidates: [string, JsonSchema | undefined][] = [
      [name, field],
      [`${name}[]`, field.items],
      [`${name}.<name>`, typeof field.additionalProperties === 'object' ? field.additionalProperties : undefined],
      ...(field.anyOf ?? field.oneOf ?? []).map((option): [string, JsonSchema] => [name, option]),
    ];
    for (const [label, candidate] of candidates) {
      if (candidate?.properties && Object.keys(candidate.properties).length > 0) out.push(`\`${label}\`:`, '', fieldTable(candidate), '');
    }
  }
  return out;
}

export function renderPipelineDocs(): string {
  const schema = toPipelineJsonSchema() as JsonSchema;
  const props = schema.properties!;
  const taskUnion = (props.tasks!.additionalProperties as JsonSchema).oneOf ?? [];
  const common = new Set(['type', 'description', 'needs', 'retries', 'retry_delay', 'retry_backoff', 'max_retry_delay', 'timeout']);
  const firstTask = taskUnion[0]!;
  const commonTable = fieldTable({ properties: Object.fromEntries(Object.entries(firstTask.properties ?? {}).filter(([k]) => common.has(k) && k !== 'type')) });
  const trigger = ((props.triggers!.items as JsonSchema).properties!.kafka as JsonSchema);
  const webhook = ((props.triggers!.items as JsonSchema).properties!.webhook as JsonSchema);
  const out: string[] = [];
  out.push(
    '<!-- Generated by scripts/generate-pipeline-docs.ts from src/pipeline/. Do not edit by hand. -->',
    '# Pipelines',
    '',
    'A pipeline is one YAML file under `pipelines/` (`DFM_PIPELINES_DIR`). dfm validates every file on each pull request (`dfm validate`), shows what a merge would change (`dfm plan`), and runs the pipelines of the default branch.',
    '',
    'Editors: point the YAML language server at [`schema/pipeline.schema.json`](../schema/pipeline.schema.json), e.g. with a first line `# yaml-language-server: $schema=../schema/pipeline.schema.json`.',
    '',
    '```yaml',
    EXAMPLE.trimEnd(),
    '```',
    '',
    '## Pipeline fields',
    '',
    fieldTable(schema),
    '',
    `Ids use ${ID_RULE}. Top-level keys starting with \`x-\` are ignored, so they can hold YAML anchors (\`x-defaults: &d …\` then \`<<: *d\`).`,
    '',
    '### `params`',
    '',
    `Each param is bound in SQL as \`:name\` and in templates as \`{{ params.name }}\`. Names use ${PARAM_NAME_RULE}.`,
    '',
    fieldTable(props.params!.additionalProperties as JsonSchema),
    '',
    '### `notify`',
    '',
    fieldTable(props.notify!),
    '',
    '### `defaults` and task settings',
    '',
    'A task’s own `retries`, `retry_delay`, `retry_backoff`, `max_retry_delay` and `timeout` override the pipeline’s `defaults`, which override the built-in defaults:',
    '',
    '| Setting | Built-in default | Meaning |',
    '|---|---|---|',
    `| \`retries\` | ${BUILTIN_TASK_SETTINGS.retries} | Retries after a failed attempt. |`,
    `| \`retry_delay\` | ${formatDuration(BUILTIN_TASK_SETTINGS.retryDelayMs)} | Wait before the first retry. |`,
    `| \`retry_backoff\` | ${BUILTIN_TASK_SETTINGS.retryBackoff} | \`exponential\` doubles the wait after each attempt, \`fixed\` keeps it. |`,
    `| \`max_retry_delay\` | ${formatDuration(BUILTIN_TASK_SETTINGS.maxRetryDelayMs)} | Cap of the wait between attempts. |`,
    `| \`timeout\` | ${formatDuration(BUILTIN_TASK_SETTINGS.timeoutMs)} | Longest one attempt may run. |`,
    '',
    '### `triggers`',
    '',
    'A list of events that start a run, besides the schedule. Kafka: `- kafka: { topic, min_records, max_wait, connection }`.',
    '',
    fieldTable(trigger),
    '',
    'Webhook: `- webhook: { secret: <name>, auth, idempotency_field }` starts a run on `POST /api/hooks/<pipeline id>`. `<name>` names the secret in configuration, `DFM_WEBHOOK_SECRET_<NAME>` (upper case), never the secret itself: `dfm validate` warns when the variable is not set, and a sync refuses the pipeline until it is. The JSON body\'s top-level fields are the run\'s params, checked against their declared types (an unknown or mistyped one is refused with 422); the whole body is `{{ trigger.body }}` in templates and `:trigger_body` (jsonb text) in SQL, always bound as data.',
    '',
    fieldTable(webhook),
    '',
    '## Schedules and time',
    '',
    `\`schedule\` is a 5-field cron (\`minute hour day-of-month month day-of-week\`) or one of ${SCHEDULE_NICKNAMES.map((n) => `\`${n}\``).join(', ')}, evaluated in \`timezone\` (IANA, default UTC). Across DST changes a fire time that falls in the skipped hour moves to the first valid time after it, and the repeated hour fires once. A run created at a fire time covers the **logical interval** [previous fire time, this fire time): \`:interval_start\` and \`:interval_end\`; \`:logical_time\` is the fire time. \`catchup\` decides what happens to fire times missed while dfm was down: \`none\` skips them, \`last\` runs the latest one, \`all\` runs each in order.`,
    '',
    'Durations are a number with a unit: `500ms`, `30s`, `10m`, `1h30m`, `2d` (bare numbers are rejected: `30` could mean seconds or minutes).',
    '',
    '## SQL parameters and templates',
    '',
    `SQL uses \`:name\` for a declared param or a built-in: ${BUILTIN_PARAMETERS.map((b) => `\`${b}\``).join(', ')}. Values are always bound (\`$1\`, \`$2\`, …), never spliced into the text. \`::casts\`, strings, comments and dollar-quoted bodies are not parameters. Each SQL entry is exactly one statement; give \`postgres.sql\` a list to run several in order.`,
    '',
    '`kafka.produce` values may contain templates: `{{ params.name }}`, a built-in such as `{{ logical_time }}`, `{{ tasks.<id>.output.<field> }}` of a task upstream (via `needs`), or `{{ trigger.body }}` (`{{ trigger.body.<field> }}`) of a webhook delivery. A string that is exactly one template keeps the value’s type.',
    '',
    'Connections are names, never URLs: `default` is `DATABASE_URL` / `KAFKA_BROKERS`; `warehouse` is `DFM_POSTGRES_WAREHOUSE_URL` or `DFM_KAFKA_WAREHOUSE_BROKERS`.',
    '',
    '## Tasks',
    '',
    'Every task has a `type` and these common fields:',
    '',
    commonTable,
    '',
  );
  for (const [index, definition] of taskTypes.entries()) {
    const taskSchema = taskUnion[index]!;
    out.push(`### \`${definition.type}\``, '', definition.description, '', fieldTable(taskSchema, common), '', ...nestedTables(taskSchema, common));
    for (const example of definition.examples) out.push(`**Example: ${example.title}**`, '', '```yaml', `my_task:\n${example.yaml.trimEnd().replace(/^/gm, '  ')}`, '```', '');
  }
  out.push(
    '## Diagnostics',
    '',
    `\`dfm validate\` reports each problem as \`file:line:col  severity  code  message\` with a hint. Files over ${MAX_PIPELINE_FILE_BYTES} bytes and documents expanding more than ${MAX_ALIAS_COUNT} aliases are rejected.`,
    '',
    '| Code | Meaning |',
    '|---|---|',
    ...Object.entries(DIAGNOSTIC_CODES).map(([code, meaning]) => `| \`${code}\` | ${escapeCell(meaning)} |`),
    '',
  );
  return out.join('\n');
}
