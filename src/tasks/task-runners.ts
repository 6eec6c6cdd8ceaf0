import type { TaskRunner } from './define-task-runner.js';
import { kafkaProduceRunner } from './kafka-produce.js';
import { kafkaToPostgresRunner } from './kafka-to-postgres/kafka-to-postgres.js';
import { postgresSqlRunner } from './postgres-sql.js';
import { postgresToKafkaRunner } from './postgres-to-kafka.js';

/** Every task type this dfm can execute, by the type string the pipeline schema registers. */
export const taskRunners: ReadonlyMap<string, TaskRunner<never>> = new Map<string, TaskRunner<never>>(
  [postgresSqlRunner, kafkaProduceRunner, kafkaToPostgresRunner, postgresToKafkaRunner].map((runner) => [runner.type, runner as TaskRunner<never>]),
);
