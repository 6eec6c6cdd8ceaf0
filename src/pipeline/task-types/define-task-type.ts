/**
 * A task type is data: its `type` string, a description, the zod schema of its configuration
 * (the snake_case YAML fields that sit beside `type` and `needs` in a task), how that
 * configuration is normalized for the executor, and examples that the docs render and a test
 * validates. Execution lives elsewhere (src/tasks/), keyed by the same `type`.
 */
import type { z } from 'zod';

/** Where SQL sits inside a task's YAML (relative path) and whether it must be one statement. */
export interface SqlField {
  path: (string | number)[];
  text: string;
}

export interface TaskTypeDefinition<Type extends string = string, Shape extends z.ZodRawShape = z.ZodRawShape, Config = unknown> {
  readonly type: Type;
  readonly description: string;
  /** Configuration fields, strict: unknown keys are reported with a "did you mean". */
  readonly config: z.ZodObject<Shape>;
  /** Cross-field rules of the configuration (e.g. `mode: upsert` needs `key`). */
  readonly check?: (input: z.output<z.ZodObject<Shape>>, ctx: z.RefinementCtx) => void;
  /** The normalized configuration (camelCase, durations in ms, defaults applied). */
  readonly normalize: (input: z.output<z.ZodObject<Shape>>) => Config;
  /** SQL to check for one statement and known `:name` parameters, by YAML path in the task. */
  readonly sql?: (config: Config) => SqlField[];
  /** Values whose strings may hold `{{ … }}` templates, by YAML path in the task. */
  readonly templated?: (config: Config) => { path: (string | number)[]; value: unknown }[];
  /** Task bodies (YAML under `tasks.<id>:`), each with a title; docs render them, tests validate them. */
  readonly examples: readonly { title: string; yaml: string }[];
}

export function defineTaskType<Type extends string, Shape extends z.ZodRawShape, Config>(
  definition: TaskTypeDefinition<Type, Shape, Config>,
): TaskTypeDefinition<Type, Shape, Config> {
  return Object.freeze(definition);
}
