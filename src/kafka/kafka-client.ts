/**
 * The one module that knows kafkajs. kafkajs is unmaintained (its issues 1603, 1005, 1046), so
 * every other part of dfm talks to Kafka through the functions here, and the client can change
 * behind them: topic checks, end offsets, a keyed producer, and a group consumer whose start
 * positions come from the caller (dfm's offsets live in Postgres, not in Kafka). kafkajs itself
 * comes from kafkajs.ts, with leaner internals for reading and grouping records (never a change to
 * what goes over the wire), and its sockets from framed-socket.ts (each response read into one
 * buffer of its own).
 */
import type { Admin, Consumer, Kafka, KafkaConfig, LogEntry, Producer } from 'kafkajs';
// kafkajs with some of its internals replaced (kafkajs.ts): never import kafkajs' values directly.
import { framedSocketFactory } from './framed-socket.js';
import { kafkajs, kafkajsSocketFactory } from './kafkajs.js';
import { CODEC_IDS, type CompressionCodec } from './compression-codecs.js';
import { UnreadableBatch, type ConsumedRecord } from './kafkajs-record-views.js';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export type { Admin, Consumer, Producer, EachBatchPayload, KafkaMessage, Message, ITopicConfig } from 'kafkajs';
export const { CompressionTypes } = kafkajs;
const { Kafka: KafkaClass, logLevel, Partitioners } = kafkajs;
export type KafkaClient = Kafka;

export function createKafka(brokers: readonly string[], logger: Logger, options: Partial<KafkaConfig> = {}): Kafka {
  return new KafkaClass({
    clientId: 'dfm',
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    socketFactory: framedSocketFactory(kafkajsSocketFactory),
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const level = entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
      logger[level]({ component: 'kafka', namespace: entry.namespace, ...rest }, message);
    },
    ...options,
  });
}

/**
 * The /healthz check of Kafka: one admin connection kept open across checks (a probe every few
 * seconds should not open a connection each time), no retries, bounded by timeoutMs. A failed check
 * drops the connection so the next one starts clean.
 */
export function createKafkaHealthCheck(kafka: Kafka, timeoutMs: number): { check(): Promise<boolean>; close(): Promise<void> } {
  let admin: Admin | undefined;
  const drop = async () => {
    const old = admin;
    admin = undefined;
    await old?.disconnect().catch(() => {});
  };
  return {
    async check() {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          (async () => {
            if (!admin) {
              admin = kafka.admin({ retry: { retries: 0 } });
              await admin.connect();
            }
            await admin.describeCluster();
          })(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('Kafka health check timed out')), timeoutMs);
          }),
        ]);
        return true;
      } catch {
        await drop();
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    close: drop,
  };
}

/** The first and next offset of one partition: records [low, high) exist; `high` is the end offset. */
export interface PartitionRange {
  readonly low: bigint;
  readonly high: bigint;
}

export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** A long-lived admin connection (the trigger watcher polls end offsets every second). */
export interface KafkaAdmin {
  /** Throws KAFKA_TOPIC_MISSING naming the topic and brokers, unless `create` is given (then creates it). */
  ensureTopic(topic: string, create?: TopicSettings, missingHint?: string): Promise<{ created: boolean }>;
  /** Low and high watermark of every partition, by partition. */
  fetchPartitionRanges(topic: string): Promise<Map<number, PartitionRange>>;
  close(): Promise<void>;
}

export function createKafkaAdmin(kafka: Kafka, brokers: readonly string[]): KafkaAdmin {
  const admin: Admin = kafka.admin();
  let connected: Promise<void> | undefined;
  const connect = async () => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw unavailable(brokers, error);
    });
    await connected;
  };
  return {
    async ensureTopic(topic, create, missingHint = 'Create it, or add create_topic: { partitions: 3, replication_factor: 1 } to the task.') {
      await connect();
      // listTopics, not a metadata request for the topic: with auto.create.topics.enable (the
      // broker default) the latter would create it with the broker's defaults.
      const topics = await admin.listTopics().catch((error: unknown) => {
        throw unavailable(brokers, error);
      });
      if (topics.includes(topic)) return { created: false };
      if (!create) {
        throw new DfmError(
          'KAFKA_TOPIC_MISSING',
          `Kafka topic "${topic}" does not exist on ${brokers.join(',')}. ${missingHint}`,
          { retryable: false, details: { topic, brokers } },
        );
      }
      try {
        // false when another client created it first: fine, it exists. kafkajs' own
        // waitForLeaders retries only LEADER_NOT_AVAILABLE, but a KRaft broker answers
        // UNKNOWN_TOPIC_OR_PARTITION for a moment after the create, so we wait ourselves.
        await admin.createTopics({ topics: [{ topic, numPartitions: create.partitions, replicationFactor: create.replicationFactor }], waitForLeaders: false });
        await waitUntilWritable(admin, topic, create.partitions);
      } catch (error) {
        throw new DfmError('KAFKA_TOPIC_CREATE_FAILED', `Could not create Kafka topic "${topic}" on ${brokers.join(',')}: ${messageOf(error)}`, {
          cause: error,
          retryable: true,
        });
      }
      return { created: true };
    },
    async fetchPartitionRanges(topic) {
      await connect();
      const offsets = await admin.fetchTopicOffsets(topic).catch((error: unknown) => {
        throw unavailable(brokers, error);
      });
      return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
    },
    async close() {
      connected = undefined;
      await admin.disconnect().catch(() => {});
    },
  };
}

/** How long a new topic's partitions may take to take records (KRaft: well under a second). */
const TOPIC_READY_TIMEOUT_MS = 15_000;
/** Errors that mean "not yet" right after a create, not "failed". */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

/**
 * Until every partition of a new topic takes records. The metadata names a leader before that
 * broker has the partition's log: for a moment a produce there fails with NOT_LEADER_FOR_PARTITION,
 * and kafkajs retries the whole request, so the partitions that had taken it got the records twice
 * (seen in the suite under load). Reading every partition's offsets from its leader only succeeds
 * once the logs exist.
 */
async function waitUntilWritable(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    let waitingFor = 'its partitions';
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = topics.find((t) => t.name === topic)?.partitions ?? [];
      const led = found.filter((p) => p.leader >= 0 && p.partitionErrorCode === 0).length;
      if (found.length >= partitions && led === found.length) {
        waitingFor = 'a log on every partition';
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length >= partitions) return;
      } else waitingFor = `leaders (${led} of ${partitions} partitions have one)`;
    } catch (error) {
      if (!isNotYet(error)) throw error;
    }
    if (Date.now() >= deadline) throw new Error(`the topic was created, but after ${TOPIC_READY_TIMEOUT_MS / 1000} s the broker was still waiting for ${waitingFor}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A "not yet" error, also when kafkajs gave up retrying it (its cause chain holds the broker's answer). */
function isNotYet(error: unknown): boolean {
  for (let e = error as { type?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (NOT_YET.has(e.type ?? '')) return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}

function unavailable(brokers: readonly string[], error: unknown): DfmError {
  if (error instanceof DfmError) return error;
  return new DfmError('KAFKA_UNAVAILABLE', `Kafka at ${brokers.join(',')} did not answer: ${messageOf(error)}`, { cause: error, retryable: true });
}

export interface OutgoingRecord {
  readonly key?: string | Buffer | null | undefined;
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SentPartition {
  readonly partition: number;
  /** Offset of the first record of this send in the partition. */
  readonly baseOffset: bigint;
}

export interface KafkaProducer {
  /** Resolves once every in-sync replica has the records (acks = -1). */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<SentPartition[]>;
  close(): Promise<void>;
}

export interface KafkaProducerOptions {
  /** How each record batch is compressed (compression-codecs.ts). Default none. */
  readonly compression?: CompressionCodec;
}

export async function createKafkaProducer(kafka: Kafka, brokers: readonly string[], options: KafkaProducerOptions = {}): Promise<KafkaProducer> {
  const compression = CODEC_IDS[options.compression ?? 'none'];
  // No auto creation: a missing topic must be an error naming it (ensureTopic), not a topic with
  // the broker's default partition count.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect().catch((error: unknown) => {
    throw unavailable(brokers, error);
  });
  return {
    async send(topic, records) {
      const sent = await producer
        .send({ topic, acks: -1, compression, messages: records.map((r) => ({ key: r.key ?? null, value: r.value, headers: r.headers ? { ...r.headers } : {} })) })
        .catch((error: unknown) => {
          throw new DfmError('KAFKA_PRODUCE_FAILED', `Producing to "${topic}" on ${brokers.join(',')} failed: ${messageOf(error)}`, { cause: error, retryable: true });
        });
      return sent.map((m) => ({ partition: m.partition, baseOffset: BigInt(m.baseOffset ?? m.offset ?? '-1') }));
    },
    async close() {
      await producer.disconnect().catch(() => {});
    },
  };
}

export type { ConsumedRecord } from './kafkajs-record-views.js';
export { COMPRESSION_CODECS, type CompressionCodec } from './compression-codecs.js';
export { recordAt, recordOf } from './kafkajs-record-views.js';

export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly topic: string;
  /** The group evicts a member silent this long (kafkajs default 30 s; brokers accept ≥ 6 s). */
  readonly sessionTimeoutMs: number;
  /** Bytes per partition per fetch (default 1 MB, ~5,000 records of 200 bytes). */
  readonly maxBytesPerPartition?: number;
  /** How long a fetch waits on the broker when there is nothing new, in ms. */
  readonly maxWaitTimeMs?: number;
  /**
   * Called on every assignment (first join and each rebalance) while the assigned partitions are
   * paused; returns where each must start. Nothing of the assignment is delivered before it resolves.
   */
  onAssign(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>>;
  /**
   * Records of one partition in ascending offset order. Never delivered for a stale (pre-seek)
   * fetch. `next` is the offset after the fetch's last entry in the log, which may be past the last
   * record: a transaction's commit or abort marker, or records of an aborted transaction.
   */
  onRecords(partition: number, records: readonly ConsumedRecord[], heartbeat: () => Promise<void>, next: bigint): Promise<void>;
  /**
   * A fetch of one partition that held only transaction markers or aborted records, [first, next).
   * kafkajs does not say whether it was stale: the caller takes it only where it continues its
   * position.
   */
  onSkipped?(partition: number, first: bigint, next: bigint): void;
  /**
   * The consumer stopped for good (kafkajs gave up restarting, or onAssign failed), or a partition
   * reached a record batch that cannot be read (a DfmError KAFKA_BATCH_UNREADABLE naming topic,
   * partition and offsets; the partition's records before it were given to onRecords first).
   */
  onFail(error: unknown): void;
}

export interface GroupConsumer {
  /** Moves a partition's fetch position (e.g. back to the offset stored in Postgres). */
  seek(partition: number, offset: bigint): void;
  /** Commits offsets to the Kafka group, only so `kafka-consumer-groups` shows the lag. */
  commit(offsets: ReadonlyMap<number, bigint>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A consumer group member that starts every assigned partition where the caller says. kafkajs has
 * no rebalance listener: GROUP_JOIN is emitted after the assignment, so the topic is paused right
 * there (synchronously, before the next fetch), the caller's offsets are loaded, each partition is
 * sought, and only then resumed. A fetch that was already in flight is recognised by kafkajs'
 * pending seek (`isStale`) and dropped.
 */
export async function startGroupConsumer(kafka: Kafka, brokers: readonly string[], options: GroupConsumerOptions): Promise<GroupConsumer> {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    // kafkajs' ratio (3 s of 30 s): ten heartbeats per session.
    heartbeatInterval: Math.max(100, Math.floor(options.sessionTimeoutMs / 10)),
    rebalanceTimeout: Math.max(options.sessionTimeoutMs, 10_000),
    allowAutoTopicCreation: false,
    // 1 MB (~5,000 records of 200 bytes): kafkajs decodes a whole fetch in one go on the event
    // loop; at 4 MB a fetch held it ~60 ms and a consume-only loop ran ~15 % slower (copying and
    // page-faulting the larger response buffers).
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
  });
  let generation = 0;
  /** The first batch found that cannot be read: nothing is delivered after it. */
  let unreadable: UnreadableBatch | undefined;
  /** The disconnect, once stop() was called: every caller waits for the same one. */
  let stopping: Promise<void> | undefined;
  const stopped = () => stopping !== undefined;
  const ready = new Set<number>();
  const removers = [
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const partitions = (event.payload.memberAssignment[options.topic] ?? []).slice().sort((a, b) => a - b);
      const current = ++generation;
      ready.clear();
      consumer.pause([{ topic: options.topic }]);
      options.onAssign(partitions).then(
        (starts) => {
          if (current !== generation || stopped()) return;
          for (const partition of partitions) {
            const start = starts.get(partition);
            if (start !== undefined) consumer.seek({ topic: options.topic, partition, offset: start.toString() });
            ready.add(partition);
          }
          if (!unreadable) consumer.resume([{ topic: options.topic }]);
        },
        (error: unknown) => {
          if (!stopped()) options.onFail(error);
        },
      );
    }),
    // kafkajs skips eachBatch for a fetch of markers and aborted records only; this event is how
    // it says the partition moved past them (without it, a partition ending in a marker never
    // reaches its end offset).
    consumer.on(consumer.events.START_BATCH_PROCESS, (event) => {
      const { partition, batchSize, firstOffset, lastOffset } = event.payload;
      if (batchSize > 0 || firstOffset === null || stopped() || !ready.has(partition) || event.payload.topic !== options.topic) return;
      options.onSkipped?.(partition, BigInt(firstOffset), BigInt(lastOffset) + 1n);
    }),
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !stopped()) options.onFail(event.payload.error);
    }),
  ];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isStale, isRunning }) => {
        if (unreadable || !ready.has(batch.partition) || isStale() || !isRunning() || stopped()) return;
        const messages = batch.messages as unknown as readonly ConsumedRecord[];
        const last = messages[messages.length - 1];
        if (!(last instanceof UnreadableBatch)) {
          if (messages.length > 0) await options.onRecords(batch.partition, messages, heartbeat, BigInt(batch.lastOffset()) + 1n);
          return;
        }
        // Stop at the batch: the records before it, up to its first offset and not one further,
        // then the error. No partition is fetched again, so nothing after it is delivered.
        unreadable = last;
        consumer.pause([{ topic: options.topic }]);
        const before = messages.slice(0, -1);
        if (before.length > 0) await options.onRecords(batch.partition, before, heartbeat, BigInt(last.offset));
        options.onFail(last.error);
      },
    });
  } catch (error) {
    for (const remove of removers) remove();
    await consumer.disconnect().catch(() => {});
    throw unavailable(brokers, error);
  }
  return {
    seek(partition, offset) {
      if (stopped()) return;
      consumer.seek({ topic: options.topic, partition, offset: offset.toString() });
    },
    async commit(offsets) {
      if (stopped() || offsets.size === 0) return;
      await consumer.commitOffsets([...offsets].map(([partition, offset]) => ({ topic: options.topic, partition, offset: offset.toString() })));
    },
    stop() {
      if (!stopping) {
        for (const remove of removers) remove();
        stopping = consumer.disconnect().catch(() => {});
      }
      return stopping;
    },
  };
}
