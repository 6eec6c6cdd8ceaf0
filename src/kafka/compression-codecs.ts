/**
 * Kafka's five compression codecs, for the records of a v2 record batch (the bytes after its
 * record count). What each one is on the wire, and who writes it:
 *
 * - gzip: a gzip stream (Node's zlib).
 * - snappy: the Java client and Kafka Connect write xerial-framed snappy (snappy-java's
 *   SnappyOutputStream: the header `\x82SNAPPY\0`, version 1, compatible version 1, then chunks of
 *   a big-endian int32 length and a raw snappy block of up to 32 KiB input); librdkafka (kcat,
 *   confluent-kafka) writes one raw snappy block. Both read both (snappy-java's input stream falls
 *   back to raw without the header, librdkafka checks for it). We read both and write xerial, the
 *   format of the Java client.
 * - lz4: the LZ4 *frame* format (magic 0x184D2204), not a raw block. Java writes independent
 *   64 KiB blocks; lz4-napi (lz4_flex) writes independent blocks of up to 4 MiB (block size code 7)
 *   without checksums, which Java's KafkaLZ4BlockInputStream (the broker validates every batch
 *   with it) and librdkafka read; linked blocks (the lz4 CLI's -BD) are read too.
 * - zstd: a zstd frame, often without its content size (Java and librdkafka stream it), so
 *   decompression streams too. @mongodb-js/zstd (napi-rs, measured faster than Node's zlib: see
 *   zstd() below); Node's zlib (22.15+) where the library's binary does not load.
 *
 * The native codecs are napi-rs packages whose binary is an npm dependency of its own (no install
 * script, no download), loaded on first use: `dfm validate` never loads them, and a platform
 * without a binary fails only when a topic actually uses that codec, with the fix in the message.
 */
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);

/** The codec names, as `compression` fields and Kafka's `compression.type` spell them. */
export const COMPRESSION_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionCodec = (typeof COMPRESSION_CODECS)[number];

/** Kafka's codec ids: the low 3 bits of a record batch's attributes. */
export const CODEC_IDS: Readonly<Record<CompressionCodec, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
export const COMPRESSION_CODEC_MASK = 0x07;

/** The codec of a record batch's attributes; undefined for ids 5–7, which no Kafka release defines. */
export function codecOfAttributes(attributes: number): CompressionCodec | undefined {
  return COMPRESSION_CODECS[attributes & COMPRESSION_CODEC_MASK];
}

interface Implementation {
  compress(bytes: Buffer): Promise<Buffer>;
  decompress(bytes: Buffer): Promise<Buffer>;
}

const gunzip = promisify(zlib.unzip); // unzip: gzip, and zlib's own header too (as kafkajs reads)
const gzip = promisify(zlib.gzip);

/** A native codec package, loaded once, with the fix when it is missing. */
function load<T>(name: string, codec: CompressionCodec): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded) return loaded;
    try {
      loaded = require(name) as T;
    } catch (error) {
      throw new Error(`the ${codec} codec needs the npm package ${name} (and its binary for ${process.platform}-${process.arch}), which did not load: ${(error as Error).message}. Reinstall dfm's dependencies (npm ci).`, { cause: error });
    }
    return loaded;
  };
}

interface SnappyModule {
  compress(input: Uint8Array): Promise<Buffer>;
  uncompress(input: Uint8Array, options: { asBuffer: true }): Promise<Buffer>;
}
interface Lz4Module {
  compressFrame(input: Uint8Array): Promise<Buffer>;
  decompressFrame(input: Uint8Array): Promise<Buffer>;
}
interface ZstdModule {
  compress(input: Buffer, level?: number): Promise<Buffer>;
  decompress(input: Buffer): Promise<Buffer>;
}
const snappy = load<SnappyModule>('snappy', 'snappy');
const lz4 = load<Lz4Module>('lz4-napi', 'lz4');
const zstdLibrary = load<ZstdModule>('@mongodb-js/zstd', 'zstd');

/** Node's own zstd (22.15+, 23.8+); @types/node 20 does not know it. */
const nodeZstd = zlib as unknown as { zstdCompress?: typeof zlib.gzip; zstdDecompress?: typeof zlib.gunzip };
/** zstd's default level (3), as Java's and librdkafka's producers use it. */
const ZSTD_LEVEL = 3;

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, version, compatible version. */
const XERIAL_HEADER_LENGTH = 16;
/** snappy-java's default block size: each chunk holds up to this much input. */
const XERIAL_CHUNK = 32 * 1024;

/** Raw snappy, or xerial-framed snappy (its chunks decompressed in parallel on libuv's threads). */
async function decompressSnappy(bytes: Buffer): Promise<Buffer> {
  const { uncompress } = snappy();
  if (bytes.length < XERIAL_HEADER_LENGTH || !bytes.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return uncompress(bytes, { asBuffer: true });
  const chunks: Buffer[] = [];
  for (let at = XERIAL_HEADER_LENGTH; at < bytes.length; ) {
    if (at + 4 > bytes.length) throw new Error(`xerial snappy: a chunk length is cut off at byte ${at} of ${bytes.length}`);
    const length = bytes.readInt32BE(at);
    at += 4;
    if (length <= 0 || at + length > bytes.length) throw new Error(`xerial snappy: a chunk of ${length} bytes at byte ${at} runs past the ${bytes.length} bytes of the batch`);
    chunks.push(bytes.subarray(at, at + length));
    at += length;
  }
  const parts = await Promise.all(chunks.map((chunk) => uncompress(chunk, { asBuffer: true })));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** xerial-framed snappy, as snappy-java's SnappyOutputStream writes it. */
async function compressSnappy(bytes: Buffer): Promise<Buffer> {
  const { compress } = snappy();
  const inputs: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += XERIAL_CHUNK) inputs.push(bytes.subarray(at, at + XERIAL_CHUNK));
  const blocks = await Promise.all(inputs.map((input) => compress(input)));
  return frameXerial(blocks);
}

/** The xerial header and each raw snappy block behind its length. */
export function frameXerial(blocks: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_LENGTH);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // compatible version
  const parts: Buffer[] = [header];
  for (const block of blocks) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

const implementations: Readonly<Record<Exclude<CompressionCodec, 'none'>, Implementation>> = {
  gzip: { compress: (bytes) => gzip(bytes), decompress: (bytes) => gunzip(bytes) },
  snappy: { compress: compressSnappy, decompress: decompressSnappy },
  lz4: { compress: (bytes) => lz4().compressFrame(bytes), decompress: (bytes) => lz4().decompressFrame(bytes) },
  zstd: { compress: (bytes) => zstd().compress(bytes), decompress: (bytes) => zstd().decompress(bytes) },
};

/**
 * zstd: the library where its binary loads, Node's zlib (22.15+) only where it does not. Measured
 * on Node 24.22.3, 1,000,000 records, minutes apart (bench/kafka-to-postgres.ts --compression=zstd):
 * consume-only 646,257 records/s through node:zlib against 861,622 with the library, and
 * kafka.to_postgres 464,916 against 623,954 (node:zlib streams its output in 16 KiB chunks).
 */
type Zstd = Implementation & { readonly name: 'node:zlib' | '@mongodb-js/zstd' };
let zstdChosen: Zstd | undefined;
function zstd(): Zstd {
  if (zstdChosen) return zstdChosen;
  try {
    zstdLibrary();
    zstdChosen = { name: '@mongodb-js/zstd', compress: (bytes) => zstdLibrary().compress(bytes, ZSTD_LEVEL), decompress: (bytes) => zstdLibrary().decompress(bytes) };
  } catch (error) {
    // No binary for this platform: Node's own zstd if it has one, else the library's message.
    if (!nodeZstd.zstdCompress || !nodeZstd.zstdDecompress) throw error;
    zstdChosen = { name: 'node:zlib', compress: promisify(nodeZstd.zstdCompress), decompress: promisify(nodeZstd.zstdDecompress) };
  }
  return zstdChosen;
}

/** The records of a batch, compressed with `codec`. */
export async function compressRecords(codec: CompressionCodec, bytes: Buffer): Promise<Buffer> {
  return codec === 'none' ? bytes : implementations[codec].compress(bytes);
}

/** The records of a batch compressed with `codec`, inflated; rejects (never throws synchronously, never crashes) on bytes that are not. */
export async function decompressRecords(codec: CompressionCodec, bytes: Buffer): Promise<Buffer> {
  return codec === 'none' ? bytes : implementations[codec].decompress(bytes);
}

/** Which zstd does the work here: the library, or Node's zlib where the library's binary does not load. */
export function zstdImplementation(): 'node:zlib' | '@mongodb-js/zstd' {
  return zstd().name;
}
