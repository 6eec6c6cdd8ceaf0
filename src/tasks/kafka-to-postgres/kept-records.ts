/**
 * The records of a batch, kept as positions in the buffers kafkajs decoded them from instead of as
 * kafkajs' objects. A batch is held until its transaction commits (the row-by-row retry and the
 * per-partition offsets need its records), so kafkajs' record objects (the record, its offset and
 * timestamp strings, two Buffer views, a headers object) outlived the young generation and were
 * copied and promoted by every scavenge: with them kept, the task spent about twice a
 * consume-only loop's CPU on garbage collection (bench/kafka-to-postgres.ts, 1,000,000 records).
 * Here a record is five integers and a number in typed arrays, and the fetch buffers themselves
 * (outside the JavaScript heap) stay alive while the batch does.
 */
import { recordAt, type ConsumedRecord } from '../../kafka/kafka-client.js';

/** Int32 slots per record: partition, buffer, where the record begins, where its value begins, value length. */
const SLOTS = 5;

export class KeptRecords {
  length = 0;
  private slots = new Int32Array(1024 * SLOTS);
  private offsets = new Float64Array(1024);
  /** Offsets beyond 2^53 (never seen in practice: 15 digits are nine quadrillion records). */
  private readonly bigOffsets = new Map<number, string>();
  private readonly buffers: ArrayBufferLike[] = [];
  /** Index in buffers of the last buffer kept (the records of a fetch share one). */
  private last = -1;

  /** Adds records[from, to) of one partition. */
  addRun(partition: number, records: readonly ConsumedRecord[], from: number, to: number): void {
    const count = to - from;
    if (count <= 0) return;
    // Offsets ascend strictly within a partition: when the last is the first + count - 1, every
    // one between is known without making its string (~30 ns a record). The last has at most 15
    // digits, so the first has too.
    const last = records[to - 1]!.offset;
    const first = Number(records[from]!.offset);
    const consecutive = last.length <= 15 && Number(last) - first === count - 1;
    while (this.length + count > this.offsets.length) this.grow();
    const slots = this.slots;
    const offsets = this.offsets;
    let i = this.length;
    for (let index = from; index < to; index++, i++) {
      const record = records[index]!;
      const s = i * SLOTS;
      const bytes = record.bytes;
      slots[s] = partition;
      slots[s + 1] = this.bufferIndex(bytes.buffer);
      slots[s + 2] = bytes.byteOffset + record.start;
      slots[s + 3] = bytes.byteOffset + record.valueStart;
      slots[s + 4] = record.valueLength;
      if (consecutive) offsets[i] = first + (index - from);
      else {
        const offset = record.offset;
        if (offset.length <= 15) offsets[i] = Number(offset);
        else this.bigOffsets.set(i, offset);
      }
    }
    this.length = i;
  }

  add(partition: number, record: ConsumedRecord): void {
    this.addRun(partition, [record], 0, 1);
  }

  partition(i: number): number {
    return this.slots[i * SLOTS]!;
  }

  offset(i: number): string {
    return this.bigOffsets.get(i) ?? String(this.offsets[i]!);
  }

  /** The record as it was delivered (over the same bytes, no copy). */
  record(i: number): ConsumedRecord {
    const s = i * SLOTS;
    const slots = this.slots;
    return recordAt(Buffer.from(this.buffers[slots[s + 1]!]! as ArrayBuffer), slots[s + 2]!, slots[s + 3]!, slots[s + 4]!, this.offset(i));
  }

  private bufferIndex(buffer: ArrayBufferLike): number {
    const buffers = this.buffers;
    // Records of one fetch share one buffer; a batch spans a few fetches.
    let index = this.last;
    if (index < 0 || buffers[index] !== buffer) {
      index = buffers.length - 1;
      while (index >= 0 && index >= buffers.length - 4 && buffers[index] !== buffer) index--;
      if (index < 0 || buffers[index] !== buffer) index = buffers.push(buffer) - 1;
      this.last = index;
    }
    return index;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2);
    slots.set(this.slots);
    this.slots = slots;
    const offsets = new Float64Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
  }
}
