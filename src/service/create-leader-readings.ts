/**
 * The scrape-time read behind the leader's gauges (metrics/create-leader-gauges.ts): three statements on
 * dfm's database and one end-offset request per Kafka topic that a kafka.to_postgres task consumes.
 * Bounded: the ready queue is counted on the open-task-run index, the outbox is grouped by kind,
 * and at most MAX_LAG_TASKS tasks are measured (a scrape must stay well under Prometheus' 10 s
 * timeout, and the series count under control).
 * Lag is known for tasks whose offsets live in dfm's own database (`connection: default`, the
 * default); a task writing to another database keeps its offsets there and is left out.
 */
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import { resolveKafkaConnection } from '../config/resolve-connection.js';
import { createKafka, createKafkaAdmin, type KafkaAdmin, type PartitionRange } from '../kafka/kafka-client.js';
import { kafkajs } from '../kafka/kafkajs.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { readOutboxDepth } from '../outbox/outbox-queue.js';
import type { LeaderReadings } from '../metrics/create-leader-gauges.js';

const MAX_LAG_TASKS = 500;
/** A scrape must not wait on a broker that is down (the dependency gauge says so already). */
const KAFKA_TIMEOUT_MS = 2000;

interface LagTask {
  readonly pipeline: string;
  readonly task: string;
  readonly topic: string;
  readonly consumer: string;
  readonly kafkaConnection: string;
}

export function createLeaderReadings(options: { pool: pg.Pool; config: Config; kafkaBrokers: readonly string[]; logger: Logger }) {
  const admins = new Map<string, KafkaAdmin>();
  const adminOf = (connection: string): KafkaAdmin => {
    let admin = admins.get(connection);
    if (!admin) {
      const brokers = resolveKafkaConnection(options.config, options.kafkaBrokers, connection);
      // kafkajs' own log is silenced for this client: a topic a task will consume but nobody created
      // yet is a Metadata error kafkajs logs at ERROR (the quick start's first scrape did), while
      // here it only means no lag to show; the failure is logged at debug below, and Kafka being
      // down is /readyz's and dfm_dependency_up's to say.
      admin = createKafkaAdmin(createKafka(brokers, options.logger, { clientId: 'dfm-metrics', retry: { retries: 0 }, logLevel: kafkajs.logLevel.NOTHING }), brokers);
      admins.set(connection, admin);
    }
    return admin;
  };

  async function readReady(): Promise<LeaderReadings['ready']> {
    const { rows } = await options.pool.query<{ count: number; oldest: number }>(
      `select count(*)::int as count, coalesce(extract(epoch from now() - min(ready_at)), 0)::float8 as oldest
         from dfm.task_run where state = 'ready' and ready_at <= now()`,
    );
    return { count: rows[0]?.count ?? 0, oldestSeconds: rows[0]?.oldest ?? 0 };
  }

  async function readLagTasks(): Promise<LagTask[]> {
    const { rows } = await options.pool.query<LagTask>(
      `select p.id as pipeline, t->>'id' as task, t->'config'->>'topic' as topic, t->'config'->>'groupId' as consumer,
              coalesce(t->'config'->>'kafkaConnection', 'default') as "kafkaConnection"
         from dfm.pipeline p
         join dfm.pipeline_version v on v.id = p.active_version_id
         cross join lateral jsonb_array_elements(v.definition->'tasks') t
        where not p.paused and t->>'type' = 'kafka.to_postgres' and coalesce(t->'config'->>'connection', 'default') = 'default'
        order by 1, 2
        limit $1`,
      [MAX_LAG_TASKS],
    );
    return rows;
  }

  async function readKafkaLag(): Promise<LeaderReadings['kafkaLag']> {
    const tasks = await readLagTasks();
    if (tasks.length === 0) return [];
    const { rows: stored } = await options.pool.query<{ consumer: string; topic: string; partition: number; offset: string }>(
      `select consumer, topic, partition, "offset"::text as "offset" from dfm.kafka_offset
        where (consumer, topic) in (select * from unnest($1::text[], $2::text[]))`,
      [tasks.map((t) => t.consumer), tasks.map((t) => t.topic)],
    );
    const storedOf = new Map<string, bigint>(stored.map((s) => [`${s.consumer}\u0000${s.topic}\u0000${s.partition}`, BigInt(s.offset)]));
    const ranges = new Map<string, Promise<Map<number, PartitionRange> | undefined>>();
    const rangesOf = (t: LagTask) => {
      const key = `${t.kafkaConnection}\u0000${t.topic}`;
      let found = ranges.get(key);
      if (!found) {
        found = withTimeout(adminOf(t.kafkaConnection).fetchPartitionRanges(t.topic)).catch((error: unknown) => {
          options.logger.debug({ topic: t.topic, err: { message: messageOf(error) } }, 'no end offsets for the lag gauge');
          return undefined;
        });
        ranges.set(key, found);
      }
      return found;
    };
    const lags = await Promise.all(
      tasks.map(async (t) => {
        const partitions = await rangesOf(t);
        if (!partitions) return undefined;
        let lag = 0n;
        for (const [partition, range] of partitions) {
          // Nothing stored yet: the task starts at the partition's first record.
          const from = storedOf.get(`${t.consumer}\u0000${t.topic}\u0000${partition}`) ?? range.low;
          if (range.high > from) lag += range.high - from;
        }
        return { pipeline: t.pipeline, task: t.task, topic: t.topic, lag: Number(lag) };
      }),
    );
    return lags.filter((l) => l !== undefined);
  }

  return {
    async read(): Promise<LeaderReadings> {
      try {
        const [ready, kafkaLag, outbox] = await Promise.all([readReady(), readKafkaLag(), readOutboxDepth(options.pool)]);
        return { ready, kafkaLag, outbox: outbox.map((o) => ({ kind: o.target, pending: o.pending, oldestSeconds: o.oldestSeconds })) };
      } catch (error) {
        options.logger.warn({ err: { message: messageOf(error) } }, 'could not read the leader gauges for this scrape');
        throw error;
      }
    },
    async close(): Promise<void> {
      await Promise.all([...admins.values()].map((a) => a.close()));
      admins.clear();
    },
  };
}

async function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${KAFKA_TIMEOUT_MS} ms`)), KAFKA_TIMEOUT_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}
