/**
 * PostgreSQL's binary COPY format for the rows of kafka.to_postgres: when every target column has
 * the type of its mapping, the batch goes in binary and PostgreSQL no longer parses text. That
 * halves the COPY's work in the backend (1,000,000 rows of the bench's six columns: 2.5–3.1 CPU
 * seconds in text, 1.4–1.7 in binary, same session, alternating), and on a 2-core machine the
 * backend shares the cores with the consumer.
 *
 * The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a header,
 * then per row a 16-bit field count and per field a 32-bit length (-1: NULL) and the value in the
 * type's send format (big-endian), then a 16-bit -1.
 *
 * Only types whose binary form we can write exactly take this path. A zoneless timestamp means the
 * session's TimeZone in text, so timestamp columns go binary only when that zone is UTC.
 */
import { decodeRecord, type ColumnPlan, type ColumnType, type DecodeFailure } from './kafka-record-decode.js';
import { parsedTimestamp, parseTimestampText, TimestampCheck } from './parse-timestamp.js';

export const BINARY_COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** The target column types (format_type) each mapping type's binary form is exactly. */
const BINARY_TARGETS: Partial<Record<ColumnType, RegExp>> = {
  text: /^(?:text|character varying(?:\(\d+\))?)$/,
  integer: /^integer$/,
  bigint: /^bigint$/,
  double: /^double precision$/,
  boolean: /^boolean$/,
  timestamptz: /^timestamp with time zone$/,
};

/** The mapping types with a binary form here. */
export const BINARY_COLUMN_TYPES: ReadonlySet<ColumnType> = new Set(Object.keys(BINARY_TARGETS) as ColumnType[]);

/** Bytes of each fixed-size binary value (text is its UTF-8). */
const FIELD_BYTES: Partial<Record<ColumnType, number>> = { integer: 4, bigint: 8, double: 8, boolean: 1, timestamptz: 8 };

/** Names PostgreSQL accepts for UTC (its timezone/tznames and the IANA links to Etc/UTC). */
const UTC_ZONES = new Set(['utc', 'etc/utc', 'uct', 'etc/uct', 'gmt', 'etc/gmt', 'gmt0', 'etc/gmt0', 'gmt+0', 'etc/gmt+0', 'gmt-0', 'etc/gmt-0', 'greenwich', 'etc/greenwich', 'universal', 'etc/universal', 'zulu', 'etc/zulu', 'z']);

/** Whether rows of these columns can be COPYed in binary into columns of these types under this TimeZone. */
export function canCopyBinary(columns: readonly { readonly type: ColumnType; readonly target: string }[], timeZone: string): boolean {
  return columns.every((c) => BINARY_TARGETS[c.type]?.test(c.target) === true && (c.type !== 'timestamptz' || UTC_ZONES.has(timeZone.toLowerCase())));
}

/** Bytes of out a row of the byte path may take: each field's length word, and at most 8 bytes of a value that is not text. */
export function binaryRowRoom(valueBytes: number, columns: number): number {
  return valueBytes + 12 * columns + 2;
}

/** Bytes before a row's fields: its field count, and in upsert mode the position field. */
export const BINARY_ROW_START_BYTES = 10;

/** What a row starts with: its field count, and in upsert mode the position (staging's dfm_seq) as the first field. */
export function writeBinaryRowStart(out: Uint8Array, at: number, columns: number, seq: number | undefined): number {
  if (seq === undefined) return writeInt16(out, at, columns);
  at = writeInt16(out, at, columns + 1);
  return writeInt32(out, writeInt32(out, at, 4), seq);
}

// Written by hand rather than with Buffer's writeInt32BE and writeDoubleBE, which check their
// arguments on every call: 27–37 ns against 53–60 ns for an int32 and a double (same loop,
// alternating), and a row of the bench writes nine of them.
export function writeInt16(out: Uint8Array, at: number, value: number): number {
  out[at] = (value >>> 8) & 0xff;
  out[at + 1] = value & 0xff;
  return at + 2;
}

export function writeInt32(out: Uint8Array, at: number, value: number): number {
  out[at] = (value >>> 24) & 0xff;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
  return at + 4;
}

/** A safe integer as a 64-bit two's complement. */
export function writeInt64(out: Uint8Array, at: number, value: number): number {
  const high = Math.floor(value / 4_294_967_296);
  writeInt32(out, at, high | 0);
  return writeInt32(out, at + 4, value - high * 4_294_967_296);
}

const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeFloat64(out: Uint8Array, at: number, value: number): number {
  float[0] = value;
  if (LITTLE_ENDIAN) {
    out[at] = floatBytes[7]!;
    out[at + 1] = floatBytes[6]!;
    out[at + 2] = floatBytes[5]!;
    out[at + 3] = floatBytes[4]!;
    out[at + 4] = floatBytes[3]!;
    out[at + 5] = floatBytes[2]!;
    out[at + 6] = floatBytes[1]!;
    out[at + 7] = floatBytes[0]!;
  } else out.set(floatBytes, at);
  return at + 8;
}

/** The instant parseTimestamp left in parsedTimestamp, as PostgreSQL's int64 microseconds since 2000. */
export function writeParsedTimestamp(out: Buffer, at: number, seconds: number, micros: number): number {
  // Exact as a double within ±285 years of 2000 (2^53 µs); beyond, in BigInt.
  if (Math.abs(seconds) < 9e9) return writeInt64(out, at, seconds * 1_000_000 + micros);
  return out.writeBigInt64BE(BigInt(seconds) * 1_000_000n + BigInt(micros), at);
}

/**
 * One row in binary from the general decoder's text values (decodeRecord's, already checked
 * against the column types), without the field count: the fields only.
 */
export function encodeBinaryRow(values: readonly (string | null)[], types: readonly ColumnType[]): Buffer {
  let size = 0;
  for (let c = 0; c < values.length; c++) {
    const value = values[c];
    size += 4 + (value === null || value === undefined ? 0 : types[c] === 'text' ? Buffer.byteLength(value) : fieldBytes(types[c]!));
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let c = 0; c < values.length; c++) {
    const value = values[c];
    const type = types[c]!;
    if (value === null || value === undefined) {
      at = writeInt32(out, at, -1);
      continue;
    }
    if (type === 'text') {
      const length = out.write(value, at + 4, 'utf8');
      writeInt32(out, at, length);
      at += 4 + length;
      continue;
    }
    at = writeInt32(out, at, fieldBytes(type));
    if (type === 'integer') at = writeInt32(out, at, Number(value));
    else if (type === 'bigint') at = value.length <= 15 ? writeInt64(out, at, Number(value)) : out.writeBigInt64BE(BigInt(value), at);
    else if (type === 'double') at = writeFloat64(out, at, Number(value));
    else if (type === 'boolean') out[at++] = value === 't' ? 1 : 0;
    else {
      if (parseTimestampText(value) !== TimestampCheck.Ok) throw new Error(`not a timestamp the decoder lets through: ${value}`);
      at = writeParsedTimestamp(out, at, parsedTimestamp.seconds, parsedTimestamp.micros);
    }
  }
  return out;
}

function fieldBytes(type: ColumnType): number {
  const bytes = FIELD_BYTES[type];
  if (bytes === undefined) throw new Error(`no binary COPY form for column type ${type}`);
  return bytes;
}

/** The general decoder in binary: decodeRecord's rules and messages, its values encoded. */
export function compileBinaryRowDecoder(columns: readonly ColumnPlan[]): (value: Buffer | null) => Buffer | DecodeFailure {
  const types = columns.map((c) => c.type);
  return (value) => {
    const decoded = decodeRecord(value, columns);
    return decoded.ok ? encodeBinaryRow(decoded.values, types) : { error: decoded.error };
  };
}
