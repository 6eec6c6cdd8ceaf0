/**
 * Where kafka.to_postgres stands in each partition, three ways: what PostgreSQL stores (`stored`:
 * what the next compare-and-set expects), what the batches handed to writers will store once they
 * commit (`tail`: what the next batch expects), and the next offset expected from Kafka per
 * assigned partition (`position`: records below it are already stored or buffered). Postgres is
 * the truth: on every assignment and after a fence all three start again from what it stores.
 */
import type { PartitionRange } from '../../kafka/kafka-client.js';
import type { PartitionAdvance } from './kafka-to-postgres-writer.js';
import type { PendingBatch } from './kafka-to-postgres-writer.js';

export class PartitionOffsets {
  tail: Map<number, bigint>;
  readonly position = new Map<number, bigint>();
  assigned: readonly number[] = [];
  /** The end offsets seen at start: the `caught_up` target. */
  readonly endOffsets: ReadonlyMap<number, bigint>;

  constructor(
    /** The topic's partitions and their offsets at start. */
    readonly ranges: ReadonlyMap<number, PartitionRange>,
    public stored: Map<number, bigint>,
  ) {
    this.tail = new Map(stored);
    this.endOffsets = new Map([...ranges].map(([p, r]) => [p, r.high]));
  }

  /** Starts again from what PostgreSQL stores now (nothing is in flight). */
  reset(stored: Map<number, bigint>): void {
    this.stored = stored;
    this.tail = new Map(stored);
  }

  /** Where a partition starts: its stored offset, or the low watermark when none. */
  startOf(partition: number): bigint {
    return this.stored.get(partition) ?? this.ranges.get(partition)?.low ?? 0n;
  }

  /** A new assignment: each partition's position is where it starts; returns those starts. */
  assign(partitions: readonly number[]): Map<number, bigint> {
    this.assigned = partitions;
    this.position.clear();
    const starts = new Map<number, bigint>();
    for (const partition of partitions) {
      const start = this.startOf(partition);
      starts.set(partition, start);
      this.position.set(partition, start);
    }
    return starts;
  }

  /** After a fence: every assigned partition back to where it starts, and the consumer sought there. */
  seekAssigned(seek: (partition: number, offset: bigint) => void): void {
    for (const partition of this.assigned) {
      const start = this.startOf(partition);
      this.position.set(partition, start);
      seek(partition, start);
    }
  }

  /** What a batch moves: per partition, the offset it expects and the one after it; the tail moves with it. */
  advanceTail(batch: PendingBatch): Map<number, PartitionAdvance> {
    const advances = new Map<number, PartitionAdvance>();
    for (const [partition, next] of batch.nextOffsets()) {
      advances.set(partition, { expected: this.tail.get(partition), next });
      this.tail.set(partition, next);
    }
    return advances;
  }

  /** A batch committed: its offsets are stored. */
  committed(advances: ReadonlyMap<number, PartitionAdvance>): void {
    for (const [partition, advance] of advances) this.stored.set(partition, advance.next);
  }

  /** True when these offsets reach the end offsets seen at start in every partition. */
  caughtUp(offsets: ReadonlyMap<number, bigint> = this.stored): boolean {
    return [...this.ranges].every(([p, r]) => (offsets.get(p) ?? r.low) >= r.high);
  }

  /** True when every assigned partition's position is at or past the end offsets seen at start. */
  positionsAtEnd(): boolean {
    return this.assigned.length > 0 && this.assigned.every((p) => (this.position.get(p) ?? 0n) >= (this.endOffsets.get(p) ?? 0n));
  }

  /** Stored next offset per partition, by partition: the task's output. */
  storedByPartition(): Record<string, string> {
    return Object.fromEntries([...this.stored].sort(([a], [b]) => a - b).map(([p, o]) => [String(p), o.toString()]));
  }
}
