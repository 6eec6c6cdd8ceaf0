import type { TaskRunner } from './define-task-runner.js';
import { postgresSqlRunner } from './postgres-sql.js';

/** Every task type this dfm can execute, by the type string the pipeline schema registers. */
export const taskRunners: ReadonlyMap<string, TaskRunner<never>> = new Map<string, TaskRunner<never>>(
  [postgresSqlRunner].map((runner) => [runner.type, runner as TaskRunner<never>]),
);
