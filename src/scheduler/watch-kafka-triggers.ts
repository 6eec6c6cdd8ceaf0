/**
 * Kafka triggers: `triggers: [{ kafka: { topic, min_records, max_wait } }]` starts an `event` run
 * when enough new records are in the topic. On the scheduler leader, every poll compares the
 * topic's end offsets with the trigger's stored offsets (`dfm.kafka_offset`, consumer
 * `trigger:<pipeline>`); a trigger that never fired starts from each partition's first offset.
 *
 * When it fires, ONE transaction locks the stored offsets, creates the run with the dedupe key
 * `kafka:<topic>:<partition>:<from>-<to>,…` (the offset range the run covers, also how a task can
 * see which records started it: `dfm.run.dedupe_key`) and stores the end offsets. A crash before
 * the commit leaves neither; after it, both. So no batch of records makes two runs or none, across
 * restarts and leader changes (a second watcher computing the same range hits the dedupe key).
 *
 * `max_wait` counts from the first poll that saw a pending record; a new leader starts counting
 * again (at most one extra `max_wait` of delay after a failover).
 */
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import { resolveKafkaConnection } from '../config/resolve-connection.js';
import { withTransaction } from '../db/with-transaction.js';
import { createKafka, createKafkaAdmin, type KafkaAdmin, type PartitionRange } from '../kafka/kafka-client.js';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { KafkaTrigger, Pipeline } from '../pipeline/pipeline-schema.js';
import { createRun } from '../runs/create-run.js';
import { resolveRunParams } from '../pipeline/resolve-run-params.js';

export interface KafkaTriggerWatcherOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly config: Config;
  /** Brokers of the `default` Kafka connection. */
  readonly kafkaBrokers: readonly string[];
  /** Only the scheduler leader polls (any number may: the dedupe key keeps runs single). */
  readonly isLeader: () => boolean;
  readonly pollIntervalMs: number;
  readonly now?: () => Date;
}

export interface KafkaTriggerWatcher {
  /** One poll of every triggered pipeline; the number of runs created. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

/** Logged problems (missing topic, broker down) repeat at most this often per trigger. */
const WARN_EVERY_MS = 60_000;

export function watchKafkaTriggers(options: KafkaTriggerWatcherOptions): KafkaTriggerWatcher {
  const logger = options.logger.child({ component: 'kafka-triggers' });
  const now = options.now ?? (() => new Date());
  const admins = new Map<string, KafkaAdmin>();
  const pendingSince = new Map<string, number>();
  const warnedAt = new Map<string, number>();
  let stopping = false;
  let ticking: Promise<number> | undefined;

  function adminOf(connection: string): { admin: KafkaAdmin; brokers: readonly string[] } {
    const brokers = resolveKafkaConnection(options.config, options.kafkaBrokers, connection);
    let admin = admins.get(connection);
    if (!admin) {
      admin = createKafkaAdmin(createKafka(brokers, logger, { clientId: 'dfm-triggers' }), brokers);
      admins.set(connection, admin);
    }
    return { admin, brokers };
  }

  async function tick(): Promise<number> {
    if (!options.isLeader()) return 0;
    const { rows } = await options.pool.query<{ id: string; version_id: string; definition: Pipeline }>(
      `select p.id, p.active_version_id as version_id, v.definition
         from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id
        where not p.paused and jsonb_array_length(coalesce(v.definition->'triggers', '[]'::jsonb)) > 0`,
    );
    let created = 0;
    for (const row of rows) {
      for (const trigger of row.definition.triggers) {
        if (trigger.type !== 'kafka') continue;
        if (stopping) return created;
        const key = `${row.id}\u0000${trigger.topic}`;
        try {
          const { admin } = adminOf(trigger.connection);
          await admin.ensureTopic(trigger.topic, undefined, 'Create it (the trigger waits for it), or fix the topic name in the trigger.');
          const ranges = await admin.fetchPartitionRanges(trigger.topic);
          created += await considerTrigger(row.id, Number(row.version_id), row.definition, trigger, ranges, key);
          warnedAt.delete(key);
        } catch (error) {
          const last = warnedAt.get(key) ?? 0;
          if (Date.now() - last >= WARN_EVERY_MS) {
            warnedAt.set(key, Date.now());
            logger.warn({ pipeline: row.id, topic: trigger.topic, code: (error as DfmError).code }, `Kafka trigger of ${row.id} cannot poll: ${messageOf(error)}`);
          }
        }
      }
    }
    return created;
  }

  async function considerTrigger(
    pipelineId: string,
    versionId: number,
    pipeline: Pipeline,
    trigger: KafkaTrigger,
    ranges: ReadonlyMap<number, PartitionRange>,
    key: string,
  ): Promise<number> {
    const consumer = `trigger:${pipelineId}`;
    const stored = await readOffsets(options.pool, consumer, trigger.topic, false);
    const pending = countPending(ranges, stored);
    if (pending === 0n) {
      pendingSince.delete(key);
      return 0;
    }
    const since = pendingSince.get(key) ?? Date.now();
    pendingSince.set(key, since);
    const waited = trigger.maxWaitMs !== undefined && Date.now() - since >= trigger.maxWaitMs;
    if (pending < BigInt(trigger.minRecords) && !waited) return 0;

    const runId = await withTransaction(options.pool, async (client) => {
      // Re-read under lock: another watcher may have fired this range a moment ago.
      const locked = await readOffsets(client, consumer, trigger.topic, true);
      if (countPending(ranges, locked) === 0n) return undefined;
      const span = [...ranges].sort(([a], [b]) => a - b).map(([partition, range]) => ({ partition, from: locked.get(partition) ?? range.low, to: range.high }));
      const dedupeKey = `kafka:${trigger.topic}:${span.map((s) => `${s.partition}:${s.from}-${s.to}`).join(',')}`;
      const at = now();
      const id = await createRun(client, {
        pipeline,
        versionId,
        trigger: 'event',
        logicalTime: at,
        intervalStart: at,
        intervalEnd: at,
        params: resolveRunParams(pipeline, {}),
        dedupeKey,
        requestedBy: `kafka:${trigger.topic}`,
      });
      if (id === undefined) return undefined;
      await client.query(
        `insert into dfm.kafka_offset (consumer, topic, partition, "offset")
         select $1, $2, s.partition, s.next from unnest($3::int[], $4::bigint[]) as s(partition, next)
         on conflict (consumer, topic, partition) do update set "offset" = excluded."offset", updated_at = now()`,
        [consumer, trigger.topic, span.map((s) => s.partition), span.map((s) => s.to.toString())],
      );
      logger.info({ pipeline: pipelineId, run: id, topic: trigger.topic, records: String(pending), dedupeKey }, 'Kafka trigger created a run');
      return id;
    });
    if (runId === undefined) return 0;
    pendingSince.delete(key);
    options.metrics?.runsCreated.inc({ pipeline: pipelineId, trigger: 'event' });
    return 1;
  }

  const loop = setInterval(() => {
    if (stopping || ticking) return;
    ticking = tick()
      .catch((error: unknown) => {
        logger.warn({ err: { message: messageOf(error) } }, 'Kafka trigger poll failed');
        return 0;
      })
      .finally(() => {
        ticking = undefined;
      });
  }, options.pollIntervalMs);

  return {
    tick,
    async stop() {
      stopping = true;
      clearInterval(loop);
      await ticking;
      await Promise.all([...admins.values()].map((a) => a.close()));
      admins.clear();
    },
  };
}

function countPending(ranges: ReadonlyMap<number, PartitionRange>, stored: ReadonlyMap<number, bigint>): bigint {
  let pending = 0n;
  for (const [partition, range] of ranges) {
    const from = stored.get(partition) ?? range.low;
    if (range.high > from) pending += range.high - from;
  }
  return pending;
}

async function readOffsets(client: Pick<pg.PoolClient, 'query'>, consumer: string, topic: string, lock: boolean): Promise<Map<number, bigint>> {
  const { rows } = await client.query<{ partition: number; offset: string }>(
    `select partition, "offset" from dfm.kafka_offset where consumer = $1 and topic = $2${lock ? ' for update' : ''}`,
    [consumer, topic],
  );
  return new Map(rows.map((r) => [r.partition, BigInt(r.offset)]));
}
