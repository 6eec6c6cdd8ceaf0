/**
 * Building blocks of the pipeline schema. Problems zod cannot name on its own carry a stable
 * diagnostic code in `params.code` (and a fix in `params.hint`); `to-diagnostics.ts` reads them.
 */
import { z } from 'zod';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
import { CONNECTION_PATTERN, COLUMN_PATTERN, ID_PATTERN, ID_RULE, TABLE_PATTERN, TOPIC_PATTERN } from './identifiers.js';

export type IssueParams = {
  code: string;
  hint?: string;
};

/** A custom issue with a diagnostic code, for use inside transforms and refinements. */
export function codedIssue(code: string, message: string, hint?: string): { code: 'custom'; message: string; params: IssueParams } {
  return { code: 'custom', message, params: hint === undefined ? { code } : { code, hint } };
}

/** Short, readable rendering of a YAML value for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 37)}...` : value}"`;
  return String(value);
}

const DURATION_JSON_PATTERN = '^\\s*(\\d+(ms|s|m|h|d))+\\s*$';

/** A duration string (`30s`, `1h30m`) normalized to milliseconds. */
export function durationSchema(description: string, options: { min?: number } = {}) {
  const min = options.min ?? 0;
  return z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `Expected a duration such as "30s", "10m" or "1h", got ${describeValue(iss.input)}`) })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.issues.push({ ...codedIssue('invalid-duration', `"${text}" is not a duration`, 'Write a number with a unit: ms, s, m, h or d, e.g. "30s", "10m", "1h30m"'), input: text });
        return z.NEVER;
      }
      if (ms < min || ms > MAX_DURATION_MS) {
        ctx.issues.push({ ...codedIssue('invalid-duration', `Duration "${text}" is out of range`, `Use a duration from ${formatDuration(min)} to ${formatDuration(MAX_DURATION_MS)}`), input: text });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description, pattern: DURATION_JSON_PATTERN, examples: ['30s', '10m', '1h30m'] });
}

/** A string checked against a pattern, reporting `code` with `rule` as the fix. */
export function patternString(pattern: RegExp, code: string, what: string, rule: string) {
  return z
    .string()
    .refine((value: string) => pattern.test(value), {
      error: (iss) => `${what} ${describeValue(iss.input)} is not valid`,
      params: { code, hint: `Use ${rule}` } satisfies IssueParams,
    })
    .meta({ pattern: pattern.source });
}

export const idSchema = (what: string) => patternString(ID_PATTERN, 'invalid-id', what, ID_RULE);

export const connectionSchema = (description: string) =>
  patternString(CONNECTION_PATTERN, 'invalid-value', 'Connection name', 'lowercase letters, digits and "_" (it names DFM_POSTGRES_<NAME>_URL or DFM_KAFKA_<NAME>_BROKERS)')
    .default('default')
    .describe(description);

export const topicSchema = (description: string) =>
  patternString(TOPIC_PATTERN, 'invalid-value', 'Kafka topic', 'letters, digits, ".", "_" and "-", at most 249 characters')
    .refine((t: string) => t !== '.' && t !== '..', { message: 'Kafka topic cannot be "." or ".."', params: { code: 'invalid-value' } })
    .describe(description);

export const tableSchema = (description: string) =>
  patternString(TABLE_PATTERN, 'invalid-value', 'Table name', 'an unquoted Postgres name, optionally schema-qualified such as raw.orders').describe(description);

export const columnNameSchema = (description: string) =>
  patternString(COLUMN_PATTERN, 'invalid-value', 'Column name', 'an unquoted Postgres column name').describe(description);

export const positiveInt = (description: string, max = 1_000_000_000) => z.number().int().min(1).max(max).describe(description);

/** `create_topic`: create the topic if it is missing, with these settings. */
export const createTopicSchema = z
  .strictObject({
    partitions: positiveInt('Number of partitions.', 10_000).default(1),
    replication_factor: positiveInt('Replication factor (1 for a single-broker cluster).', 32).default(1),
  })
  .transform((v) => ({ partitions: v.partitions, replicationFactor: v.replication_factor }))
  .describe('Create the topic when it does not exist yet. Default: the topic must exist.');

export type CreateTopic = z.output<typeof createTopicSchema>;
