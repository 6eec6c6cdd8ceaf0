/**
 * Name rules. Pipeline and task ids end up in database keys, Kafka consumer group ids
 * (`dfm.<pipeline>.<task>`), commit status contexts (`dfm/<pipeline>`) and Slack commands, so they
 * are lowercase and punctuation-free except `-` and `_`; 63 characters keeps them inside
 * Postgres' identifier limit.
 */
export const ID_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const ID_RULE = 'lowercase letters, digits, "-" and "_", starting with a letter, at most 63 characters';

/** Params are bound as SQL `:name` parameters and template `{{ params.name }}`, so snake_case only. */
export const PARAM_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
export const PARAM_NAME_RULE = 'lowercase letters, digits and "_", not starting with a digit';

/** Connection names map to environment variables (`warehouse` → DFM_POSTGRES_WAREHOUSE_URL). */
export const CONNECTION_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** Webhook secret names map to environment variables (`orders` → DFM_WEBHOOK_SECRET_ORDERS). */
export const WEBHOOK_SECRET_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
export const WEBHOOK_SECRET_NAME_RULE = 'lowercase letters, digits and "_", starting with a letter (`orders` reads DFM_WEBHOOK_SECRET_ORDERS)';
export const WEBHOOK_AUTH_MODES = ['signature', 'bearer'] as const;

/** Kafka's own topic rule: 1–249 characters of letters, digits, `.`, `_`, `-`. */
export const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

/** Unquoted Postgres identifiers, optionally schema-qualified for tables (`raw.orders`). */
export const COLUMN_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
export const TABLE_PATTERN = /^(?:[A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Values dfm supplies to every run, as SQL `:name` parameters and `{{ name }}` templates. */
/** `trigger_body` is the webhook delivery's JSON body as text (null for other runs); bind it as `:trigger_body::jsonb`. */
export const BUILTIN_PARAMETERS = ['logical_time', 'interval_start', 'interval_end', 'run_id', 'pipeline_id', 'trigger_body'] as const;
export type BuiltinParameter = (typeof BUILTIN_PARAMETERS)[number];
