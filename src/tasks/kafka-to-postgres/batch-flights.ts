/**
 * The batch being filled and the transactions in flight: a flush hands the buffer to the next
 * writer, up to one transaction per writer at once, each committing after the one before it (see
 * BatchWriter.write). What a transaction's outcome means for the task (counts, offsets, a fence)
 * is the caller's: `settled`.
 */
import type { BatchWriter, PartitionAdvance, PendingBatch, WriteOutcome } from './kafka-to-postgres-writer.js';
import type { PartitionOffsets } from './partition-offsets.js';

interface Flight {
  readonly records: number;
  /** Whether it committed: the next transaction's upsert and offsets wait for it. */
  readonly committed: Promise<boolean>;
  /** Until it ended, its outcome handled. */
  promise: Promise<void>;
}

export interface BatchFlights {
  /** The batch being filled. */
  readonly buffer: PendingBatch;
  /** Writes what is buffered now, on the next writer (or waits for the oldest flight when every writer is busy). */
  flush(): Promise<void>;
  /** A full buffer waits for a writer, then starts the next flush. */
  flushWhenFree(): Promise<void>;
  /** Until every transaction in flight ended (all but `except`, the caller's own). */
  ended(except?: Promise<void>): Promise<void>;
  /** Drops what is buffered (its records come again from Kafka). */
  dropBuffer(): void;
  /** Records buffered or in flight, not yet committed. */
  unwrittenRecords(): number;
  /** Every writer has a transaction in flight. */
  busy(): boolean;
  idle(): boolean;
}

export function createBatchFlights(options: {
  readonly writers: readonly BatchWriter[];
  readonly newBatch: () => PendingBatch;
  readonly offsets: PartitionOffsets;
  readonly signal: AbortSignal;
  /** True once the task has finished or failed: nothing more is written. */
  readonly stopped: () => boolean;
  /** A transaction ended: what its outcome means for the task (`own` is its flight, for a resync that must not wait on itself). */
  readonly settled: (outcome: WriteOutcome, advances: ReadonlyMap<number, PartitionAdvance>, records: number, own: Promise<void>) => Promise<void>;
  readonly fail: (error: unknown) => void;
}): BatchFlights {
  const { writers, offsets } = options;
  /** Transactions in flight, oldest first; each one's offsets follow the one before's. */
  const flights: Flight[] = [];
  let buffer = options.newBatch();
  let flushes = 0;

  function flush(): Promise<void> {
    if (flights.length >= writers.length) return flights[0]!.promise;
    if (buffer.isEmpty() || options.stopped()) return Promise.resolve();
    // Defence in depth: never write below what is stored or in flight (the CAS would also refuse).
    const batch = buffer.isAtOrAbove(offsets.tail) ? buffer : buffer.withoutBelow(offsets.tail);
    buffer = options.newBatch();
    if (batch.isEmpty()) return Promise.resolve();
    const advances = offsets.advanceTail(batch);
    const writer = writers[flushes++ % writers.length]!;
    const after = flights.length > 0 ? flights[flights.length - 1]!.committed : undefined;
    let committed!: (yes: boolean) => void;
    const flight: Flight = { records: batch.records, committed: new Promise<boolean>((resolve) => (committed = resolve)), promise: Promise.resolve() };
    flight.promise = (async () => {
      const outcome = await writer.write(batch, advances, options.signal, after).catch((error: unknown) => {
        committed(false);
        throw error;
      });
      committed(outcome.status === 'committed');
      if (outcome.status === 'committed') batch.release();
      await options.settled(outcome, advances, flight.records, flight.promise);
    })()
      .catch((error: unknown) => options.fail(error))
      .finally(() => flights.splice(flights.indexOf(flight), 1));
    flights.push(flight);
    return flight.promise;
  }

  return {
    get buffer() {
      return buffer;
    },
    flush,
    async flushWhenFree() {
      while (flights.length >= writers.length && !options.stopped()) await flights[0]!.promise;
      void flush();
    },
    async ended(except) {
      for (const flight of [...flights]) if (flight.promise !== except) await flight.promise;
    },
    dropBuffer() {
      buffer = options.newBatch();
    },
    unwrittenRecords: () => flights.reduce((n, f) => n + f.records, 0) + buffer.records,
    busy: () => flights.length >= writers.length,
    idle: () => flights.length === 0,
  };
}
