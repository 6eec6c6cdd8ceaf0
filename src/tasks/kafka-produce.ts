/**
 * kafka.produce: publishes the task's messages, templated from the run's params, the built-ins and
 * upstream outputs (`{{ tasks.<id>.output.<field> }}`), in one send acknowledged by every in-sync
 * replica (acks = -1). A retry of a failed attempt sends them again: at least once.
 */
import type { OutgoingRecord } from '../kafka/kafka-client.js';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Task } from '../pipeline/pipeline-schema.js';
import { findTemplateReferences, renderTemplates } from '../pipeline/templates.js';
import { defineTaskRunner } from './define-task-runner.js';
import { openTopicProducer } from './open-topic-producer.js';

type KafkaProduceConfig = Extract<Task, { type: 'kafka.produce' }>['config'];

export interface KafkaProduceOutput {
  readonly topic: string;
  readonly records: number;
  /** First offset written per partition. */
  readonly partitions: { partition: number; baseOffset: string }[];
}

export const kafkaProduceRunner = defineTaskRunner<KafkaProduceConfig>({
  type: 'kafka.produce',
  async run(context): Promise<KafkaProduceOutput> {
    const { config } = context;
    const needsOutputs = findTemplateReferences(config.messages).some((r) => r.kind === 'task');
    const templateContext = { params: context.params, builtins: { ...context.builtins } as Record<string, unknown>, taskOutputs: needsOutputs ? await context.upstreamOutputs() : {}, triggerBody: context.builtins.trigger_body === null ? undefined : JSON.parse(context.builtins.trigger_body) as unknown };
    const records: OutgoingRecord[] = config.messages.map((message, index) => {
      let rendered: { key?: unknown; value: unknown; headers: Record<string, unknown> };
      try {
        rendered = renderTemplates(message, templateContext) as typeof rendered;
      } catch (error) {
        throw new DfmError('TEMPLATE_FAILED', `Message ${index + 1}: ${messageOf(error)}`);
      }
      return {
        key: rendered.key === undefined || rendered.key === null ? null : String(rendered.key),
        value: typeof rendered.value === 'string' ? rendered.value : JSON.stringify(rendered.value),
        headers: Object.fromEntries(Object.entries(rendered.headers).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      };
    });
    const producer = await openTopicProducer(context, config.connection, config.topic, config.createTopic, { compression: config.compression });
    try {
      const sent = await producer.send(config.topic, records);
      context.metrics?.kafkaRecords.inc({ pipeline: context.pipelineId, task: context.taskId, direction: 'out' }, records.length);
      context.log(`produced ${records.length} record(s) to ${config.topic}${config.compression === 'none' ? '' : ` (${config.compression})`}`);
      return { topic: config.topic, records: records.length, partitions: sent.map((s) => ({ partition: s.partition, baseOffset: s.baseOffset.toString() })) };
    } finally {
      await producer.close();
    }
  },
});
