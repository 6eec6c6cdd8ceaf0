/**
 * Writes one batch of Kafka records into Postgres in ONE transaction: the rows (COPY into a
 * session-local staging table, then one INSERT … SELECT into the target), the dead letters, and
 * the next offset of every partition in the batch as a compare-and-set on the offset this
 * consumer last read. A consumer whose partitions were given to another member meanwhile (a
 * zombie of an old group generation, kafkajs issue 1046) finds the stored offset moved, matches
 * no row, and rolls everything back: exactly once, with Postgres as the only source of truth.
 *
 * Why COPY rather than INSERT … VALUES: COPY of 10,000 rows of ~200 bytes is one round trip of
 * streamed text. Upsert mode COPYs into a session-local staging table and then runs one
 * INSERT … SELECT DISTINCT ON (key) … ORDER BY seq DESC … ON CONFLICT into the target (the last
 * record per key wins; ON CONFLICT allows a key once per statement). Append mode COPYs straight
 * into the target: the staging copy doubled Postgres' work for nothing (bench: 120,000 records/s
 * end to end through staging on 2 cores; see bench/kafka-to-postgres.ts for the direct figure).
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { DfmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ConsumedRecord } from '../../kafka/kafka-client.js';
import type { EncodedRecords } from './background-decoder.js';
import { KeptRecords } from './kept-records.js';
import { compileWasmRowEncoder, type WasmRowEncoder } from './binary-rows-wasm-encoder.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, binaryRowRoom, canCopyBinary, compileBinaryRowDecoder, writeBinaryRowStart, writeInt32 } from './copy-binary.js';
import { compileJsonCopyWriter, copyLineRoom, type CopyLineWriter } from './json-to-copy-line.js';
import { compileCopyLineDecoder, decodeRecord, toDeadLetterText, type ColumnPlan, type ColumnType, type DecodeFailure } from './kafka-record-decode.js';
import { planTargetColumns, type TargetColumn } from './plan-target-columns.js';
import { quoteName } from '../quote-name.js';

/** A record that is not written to the target: it goes to the dead-letter table. */
export interface DeadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly error: string;
}

/** A run of consecutive records of one partition: kept[from, to). */
interface Segment {
  readonly partition: number;
  readonly from: number;
  to: number;
}

/** Bytes before a row's fields: its position in text (10 digits and a tab), or in binary the field count and the position field. */
const ROW_START_ROOM = 11;
/** Bytes of COPY text per chunk handed to the socket. */
const COPY_CHUNK = 1024 * 1024;
/** Lines joined in a string before they are written into the chunk. */
const PENDING_LINES = 64;
/**
 * Chunks of committed batches, for the next ones: a fresh 1 MB Buffer per chunk is ~100 MB of new
 * memory per 1,000,000 records for the kernel to zero and V8 to count as external pressure.
 */
const freeChunks: Buffer[] = [];
/** Free chunks kept: four batches of 10,000 records of 200 bytes. */
const FREE_CHUNKS_KEPT = 16;

/**
 * The records of one transaction, already in the form it writes: the COPY text of the rows that
 * decoded (written as the records arrive into 1 MB chunks, by the byte path straight from the
 * record's JSON), the dead letters, and where the records' bytes are (KeptRecords: for the
 * per-partition offsets, the row-by-row retry and the defence below the stored offset). Nothing
 * on the JavaScript heap lives per record as long as the batch: no record object, no values
 * array, no BigInt offset, no row string (profile: GC was a fifth of the task's CPU with an
 * object, an array and a BigInt per record).
 */
export class PendingBatch {
  /** Records added: rows + dead letters. */
  records = 0;
  /** Rows in the COPY text. */
  rows = 0;
  readonly dead: DeadRecord[] = [];
  /** When the first record was added (Date.now()). */
  since = 0;
  /** Full chunks of COPY text; `chunk` is being filled up to `used`. */
  private readonly chunks: Buffer[] = [];
  /** The COPY_CHUNK-sized chunks this batch took, to give back once it committed. */
  private readonly owned: Buffer[] = [];
  private chunk: Buffer | undefined;
  private used = 0;
  private pending = '';
  private pendingLines = 0;
  private readonly segments: Segment[] = [];
  private readonly kept = new KeptRecords();
  /** Partitions whose offset moves past transaction markers or aborted records: the offset after them. */
  private readonly skips = new Map<number, bigint>();

  constructor(
    /** The general decoder: every record the byte path gives back, with the rules and messages (a line of text, or the fields in binary). */
    private readonly decode: (value: Buffer | null) => string | Buffer | DecodeFailure,
    /** The byte path (json-to-copy-line.ts); undefined when the plan has none. */
    private readonly write: CopyLineWriter | undefined,
    private readonly columnCount: number,
    /** Upsert mode: every row starts with its position (the staging table's dfm_seq). */
    private readonly withSeq: boolean,
    /** Rows in PostgreSQL's binary COPY format (copy-binary.ts) instead of text. */
    readonly binary: boolean,
    /** Binary rows built in WebAssembly (binary-rows-wasm-encoder.ts); undefined when the plan has no one-pass path. */
    private readonly wasm: WasmRowEncoder | undefined = undefined,
  ) {}

  /** Adds records[from, to) of the partition; records of one partition must come in offset order. */
  addRange(partition: number, records: readonly ConsumedRecord[], from: number, to: number): void {
    if (to <= from) return;
    this.track(partition, to - from);
    this.kept.addRun(partition, records, from, to);
    if (this.wasm !== undefined) this.addFromWasm(partition, records, from, to, this.wasm);
    else for (let index = from; index < to; index++) this.addOne(partition, records[index]!);
    this.writePending();
  }

  /** The rows the WebAssembly encoder builds, copied into the chunks run by run; each record it gives back takes addOne. */
  private addFromWasm(partition: number, records: readonly ConsumedRecord[], from: number, to: number, wasm: WasmRowEncoder): void {
    const { bytes, start, ends } = wasm.encode(records, from, to);
    let run = start;
    let at = start;
    for (let k = 0; k < to - from; k++) {
      const end = ends[k]!;
      if (end >= 0) {
        // The position field follows the field count and its own length word.
        if (this.withSeq) writeInt32(bytes, at + 6, this.rows);
        this.rows++;
        at = end;
        continue;
      }
      this.append(bytes, run, at);
      this.addOne(partition, records[from + k]!);
      run = at;
    }
    this.append(bytes, run, at);
  }

  /** One record: its row by the byte path or the general decoder, or a dead letter. */
  private addOne(partition: number, record: ConsumedRecord): void {
    const write = this.write;
    const length = record.valueLength;
    if (write !== undefined && length >= 0) {
      // The byte path, from the fetched bytes: the line goes straight into the chunk, or the
      // record takes the general one.
      const chunk = this.room((this.binary ? binaryRowRoom(length, this.columnCount) : copyLineRoom(length, this.columnCount)) + ROW_START_ROOM);
      const end = write(record.bytes, chunk, this.writeRowStart(chunk, this.used), record.valueStart, record.valueStart + length);
      if (end >= 0) {
        this.used = end;
        this.rows++;
        return;
      }
    }
    const value = record.value;
    const line = this.decode(value);
    if (Buffer.isBuffer(line)) {
      const chunk = this.room(line.length + ROW_START_ROOM);
      const at = this.writeRowStart(chunk, this.used);
      this.used = at + line.copy(chunk, at);
      this.rows++;
      return;
    }
    if (typeof line !== 'string') {
      this.dead.push({ partition, offset: record.offset, key: record.key, value, error: line.error });
      return;
    }
    this.pending += this.withSeq ? `${this.rows}\t${line}` : line;
    this.rows++;
    if (++this.pendingLines === PENDING_LINES || write !== undefined) this.writePending();
  }

  /** Bytes src[from, to) at the end of the COPY data, across chunks as they fill. */
  private append(src: Buffer, from: number, to: number): void {
    while (from < to) {
      const chunk = this.room(1);
      const count = Math.min(to - from, chunk.length - this.used);
      src.copy(chunk, this.used, from, from + count);
      this.used += count;
      from += count;
    }
  }

  /**
   * Adds records[from, to) of the partition, their rows already built on the decoding worker
   * (background-decoder.ts, binary layouts): the rows are taken as they are, without a copy; in
   * upsert mode each gets its position here.
   */
  addEncoded(partition: number, records: readonly ConsumedRecord[], from: number, to: number, encoded: EncodedRecords): void {
    if (to <= from) return;
    this.track(partition, to - from);
    const { ends, bytes } = encoded;
    const first = from - encoded.from;
    const start = first === 0 ? 0 : ends[first - 1]!;
    let at = start;
    this.kept.addRun(partition, records, from, to);
    for (let index = from; index < to; index++) {
      const record = records[index]!;
      const end = ends[index - encoded.from]!;
      if (end === at) this.dead.push({ partition, offset: record.offset, key: record.key, value: record.value, error: encoded.errors.get(index)! });
      else {
        // The position field follows the field count and its own length word.
        if (this.withSeq) writeInt32(bytes, at + 6, this.rows);
        this.rows++;
      }
      at = end;
    }
    if (at > start) {
      this.writePending();
      if (this.chunk !== undefined && this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
      this.chunk = undefined;
      this.used = 0;
      this.chunks.push(bytes.subarray(start, at));
    }
  }

  /** Counts records of the partition into the batch, in the partition segment they extend. */
  private track(partition: number, count: number): void {
    if (this.records === 0) this.since = Date.now();
    this.records += count;
    const kept = this.kept;
    const last = this.segments.length > 0 ? this.segments[this.segments.length - 1]! : undefined;
    if (last !== undefined && last.partition === partition) last.to += count;
    else this.segments.push({ partition, from: kept.length, to: kept.length + count });
  }

  /** What a row starts with, at out[at…]: its position (upsert mode), and in binary its field count. */
  private writeRowStart(out: Buffer, at: number): number {
    if (this.binary) return writeBinaryRowStart(out, at, this.columnCount, this.withSeq ? this.rows : undefined);
    return this.withSeq ? writeSeq(this.rows, out, at) : at;
  }

  /** The chunk being filled, with at least `bytes` free after `used`. */
  private room(bytes: number): Buffer {
    if (this.chunk === undefined || this.used + bytes > this.chunk.length) {
      if (this.chunk !== undefined && this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
      this.chunk = bytes <= COPY_CHUNK ? (freeChunks.pop() ?? Buffer.allocUnsafeSlow(COPY_CHUNK)) : Buffer.allocUnsafeSlow(bytes);
      if (this.chunk.length === COPY_CHUNK) this.owned.push(this.chunk);
      this.used = 0;
    }
    return this.chunk;
  }

  /**
   * A few dozen lines at a time into a Buffer: the strings die young. (Appending all to one
   * string kept every line alive until the flush; the scavenger copied them again and again, and
   * GC was ~25 % of the CPU. One Buffer write per line cost ~0.25 µs a record.)
   */
  private writePending(): void {
    const text = this.pending;
    if (text.length === 0) return;
    this.pending = '';
    this.pendingLines = 0;
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    this.used += this.room(text.length * 3).write(text, this.used, 'utf8');
  }

  /** What the COPY sends, whole: the text, or in binary the rows between the header and the trailer. */
  copyChunks(): Buffer[] {
    this.writePending();
    if (this.chunk !== undefined && this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
    this.chunk = undefined;
    this.used = 0;
    return this.binary ? [BINARY_COPY_HEADER, ...this.chunks, BINARY_COPY_TRAILER] : [...this.chunks];
  }

  /**
   * Gives the batch's chunks to the batches after it. Only once its transaction ended and nothing
   * reads the batch again (its COPY data was all sent before the COPY finished).
   */
  release(): void {
    for (const chunk of this.owned) if (freeChunks.length < FREE_CHUNKS_KEPT) freeChunks.push(chunk);
    this.owned.length = 0;
    this.chunks.length = 0;
    this.chunk = undefined;
    this.used = 0;
  }

  /** Moves the partition's stored offset to `next` with this batch (past markers and aborted records). */
  skipTo(partition: number, next: bigint): void {
    if (this.isEmpty()) this.since = Date.now();
    if (next > (this.skips.get(partition) ?? -1n)) this.skips.set(partition, next);
  }

  /** No records and no offset to move. */
  isEmpty(): boolean {
    return this.records === 0 && this.skips.size === 0;
  }

  /** Partitions in the batch and the offset after each one's last record (or skip). */
  nextOffsets(): Map<number, bigint> {
    const next = new Map<number, bigint>();
    for (const segment of this.segments) next.set(segment.partition, BigInt(this.kept.offset(segment.to - 1)) + 1n);
    for (const [partition, offset] of this.skips) if (offset > (next.get(partition) ?? -1n)) next.set(partition, offset);
    return next;
  }

  /** True when every record is at or above the stored offset of its partition. */
  isAtOrAbove(stored: ReadonlyMap<number, bigint>): boolean {
    return this.segments.every((s) => BigInt(this.kept.offset(s.from)) >= (stored.get(s.partition) ?? -1n));
  }

  /** The same batch less the records below the stored offsets (decoded again: a defence, never expected). */
  withoutBelow(stored: ReadonlyMap<number, bigint>): PendingBatch {
    const batch = new PendingBatch(this.decode, this.write, this.columnCount, this.withSeq, this.binary, this.wasm);
    for (let i = 0; i < this.kept.length; i++) {
      const partition = this.kept.partition(i);
      const record = this.kept.record(i);
      if (BigInt(record.offset) >= (stored.get(partition) ?? -1n)) batch.addRange(partition, [record], 0, 1);
    }
    for (const [partition, next] of this.skips) if (next > (stored.get(partition) ?? -1n)) batch.skipTo(partition, next);
    return batch;
  }

  /** Every record in order, as kafkajs delivered it (for the row-by-row retry). */
  allRecords(): { partition: number; record: ConsumedRecord }[] {
    const all: { partition: number; record: ConsumedRecord }[] = [];
    for (let i = 0; i < this.kept.length; i++) all.push({ partition: this.kept.partition(i), record: this.kept.record(i) });
    return all;
  }
}

export interface PartitionAdvance {
  /** The offset stored now (undefined: no row yet). */
  readonly expected: bigint | undefined;
  /** Stored after the commit: last offset of the batch + 1. */
  readonly next: bigint;
}

export type WriteOutcome =
  | { readonly status: 'committed'; readonly rows: number; readonly deadLetters: number; readonly rowByRow: boolean }
  | { readonly status: 'fenced'; readonly partitions: readonly number[] }
  /** The batch before it did not commit: nothing was written, and its records come again. */
  | { readonly status: 'superseded' };

export interface BatchWriterOptions {
  readonly table: string;
  readonly mode: 'upsert' | 'append';
  readonly key: readonly string[] | undefined;
  /** Column mapping from the task config; undefined: by name (plan-target-columns.ts). */
  readonly columns: Readonly<Record<string, { field: string | undefined; type: ColumnType }>> | undefined;
  /** Owner of the stored offsets: the consumer group id. */
  readonly consumer: string;
  readonly topic: string;
  readonly deadLetterTable: string;
  readonly runId: number | null;
  /** The metadata database has dfm's tables; another connection gets them created on first use. */
  readonly ensureDfmTables: boolean;
  /** Bench only: false leaves the offsets out of the transaction (to measure what they cost). */
  readonly storeOffsets?: boolean;
  readonly logger: Pick<Logger, 'warn'>;
}

/** What a batch's COPY text holds: the columns in order, and whether each row starts with its position. */
export interface BatchLayout {
  readonly columns: readonly ColumnPlan[];
  /** Columns of type json (not jsonb): PostgreSQL keeps their text as given. */
  readonly jsonColumns: readonly string[];
  /** Upsert mode: every row starts with its position (the staging table's dfm_seq). */
  readonly withSeq: boolean;
  /** Rows in binary (copy-binary.ts: every target column has its mapping's type). */
  readonly binary: boolean;
}

/** Empty batches in a layout, their decoders compiled once. */
export function batchFactory(layout: BatchLayout): () => PendingBatch {
  const decode = layout.binary ? compileBinaryRowDecoder(layout.columns) : compileCopyLineDecoder(layout.columns);
  const write = compileJsonCopyWriter(layout.columns, new Set(layout.jsonColumns), layout.binary);
  const wasm = layout.binary ? compileWasmRowEncoder(layout.columns, layout.withSeq) : undefined;
  return () => new PendingBatch(decode, write, layout.columns.length, layout.withSeq, layout.binary, wasm);
}

export interface BatchWriter {
  readonly layout: BatchLayout;
  /** An empty batch in this writer's COPY layout. */
  newBatch(): PendingBatch;
  readStoredOffsets(): Promise<Map<number, bigint>>;
  /**
   * One transaction: the rows, the dead letters, the offsets. With `after` (whether the batch
   * before it committed, written on another connection), the rows go in while that one is still
   * in flight, but nothing that could wait on its locks (the upsert from staging, the offsets)
   * runs before it committed; if it did not, this one rolls back: superseded.
   */
  write(batch: PendingBatch, advances: ReadonlyMap<number, PartitionAdvance>, signal: AbortSignal, after?: Promise<boolean>): Promise<WriteOutcome>;
  /** True when a unique index or exclusion constraint of the target could make two writers wait on each other. */
  readonly targetHasUniqueIndex: boolean;
  close(): Promise<void>;
}

/** Holds one connection for the task's life: the staging table is session-local. */
export async function openBatchWriter(pool: pg.Pool, options: BatchWriterOptions): Promise<BatchWriter> {
  const client = await pool.connect();
  let broken = false;
  try {
    // A consumer frozen inside a transaction (SIGSTOP, a stuck VM) must not hold the offset rows
    // for ever: between our statements a transaction is idle for microseconds, so 15 s is only
    // ever reached by a process that stopped running.
    await client.query("set idle_in_transaction_session_timeout = '15s'");
    if (options.ensureDfmTables) await ensureDfmTables(client, options.deadLetterTable);
    else if (options.deadLetterTable !== 'dfm.dead_letter') await ensureDeadLetterTable(client, options.deadLetterTable);
    const target = await readTargetColumns(client, options.table);
    const targetTypes = new Map(target.map((c) => [c.name, c.type]));
    const { rows: unique } = await client.query<{ unique: boolean }>(
      `select exists (select 1 from pg_index where indrelid = to_regclass($1) and indisunique)
           or exists (select 1 from pg_constraint where conrelid = to_regclass($1) and contype = 'x') as unique`,
      [quoteName(options.table)],
    );
    const { columns, defaults } = planTargetColumns(options, target);
    const { rows: zone } = await client.query<{ zone: string }>("select current_setting('TimeZone') as zone");
    const staging = `dfm_stage_${Math.random().toString(36).slice(2, 10)}`;
    await client.query(
      `create temp table ${staging} (dfm_seq integer not null, ${columns.map((c) => `${quoteName(c.name)} ${targetTypes.get(c.name)!}`).join(', ')}) on commit delete rows`,
    );
    return createWriter(client, options, columns, defaults, targetTypes, zone[0]!.zone, staging, unique[0]!.unique, () => {
      broken = true;
    });
  } catch (error) {
    client.release(true);
    throw error;
  }

  function createWriter(
    client: pg.PoolClient,
    options: BatchWriterOptions,
    columns: ColumnPlan[],
    defaults: ReadonlyMap<string, string>,
    targetTypes: Map<string, string>,
    timeZone: string,
    staging: string,
    targetHasUniqueIndex: boolean,
    markBroken: () => void,
  ): BatchWriter {
    const table = quoteName(options.table);
    const names = columns.map((c) => quoteName(c.name));
    const keyNames = (options.key ?? []).map(quoteName);
    const nonKey = names.filter((n) => !keyNames.includes(n));
    const onConflict =
      options.mode === 'upsert'
        ? ` on conflict (${keyNames.join(', ')}) do ${nonKey.length === 0 ? 'nothing' : `update set ${nonKey.map((n) => `${n} = excluded.${n}`).join(', ')}`}`
        : '';
    // A by-name column with a default takes it where the record lacks the field: COPY cannot
    // leave a column out for one row, so those rows go through staging, and the INSERT from it
    // (and the row-by-row one) coalesces (see plan-target-columns.ts).
    const orDefault = (c: ColumnPlan, value: string) => {
      const expression = defaults.get(c.name);
      return expression === undefined ? value : `coalesce(${value}, (${expression})::${targetTypes.get(c.name)!})`;
    };
    const selected = columns.map((c, i) => orDefault(c, names[i]!)).join(', ');
    const insertFromStaging =
      options.mode === 'upsert'
        ? `insert into ${table} (${names.join(', ')}) select distinct on (${keyNames.join(', ')}) ${selected} from ${staging} order by ${keyNames.join(', ')}, dfm_seq desc${onConflict}`
        : `insert into ${table} (${names.join(', ')}) select ${selected} from ${staging}`;
    const insertOneRow = `insert into ${table} (${names.join(', ')}) values (${columns.map((c, i) => orDefault(c, `$${i + 1}::${targetTypes.get(c.name)!}`)).join(', ')})${onConflict}`;
    const direct = options.mode === 'append' && defaults.size === 0;
    const copyStatement = direct ? `copy ${table} (${names.join(', ')}) from stdin` : `copy ${staging} (dfm_seq, ${names.join(', ')}) from stdin`;
    const copyBinaryStatement = `${copyStatement} (format binary)`;
    const deadLetterTable = quoteName(options.deadLetterTable);

    async function writeDeadLetters(dead: readonly DeadRecord[]): Promise<number> {
      if (dead.length === 0) return 0;
      await client.query(
        `insert into ${deadLetterTable} (consumer, topic, partition, "offset", key, value, error, run_id)
         select $1, $2, d.partition, d.offset, d.key, d.value, d.error, $8::bigint
           from unnest($3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[]) as d(partition, "offset", key, value, error)
         on conflict do nothing`,
        [
          options.consumer,
          options.topic,
          dead.map((r) => r.partition),
          dead.map((r) => r.offset),
          dead.map((r) => toDeadLetterText(r.key)),
          dead.map((r) => toDeadLetterText(r.value)),
          dead.map((r) => r.error),
          options.runId,
        ],
      );
      return dead.length;
    }

    /**
     * The first stored offset of partitions that have none yet (expected undefined), before the
     * COMMIT; returns the partitions another consumer stored first (fenced).
     */
    async function insertFirstOffsets(advances: ReadonlyMap<number, PartitionAdvance>): Promise<number[]> {
      const fresh = [...advances].filter(([, a]) => a.expected === undefined);
      if (fresh.length === 0) return [];
      const { rows } = await client.query<{ partition: number }>(
        `insert into dfm.kafka_offset (consumer, topic, partition, "offset")
         select $1, $2, i.partition, i.next from unnest($3::int[], $4::bigint[]) as i(partition, next)
         on conflict do nothing returning partition`,
        [options.consumer, options.topic, fresh.map(([p]) => p), fresh.map(([, a]) => a.next.toString())],
      );
      const inserted = new Set(rows.map((r) => r.partition));
      return fresh.map(([p]) => p).filter((p) => !inserted.has(p));
    }

    /**
     * The compare-and-set of the partitions that have a stored offset (every one must still be
     * what this consumer read) and the COMMIT, in one round trip (one simple query of two
     * statements): the commit chain of the writers waits on it (bench/kafka-to-postgres.ts,
     * three writers: c / c0 read 0.90–0.92 with a round trip of its own, 0.92–1.08 in the
     * COMMIT's). When a stored offset is not the one expected, the statement fails on purpose,
     * which aborts the transaction and skips the COMMIT; returns the partitions that were not
     * where expected then, and [] once committed. The values are integers and two escaped
     * literals (simple queries take no parameters).
     */
    async function moveOffsetsAndCommit(advances: ReadonlyMap<number, PartitionAdvance>): Promise<number[]> {
      const existing = [...advances].filter(([, a]) => a.expected !== undefined);
      if (existing.length === 0) {
        await client.query('commit');
        return [];
      }
      const rows = existing.map(([p, a]) => `(${p}, ${a.expected!.toString()}::bigint, ${a.next.toString()}::bigint)`).join(', ');
      try {
        await client.query(
          `with i(partition, expected, next) as (values ${rows}),
           moved as (update dfm.kafka_offset o set "offset" = i.next, updated_at = now() from i
                      where o.consumer = ${client.escapeLiteral(options.consumer)} and o.topic = ${client.escapeLiteral(options.topic)}
                        and o.partition = i.partition and o."offset" = i.expected
                      returning o.partition)
           select case when count(*) = ${existing.length} then 0 else ('${FENCE_MARK}' || coalesce(array_agg(partition)::text, '{}'))::int end from moved;
           commit`,
        );
        return [];
      } catch (error) {
        const moved = fenceOf(error);
        if (moved === undefined) throw error;
        return existing.map(([p]) => p).filter((p) => !moved.includes(p));
      }
    }

    async function copyRows(batch: PendingBatch, gate: Gate): Promise<number | undefined> {
      if (batch.rows === 0) return 0;
      const stream = client.query(copyStreams.from(batch.binary ? copyBinaryStatement : copyStatement));
      await pipeline(Readable.from(batch.copyChunks(), { objectMode: false }), stream);
      if (!direct) {
        // The upsert may wait on rows of the batch before it: only once that one committed.
        if (!(await gate.pass())) return undefined;
        await client.query(insertFromStaging);
      }
      return batch.rows;
    }

    /**
     * The retry after Postgres refused the COPY: each row under a savepoint. The dead letters are
     * the undecodable records and the refused rows, in the order the records came.
     */
    async function insertRowByRow(batch: PendingBatch): Promise<{ rows: number; dead: DeadRecord[] }> {
      let rows = 0;
      const dead: DeadRecord[] = [];
      for (const { partition, record } of batch.allRecords()) {
        const decoded = decodeRecord(record.value, columns);
        if (!decoded.ok) {
          dead.push({ partition, offset: record.offset, key: record.key, value: record.value, error: decoded.error });
          continue;
        }
        await client.query('savepoint dfm_row');
        try {
          await client.query(insertOneRow, decoded.values);
          await client.query('release savepoint dfm_row');
          rows++;
        } catch (error) {
          if (!isDataError(error)) throw error;
          await client.query('rollback to savepoint dfm_row');
          dead.push({ partition, offset: record.offset, key: record.key, value: record.value, error: `rejected by PostgreSQL: ${(error as Error).message}` });
        }
      }
      return { rows, dead };
    }

    async function transact(batch: PendingBatch, advances: ReadonlyMap<number, PartitionAdvance>, signal: AbortSignal, rowByRow: boolean, gate: Gate): Promise<WriteOutcome | 'gate-timeout'> {
      await client.query('begin');
      try {
        let rows: number | undefined;
        let dead: readonly DeadRecord[] = batch.dead;
        if (rowByRow) {
          if (await gate.pass()) ({ rows, dead } = await insertRowByRow(batch));
        } else rows = await copyRows(batch, gate);
        // The offsets are the batch before's until it committed.
        if (rows === undefined || !(await gate.pass())) {
          await client.query('rollback');
          return gate.timedOut ? 'gate-timeout' : { status: 'superseded' };
        }
        const deadLetters = await writeDeadLetters(dead);
        // A partition's first offset is inserted before the COMMIT; the others move with it.
        const stored = options.storeOffsets === false ? new Map<number, PartitionAdvance>() : advances;
        let fenced = await insertFirstOffsets(stored);
        if (fenced.length === 0) {
          if (signal.aborted) throw signal.reason;
          fenced = await moveOffsetsAndCommit(stored);
        }
        if (fenced.length > 0) {
          await client.query('rollback');
          return { status: 'fenced', partitions: fenced };
        }
        return { status: 'committed', rows, deadLetters, rowByRow };
      } catch (error) {
        await client.query('rollback').catch(() => markBroken());
        throw error;
      }
    }

    /**
     * A transaction waiting for the batch before it is idle in transaction, and the session ends
     * after 15 s of that (see openBatchWriter): past GATE_WAIT_MS it rolls back, waits outside a
     * transaction, and starts over (the batch before may be going row by row).
     */
    async function transactAfter(batch: PendingBatch, advances: ReadonlyMap<number, PartitionAdvance>, signal: AbortSignal, rowByRow: boolean, after: Promise<boolean> | undefined): Promise<WriteOutcome> {
      for (;;) {
        const outcome = await transact(batch, advances, signal, rowByRow, new Gate(after));
        if (outcome !== 'gate-timeout') return outcome;
        if (!(await after)) return { status: 'superseded' };
      }
    }

    // One operation at a time on the connection: a read of the offsets must never run inside a
    // transaction in flight (it would see that transaction's own offsets).
    let serial: Promise<unknown> = Promise.resolve();
    const inTurn = <T>(operation: () => Promise<T>): Promise<T> => {
      const turn = serial.then(operation, operation);
      serial = turn.catch(() => {});
      return turn;
    };

    const layout: BatchLayout = {
      columns,
      jsonColumns: columns.filter((c) => targetTypes.get(c.name) === 'json').map((c) => c.name),
      withSeq: !direct,
      binary: canCopyBinary(
        columns.map((c) => ({ type: c.type, target: targetTypes.get(c.name)! })),
        timeZone,
      ),
    };
    return {
      layout,
      newBatch: batchFactory(layout),
      targetHasUniqueIndex,
      readStoredOffsets: () =>
        inTurn(async () => {
          const { rows } = await client.query<{ partition: number; offset: string }>(
            'select partition, "offset" from dfm.kafka_offset where consumer = $1 and topic = $2',
            [options.consumer, options.topic],
          );
          return new Map(rows.map((r) => [r.partition, BigInt(r.offset)]));
        }),
      write: (batch, advances, signal, after) =>
        inTurn(async () => {
          try {
            return await transactAfter(batch, advances, signal, false, after);
          } catch (error) {
            // A value the decoder let through but Postgres rejects (class 22: data exception, 23:
            // constraint) fails the whole COPY; write the batch again row by row to find it.
            if (!isDataError(error)) throw error;
            options.logger.warn({ code: (error as { code?: string }).code }, 'a batch was rejected by PostgreSQL; writing it row by row to dead-letter the bad records');
            return transactAfter(batch, advances, signal, true, after);
          }
        }),
      async close() {
        await serial;
        await client.query(`drop table if exists ${staging}`).catch(() => markBroken());
        client.release(broken);
      },
    };
  }
}

/** The row's position and a tab, in ASCII at out[at…]; returns where it ends. */
function writeSeq(seq: number, out: Buffer, at: number): number {
  let digits = 1;
  for (let power = 10; power <= seq; power *= 10) digits++;
  let rest = seq;
  for (let k = at + digits - 1; k >= at; k--) {
    out[k] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  out[at + digits] = 0x09;
  return at + digits + 1;
}

/** What the failing cast of moveOffsetsAndCommit starts its text with, before the partitions it moved. */
const FENCE_MARK = 'dfm offset fence, moved ';

/** The partitions moved, when the error is moveOffsetsAndCommit's fence; otherwise undefined. */
function fenceOf(error: unknown): number[] | undefined {
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return undefined;
  const at = message.indexOf(FENCE_MARK);
  if (at < 0) return undefined;
  const list = /\{([\d,]*)\}/.exec(message.slice(at + FENCE_MARK.length));
  return list === null ? [] : list[1]!.split(',').filter(Boolean).map(Number);
}

/** How long a transaction waits for the batch before it to commit (under the 15 s idle timeout). */
const GATE_WAIT_MS = 10_000;

/** The wait of one transaction for the batch before it (none: passes at once). */
class Gate {
  timedOut = false;
  private passed: boolean | undefined;

  constructor(private readonly after: Promise<boolean> | undefined) {}

  async pass(): Promise<boolean> {
    if (this.passed !== undefined) return this.passed;
    if (this.after === undefined) return (this.passed = true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        this.timedOut = true;
        resolve(false);
      }, GATE_WAIT_MS);
    });
    try {
      return (this.passed = await Promise.race([this.after, timeout]));
    } finally {
      clearTimeout(timer);
    }
  }
}

function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** The target's columns in their order, with what a by-name mapping needs to know of each. */
async function readTargetColumns(client: pg.PoolClient, table: string): Promise<TargetColumn[]> {
  const { rows } = await client.query<{ name: string; type: string; not_null: boolean; default_expression: string | null; filled_by_postgres: boolean }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
            case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end as default_expression,
            a.attidentity <> '' or a.attgenerated <> '' as filled_by_postgres
       from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [quoteName(table)],
  );
  if (rows.length === 0) {
    throw new DfmError('TARGET_TABLE_MISSING', `Table ${table} does not exist. Create it in a postgres.sql task that this task needs (e.g. "create table if not exists ${table} (…)").`, {
      retryable: false,
    });
  }
  return rows.map((r) => ({ name: r.name, type: r.type, notNull: r.not_null, defaultExpression: r.default_expression ?? undefined, filledByPostgres: r.filled_by_postgres }));
}

const DEAD_LETTER_COLUMNS = `id bigserial primary key, consumer text not null, topic text not null, partition integer not null, "offset" bigint not null,
  key text, value text, error text not null, run_id bigint, at timestamptz not null default now(), unique (consumer, topic, partition, "offset")`;

/** On a connection other than the metadata database: dfm's offset and dead-letter tables, same shape as the migration's. */
async function ensureDfmTables(client: pg.PoolClient, deadLetterTable: string): Promise<void> {
  await client.query('begin');
  try {
    // Serialises concurrent first runs: CREATE … IF NOT EXISTS races on the catalog otherwise.
    await client.query("select pg_advisory_xact_lock(hashtext('dfm.ensure_kafka_tables'))");
    await client.query('create schema if not exists dfm');
    await client.query(`create table if not exists dfm.kafka_offset (consumer text not null, topic text not null, partition integer not null,
      "offset" bigint not null, updated_at timestamptz not null default now(), primary key (consumer, topic, partition))`);
    await client.query(`create table if not exists dfm.dead_letter (${DEAD_LETTER_COLUMNS})`);
    if (deadLetterTable !== 'dfm.dead_letter') await client.query(`create table if not exists ${quoteName(deadLetterTable)} (${DEAD_LETTER_COLUMNS})`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

async function ensureDeadLetterTable(client: pg.PoolClient, table: string): Promise<void> {
  await client.query('begin');
  try {
    await client.query("select pg_advisory_xact_lock(hashtext('dfm.ensure_kafka_tables'))");
    await client.query(`create table if not exists ${quoteName(table)} (${DEAD_LETTER_COLUMNS})`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
