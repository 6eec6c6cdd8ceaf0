/**
 * Fetched records waiting to be decoded into the buffer, in arrival order. kafkajs sends the next
 * fetch only once onRecords returns, so onRecords just queues: the broker reads and sends the next
 * fetch while this thread decodes the last one. (Decoding inside onRecords left the thread waiting
 * for each fetch: 3.0 s of 5.3 s per 1,000,000 records were spent between onRecords calls.) A
 * drain decodes from the oldest entry; on machines with more than two cores a decoding worker
 * builds the binary rows of the newest ones meanwhile (feedWorker).
 */
import type { ConsumedRecord } from '../../kafka/kafka-client.js';
import type { BackgroundDecoder, EncodedRecords } from './background-decoder.js';
import type { BatchFlights } from './batch-flights.js';
import type { PartitionOffsets } from './partition-offsets.js';

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

/**
 * One fetch of one partition. `next`: the offset after the fetch in the log (past trailing
 * transaction markers); `first`: where a fetch of markers only began (it is taken only where it
 * continues the position). `encoded`: by slice of WORKER_SLICE records, the rows the worker is
 * building (the slices without are decoded on this thread); `at`: how far the drain got in the
 * entry. `epoch`: the queue's when it arrived (see dropQueued).
 */
interface Entry {
  readonly partition: number;
  readonly records: readonly ConsumedRecord[];
  readonly bytes: number;
  readonly epoch: number;
  readonly first?: bigint;
  readonly next: bigint;
  encoded?: (Promise<EncodedRecords> | undefined)[];
  at?: number;
}

export interface FetchQueue {
  /** The group consumer's records of a fetch: queued; returns once the queue has room (back-pressure). */
  onRecords(partition: number, records: readonly ConsumedRecord[], heartbeat: () => Promise<void>, next: bigint): Promise<void>;
  /** A fetch of transaction markers or aborted records only, [first, next). */
  onSkipped(partition: number, first: bigint, next: bigint): void;
  /**
   * Drops every entry queued now, and stops the drain at its next check: they were fetched for
   * positions that are being reset (an assignment, a fence).
   */
  dropQueued(): void;
  /** Lets a waiting fetch go and waits for the drain to end (the task stopped). */
  close(): Promise<void>;
}

export function createFetchQueue(options: {
  readonly offsets: PartitionOffsets;
  readonly flights: BatchFlights;
  readonly decoder: BackgroundDecoder | undefined;
  readonly batchSize: number;
  /** Records the task may still take (`max_records` less those committed, in flight or buffered); Infinity without a bound. */
  readonly recordsLeft: () => number;
  /** The buffer holds everything up to the end offsets seen at start (`caught_up`): flush it now. */
  readonly holdsEverything: () => boolean;
  readonly stopped: () => boolean;
  readonly fail: (error: unknown) => void;
}): FetchQueue {
  const { offsets, flights, decoder } = options;
  const { position } = offsets;
  const queue: Entry[] = [];
  let epoch = 0;
  /** Slices sent to the worker and not answered yet. */
  let atWorker = 0;
  let queuedBytes = 0;
  let draining: Promise<void> | undefined;
  let wakeFetcher: (() => void) | undefined;

  function wake(): void {
    const resolve = wakeFetcher;
    wakeFetcher = undefined;
    resolve?.();
  }

  function enqueue(entry: Entry): void {
    if (decoder !== undefined && entry.records.length > 0) entry.encoded = new Array<undefined>(Math.ceil(entry.records.length / WORKER_SLICE)).fill(undefined);
    queue.push(entry);
    feedWorker();
    queuedBytes += entry.bytes;
    draining ??= drain()
      .catch((error: unknown) => options.fail(error))
      .finally(() => {
        draining = undefined;
        wake();
      });
  }

  /**
   * Work sharing with the decoding worker: it is kept WORKER_DEPTH slices busy with the newest
   * queued slices, while this thread decodes from the oldest; each takes what it has time for,
   * so neither waits on the other (all slices on the worker left this thread waiting for a core
   * behind it, the GC helpers and PostgreSQL on 2 cores; none on it left a core idle).
   */
  function feedWorker(): void {
    if (decoder === undefined || options.stopped()) return;
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

  async function drain(): Promise<void> {
    while (queue.length > 0 && !options.stopped()) {
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
      if (options.holdsEverything()) await flights.flushWhenFree();
      return;
    }
    // Records below the position are already stored (a re-fetch after a seek or rebalance).
    // Offsets ascend within a fetch, so only a fetch that starts below it is looked into.
    let i = 0;
    while (i < records.length && BigInt(records[i]!.offset) < from) i++;
    const dropped = () => options.stopped() || epoch !== startEpoch || !position.has(partition);
    while (i < records.length) {
      // Only an await (a flush, a slice below, the worker's rows) lets a rebalance, a fence or the end in.
      if (dropped()) return;
      entry.at = i;
      feedWorker();
      const slice = Math.floor(i / WORKER_SLICE);
      const rows = encoded?.[slice] === undefined ? undefined : await encoded[slice];
      if (dropped()) return;
      // One kafkajs fetch can hold ~20,000 records per partition: cut it at batch_size.
      let end = Math.min(records.length, i + options.batchSize - flights.buffer.records);
      end = Math.min(end, i + Math.max(0, options.recordsLeft()));
      if (end <= i) break;
      // Decode in slices and let the event loop in between: kafkajs reads the next fetch from
      // its socket, and each step of a running flush's transaction (BEGIN, COPY, the offsets,
      // COMMIT) needs this thread to answer PostgreSQL (decoding 10,000 records in one go held
      // each step ~30 ms while PostgreSQL sat idle).
      end = Math.min(end, rows !== undefined ? rows.to : encoded !== undefined ? Math.min(i + DECODE_SLICE, (slice + 1) * WORKER_SLICE) : i + DECODE_SLICE);
      const batch = flights.buffer;
      if (rows === undefined) batch.addRange(partition, records, i, end);
      else batch.addEncoded(partition, records, i, end, rows);
      i = end;
      position.set(partition, BigInt(records[i - 1]!.offset) + 1n);
      if (batch.records >= options.batchSize) await flights.flushWhenFree();
      else if (i < records.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (options.stopped() || epoch !== startEpoch) return;
    // Every record taken: move past what followed the last one in the fetch (a commit marker).
    if (i === records.length && next > (position.get(partition) ?? next)) skipTo(partition, next);
    if (options.holdsEverything() || options.recordsLeft() <= 0) await flights.flushWhenFree();
  }

  function skipTo(partition: number, next: bigint): void {
    flights.buffer.skipTo(partition, next);
    position.set(partition, next);
  }

  return {
    async onRecords(partition, records, heartbeat, next) {
      if (options.stopped()) return;
      let bytes = 0;
      for (const record of records) bytes += Math.max(0, record.valueLength);
      enqueue({ partition, records, bytes, epoch, next });
      // Back-pressure: the next fetch waits while this much is queued (Postgres is behind).
      while (queuedBytes > QUEUED_BYTES && !options.stopped()) {
        await heartbeat().catch(() => {});
        await new Promise<void>((resolve) => (wakeFetcher = resolve));
      }
    },
    onSkipped(partition, first, next) {
      if (!options.stopped()) enqueue({ partition, records: [], bytes: 0, epoch, first, next });
    },
    dropQueued() {
      epoch++;
    },
    async close() {
      wake();
      await draining;
    },
  };
}
