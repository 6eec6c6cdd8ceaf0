/**
 * The byte path of kafka.to_postgres: a record's JSON bytes go straight to its COPY text line,
 * with no JSON.parse, no string and no object per record. It handles the records that are plain
 * (flat fields of the mapped types, canonical numbers, valid UTF-8) and gives every other record
 * back (-1) to compileCopyLineDecoder, whose rules and messages stay the only definition of what a
 * record becomes. It writes exactly the bytes that decoder would for every record it accepts (a
 * unit test and a property test hold the two together). For binary layouts it writes the row's
 * fields in PostgreSQL's binary COPY format instead (copy-binary.ts), from the same scan.
 *
 * Why: JSON.parse, the strings it creates and their UTF-8 encoding into the COPY chunk were half of
 * the task's CPU on the node thread, and the scavenges they caused another quarter
 * (bench/kafka-to-postgres-profile.ts, 1,000,000 records of 200 bytes).
 *
 * What gives a record back: nested field paths (the plan then has no byte path at all), escaped or
 * duplicate keys, a value whose type is not its column's own (a string for an integer column),
 * numbers in jsonb values that JavaScript would print differently (`1.50`, `1e3`; in other columns they are printed as it does), `\u0000`, lone
 * surrogates, invalid UTF-8, nesting deeper than 64, a timestamp PostgreSQL would refuse
 * (February 30), anything that is not JSON, and in binary a text with an escape.
 */
import { BINARY_COLUMN_TYPES, writeFloat64, writeInt32, writeInt64, writeParsedTimestamp } from './copy-binary.js';
import type { ColumnPlan, ColumnType } from './kafka-record-decode.js';
import { parsedTimestamp, parseTimestamp, TimestampCheck } from './parse-timestamp.js';

/**
 * The kind of each column (numbered as BinaryKind, which assembly/binary-rows.ts shares) when
 * binary rows of this plan can be written in one pass (writeInOrder): every column is one field
 * whose name has no quote, backslash or control byte. Otherwise undefined.
 */
export function inOrderBinaryKinds(columns: readonly ColumnPlan[]): Uint8Array | undefined {
  const plain = (name: string) => Buffer.from(name, 'utf8').every((b) => b >= 0x20 && b !== QUOTE && b !== BACKSLASH);
  if (columns.length === 0 || !columns.every((c) => c.path.length === 1 && plain(c.path[0]!))) return undefined;
  return binaryKinds(columns);
}

function binaryKinds(columns: readonly ColumnPlan[]): Uint8Array {
  return Uint8Array.from(columns, (c) => BINARY_KINDS[c.type as keyof typeof BINARY_KINDS] ?? BinaryKind.Other);
}

/**
 * Writes the COPY line (with its newline) of the record whose value is src[from, to) (all of src
 * by default) at out[at…] and returns where it ends, or -1. In binary, it writes the row's fields
 * (copy-binary.ts), without the field count. A range rather than a subarray: a Buffer object per
 * record was ~70 ns of the worker's ~900.
 */
export type CopyLineWriter = (src: Buffer, out: Buffer, at: number, from?: number, to?: number) => number;

/** Bytes of out a line may take: enough for any value of this length. */
export function copyLineRoom(valueBytes: number, columns: number): number {
  // Whole-value jsonb grows at most 1.5× (an escape's backslash doubles), and every mapped field
  // is a part of the value on top of it.
  return 3 * valueBytes + 3 * columns + 2;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;
const MAX_DEPTH = 64;
/** writeInOrder: not a record it takes (the two passes decide). */
const NOT_IN_ORDER = -2;
/** Column types as the binary writers tell them apart (a number per column, not a string compare per value). */
const enum BinaryKind {
  Text,
  Timestamptz,
  Integer,
  Bigint,
  Double,
  Boolean,
  Other,
}
const BINARY_KINDS = { text: BinaryKind.Text, timestamptz: BinaryKind.Timestamptz, integer: BinaryKind.Integer, bigint: BinaryKind.Bigint, double: BinaryKind.Double, boolean: BinaryKind.Boolean } as const;

// Views of the record's and the output's bytes, for reading and copying four bytes at a time
// (DataView reads are inlined by the compiler; a native Buffer copy costs ~65 ns whatever its
// length). Set at the start of each call, from the buffers' ArrayBuffers: a fetch's or a request's
// records share one, so a view is made once per buffer, not per record.
let srcView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let srcBuffer: Buffer | undefined;
let srcBase = 0;
let outView = srcView;
let outBuffer: Buffer | undefined;
let outBase = 0;

function viewRecord(src: Buffer, out: Buffer): void {
  if (src !== srcBuffer) {
    srcBuffer = src;
    const buffer = src.buffer;
    if (buffer !== srcView.buffer) srcView = new DataView(buffer);
    srcBase = src.byteOffset;
  }
  if (out !== outBuffer) {
    outBuffer = out;
    const buffer = out.buffer;
    if (buffer !== outView.buffer) outView = new DataView(buffer);
    outBase = out.byteOffset;
  }
}

/** Bytes that end the fast run inside a string: the quote, a backslash, control bytes, non-ASCII. */
const STRING_STOP = new Uint8Array(256);
for (let b = 0; b < 256; b++) STRING_STOP[b] = b === QUOTE || b === BACKSLASH || b < 0x20 || b >= 0x80 ? 1 : 0;

const enum ValueKind {
  Missing = 0,
  Null = 1,
  String = 2,
  Number = 3,
  True = 4,
  False = 5,
  Composite = 6,
}

// Facts the scanners leave behind about the token they just read (one thread, no reentrancy).
/** scanString: the string held an escape. */
let stringEscaped = false;
/** scanNumber: String(Number(text)) can be written from the bytes (see scanNumber). */
let numberPrintable = false;
/** scanNumber: the number is zero (String prints 0). */
let numberZero = false;
/** scanNumber: String(Number(text)) is text[start, numberPrintEnd) (unless numberZero). */
let numberPrintEnd = 0;
/** scanNumber: printable and an integer (no fraction digits once trailing zeros are cut). */
let numberIsInteger = false;
/** scanNumber: String(Number(text)) === text. */
let numberCanonical = false;
/** scanValue: every number inside the value is canonical. */
let valueCanonical = true;

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The byte path for this plan, or undefined when the plan needs what only the general decoder
 * does (a nested field path). `exactJson` names columns of type json (not jsonb): PostgreSQL keeps
 * their text as given, so they take the general path to get JSON.stringify's text. `binary`:
 * rows in PostgreSQL's binary COPY format instead of text.
 */
export function compileJsonCopyWriter(columns: readonly ColumnPlan[], exactJson: ReadonlySet<string> = new Set(), binary = false): CopyLineWriter | undefined {
  if (columns.some((c) => c.path.length > 1 || (c.type === 'jsonb' && exactJson.has(c.name)))) return undefined;
  if (binary && columns.some((c) => c.path.length === 0 || !BINARY_COLUMN_TYPES.has(c.type))) return undefined;
  // Two columns from one field: the scan keeps one position per column.
  const fields = columns.filter((c) => c.path.length === 1).map((c) => c.path[0]!);
  if (new Set(fields).size !== fields.length) return undefined;
  const count = columns.length;
  const names = columns.map((c) => (c.path.length === 1 ? Buffer.from(c.path[0]!, 'utf8') : undefined));
  const types: ColumnType[] = columns.map((c) => c.type);
  // Fields a record must have (a key, or NOT NULL without a default): without one, the general decoder says so.
  const keys = columns.map((c) => c.key || c.notNull === true);
  const wholeValue = columns.map((c) => c.path.length === 0);
  const needsObject = columns.some((c) => c.path.length === 1);
  const hasWholeValue = columns.some((c) => c.path.length === 0);
  // Columns matched by name, scanned in plan order: most records list their fields in that order.
  const named = columns.map((_, i) => i).filter((i) => names[i] !== undefined);
  // The key expected after each column's (the next named one in plan order), and whether a key can
  // be compared as raw bytes (no quote, backslash or control byte in the name: the JSON key has
  // no escape, and its bytes are what scanString would accept).
  const expectedAfter = new Int32Array(count + 1).fill(-1);
  for (let j = 0; j < named.length; j++) expectedAfter[j === 0 ? count : named[j - 1]!] = named[j]!;
  const rawName = names.map((name) => name !== undefined && name.every((b) => b >= 0x20 && b !== QUOTE && b !== BACKSLASH));
  const kind = new Uint8Array(count);
  /** kind[c] is this record's when seen[c] === record (no fill per record). */
  const seen = new Float64Array(count);
  let record = 0;
  const start = new Int32Array(count);
  const end = new Int32Array(count);
  const escaped = new Uint8Array(count);
  /** A number's text ends at printed[c] in the value; 0: it is 0; -1: String(numbers[c]). */
  const printed = new Int32Array(count);
  const numbers = new Float64Array(count);
  /** A timestamp's instant (parsedTimestamp) per column. */
  const seconds = new Float64Array(count);
  const micros = new Int32Array(count);

  // Binary rows of records that list every column's key in plan order and nothing else (what a
  // producer serialising one schema sends) are written in one pass (writeInOrder); any other
  // record takes the two passes below.
  const inOrder = binary && inOrderBinaryKinds(columns) !== undefined;
  const typeCodes = binaryKinds(columns);

  return function writeCopyLine(src: Buffer, out: Buffer, at: number, from = 0, to = src.length): number {
    const n = to;
    record++;
    viewRecord(src, out);
    if (inOrder) {
      const written = writeInOrder(src, out, at, from, n);
      if (written !== NOT_IN_ORDER) return written;
    }
    let i = skipSpace(src, from, n);
    const first = i;
    let allCanonical = true;
    if (needsObject) {
      if (i >= n || src[i] !== OPEN_BRACE) return -1;
      i = skipSpace(src, i + 1, n);
      if (i < n && src[i] === CLOSE_BRACE) i++;
      else {
        let previous = count;
        for (;;) {
          if (i >= n || src[i] !== QUOTE) return -1;
          // Most records list their fields in plan order: try the expected key's bytes first.
          let column = expectedAfter[previous]!;
          if (column >= 0 && rawName[column] && matchesAt(src, i + 1, n, names[column]!)) i += names[column]!.length + 2;
          else {
            const keyStart = i + 1;
            i = scanString(src, i, n);
            if (i < 0 || stringEscaped) return -1;
            column = matchKey(src, keyStart, i - 1);
          }
          if (column >= 0) previous = column;
          i = skipSpace(src, i, n);
          if (i >= n || src[i] !== COLON) return -1;
          i = skipSpace(src, i + 1, n);
          if (i >= n) return -1;
          if (column < 0) {
            valueCanonical = true;
            i = scanValue(src, i, n, 0);
            if (i < 0) return -1;
            if (!valueCanonical) allCanonical = false;
          } else {
            if (seen[column] === record) return -1; // a duplicate: JSON.parse keeps the last
            i = scanColumnValue(src, i, n, column);
            if (i < 0) return -1;
          }
          i = skipSpace(src, i, n);
          if (i >= n) return -1;
          const b = src[i]!;
          if (b === COMMA) {
            i = skipSpace(src, i + 1, n);
            continue;
          }
          if (b !== CLOSE_BRACE) return -1;
          i++;
          break;
        }
      }
    } else {
      valueCanonical = true;
      i = scanValue(src, i, n, 0);
      if (i < 0) return -1;
      allCanonical = valueCanonical;
    }
    if (skipSpace(src, i, n) !== n) return -1;
    if (hasWholeValue && !allCanonical) return -1;
    const last = i;
    if (binary) return writeBinaryFields(src, out, at);
    // The value null is no value (NULL), as in the general decoder.
    const wholeIsNull = src[first] === 0x6e;

    let o = at;
    for (let c = 0; c < count; c++) {
      if (c > 0) out[o++] = TAB;
      if (wholeValue[c]) {
        if (wholeIsNull) {
          if (keys[c]) return -1;
          out[o++] = BACKSLASH;
          out[o++] = 0x4e; // N
          continue;
        }
        o = writeCompactJson(src, first, last, out, o);
        if (o < 0) return -1;
        continue;
      }
      const k = seen[c] === record ? kind[c]! : ValueKind.Missing;
      if (k === ValueKind.Missing || k === ValueKind.Null) {
        if (keys[c]) return -1;
        out[o++] = BACKSLASH;
        out[o++] = 0x4e; // N
        continue;
      }
      switch (k) {
        case ValueKind.String:
          if (types[c] === 'jsonb') o = writeCompactJson(src, start[c]!, end[c]!, out, o);
          else if (escaped[c] === 0) {
            // Quotes excluded; no escape means no byte COPY would need escaped.
            o = copyBytes(src, start[c]! + 1, end[c]! - 1, out, o);
          } else o = writeUnescaped(src, start[c]! + 1, end[c]! - 1, out, o);
          if (o < 0) return -1;
          break;
        case ValueKind.Number: {
          const to = printed[c]!;
          if (to > 0) o = copyBytes(src, start[c]!, to, out, o);
          else if (to === 0) out[o++] = ZERO;
          else o += out.write(String(numbers[c]!), o, 'latin1');
          break;
        }
        case ValueKind.Composite:
          if (types[c] === 'jsonb') {
            o = writeCompactJson(src, start[c]!, end[c]!, out, o);
            if (o < 0) return -1;
          } else o = copyBytes(src, start[c]!, end[c]!, out, o);
          break;
        case ValueKind.True:
          if (types[c] === 'jsonb') o = copyBytes(src, start[c]!, end[c]!, out, o);
          else out[o++] = 0x74; // t
          break;
        case ValueKind.False:
          if (types[c] === 'jsonb') o = copyBytes(src, start[c]!, end[c]!, out, o);
          else out[o++] = 0x66; // f
          break;
      }
    }
    out[o++] = NEWLINE;
    return o;
  };

  /**
   * One pass for a binary row: checks each key is the next column's, and writes each value as it
   * scans it (text is copied four bytes at a time while it is scanned). Writes exactly what the
   * two passes write for the records it takes; gives back NOT_IN_ORDER for anything else (another
   * order, a missing or extra key, an escape, non-ASCII text, a number that is not plain, null in
   * a key column), and the two passes decide.
   */
  function writeInOrder(src: Buffer, out: Buffer, at: number, from: number, n: number): number {
    let i = skipSpace(src, from, n);
    if (i >= n || src[i] !== OPEN_BRACE) return NOT_IN_ORDER;
    i = skipSpace(src, i + 1, n);
    let o = at;
    for (let c = 0; c < count; c++) {
      const name = names[c]!;
      if (i >= n || src[i] !== QUOTE || !matchesAt(src, i + 1, n, name)) return NOT_IN_ORDER;
      i = skipSpace(src, i + name.length + 2, n);
      if (i >= n || src[i] !== COLON) return NOT_IN_ORDER;
      i = skipSpace(src, i + 1, n);
      if (i >= n) return NOT_IN_ORDER;
      const b = src[i]!;
      const type = typeCodes[c]!;
      if (b === QUOTE) {
        if (type === BinaryKind.Text) {
          // text: scanned and copied together; only plain ASCII up to the closing quote.
          let k = i + 1;
          let p = o + 4;
          while (k + 4 <= n) {
            const w = srcView.getInt32(srcBase + k, true);
            if (stopsString(w)) break;
            outView.setInt32(outBase + p, w, true);
            k += 4;
            p += 4;
          }
          while (k < n && STRING_STOP[src[k]!] === 0) out[p++] = src[k++]!;
          if (k >= n || src[k] !== QUOTE) return NOT_IN_ORDER;
          writeInt32(out, o, p - o - 4);
          o = p;
          i = k + 1;
        } else if (type === BinaryKind.Timestamptz) {
          const to = scanString(src, i, n);
          if (to < 0 || stringEscaped || parseTimestamp(src, i + 1, to - 1) !== TimestampCheck.Ok) return NOT_IN_ORDER;
          o = writeParsedTimestamp(out, writeInt32(out, o, 8), parsedTimestamp.seconds, parsedTimestamp.micros);
          i = to;
        } else return NOT_IN_ORDER;
      } else if (b === MINUS || (b >= ZERO && b <= NINE)) {
        const to = scanNumber(src, i, n);
        if (to < 0 || !numberPrintable) return NOT_IN_ORDER;
        // + 0: -0 is written as 0, as String(-0) prints it in text.
        if (type === BinaryKind.Integer) {
          if (!numberIsInteger || !(numberZero || fitsInteger(src, i, numberPrintEnd))) return NOT_IN_ORDER;
        } else if (type === BinaryKind.Bigint) {
          if (!numberIsInteger) return NOT_IN_ORDER;
        } else if (type !== BinaryKind.Double) return NOT_IN_ORDER;
        o = writeNumberField(out, o, type, numberZero ? 0 : readDecimal(src, i, numberPrintEnd));
        i = to;
      } else if (b === 0x74 /* t */ || b === 0x66 /* f */ || b === 0x6e /* n */) {
        const to = scanLiteral(src, i, n);
        if (to < 0) return NOT_IN_ORDER;
        if (b === 0x6e) {
          if (keys[c]) return NOT_IN_ORDER;
          o = writeInt32(out, o, -1);
        } else {
          if (type !== BinaryKind.Boolean) return NOT_IN_ORDER;
          o = writeInt32(out, o, 1);
          out[o++] = b === 0x74 ? 1 : 0;
        }
        i = to;
      } else return NOT_IN_ORDER;
      i = skipSpace(src, i, n);
      if (c < count - 1) {
        if (i >= n || src[i] !== COMMA) return NOT_IN_ORDER;
        i = skipSpace(src, i + 1, n);
      }
    }
    if (i >= n || src[i] !== CLOSE_BRACE || skipSpace(src, i + 1, n) !== n) return NOT_IN_ORDER;
    return o;
  }

  /** The scanned fields in binary: each field's length word and its value in the type's send format. */
  function writeBinaryFields(src: Buffer, out: Buffer, at: number): number {
    let o = at;
    for (let c = 0; c < count; c++) {
      const k = seen[c] === record ? kind[c]! : ValueKind.Missing;
      if (k === ValueKind.Missing || k === ValueKind.Null) {
        if (keys[c]) return -1;
        o = writeInt32(out, o, -1);
        continue;
      }
      if (k === ValueKind.String) {
        if (typeCodes[c] === BinaryKind.Timestamptz) {
          o = writeInt32(out, o, 8);
          o = writeParsedTimestamp(out, o, seconds[c]!, micros[c]!);
        } else {
          // Text with an escape takes the general path: binary text is the unescaped UTF-8.
          if (escaped[c] !== 0) return -1;
          o = writeInt32(out, o, end[c]! - start[c]! - 2);
          o = copyBytes(src, start[c]! + 1, end[c]! - 1, out, o);
        }
      } else if (k === ValueKind.Number) {
        const to = printed[c]!;
        o = writeNumberField(out, o, typeCodes[c]!, to > 0 ? readDecimal(src, start[c]!, to) : to === 0 ? 0 : numbers[c]!);
      } else {
        // True or False: the scan took them for boolean columns only.
        o = writeInt32(out, o, 1);
        out[o++] = k === ValueKind.True ? 1 : 0;
      }
    }
    return o;
  }

  function matchKey(src: Buffer, from: number, to: number): number {
    const length = to - from;
    for (let j = 0; j < named.length; j++) {
      const c = named[j]!;
      const name = names[c]!;
      if (name.length !== length) continue;
      let same = true;
      for (let k = 0; k < length; k++) {
        if (name[k] !== src[from + k]) {
          same = false;
          break;
        }
      }
      if (same) return c;
    }
    return -1;
  }

  /** Scans the value of a mapped column and checks it is what the column takes as is. */
  function scanColumnValue(src: Buffer, i: number, n: number, c: number): number {
    const type = types[c]!;
    const b = src[i]!;
    let to: number;
    let k: ValueKind;
    if (b === QUOTE) {
      to = scanString(src, i, n);
      if (to < 0) return -1;
      k = ValueKind.String;
      escaped[c] = stringEscaped ? 1 : 0;
      if (type === 'timestamptz') {
        // What PostgreSQL would refuse (February 30) takes the general path, which names it.
        if (stringEscaped || parseTimestamp(src, i + 1, to - 1) !== TimestampCheck.Ok) return -1;
        seconds[c] = parsedTimestamp.seconds;
        micros[c] = parsedTimestamp.micros;
      } else if (type !== 'text' && type !== 'jsonb') return -1;
    } else if (b === MINUS || (b >= ZERO && b <= NINE)) {
      to = scanNumber(src, i, n);
      if (to < 0) return -1;
      k = ValueKind.Number;
      if (type === 'jsonb') {
        // jsonb keeps a number's text (1.50 stays 1.50): only JavaScript's own text is the same value.
        if (!numberCanonical) return -1;
        printed[c] = to;
      } else if (!numberPrintable) {
        // 1e3, 17 digits: the general decoder's rule on the number's value, and String's text.
        // Allocates, but only for these numbers.
        const number = Number(src.toString('latin1', i, to));
        const fits =
          type === 'integer'
            ? Number.isInteger(number) && number >= -(2 ** 31) && number <= 2 ** 31 - 1
            : type === 'bigint'
              ? Number.isSafeInteger(number)
              : (type === 'numeric' || type === 'double') && Number.isFinite(number);
        if (!fits) return -1;
        printed[c] = -1;
        numbers[c] = number;
      } else {
        if (type === 'integer') {
          if (!numberIsInteger || !(numberZero || fitsInteger(src, i, numberPrintEnd))) return -1;
        } else if (type === 'bigint') {
          if (!numberIsInteger) return -1; // at most 15 digits: safe
        } else if (type !== 'numeric' && type !== 'double') return -1;
        printed[c] = numberZero ? 0 : numberPrintEnd;
      }
    } else if (b === 0x74 /* t */ || b === 0x66 /* f */ || b === 0x6e /* n */) {
      to = scanLiteral(src, i, n);
      if (to < 0) return -1;
      k = b === 0x74 ? ValueKind.True : b === 0x66 ? ValueKind.False : ValueKind.Null;
      if (k !== ValueKind.Null && type !== 'boolean' && type !== 'jsonb') return -1;
    } else {
      if (type !== 'jsonb') return -1;
      valueCanonical = true;
      to = scanValue(src, i, n, 0);
      if (to < 0 || !valueCanonical) return -1;
      k = ValueKind.Composite;
    }
    kind[c] = k;
    seen[c] = record;
    start[c] = i;
    end[c] = to;
    return to;
  }
}

/**
 * A number's field in binary: its length word and the value in its column's send format (the
 * scan took numbers for integer, bigint and double columns only). + 0: -0 is written as 0, as
 * String(-0) prints it in text.
 */
function writeNumberField(out: Buffer, o: number, kind: BinaryKind, value: number): number {
  if (kind === BinaryKind.Integer) return writeInt32(out, writeInt32(out, o, 4), value);
  if (kind === BinaryKind.Bigint) return writeInt64(out, writeInt32(out, o, 8), value);
  return writeFloat64(out, writeInt32(out, o, 8), value + 0);
}

/**
 * Whether one of the four bytes of w ends a string's fast run (STRING_STOP): a quote, a
 * backslash, a byte below 0x20 or above 0x7f. Exact SWAR tests: (x - 0x01…) & ~x & 0x80… is
 * non-zero iff a byte of x is 0.
 */
function stopsString(w: number): boolean {
  const quote = w ^ 0x22222222;
  const backslash = w ^ 0x5c5c5c5c;
  return ((((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((w - 0x20202020) & ~w) | w) & 0x80808080) !== 0;
}

/** src[i…] is `name"` (the key's bytes and its closing quote). */
function matchesAt(src: Buffer, i: number, n: number, name: Buffer): boolean {
  const length = name.length;
  if (i + length >= n || src[i + length] !== QUOTE) return false;
  for (let k = 0; k < length; k++) if (src[i + k] !== name[k]) return false;
  return true;
}

function skipSpace(src: Buffer, i: number, n: number): number {
  while (i < n) {
    const b = src[i]!;
    // Above the space: not white space (one test for compact JSON).
    if (b > SPACE || (b !== SPACE && b !== TAB && b !== NEWLINE && b !== RETURN)) break;
    i++;
  }
  return i;
}

/**
 * src[i] is the opening quote; returns the index after the closing one, or -1 for what is not a
 * JSON string of valid UTF-8 (or holds \u0000 or a lone surrogate). Sets stringEscaped.
 */
function scanString(src: Buffer, i: number, n: number): number {
  stringEscaped = false;
  i++;
  for (;;) {
    // Four bytes at a time while none ends the fast run.
    while (i + 4 <= n) {
      if (stopsString(srcView.getInt32(srcBase + i, true))) break;
      i += 4;
    }
    while (i < n && STRING_STOP[src[i]!] === 0) i++;
    if (i >= n) return -1;
    const b = src[i]!;
    if (b === QUOTE) return i + 1;
    if (b === BACKSLASH) {
      stringEscaped = true;
      i = scanEscape(src, i, n);
      if (i < 0) return -1;
    } else if (b < 0x20) return -1;
    else {
      i = scanUtf8(src, i, n);
      if (i < 0) return -1;
    }
  }
}

/** src[i] is a backslash; returns the index after the escape, or -1. */
function scanEscape(src: Buffer, i: number, n: number): number {
  if (i + 1 >= n) return -1;
  const e = src[i + 1]!;
  if (e !== 0x75 /* u */) {
    // " \ / b f n r t
    return e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74 ? i + 2 : -1;
  }
  const unit = readHex4(src, i + 2, n);
  if (unit <= 0) return -1; // not hex, or \u0000 (the general path names it)
  if (unit >= 0xdc00 && unit <= 0xdfff) return -1; // a lone low surrogate
  if (unit >= 0xd800 && unit <= 0xdbff) {
    if (i + 11 >= n || src[i + 6] !== BACKSLASH || src[i + 7] !== 0x75) return -1;
    const low = readHex4(src, i + 8, n);
    return low >= 0xdc00 && low <= 0xdfff ? i + 12 : -1;
  }
  return i + 6;
}

function readHex4(src: Buffer, i: number, n: number): number {
  if (i + 4 > n) return -1;
  let unit = 0;
  for (let k = 0; k < 4; k++) {
    const b = src[i + k]!;
    const digit = b >= ZERO && b <= NINE ? b - ZERO : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;
    if (digit < 0) return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

/** One UTF-8 sequence starting at a byte ≥ 0x80 (RFC 3629: no overlong forms, no surrogates). */
function scanUtf8(src: Buffer, i: number, n: number): number {
  const b = src[i]!;
  let need: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) low = 0xa0;
    else if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) low = 0x90;
    else if (b === 0xf4) high = 0x8f;
  } else return -1;
  if (i + need >= n) return -1;
  const second = src[i + 1]!;
  if (second < low || second > high) return -1;
  for (let k = 2; k <= need; k++) {
    const c = src[i + k]!;
    if (c < 0x80 || c > 0xbf) return -1;
  }
  return i + need + 1;
}

/**
 * A JSON number; returns the index after it or -1. Sets the number* facts below.
 *
 * JavaScript prints a number (String(Number(text))) as the text itself when the text is plain
 * decimal, without an exponent, leading or trailing zeros, not -0, of at most 15 significant
 * digits (any such decimal round-trips through a double, so it is the shortest text of its
 * double, which is what String prints) and not below 1e-6 (where String switches to exponent
 * notation). Trailing fraction zeros only need cutting (1.50 → 1.5, 7.0 → 7), and a zero prints
 * as 0 (-0.0 too). Anything else (conservatively) is not printable from the bytes.
 */
function scanNumber(src: Buffer, i: number, n: number): number {
  const from = i;
  if (src[i] === MINUS) i++;
  if (i >= n) return -1;
  let b = src[i]!;
  let intDigits = 0;
  if (b === ZERO) i++; // a zero integer part: not significant
  else if (b > ZERO && b <= NINE) {
    while (i < n && (b = src[i]!) >= ZERO && b <= NINE) {
      i++;
      intDigits++;
    }
  } else return -1;
  const dot = i;
  let fracDigits = 0;
  let fracLeadingZeros = 0;
  // Where the fraction ends once its trailing zeros are cut (the dot itself when all are zeros).
  let printEnd = i;
  let exponent = false;
  if (i < n && src[i] === DOT) {
    i++;
    let leading = intDigits === 0;
    while (i < n && (b = src[i]!) >= ZERO && b <= NINE) {
      i++;
      fracDigits++;
      if (b !== ZERO) {
        leading = false;
        printEnd = i;
      } else if (leading) fracLeadingZeros++;
    }
    if (fracDigits === 0) return -1;
  }
  if (i < n && ((b = src[i]!) === 0x65 || b === 0x45)) {
    exponent = true;
    i++;
    if (i < n && ((b = src[i]!) === PLUS || b === MINUS)) i++;
    let expDigits = 0;
    while (i < n && (b = src[i]!) >= ZERO && b <= NINE) {
      i++;
      expDigits++;
    }
    if (expDigits === 0) return -1;
  }
  const zero = intDigits === 0 && printEnd === dot;
  const significant = intDigits === 0 ? printEnd - dot - 1 - fracLeadingZeros : intDigits + Math.max(0, printEnd - dot - 1);
  numberPrintable = !exponent && significant <= 15 && (intDigits > 0 || zero || fracLeadingZeros <= 5);
  numberZero = zero;
  numberPrintEnd = printEnd;
  numberIsInteger = printEnd === dot;
  numberCanonical = numberPrintable && printEnd === i && !(zero && src[from] === MINUS);
  return i;
}

/**
 * The value of a printable number's text (scanNumber: at most 15 significant digits, so the digits
 * are an exact integer, and at most 21 after the point): one division of exact doubles, correctly
 * rounded, which is the double nearest the decimal, as Number(text) gives.
 */
function readDecimal(src: Buffer, i: number, to: number): number {
  const negative = src[i] === MINUS;
  if (negative) i++;
  let mantissa = 0;
  let fraction = -1;
  for (; i < to; i++) {
    const b = src[i]!;
    if (b === DOT) fraction = 0;
    else {
      mantissa = mantissa * 10 + (b - ZERO);
      if (fraction >= 0) fraction++;
    }
  }
  const value = fraction > 0 ? mantissa / POWERS_OF_TEN[fraction]! : mantissa;
  return negative ? -value : value;
}

/** An integer text of at most 10 digits within PostgreSQL's integer range. */
function fitsInteger(src: Buffer, i: number, to: number): boolean {
  const negative = src[i] === MINUS;
  if (negative) i++;
  if (to - i > 10) return false;
  let value = 0;
  for (; i < to; i++) value = value * 10 + (src[i]! - ZERO);
  return negative ? value <= 2 ** 31 : value <= 2 ** 31 - 1;
}

/** true, false or null. */
function scanLiteral(src: Buffer, i: number, n: number): number {
  const b = src[i]!;
  const word = b === 0x74 ? 'true' : b === 0x66 ? 'false' : b === 0x6e ? 'null' : '';
  if (word === '' || i + word.length > n) return -1;
  for (let k = 1; k < word.length; k++) if (src[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** Any JSON value; returns the index after it or -1. Clears valueCanonical on a non-canonical number. */
function scanValue(src: Buffer, i: number, n: number, depth: number): number {
  if (i >= n) return -1;
  const b = src[i]!;
  if (b === QUOTE) return scanString(src, i, n);
  if (b === MINUS || (b >= ZERO && b <= NINE)) {
    const to = scanNumber(src, i, n);
    if (!numberCanonical) valueCanonical = false;
    return to;
  }
  if (b === OPEN_BRACE || b === OPEN_BRACKET) {
    if (depth >= MAX_DEPTH) return -1;
    const object = b === OPEN_BRACE;
    const close = object ? CLOSE_BRACE : CLOSE_BRACKET;
    i = skipSpace(src, i + 1, n);
    if (i < n && src[i] === close) return i + 1;
    for (;;) {
      if (object) {
        if (i >= n || src[i] !== QUOTE) return -1;
        i = scanString(src, i, n);
        if (i < 0) return -1;
        i = skipSpace(src, i, n);
        if (i >= n || src[i] !== COLON) return -1;
        i = skipSpace(src, i + 1, n);
      }
      i = scanValue(src, i, n, depth + 1);
      if (i < 0) return -1;
      i = skipSpace(src, i, n);
      if (i >= n) return -1;
      const next = src[i]!;
      if (next === close) return i + 1;
      if (next !== COMMA) return -1;
      i = skipSpace(src, i + 1, n);
    }
  }
  return scanLiteral(src, i, n);
}

function copyBytes(src: Buffer, from: number, to: number, out: Buffer, o: number): number {
  // Eight bytes per step through the views below ~200 bytes, where a native copy costs more.
  if (to - from > 192) return o + src.copy(out, o, from, to);
  let k = from;
  for (; k + 8 <= to; k += 8, o += 8) {
    outView.setInt32(outBase + o, srcView.getInt32(srcBase + k, true), true);
    outView.setInt32(outBase + o + 4, srcView.getInt32(srcBase + k + 4, true), true);
  }
  for (; k < to; k++) out[o++] = src[k]!;
  return o;
}

/** COPY text of an escaped JSON string's content (already validated by scanString). */
function writeUnescaped(src: Buffer, i: number, to: number, out: Buffer, o: number): number {
  while (i < to) {
    const b = src[i]!;
    if (b !== BACKSLASH) {
      out[o++] = b;
      i++;
      continue;
    }
    const e = src[i + 1]!;
    i += 2;
    switch (e) {
      case 0x6e: // n
        out[o++] = BACKSLASH;
        out[o++] = 0x6e;
        break;
      case 0x72: // r
        out[o++] = BACKSLASH;
        out[o++] = 0x72;
        break;
      case 0x74: // t
        out[o++] = BACKSLASH;
        out[o++] = 0x74;
        break;
      case BACKSLASH:
        out[o++] = BACKSLASH;
        out[o++] = BACKSLASH;
        break;
      case 0x62: // b
        out[o++] = 0x08;
        break;
      case 0x66: // f
        out[o++] = 0x0c;
        break;
      case 0x75: {
        // u
        let point = readHex4(src, i, to);
        i += 4;
        if (point >= 0xd800 && point <= 0xdbff) {
          point = 0x10000 + ((point - 0xd800) << 10) + (readHex4(src, i + 2, to) - 0xdc00);
          i += 6;
        }
        o = writeCodePoint(point, out, o);
        break;
      }
      default: // " and /
        out[o++] = e;
    }
  }
  return o;
}

function writeCodePoint(point: number, out: Buffer, o: number): number {
  if (point < 0x80) {
    if (point === NEWLINE || point === RETURN || point === TAB || point === BACKSLASH) {
      out[o++] = BACKSLASH;
      out[o++] = point === NEWLINE ? 0x6e : point === RETURN ? 0x72 : point === TAB ? 0x74 : BACKSLASH;
    } else out[o++] = point;
  } else if (point < 0x800) {
    out[o++] = 0xc0 | (point >> 6);
    out[o++] = 0x80 | (point & 0x3f);
  } else if (point < 0x10000) {
    out[o++] = 0xe0 | (point >> 12);
    out[o++] = 0x80 | ((point >> 6) & 0x3f);
    out[o++] = 0x80 | (point & 0x3f);
  } else {
    out[o++] = 0xf0 | (point >> 18);
    out[o++] = 0x80 | ((point >> 12) & 0x3f);
    out[o++] = 0x80 | ((point >> 6) & 0x3f);
    out[o++] = 0x80 | (point & 0x3f);
  }
  return o;
}

/**
 * A validated JSON value as COPY text for a jsonb column: whitespace between tokens dropped,
 * backslashes doubled for COPY. PostgreSQL's jsonb keeps no formatting, orders keys itself, keeps
 * the last of duplicate keys (as JSON.parse does) and decodes escapes, so the stored value is the
 * one the general path's JSON.stringify text gives, given that every number is canonical.
 */
function writeCompactJson(src: Buffer, i: number, to: number, out: Buffer, o: number): number {
  let inString = false;
  while (i < to) {
    const b = src[i++]!;
    if (inString) {
      if (b === QUOTE) inString = false;
      else if (b === BACKSLASH) {
        // The escape's backslash doubled for COPY, and the escaped character (which does not end
        // the string when it is a quote, and is doubled too when it is a backslash).
        const e = src[i++]!;
        out[o++] = BACKSLASH;
        out[o++] = BACKSLASH;
        if (e === BACKSLASH) out[o++] = BACKSLASH;
        out[o++] = e;
        continue;
      }
      out[o++] = b;
    } else if (b === SPACE || b === TAB || b === NEWLINE || b === RETURN) continue;
    else {
      if (b === QUOTE) inString = true;
      out[o++] = b;
    }
  }
  return o;
}
