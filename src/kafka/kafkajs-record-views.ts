/**
 * Leaner record decoding for kafkajs 2.2.4 (installed by kafkajs.ts before kafkajs loads). kafkajs
 * builds ~15 objects for every record it fetches: a Decoder and a Buffer view for the record, Long
 * and BigInt objects for its varlong timestamp delta, decimal strings parsed back into a Long for
 * its offset and timestamp, two Buffer views for key and value, a headers array folded into a
 * fresh object per header; its Batch then parses every offset string again into a BigInt to drop
 * records below the fetch offset. A consume-only loop over 1,000,000 records of 200 bytes spent
 * ~2 s of its main thread and ~1.3 s of V8's GC helpers on that alone (bench/README.md).
 *
 * Here a record is one small object (RecordView) over the fetched bytes: its key, value, headers,
 * offset and timestamp are what kafkajs would give, computed when read. dfm's hot paths read the
 * value's position (bytes, valueStart, valueLength) and never make a Buffer per record. This
 * module gives kafkajs a v2 record batch decoder (decodeRecordBatch) and a consumer Batch
 * (makeBatchClass) with the same inputs and outputs as its own, with two differences: it reads
 * every Kafka codec (compression-codecs.ts), where kafkajs throws "… not implemented" for all but
 * gzip, and a batch it cannot read becomes an UnreadableBatch in the fetch (below) instead of an
 * exception.
 */
import { DfmError, messageOf } from '../lib/errors.js';
import { codecOfAttributes, decompressRecords, type CompressionCodec } from './compression-codecs.js';

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;
/** The v2 batch header after the length field: epoch 4, magic 1, crc 4, attributes 2, last offset delta 4, timestamps 16, producer 8 + 2, sequence 4. */
const HEADER_AFTER_LENGTH = 45;

/** What kafkajs calls the record batch context: the same fields, with the same types. */
export interface BatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly magicByte: number;
}

/** A record batch as its views compute from it: kafkajs' context, and its first offset and timestamp as numbers. */
interface ViewContext {
  readonly context: BatchContext;
  /** The first offset as a number when its batch's offsets are all below 2^53 (always, in practice); NaN otherwise. */
  readonly base: number;
  readonly baseBig: bigint;
  readonly timestampBase: bigint;
  /** How the batch's records were compressed; undefined for a codec id Kafka does not define. */
  readonly codec: CompressionCodec | undefined;
}

/**
 * A consumed record: its offset, key and value as kafkajs gives them, and where it is in the fetched
 * bytes, so hot paths read the value without a Buffer of its own: bytes[valueStart, valueStart +
 * valueLength), valueLength -1 for a null value. The record itself (attributes, timestamp, offset
 * delta, key, value, headers) begins at bytes[start].
 */
export interface ConsumedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly bytes: Buffer;
  readonly start: number;
  readonly valueStart: number;
  readonly valueLength: number;
}

/** One fetched record: kafkajs' message fields, read from the fetched bytes when asked. */
export class RecordView implements ConsumedRecord {
  constructor(
    readonly batch: ViewContext,
    readonly bytes: Buffer,
    readonly start: number,
    readonly offsetDelta: number,
    readonly valueStart: number,
    readonly valueLength: number,
  ) {}

  get offset(): string {
    const base = this.batch.base;
    return base === base ? String(base + this.offsetDelta) : (this.batch.baseBig + BigInt(this.offsetDelta)).toString();
  }

  get batchContext(): BatchContext {
    return this.batch.context;
  }

  get value(): Buffer | null {
    return this.valueLength < 0 ? null : this.bytes.subarray(this.valueStart, this.valueStart + this.valueLength);
  }

  get key(): Buffer | null {
    return keyAt(this.bytes, this.start);
  }

  get attributes(): number {
    return this.bytes.readInt8(this.start);
  }

  get timestamp(): string {
    const context = this.batch.context;
    if (context.timestampType === LOG_APPEND_TIME && context.maxTimestamp) return context.maxTimestamp;
    const reader = new Reader(this.bytes, this.start + 1);
    return (this.batch.timestampBase + reader.varlong()).toString();
  }

  /** As kafkajs: header values by key, a Buffer, or an array of them when a key repeats. */
  get headers(): Record<string, Buffer | Buffer[]> {
    const reader = new Reader(this.bytes, this.valueStart + Math.max(0, this.valueLength));
    const headers: Record<string, Buffer | Buffer[]> = {};
    for (let count = reader.varint(); count > 0; count--) {
      const key = reader.bytesOrNull()?.toString('utf8') ?? 'null';
      const value = reader.bytesOrNull()!;
      const seen = headers[key];
      headers[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    return headers;
  }

  get isControlRecord(): boolean {
    return this.batch.context.isControlBatch;
  }

  get magicByte(): number {
    return this.batch.context.magicByte;
  }
}

const NO_BYTES = Buffer.alloc(0);

/**
 * A record batch of a fetch that cannot be read: its compressed records do not decompress (or use
 * a codec id no Kafka release defines), or its records do not fit in it. It stands in the fetch in
 * the batch's place, so the partition's records before it are still delivered, and whoever reaches
 * it gets `error`, naming topic, partition and offsets. Thrown from the decoder instead, it would
 * either end the fetch as a partial batch (kafkajs then fetches the same bytes again, forever,
 * delivering nothing) or fail the whole fetch of every partition, which kafkajs retries and
 * restarts without end.
 */
export class UnreadableBatch extends RecordView {
  private topic = '';
  private partition = -1;

  constructor(
    batch: ViewContext,
    readonly codec: string,
    readonly cause: unknown,
  ) {
    super(batch, NO_BYTES, 0, 0, 0, -1);
  }

  /** Where the batch is: set by the consumer's Batch, which knows (the decoder does not). */
  locate(topic: string, partition: number): void {
    this.topic = topic;
    this.partition = partition;
  }

  get error(): DfmError {
    const first = BigInt(this.batch.context.firstOffset);
    const last = first + BigInt(this.batch.context.lastOffsetDelta);
    return new DfmError(
      'KAFKA_BATCH_UNREADABLE',
      `Kafka topic "${this.topic}" partition ${this.partition}: the record batch at offsets ${first}–${last} (${this.codec}) cannot be read: ${messageOf(this.cause).replace(/\.$/, '')}. ` +
        `Nothing at or after offset ${first} of this partition was processed. The batch is corrupt on the broker or its producer's codec is broken; ` +
        `re-produce its records, or to skip them on purpose set the partition's stored offset (dfm.kafka_offset) to ${last + 1n}.`,
      { cause: this.cause, retryable: false, details: { topic: this.topic, partition: this.partition, firstOffset: first.toString(), lastOffset: last.toString(), codec: this.codec } },
    );
  }

  /** A reader that takes it for a record gets the error. */
  override get value(): never {
    throw this.error;
  }

  /** No key: kafkajs' aborted-transaction filter reads keys of every record (to find abort markers). */
  override get key(): null {
    return null;
  }

  override get headers(): Record<string, never> {
    return {};
  }

  override get timestamp(): string {
    return this.batch.context.firstTimestamp;
  }
}

/** The key of the record that begins at bytes[start] (no copy). */
export function keyAt(bytes: Buffer, start: number): Buffer | null {
  const reader = new Reader(bytes, start + 1);
  reader.skipVarint(); // timestamp delta
  reader.skipVarint(); // offset delta
  const length = reader.varint();
  return length < 0 ? null : bytes.subarray(reader.at, reader.at + length);
}

/** A record at a known place and offset (a record kept by position, given back). */
export function recordAt(bytes: Buffer, start: number, valueStart: number, valueLength: number, offset: string): RecordView {
  return new RecordView(offsetContext(BigInt(offset)), bytes, start, 0, valueStart, valueLength);
}

/** A record as a fetch would hold it, from its parts (tests, and records made by hand). */
export function recordOf(offset: string | number | bigint, key: Buffer | string | null, value: Buffer | string | null): RecordView {
  const parts = [key, value].map((p) => (p === null ? null : Buffer.isBuffer(p) ? p : Buffer.from(p)));
  const head = [0, 0, 0]; // attributes, timestamp delta, offset delta
  const chunks: Buffer[] = [Buffer.from(head)];
  let valueStart = 0;
  let size = head.length;
  for (const [i, part] of parts.entries()) {
    const length = zigzag(part === null ? -1 : part.length);
    chunks.push(length);
    size += length.length;
    if (i === 1) valueStart = size;
    if (part !== null) {
      chunks.push(part);
      size += part.length;
    }
  }
  chunks.push(zigzag(0)); // no headers
  const bytes = Buffer.concat(chunks);
  return new RecordView(offsetContext(BigInt(offset)), bytes, 0, 0, valueStart, parts[1] === null ? -1 : parts[1]!.length);
}

function zigzag(n: number): Buffer {
  const out: number[] = [];
  let rest = ((n << 1) ^ (n >> 31)) >>> 0;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return Buffer.from(out);
}

/** The first offset as a number when every offset of its batch (first + an int32 delta) is exact as one; NaN otherwise. */
function numericBase(firstOffset: bigint): number {
  return firstOffset <= BigInt(Number.MAX_SAFE_INTEGER) - 2n ** 31n ? Number(firstOffset) : Number.NaN;
}

function offsetContext(offset: bigint): ViewContext {
  return {
    context: {
      firstOffset: offset.toString(),
      firstTimestamp: '0',
      partitionLeaderEpoch: 0,
      inTransaction: false,
      isControlBatch: false,
      lastOffsetDelta: 0,
      producerId: '-1',
      producerEpoch: -1,
      firstSequence: -1,
      maxTimestamp: '0',
      timestampType: CREATE_TIME,
      magicByte: 2,
    },
    base: numericBase(offset),
    baseBig: offset,
    timestampBase: 0n,
    codec: 'none',
  };
}

/** Reads Kafka's zigzag varints from a Buffer. */
class Reader {
  constructor(
    readonly bytes: Buffer,
    public at: number,
  ) {}

  /** A zigzag varint of up to 32 bits. */
  varint(): number {
    const bytes = this.bytes;
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      if (this.at >= bytes.length) throw partial('a varint runs past the end of the fetched bytes');
      byte = bytes[this.at++]!;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80 && shift < 35);
    if (byte >= 0x80) throw new Error('Kafka record: a varint is longer than 5 bytes');
    return (result >>> 1) ^ -(result & 1);
  }

  /** A zigzag varlong, exactly. */
  varlong(): bigint {
    const bytes = this.bytes;
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      if (this.at >= bytes.length) throw partial('a varlong runs past the end of the fetched bytes');
      if (shift > 63n) throw new Error('Kafka record: a varlong is longer than 10 bytes');
      byte = bytes[this.at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte >= 0x80);
    return (result >> 1n) ^ -(result & 1n);
  }

  skipVarint(): void {
    const bytes = this.bytes;
    while (this.at < bytes.length && bytes[this.at]! >= 0x80) this.at++;
    this.at++;
  }

  bytesOrNull(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const from = this.at;
    this.at += length;
    return this.bytes.subarray(from, this.at);
  }
}

let partialError: (new (message: string) => Error) | undefined;
let partialBatch: Error | undefined;
function partial(message: string): Error {
  return partialError ? new partialError(message) : new Error(message);
}

/** The records of one v2 record batch, [at, end) of `bytes` being its records. */
function readRecords(batch: ViewContext, bytes: Buffer, at: number, end: number, count: number): RecordView[] {
  const records: RecordView[] = new Array<RecordView>(count);
  const reader = new Reader(bytes, at);
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    const start = reader.at;
    if (length < 0 || start + length > end) throw partial(`record ${i} of a batch at offset ${batch.context.firstOffset} runs past its batch`);
    reader.at = start + 1; // attributes
    reader.skipVarint(); // timestamp delta (a varlong)
    const offsetDelta = reader.varint();
    const keyLength = reader.varint();
    if (keyLength > 0) reader.at += keyLength;
    const valueLength = reader.varint();
    records[i] = new RecordView(batch, bytes, start, offsetDelta, reader.at, valueLength);
    reader.at = start + length;
  }
  return records;
}

/**
 * kafkajs' recordBatch/v0/decoder: (fetchDecoder) → the batch context and its records. Reads the
 * header as kafkajs does, then the records as views.
 */
export async function decodeRecordBatch(fetchDecoder: { readInt64(): bigint; readInt32(): number; slice(n: number): { buffer: Buffer }; forward(n: number): void }): Promise<Omit<BatchContext, 'magicByte'> & { records: RecordView[] }> {
  const firstOffset = fetchDecoder.readInt64();
  const length = fetchDecoder.readInt32();
  const { buffer: bytes } = fetchDecoder.slice(length);
  fetchDecoder.forward(length);
  // Every fetch that maxBytes cuts ends in one: the same error each time (a new one, with its
  // stack, was ~2 % of a consume loop's main thread).
  if (bytes.length < length || length < HEADER_AFTER_LENGTH) throw (partialBatch ??= partial('Tried to decode a partial record batch: the fetch ends inside it'));
  const attributes = bytes.readInt16BE(9);
  const base = numericBase(firstOffset);
  const timestampBase = bytes.readBigInt64BE(15);
  const context: BatchContext = {
    firstOffset: firstOffset.toString(),
    firstTimestamp: timestampBase.toString(),
    partitionLeaderEpoch: bytes.readInt32BE(0),
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta: bytes.readInt32BE(11),
    producerId: bytes.readBigInt64BE(31).toString(),
    producerEpoch: bytes.readInt16BE(39),
    firstSequence: bytes.readInt32BE(41),
    maxTimestamp: bytes.readBigInt64BE(23).toString(),
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
    magicByte: bytes.readInt8(4),
  };
  const codec = codecOfAttributes(attributes);
  const view: ViewContext = { context, base, baseBig: firstOffset, timestampBase, codec };
  const count = bytes.readInt32BE(HEADER_AFTER_LENGTH);
  let records: RecordView[];
  // The whole batch is here (the partial case returned above): from now on, a record that does not
  // fit, bytes that do not decompress or an undefined codec id are a batch that cannot be read.
  try {
    if (count <= 0) records = [];
    else if (codec === undefined) throw new Error(`its attributes name compression codec ${attributes & 0x07}, which Kafka does not define`);
    else if (codec === 'none') records = readRecords(view, bytes, HEADER_AFTER_LENGTH + 4, length, count);
    else {
      const inflated = await decompressRecords(codec, bytes.subarray(HEADER_AFTER_LENGTH + 4, length));
      records = readRecords(view, inflated, 0, inflated.length, count);
    }
  } catch (error) {
    records = [new UnreadableBatch(view, codec ?? `codec ${attributes & 0x07}`, error)];
  }
  // kafkajs' batch has the context's fields but the magic byte, which only its records have.
  const { magicByte: _magicByte, ...batch } = context;
  return { ...batch, records };
}

/** What the decoder takes from kafkajs itself: its partial-message error (its fetch loop stops on it by name). */
export function useKafkajsParts(parts: { KafkaJSPartialMessageError: new (message: string) => Error }): void {
  partialError = parts.KafkaJSPartialMessageError;
}

interface PartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  readonly abortedTransactions?: readonly { producerId: string; firstOffset: string }[];
  readonly messages: readonly (RecordView | { offset: string; key: Buffer | null; value: Buffer | null })[];
}

/**
 * kafkajs' consumer Batch, with the same fields and methods; records below the fetch offset are
 * found by number, not by parsing every offset string, and the control-record filter runs only on
 * fetches that hold control batches.
 */
export function makeBatchClass(filterAbortedMessages: (input: { messages: readonly RecordView[]; abortedTransactions: unknown }) => RecordView[]) {
  return class Batch {
    readonly fetchedOffset: string;
    readonly topic: string;
    readonly partition: number;
    readonly highWatermark: string;
    readonly rawMessages: readonly RecordView[];
    readonly messagesWithinOffset: readonly RecordView[];
    readonly messages: readonly RecordView[];
    /** The fetch's first batch that cannot be read, if any: the last of `messages`, nothing after it. */
    readonly unreadable: UnreadableBatch | undefined;

    constructor(topic: string, fetchedOffset: string, partitionData: PartitionData) {
      this.fetchedOffset = fetchedOffset;
      this.topic = topic;
      this.partition = partitionData.partition;
      this.highWatermark = partitionData.highWatermark;
      // Messages of the pre-0.11 formats (magic 0 and 1; brokers before 4.0 may still hold them)
      // come from kafkajs' own decoder: made views like the others.
      const fetched = partitionData.messages;
      const all = fetched.every((m) => m instanceof RecordView) ? (fetched as readonly RecordView[]) : fetched.map((m) => (m instanceof RecordView ? m : recordOf(m.offset, m.key, m.value)));
      // Nothing past a batch that cannot be read: the partition stops there.
      const stop = all.findIndex((m) => m instanceof UnreadableBatch);
      const raw = stop < 0 ? all : all.slice(0, stop + 1);
      this.unreadable = stop < 0 ? undefined : (raw[stop] as UnreadableBatch);
      this.unreadable?.locate(topic, this.partition);
      this.rawMessages = raw;
      // Offsets ascend within a partition's fetch: skip those below the fetch offset (the first
      // record batch may start before it).
      const fetchOffset = BigInt(fetchedOffset);
      const fetchOffsetNumber = Number(fetchOffset);
      let first = 0;
      while (first < raw.length && isBelow(raw[first]!, fetchOffset, fetchOffsetNumber)) first++;
      const within = first === 0 ? raw : raw.slice(first);
      this.messagesWithinOffset = within;
      const visible = partitionData.abortedTransactions && partitionData.abortedTransactions.length > 0 ? filterAbortedMessages({ messages: within, abortedTransactions: partitionData.abortedTransactions }) : within;
      // (An unreadable control batch stays: no batch is skipped unread.)
      this.messages = visible.some((m) => m.batch.context.isControlBatch) ? visible.filter((m) => !m.batch.context.isControlBatch || m instanceof UnreadableBatch) : visible;
    }

    isEmpty(): boolean {
      return this.messages.length === 0;
    }

    isEmptyIncludingFiltered(): boolean {
      return this.messagesWithinOffset.length === 0;
    }

    isEmptyDueToFiltering(): boolean {
      return this.isEmpty() && this.rawMessages.length > 0;
    }

    isEmptyControlRecord(): boolean {
      return this.isEmpty() && this.messagesWithinOffset.some((m) => m.isControlRecord);
    }

    isEmptyDueToLogCompactedMessages(): boolean {
      return this.rawMessages.length > 0 && this.isEmptyIncludingFiltered();
    }

    firstOffset(): string | null {
      return this.isEmptyIncludingFiltered() ? null : this.messagesWithinOffset[0]!.offset;
    }

    lastOffset(): string {
      if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset;
      if (this.isEmptyIncludingFiltered()) return (BigInt(this.highWatermark) - 1n).toString();
      return this.messagesWithinOffset[this.messagesWithinOffset.length - 1]!.offset;
    }

    offsetLag(): string {
      return (BigInt(this.highWatermark) - 1n - BigInt(this.lastOffset())).toString();
    }

    offsetLagLow(): string {
      if (this.isEmptyIncludingFiltered()) return '0';
      return (BigInt(this.highWatermark) - 1n - BigInt(this.firstOffset()!)).toString();
    }
  };
}

function isBelow(record: RecordView, fetched: bigint, fetchedNumber: number): boolean {
  // An unreadable batch stands at its first offset, which may be below the fetch offset (a fetch
  // from the middle of a batch gets the whole batch): never skipped.
  if (record instanceof UnreadableBatch) return false;
  const base = record.batch.base;
  if (base === base && fetchedNumber <= Number.MAX_SAFE_INTEGER) return base + record.offsetDelta < fetchedNumber;
  return record.batch.baseBig + BigInt(record.offsetDelta) < fetched;
}
