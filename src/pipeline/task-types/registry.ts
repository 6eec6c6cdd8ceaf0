/** Every task type, in documentation order. Adding a type: write its file, list it here and in pipeline-schema.ts. */
import { kafkaProduceTaskType } from './kafka-produce.js';
import { kafkaToPostgresTaskType } from './kafka-to-postgres.js';
import { postgresSqlTaskType } from './postgres-sql.js';
import { postgresToKafkaTaskType } from './postgres-to-kafka.js';
import type { TaskTypeDefinition } from './define-task-type.js';

export const taskTypes = [postgresSqlTaskType, kafkaProduceTaskType, kafkaToPostgresTaskType, postgresToKafkaTaskType] as const;

export type TaskType = (typeof taskTypes)[number]['type'];

export const taskTypeNames: readonly TaskType[] = taskTypes.map((t) => t.type);

export function getTaskType(type: string): TaskTypeDefinition<string, any, any> | undefined {
  return taskTypes.find((t) => t.type === type);
}
