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
 */
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { DfmError, messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { createKafkaAdmin, startGroupConsumer, type ConsumedRecord, type GroupConsumer, type KafkaClient } from '../../kafka/kafka-client.js';
import { startBackgroundDecoder, type BackgroundDecoder, type EncodedRecords } from './background-decoder.js';
import type { ColumnType } from './kafka-record-decode.js';
import { openBatchWriter, type BatchWriter, type PartitionAdvance } from './kafka-to-postgres-writer.js';

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

/**
 * Connections writing batches at once, each transaction committing after the one before. A
 * writer is busy ~17 ms per batch of 10,000 records (COPY ~13 ms, the offsets and COMMIT ~4 ms,
 * instrumented on 2 cores) while this thread builds a batch in ~7 ms: with two the builder waited
 * for a free writer now and then; with three, (c) alone ran at 696,000–940,000 records/s against
 * 660,000–873,000 (bench/kafka-to-postgres-profile.ts, alternating, 4 runs each).
 */
const WRITERS = 3;
/** Records decoded between two turns of the event loop (~0.3 ms). */
const DECODE_SLICE = 256;
/**
 * Bytes of fetched record values queued for decoding before kafkajs' next fetch waits: two or
 * three fetches (1 MB per partition), so the next one is read while this one is decoded. Queued
 * records are kafkajs objects: more of them only outlive the young generation.
 */
const QUEUED_BYTES = 8 * 1024 * 1024;
/** Records per request to the decoding worker: ~200 KB of values, a few hundred messages per 1,000,000 records. */
const WORKER_SLICE = 1024;
/** Requests the worker holds at once: one it works on, one waiting, so it never idles between them. */
const WORKER_DEPTH = 2;

export async function consumeToPostgres(options: ConsumeToPostgresOptions): Promise<ConsumeToPostgresOutput> {
  const began = Date.now();
  const { logger, signal, topic } = options;
  const admin = createKafkaAdmin(options.kafka, options.brokers);
  const writers: BatchWriter[] = [];
  let decoder: BackgroundDecoder | undefined;
  let consumer: GroupConsumer | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const writerOptions = {
      table: options.table,
      mode: options.mode,
      key: options.key,
      columns: options.columns,
      consumer: options.groupId,
      topic,
      deadLetterTable: options.deadLetterTable ?? 'dfm.dead_letter',
      runId: options.runId,
      ensureDfmTables: !options.metadataDatabase,
      storeOffsets: options.storeOffsets ?? true,
      logger,
    };
    // The topic's partitions and the first writer at once: a caught-up run's time is mostly these
    // round trips.
    const [ranges, w] = await allOrFirstError([
      admin.ensureTopic(topic, options.createTopic).then(() => admin.fetchPartitionRanges(topic)),
      openBatchWriter(options.pool, writerOptions).then((opened) => {
        writers.push(opened);
        return opened;
      }),
    ] as const);
    // More connections (WRITERS in all), so the next batches stream in while this one commits.
    // Not when a unique index of an append target could make the transactions wait on each other
    // (the upsert runs only after the batch before committed). From a pool of their own
    // (writersPoolOf): the task pool may be full of other tasks' connections.
    const otherWriters =
      options.mode === 'upsert' || !w.targetHasUniqueIndex
        ? Promise.all(
            Array.from({ length: WRITERS - 1 }, () =>
              openBatchWriter(writersPoolOf(options.pool), { ...writerOptions, ensureDfmTables: false }).then((opened) => {
                writers.push(opened);
              }),
            ),
          )
        : Promise.resolve();
    const endOffsets = new Map([...ranges].map(([p, r]) => [p, r.high]));

    // The offsets stored in Postgres: what this consumer expects in its next compare-and-set.
    // The other writers open while the stored offsets are read.
    let [stored] = await allOrFirstError([w.readStoredOffsets(), otherWriters] as const);
    const caughtUp = (offsets: ReadonlyMap<number, bigint>) =>
      [...ranges].every(([p, r]) => (offsets.get(p) ?? r.low) >= r.high);
    const output = (stoppedBy: ConsumeToPostgresOutput['stoppedBy']): ConsumeToPostgresOutput => ({
      topic,
      table: options.table,
      records: counts.records,
      rows: counts.rows,
      deadLetters: counts.deadLetters,
      batches: counts.batches,
      fenced: counts.fenced,
      offsets: Object.fromEntries([...stored].sort(([a], [b]) => a - b).map(([p, o]) => [String(p), o.toString()])),
      endOffsets: Object.fromEntries([...endOffsets].map(([p, o]) => [String(p), o.toString()])),
      stoppedBy,
      elapsedMs: Date.now() - began,
    });
    const counts = { records: 0, rows: 0, deadLetters: 0, batches: 0, fenced: 0 };
    if (options.until.caughtUp && caughtUp(stored)) {
      logger.info({ topic }, 'already caught up with the end offsets');
      return output('caught_up');
    }

    // Beyond two cores a worker thread shares building binary rows, so this thread's time goes to
    // the Kafka client (started only now: a run that is already caught up needs none).
    if (w.layout.binary && (options.decodeOnWorker ?? availableParallelism() > 2)) decoder = startBackgroundDecoder(w.layout.columns, w.layout.withSeq);

    // Next offset expected from Kafka per assigned partition (records below it are already stored).
    const position = new Map<number, bigint>();
    let assigned: readonly number[] = [];
    let buffer = w.newBatch();
    /** Transactions in flight, oldest first; each one's offsets follow the one before's. */
    const flights: { readonly records: number; readonly committed: Promise<boolean>; promise: Promise<void> }[] = [];
    /** The offsets after the last batch handed to a writer: what the next batch expects. */
    let tail = new Map(stored);
    let flushes = 0;
    let finish!: (reason: ConsumeToPostgresOutput['stoppedBy']) => void;
    let fail!: (error: unknown) => void;
    let done = false;
    const finished = new Promise<ConsumeToPostgresOutput['stoppedBy']>((resolve, reject) => {
      finish = (reason) => {
        done = true;
        resolve(reason);
      };
      fail = (error) => {
        done = true;
        reject(error);
      };
    });

    const maxRecords = options.until.maxRecords;
    const pendingRecords = () => counts.records + flights.reduce((n, f) => n + f.records, 0) + buffer.records;
    /** Until every transaction in flight ended (all but `except`, the caller's own). */
    const flightsEnded = async (except?: Promise<void>) => {
      for (const flight of [...flights]) if (flight.promise !== except) await flight.promise;
    };
    const reachedMaxRecords = () => maxRecords !== undefined && counts.records >= maxRecords;

    /**
     * Writes what is buffered now, on the next writer: up to one transaction per writer in flight,
     * each committing after the one before it (see BatchWriter.write). Errors end the task.
     */
    function flush(): Promise<void> {
      if (flights.length >= writers.length) return flights[0]!.promise;
      if (buffer.isEmpty() || done) return Promise.resolve();
      // Defence in depth: never write below what is stored or in flight (the CAS would also refuse).
      const batch = buffer.isAtOrAbove(tail) ? buffer : buffer.withoutBelow(tail);
      buffer = w.newBatch();
      if (batch.isEmpty()) return Promise.resolve();
      const advances = new Map<number, PartitionAdvance>();
      for (const [partition, next] of batch.nextOffsets()) {
        advances.set(partition, { expected: tail.get(partition), next });
        tail.set(partition, next);
      }
      const records = batch.records;
      const writer = writers[flushes++ % writers.length]!;
      const after = flights.length > 0 ? flights[flights.length - 1]!.committed : undefined;
      let committed!: (yes: boolean) => void;
      const flight = { records, committed: new Promise<boolean>((resolve) => (committed = resolve)), promise: Promise.resolve() };
      flight.promise = (async () => {
        const outcome = await writer.write(batch, advances, signal, after).catch((error: unknown) => {
          committed(false);
          throw error;
        });
        committed(outcome.status === 'committed');
        if (outcome.status === 'committed') batch.release();
        // The batch before did not commit: what it does next (re-read after a fence) covers this one.
        if (outcome.status === 'superseded') return;
        if (outcome.status === 'fenced') {
          counts.fenced++;
          logger.warn({ topic, group: options.groupId, partitions: outcome.partitions }, 'offset compare-and-set failed: another consumer stored these partitions first; rolled back and re-reading the stored offsets');
          await resync(flight.promise);
          return;
        }
        for (const [partition, advance] of advances) stored.set(partition, advance.next);
        counts.records += records;
        counts.rows += outcome.rows;
        counts.deadLetters += outcome.deadLetters;
        counts.batches++;
        options.onCommitted?.({ rows: outcome.rows, deadLetters: outcome.deadLetters, records });
        // Only so the group's lag is visible in Kafka tooling; Postgres stays the truth.
        void consumer?.commit(new Map([...advances].map(([p, a]) => [p, a.next]))).catch((error: unknown) => logger.debug({ err: { message: messageOf(error) } }, 'committing offsets to Kafka failed (lag display only)'));
        if (reachedMaxRecords()) finish('max_records');
        else await checkCaughtUp();
      })()
        .catch((error: unknown) => fail(error))
        .finally(() => flights.splice(flights.indexOf(flight), 1));
      flights.push(flight);
      return flight.promise;
    }

    /** Partitions of other group members (a concurrent run) count too, so read them all. */
    async function checkCaughtUp(): Promise<void> {
      if (!options.until.caughtUp || done) return;
      // With every partition assigned here, nobody else stores them: no need to ask Postgres.
      if (caughtUp(options.storeOffsets === false || assigned.length === ranges.size ? stored : await w.readStoredOffsets())) finish('caught_up');
    }

    /** After a fence: let the other transactions end, take Postgres' offsets, drop the buffer, seek there. */
    async function resync(own: Promise<void>): Promise<void> {
      epoch++;
      await flightsEnded(own);
      stored = await w.readStoredOffsets();
      tail = new Map(stored);
      epoch++;
      buffer = w.newBatch();
      for (const partition of assigned) {
        const start = stored.get(partition) ?? ranges.get(partition)?.low ?? 0n;
        position.set(partition, start);
        consumer?.seek(partition, start);
      }
      await checkCaughtUp();
    }

    const bufferHoldsEverything = () =>
      options.until.caughtUp && assigned.length > 0 && assigned.every((p) => (position.get(p) ?? 0n) >= (endOffsets.get(p) ?? 0n));

    function startFlush(): void {
      void flush();
    }

    /** Bumped when the positions are reset (assignment, fence): records of an older fetch are dropped. */
    let epoch = 0;

    // Fetched records waiting to be decoded, in arrival order. kafkajs sends the next fetch only
    // once onRecords returns, so onRecords just queues: the broker reads and sends the next fetch
    // while this thread decodes the last one. (Decoding inside onRecords left the thread waiting
    // for each fetch: 3.0 s of 5.3 s per 1,000,000 records were spent between onRecords calls.)
    // `next`: the offset after the fetch in the log (past trailing transaction markers); `first`:
    // where a fetch of markers only began (it is taken only where it continues the position).
    // `encoded`: by slice of WORKER_SLICE records, the rows the worker is building (the slices
    // without are decoded on this thread); `at`: how far the drain got in the entry.
    type Entry = { partition: number; records: readonly ConsumedRecord[]; bytes: number; epoch: number; first?: bigint; next: bigint; encoded?: (Promise<EncodedRecords> | undefined)[]; at?: number };
    const queue: Entry[] = [];
    /** Slices sent to the worker and not answered yet. */
    let atWorker = 0;
    let queuedBytes = 0;
    let draining: Promise<void> | undefined;
    let wakeFetcher: (() => void) | undefined;
    const wake = () => {
      const resolve = wakeFetcher;
      wakeFetcher = undefined;
      resolve?.();
    };

    async function onRecords(partition: number, records: readonly ConsumedRecord[], heartbeat: () => Promise<void>, next: bigint): Promise<void> {
      if (done) return;
      let bytes = 0;
      for (const record of records) bytes += Math.max(0, record.valueLength);
      enqueue({ partition, records, bytes, epoch, next });
      // Back-pressure: the next fetch waits while this much is queued (Postgres is behind).
      while (queuedBytes > QUEUED_BYTES && !done) {
        await heartbeat().catch(() => {});
        await new Promise<void>((resolve) => (wakeFetcher = resolve));
      }
    }

    function onSkipped(partition: number, first: bigint, next: bigint): void {
      if (!done) enqueue({ partition, records: [], bytes: 0, epoch, first, next });
    }

    /**
     * Work sharing with the decoding worker: it is kept WORKER_DEPTH slices busy with the newest
     * queued slices, while this thread decodes from the oldest; each takes what it has time for,
     * so neither waits on the other (all slices on the worker left this thread waiting for a core
     * behind it, the GC helpers and PostgreSQL on 2 cores; none on it left a core idle).
     */
    function feedWorker(): void {
      if (decoder === undefined || done) return;
      for (let e = queue.length - 1; e >= 0 && atWorker < WORKER_DEPTH; e--) {
        const entry = queue[e]!;
        if (entry.encoded === undefined || entry.epoch !== epoch) continue;
        // Not the slice the drain is in, nor those before it.
        const started = entry.at === undefined ? -1 : Math.floor(entry.at / WORKER_SLICE);
        for (let j = entry.encoded.length - 1; j > started && atWorker < WORKER_DEPTH; j--) {
          if (entry.encoded[j] !== undefined) continue;
          const from = j * WORKER_SLICE;
          atWorker++;
          const slice = decoder.encode(entry.records, from, Math.min(entry.records.length, from + WORKER_SLICE));
          // Awaited in decodeEntry unless the entry is dropped (a rebalance).
          slice.then(onWorkerAnswer, onWorkerAnswer);
          entry.encoded[j] = slice;
        }
      }
    }

    function onWorkerAnswer(): void {
      atWorker--;
      feedWorker();
    }

    function enqueue(entry: Entry): void {
      if (decoder !== undefined && entry.records.length > 0) entry.encoded = new Array<undefined>(Math.ceil(entry.records.length / WORKER_SLICE)).fill(undefined);
      queue.push(entry);
      feedWorker();
      queuedBytes += entry.bytes;
      draining ??= drain()
        .catch((error: unknown) => fail(error))
        .finally(() => {
          draining = undefined;
          wake();
        });
    }

    async function drain(): Promise<void> {
      while (queue.length > 0 && !done) {
        const entry = queue[0]!;
        if (entry.epoch === epoch) await decodeEntry(entry);
        queue.shift();
        queuedBytes -= entry.bytes;
        wake();
      }
    }

    async function decodeEntry(entry: Entry): Promise<void> {
      const { partition, records, epoch: startEpoch, first, next, encoded } = entry;
      const from = position.get(partition);
      if (from === undefined) return;
      if (first !== undefined) {
        // Markers or aborted records only: the position moves past them if they follow it.
        if (first <= from && next > from) skipTo(partition, next);
        if (bufferHoldsEverything()) await flushWhenFree();
        return;
      }
      // Records below the position are already stored (a re-fetch after a seek or rebalance).
      // Offsets ascend within a fetch, so only a fetch that starts below it is looked into.
      let i = 0;
      while (i < records.length && BigInt(records[i]!.offset) < from) i++;
      while (i < records.length) {
        // Only an await (a flush, a slice below, the worker's rows) lets a rebalance, a fence or the end in.
        if (done || epoch !== startEpoch || !position.has(partition)) return;
        entry.at = i;
        feedWorker();
        const slice = Math.floor(i / WORKER_SLICE);
        const rows = encoded?.[slice] === undefined ? undefined : await encoded[slice];
        if (done || epoch !== startEpoch || !position.has(partition)) return;
        // One kafkajs fetch can hold ~20,000 records per partition: cut it at batch_size.
        let end = Math.min(records.length, i + options.batchSize - buffer.records);
        if (maxRecords !== undefined) end = Math.min(end, i + Math.max(0, maxRecords - pendingRecords()));
        if (end <= i) break;
        // Decode in slices and let the event loop in between: kafkajs reads the next fetch from
        // its socket, and each step of a running flush's transaction (BEGIN, COPY, the offsets,
        // COMMIT) needs this thread to answer PostgreSQL (decoding 10,000 records in one go held
        // each step ~30 ms while PostgreSQL sat idle).
        end = Math.min(end, rows !== undefined ? rows.to : encoded !== undefined ? Math.min(i + DECODE_SLICE, (slice + 1) * WORKER_SLICE) : i + DECODE_SLICE);
        const batch = buffer;
        if (rows === undefined) batch.addRange(partition, records, i, end);
        else batch.addEncoded(partition, records, i, end, rows);
        i = end;
        position.set(partition, BigInt(records[i - 1]!.offset) + 1n);
        if (batch.records >= options.batchSize) await flushWhenFree();
        else if (i < records.length) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (done || epoch !== startEpoch) return;
      // Every record taken: move past what followed the last one in the fetch (a commit marker).
      if (i === records.length && next > (position.get(partition) ?? next)) skipTo(partition, next);
      if (bufferHoldsEverything() || (maxRecords !== undefined && pendingRecords() >= maxRecords)) await flushWhenFree();
    }

    function skipTo(partition: number, next: bigint): void {
      buffer.skipTo(partition, next);
      position.set(partition, next);
    }

    /** A full buffer waits for a writer, then starts the next flush. */
    async function flushWhenFree(): Promise<void> {
      while (flights.length >= writers.length && !done) await flights[0]!.promise;
      startFlush();
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
        epoch++;
        await flightsEnded();
        stored = await w.readStoredOffsets();
        tail = new Map(stored);
        epoch++;
        buffer = w.newBatch();
        assigned = partitions;
        position.clear();
        const starts = new Map<number, bigint>();
        for (const partition of partitions) {
          const start = stored.get(partition) ?? ranges.get(partition)?.low ?? 0n;
          starts.set(partition, start);
          position.set(partition, start);
        }
        logger.info({ topic, group: options.groupId, partitions, starts: Object.fromEntries([...starts].map(([p, o]) => [p, o.toString()])) }, 'partitions assigned; seeking to the offsets stored in Postgres');
        void checkCaughtUp().catch((error: unknown) => fail(error));
        return starts;
      },
      onRecords,
      onSkipped,
      onFail: (error) => fail(new DfmError('KAFKA_CONSUMER_FAILED', `The consumer of "${topic}" stopped: ${messageOf(error)}`, { cause: error, retryable: true })),
    });

    // Time-based flush: a quiet topic still lands its records within batch_max_wait. Once a second
    // an idle consumer also re-reads the stored offsets (another member may have finished the work).
    let lastIdleCheck = Date.now();
    timers.push(
      setInterval(() => {
        if (flights.length >= writers.length || done) return;
        if (!buffer.isEmpty() && (Date.now() - buffer.since >= options.batchMaxWaitMs || bufferHoldsEverything())) startFlush();
        else if (buffer.isEmpty() && flights.length === 0 && Date.now() - lastIdleCheck >= 1000) {
          lastIdleCheck = Date.now();
          void checkCaughtUp().catch((error: unknown) => fail(error));
        }
      }, Math.max(10, Math.min(100, Math.floor(options.batchMaxWaitMs / 4)))),
    );
    if (options.until.maxDurationMs !== undefined) {
      timers.push(
        setTimeout(() => {
          void (async () => {
            await flightsEnded();
            await flush();
            await flightsEnded();
            finish('max_duration');
          })().catch((error: unknown) => fail(error));
        }, options.until.maxDurationMs),
      );
    }
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw signal.reason;
      const stoppedBy = await finished;
      // The other transaction in flight may still commit (records past the end offsets, say);
      // nothing more is fetched meanwhile, so the consumer leaves the group at the same time.
      await Promise.all([flightsEnded(), consumer.stop()]);
      logger.info({ topic, records: counts.records, deadLetters: counts.deadLetters, batches: counts.batches }, `kafka.to_postgres stopped: ${stoppedBy}`);
      return output(stoppedBy);
    } finally {
      signal.removeEventListener('abort', onAbort);
      for (const timer of timers) clearTimeout(timer);
      await consumer.stop();
      wake();
      await draining;
      // An aborted run's transactions in flight see the signal before COMMIT and roll back.
      await flightsEnded();
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.allSettled([consumer?.stop(), decoder?.close(), ...writers.map((writer) => writer.close()), admin.close()]);
  }
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

/**
 * The pool of the other writers of a task pool, kept across runs. A PostgreSQL backend COPYs
 * faster once it has COPYed a million rows or so (bench/README.md: its CPU per 500,000 rows went
 * 0.86 → 0.48 s over its first 3,000,000); a pool of one made for each run gave every run a cold
 * backend for half its batches. The task pool's settings (pg keeps the password non-enumerable),
 * WRITERS - 1 connections per task running at once (so a run never waits for one), closed when
 * idle as long as the task pool's are; idle ones never keep the process alive.
 */
const writersPools = new WeakMap<pg.Pool, pg.Pool>();

/** Closes the other writers' pool of a task pool (with the task pool, on shutdown). */
export async function endWritersPool(pool: pg.Pool): Promise<void> {
  const writersPool = writersPools.get(pool);
  writersPools.delete(pool);
  await writersPool?.end();
}

function writersPoolOf(pool: pg.Pool): pg.Pool {
  const existing = writersPools.get(pool);
  if (existing !== undefined && !(existing as unknown as { ending?: boolean }).ending) return existing;
  const options = pool.options as unknown as Record<string, unknown>;
  const settings = Object.fromEntries(Object.entries(options).filter(([, v]) => typeof v !== 'function'));
  if (typeof options['password'] === 'string') settings['password'] = options['password'];
  const writersPool = new pg.Pool({ ...settings, max: (pool.options.max ?? 10) * (WRITERS - 1), idleTimeoutMillis: pool.options.idleTimeoutMillis ?? 30_000, allowExitOnIdle: true } as pg.PoolConfig);
  writersPool.on('error', () => {});
  writersPool.on('connect', (client) => client.on('error', () => {}));
  writersPools.set(pool, writersPool);
  return writersPool;
}
