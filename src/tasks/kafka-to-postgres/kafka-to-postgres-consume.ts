/**
 * The consume loop of kafka.to_postgres, separate from the task runner so the bench drives exactly
 * the code the task runs.
 *
 * Flow: records arrive per partition from the group consumer and are queued; a drain loop decodes
 * them into a buffer (on machines with more than two cores a worker thread shares building binary
 * rows, taking the newest queued slices while the drain takes the oldest: see decodeOnWorker and
 * feedWorker), and the buffer is flushed by a writer (one transaction: rows + dead letters
 * + offset compare-and-set) when it holds `batchSize` records, when its oldest record waited
 * `batchMaxWaitMs`, or when it holds everything up to the end offsets seen at start. Flushes run
 * in the background, up to three at once on three connections, each committing after the one before
 * (consuming and writing one after the other ran at ~0.6 of the slower of the two; overlapped, at
 * ~the slower one). A full buffer waits for a writer; a full queue makes the fetch loop wait
 * (back-pressure).
 *
 * Offsets: Postgres is the truth. On every assignment the consumer seeks each partition to the
 * stored offset (the low watermark when none); records below it are skipped. When the
 * compare-and-set fails (another member wrote first), the buffer is dropped and the partitions
 * re-sought to what Postgres says.
 *
 * The parts, one job each: fetch-queue.ts (fetched records → the buffer), batch-flights.ts (the
 * buffer → a writer's transaction), partition-offsets.ts (stored, tail and position per
 * partition), writers-pool.ts (the connections). This file opens them, wires them to the group
 * consumer, says what each transaction's outcome means (settleOutcome) and when the task stops
 * (createStop, the timers).
 */
import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { DfmError, messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { createKafkaAdmin, startGroupConsumer, type GroupConsumer, type KafkaAdmin, type KafkaClient, type PartitionRange } from '../../kafka/kafka-client.js';
import { startBackgroundDecoder, type BackgroundDecoder } from './background-decoder.js';
import { createBatchFlights, type BatchFlights } from './batch-flights.js';
import { createFetchQueue } from './fetch-queue.js';
import type { ColumnType } from './kafka-record-decode.js';
import { openBatchWriter, type BatchWriter, type BatchWriterOptions, type PartitionAdvance, type WriteOutcome } from './kafka-to-postgres-writer.js';
import { PartitionOffsets } from './partition-offsets.js';
import { otherWritersPoolOf, WRITERS } from './writers-pool.js';

export interface ConsumeToPostgresOptions {
  readonly kafka: KafkaClient;
  readonly brokers: readonly string[];
  readonly pool: pg.Pool;
  readonly topic: string;
  readonly table: string;
  readonly groupId: string;
  readonly mode: 'upsert' | 'append';
  readonly key: readonly string[] | undefined;
  readonly columns: Readonly<Record<string, { field: string | undefined; type: ColumnType }>> | undefined;
  readonly until: { readonly caughtUp: boolean; readonly maxRecords: number | undefined; readonly maxDurationMs: number | undefined };
  readonly batchSize: number;
  readonly batchMaxWaitMs: number;
  readonly deadLetterTable: string | undefined;
  readonly createTopic: { readonly partitions: number; readonly replicationFactor: number } | undefined;
  readonly sessionTimeoutMs: number;
  readonly runId: number | null;
  /** True when the target is the metadata database (dfm's tables exist there). */
  readonly metadataDatabase: boolean;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Bench only: false leaves the offsets out of the transaction. */
  readonly storeOffsets?: boolean;
  /**
   * Whether a worker thread shares building the binary rows (background-decoder.ts). Default: on
   * machines with more than two cores. On two, this thread alone is faster (profile, both building
   * rows in WebAssembly: 750–840k records/s against 600–710k with the worker sharing): the worker's
   * time and its heap's GC compete for the second core with PostgreSQL, the broker and V8's GC
   * helpers. Tests and the bench set it to run either way.
   */
  readonly decodeOnWorker?: boolean;
  readonly onCommitted?: (batch: { rows: number; deadLetters: number; records: number }) => void;
}

export interface ConsumeToPostgresOutput {
  readonly topic: string;
  readonly table: string;
  /** Records consumed and committed (rows + dead letters). */
  readonly records: number;
  readonly rows: number;
  readonly deadLetters: number;
  readonly batches: number;
  /** Batches rolled back because another consumer had advanced the offsets (zombie fence). */
  readonly fenced: number;
  /** Stored next offset per partition when the task finished. */
  readonly offsets: Record<string, string>;
  /** End offsets seen at start (the `caught_up` target). */
  readonly endOffsets: Record<string, string>;
  readonly stoppedBy: 'caught_up' | 'max_records' | 'max_duration';
  readonly elapsedMs: number;
}

export async function consumeToPostgres(options: ConsumeToPostgresOptions): Promise<ConsumeToPostgresOutput> {
  const began = Date.now();
  const { logger, signal, topic } = options;
  const admin = createKafkaAdmin(options.kafka, options.brokers);
  const writers: BatchWriter[] = [];
  let decoder: BackgroundDecoder | undefined;
  let consumer: GroupConsumer | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const { first: w, ranges, stored } = await openWriters(options, admin, writers);
    const offsets = new PartitionOffsets(ranges, stored);
    const counts = { records: 0, rows: 0, deadLetters: 0, batches: 0, fenced: 0 };
    const output = (stoppedBy: ConsumeToPostgresOutput['stoppedBy']): ConsumeToPostgresOutput => ({
      topic,
      table: options.table,
      ...counts,
      offsets: offsets.storedByPartition(),
      endOffsets: Object.fromEntries([...offsets.endOffsets].map(([p, o]) => [String(p), o.toString()])),
      stoppedBy,
      elapsedMs: Date.now() - began,
    });
    if (options.until.caughtUp && offsets.caughtUp()) {
      logger.info({ topic }, 'already caught up with the end offsets');
      return output('caught_up');
    }

    // Beyond two cores a worker thread shares building binary rows, so this thread's time goes to
    // the Kafka client (started only now: a run that is already caught up needs none).
    if (w.layout.binary && (options.decodeOnWorker ?? availableParallelism() > 2)) decoder = startBackgroundDecoder(w.layout.columns, w.layout.withSeq);

    const stop = createStop();
    const { maxRecords } = options.until;
    const flights: BatchFlights = createBatchFlights({ writers, newBatch: w.newBatch, offsets, signal, stopped: () => stop.done, settled: settleOutcome, fail: stop.fail });
    const holdsEverything = () => options.until.caughtUp && offsets.positionsAtEnd();
    const queue = createFetchQueue({
      offsets,
      flights,
      decoder,
      batchSize: options.batchSize,
      recordsLeft: () => (maxRecords === undefined ? Infinity : maxRecords - (counts.records + flights.unwrittenRecords())),
      holdsEverything,
      stopped: () => stop.done,
      fail: stop.fail,
    });

    /** What a transaction's outcome means for the task: counted and stored, or a resync after a fence. */
    async function settleOutcome(outcome: WriteOutcome, advances: ReadonlyMap<number, PartitionAdvance>, records: number, own: Promise<void>): Promise<void> {
      // The batch before did not commit: what it does next (re-read after a fence) covers this one.
      if (outcome.status === 'superseded') return;
      if (outcome.status === 'fenced') {
        counts.fenced++;
        logger.warn({ topic, group: options.groupId, partitions: outcome.partitions }, 'offset compare-and-set failed: another consumer stored these partitions first; rolled back and re-reading the stored offsets');
        await resync(own);
        return;
      }
      offsets.committed(advances);
      counts.records += records;
      counts.rows += outcome.rows;
      counts.deadLetters += outcome.deadLetters;
      counts.batches++;
      options.onCommitted?.({ rows: outcome.rows, deadLetters: outcome.deadLetters, records });
      // Only so the group's lag is visible in Kafka tooling; Postgres stays the truth.
      void consumer?.commit(new Map([...advances].map(([p, a]) => [p, a.next]))).catch((error: unknown) => logger.debug({ err: { message: messageOf(error) } }, 'committing offsets to Kafka failed (lag display only)'));
      if (maxRecords !== undefined && counts.records >= maxRecords) stop.finish('max_records');
      else await checkCaughtUp();
    }

    /** Partitions of other group members (a concurrent run) count too, so read them all. */
    async function checkCaughtUp(): Promise<void> {
      if (!options.until.caughtUp || stop.done) return;
      // With every partition assigned here, nobody else stores them: no need to ask Postgres.
      const everyPartitionHere = options.storeOffsets === false || offsets.assigned.length === offsets.ranges.size;
      if (offsets.caughtUp(everyPartitionHere ? offsets.stored : await w.readStoredOffsets())) stop.finish('caught_up');
    }

    /**
     * Drops what is buffered and queued and starts again from what PostgreSQL stores, once the
     * transactions in flight ended. The queue is dropped twice: at once, so the drain stops adding
     * records fetched for the old positions to the buffer while the transactions end and the
     * offsets are read; and again after, for the fetches that arrived meanwhile: read from the old
     * positions, they may begin past the new ones, and decoding them would leave a gap.
     */
    async function resetToStored(flightsEnded: () => Promise<void>): Promise<void> {
      queue.dropQueued();
      await flightsEnded();
      offsets.reset(await w.readStoredOffsets());
      queue.dropQueued();
      flights.dropBuffer();
    }

    /** After a fence: let the other transactions end, take Postgres' offsets, drop the buffer, seek there. */
    async function resync(own: Promise<void>): Promise<void> {
      await resetToStored(() => flights.ended(own));
      offsets.seekAssigned((partition, offset) => consumer?.seek(partition, offset));
      await checkCaughtUp();
    }

    consumer = await startGroupConsumer(options.kafka, options.brokers, {
      groupId: options.groupId,
      topic,
      sessionTimeoutMs: options.sessionTimeoutMs,
      // Stopping waits for the fetch in flight, and at the end offsets a fetch waits this long on
      // the broker: at 500 ms every caught-up run took ~0.45 s longer (bench, 1,000,000 records:
      // 3.9 s → 3.4 s), at 100 ms ~50 ms. A caught-up run has records to fetch until its end,
      // so only its last fetch waits: 20 ms. A streaming run idles: ten small fetches a second.
      maxWaitTimeMs: Math.min(options.until.caughtUp ? 20 : 100, options.batchMaxWaitMs),
      async onAssign(partitions) {
        // A rebalance: what was buffered may belong to partitions now owned by another member.
        await resetToStored(() => flights.ended());
        const starts = offsets.assign(partitions);
        logger.info({ topic, group: options.groupId, partitions, starts: Object.fromEntries([...starts].map(([p, o]) => [p, o.toString()])) }, 'partitions assigned; seeking to the offsets stored in Postgres');
        void checkCaughtUp().catch((error: unknown) => stop.fail(error));
        return starts;
      },
      onRecords: queue.onRecords,
      onSkipped: queue.onSkipped,
      // An error dfm itself judged final (a batch no codec can read: KAFKA_BATCH_UNREADABLE) fails
      // the task as it is; retrying would read the same bytes and spend every retry on them.
      onFail: (error) => stop.fail(error instanceof DfmError && !error.retryable ? error : new DfmError('KAFKA_CONSUMER_FAILED', `The consumer of "${topic}" stopped: ${messageOf(error)}`, { cause: error, retryable: true })),
    });

    timers.push(startFlushTimer({ flights, batchMaxWaitMs: options.batchMaxWaitMs, holdsEverything, stopped: () => stop.done, checkCaughtUp: () => void checkCaughtUp().catch((error: unknown) => stop.fail(error)) }));
    if (options.until.maxDurationMs !== undefined) {
      timers.push(
        setTimeout(() => {
          void (async () => {
            await flights.ended();
            await flights.flush();
            await flights.ended();
            stop.finish('max_duration');
          })().catch((error: unknown) => stop.fail(error));
        }, options.until.maxDurationMs),
      );
    }
    const onAbort = () => stop.fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw signal.reason;
      const stoppedBy = await stop.finished;
      // The other transaction in flight may still commit (records past the end offsets, say);
      // nothing more is fetched meanwhile, so the consumer leaves the group at the same time.
      await Promise.all([flights.ended(), consumer.stop()]);
      logger.info({ topic, records: counts.records, deadLetters: counts.deadLetters, batches: counts.batches }, `kafka.to_postgres stopped: ${stoppedBy}`);
      return output(stoppedBy);
    } finally {
      signal.removeEventListener('abort', onAbort);
      for (const timer of timers) clearTimeout(timer);
      await consumer.stop();
      await queue.close();
      // An aborted run's transactions in flight see the signal before COMMIT and roll back.
      await flights.ended();
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.allSettled([consumer?.stop(), decoder?.close(), ...writers.map((writer) => writer.close()), admin.close()]);
  }
}

/**
 * The first writer and the topic's partitions at once (a caught-up run's time is mostly these
 * round trips), then the other writers (WRITERS in all, so the next batches stream in while one
 * commits) while the stored offsets are read. Not when a unique index of an append target could
 * make the transactions wait on each other (the upsert runs only after the batch before
 * committed). Each writer is in `writers` as soon as it opened, so the caller closes it whatever
 * fails.
 */
async function openWriters(options: ConsumeToPostgresOptions, admin: KafkaAdmin, writers: BatchWriter[]): Promise<{ first: BatchWriter; ranges: Map<number, PartitionRange>; stored: Map<number, bigint> }> {
  const writerOptions: BatchWriterOptions = {
    table: options.table,
    mode: options.mode,
    key: options.key,
    columns: options.columns,
    consumer: options.groupId,
    topic: options.topic,
    deadLetterTable: options.deadLetterTable ?? 'dfm.dead_letter',
    runId: options.runId,
    ensureDfmTables: !options.metadataDatabase,
    storeOffsets: options.storeOffsets ?? true,
    logger: options.logger,
  };
  const [ranges, first] = await allOrFirstError([
    admin.ensureTopic(options.topic, options.createTopic).then(() => admin.fetchPartitionRanges(options.topic)),
    openBatchWriter(options.pool, writerOptions).then((opened) => {
      writers.push(opened);
      return opened;
    }),
  ] as const);
  const others =
    options.mode === 'upsert' || !first.targetHasUniqueIndex
      ? Promise.all(
          Array.from({ length: WRITERS - 1 }, () =>
            openBatchWriter(otherWritersPoolOf(options.pool), { ...writerOptions, ensureDfmTables: false }).then((opened) => {
              writers.push(opened);
            }),
          ),
        )
      : Promise.resolve();
  // The offsets stored in Postgres: what this consumer expects in its next compare-and-set.
  const [stored] = await allOrFirstError([first.readStoredOffsets(), others] as const);
  return { first, ranges, stored };
}

/** How the task ends: `finished` settles once, with why it stopped or the error that ended it; `done` from then on. */
function createStop(): { readonly done: boolean; readonly finished: Promise<ConsumeToPostgresOutput['stoppedBy']>; finish(reason: ConsumeToPostgresOutput['stoppedBy']): void; fail(error: unknown): void } {
  let resolve!: (reason: ConsumeToPostgresOutput['stoppedBy']) => void;
  let reject!: (error: unknown) => void;
  const finished = new Promise<ConsumeToPostgresOutput['stoppedBy']>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let done = false;
  return {
    get done() {
      return done;
    },
    finished,
    finish(reason) {
      done = true;
      resolve(reason);
    },
    fail(error) {
      done = true;
      reject(error);
    },
  };
}

/**
 * Time-based flush: a quiet topic still lands its records within batch_max_wait. Once a second
 * an idle consumer also re-reads the stored offsets (another member may have finished the work).
 */
function startFlushTimer(o: { flights: BatchFlights; batchMaxWaitMs: number; holdsEverything: () => boolean; stopped: () => boolean; checkCaughtUp: () => void }): NodeJS.Timeout {
  let lastIdleCheck = Date.now();
  return setInterval(() => {
    if (o.flights.busy() || o.stopped()) return;
    const buffer = o.flights.buffer;
    if (!buffer.isEmpty() && (Date.now() - buffer.since >= o.batchMaxWaitMs || o.holdsEverything())) void o.flights.flush();
    else if (buffer.isEmpty() && o.flights.idle() && Date.now() - lastIdleCheck >= 1000) {
      lastIdleCheck = Date.now();
      o.checkCaughtUp();
    }
  }, Math.max(10, Math.min(100, Math.floor(o.batchMaxWaitMs / 4))));
}

/**
 * Promise.all, but every promise settles before the first error is thrown: a writer opened beside
 * a failed step is in `writers` by then, and closed with them.
 */
async function allOrFirstError<T extends readonly unknown[]>(promises: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
