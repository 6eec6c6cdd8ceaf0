import { createKafka, createKafkaAdmin, createKafkaProducer, type KafkaProducerOptions, type TopicSettings } from '../kafka/kafka-client.js';
import type { TaskContext } from './define-task-runner.js';

/**
 * A producer for a task's topic on a named Kafka connection: the topic must exist (or is created
 * when the task sets `create_topic`), so a typo fails with the topic's name instead of silently
 * auto-creating it.
 */
export async function openTopicProducer(context: TaskContext<unknown>, connection: string, topic: string, createTopic: TopicSettings | undefined, options: KafkaProducerOptions = {}) {
  const brokers = context.kafkaBrokers(connection);
  const kafka = createKafka(brokers, context.logger, { clientId: `dfm-${context.pipelineId}-${context.taskId}` });
  const admin = createKafkaAdmin(kafka, brokers);
  try {
    await admin.ensureTopic(topic, createTopic);
  } finally {
    await admin.close();
  }
  if (context.signal.aborted) throw context.signal.reason;
  return createKafkaProducer(kafka, brokers, options);
}
