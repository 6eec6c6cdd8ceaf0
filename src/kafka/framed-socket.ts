/**
 * kafkajs' socket factory, for plain TCP: the kernel reads each Kafka response straight into one
 * Buffer of its size, and kafkajs gets it as one chunk. With a default socket, each read lands in
 * a fresh 64 KB Buffer and kafkajs joins the chunks of a response with Buffer.concat: a fetch of
 * 3 MB was ~50 allocations and one more copy of every byte (~0.2 s of the main thread per
 * 1,000,000 records of 200 bytes, in kafka.to_postgres' profile). Kafka frames every response
 * with its length first, so the size is known after 4 bytes.
 *
 * TLS connections go to kafkajs' own factory (tls.connect cannot read into a caller's buffer).
 */
import net from 'node:net';
import type tls from 'node:tls';

/** What kafkajs passes its socket factory (kafkajs' ISocketFactory). */
export interface SocketFactoryArgs {
  readonly host: string;
  readonly port: number;
  readonly ssl?: tls.ConnectionOptions | boolean | null;
  readonly onConnect: () => void;
}

export type SocketFactory = (args: SocketFactoryArgs) => net.Socket;

/** kafkajs' default keep-alive. */
const KEEP_ALIVE_DELAY = 60_000;
/** Where reads land until a response's length is known, and small responses whole. */
const SCRATCH_BYTES = 64 * 1024;

/** Plain TCP framed here; TLS by `forTls` (kafkajs' default factory). */
export function framedSocketFactory(forTls: SocketFactory): SocketFactory {
  return (args) => {
    const { host, port, ssl, onConnect } = args;
    if (ssl) return forTls(args);
    const frames = new ResponseFrames(
      (frame) => socket.emit('data', frame),
      (error) => socket.destroy(error),
    );
    const socket = net.connect({ host, port, onread: { buffer: () => frames.nextRead(), callback: (bytes) => { frames.onRead(bytes); return true; } } }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY);
    return socket;
  };
}

/**
 * Cuts a stream of Kafka responses ([int32 length][length bytes]…) into one Buffer per response.
 * Reads go into the response being filled when there is one (exactly its missing bytes, so a read
 * never spans two responses), else into a scratch buffer that is then split.
 */
export class ResponseFrames {
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** The response being filled, and how much of it is. */
  private frame: Buffer | undefined;
  private filled = 0;
  /** Bytes of a length field split across reads. */
  private readonly head = Buffer.alloc(4);
  private headBytes = 0;
  /** Whether the last region handed out for a read was the frame's rest (else the scratch). */
  private readingFrame = false;

  constructor(
    private readonly emit: (frame: Buffer) => void,
    private readonly fail: (error: Error) => void,
  ) {}

  /** Where the next read goes. */
  nextRead(): Buffer {
    const frame = this.frame;
    // Small rests go through the scratch: a read of a few bytes per syscall would be slower.
    this.readingFrame = frame !== undefined && frame.length - this.filled >= SCRATCH_BYTES / 4;
    return this.readingFrame ? frame!.subarray(this.filled) : this.scratch;
  }

  /** `bytes` were read into the region nextRead gave. */
  onRead(bytes: number): void {
    if (this.readingFrame) {
      this.filled += bytes;
      if (this.filled === this.frame!.length) this.complete();
      return;
    }
    this.take(this.scratch, bytes);
  }

  /** Splits data[0, end) into responses. */
  take(data: Buffer, end: number): void {
    let at = 0;
    while (at < end) {
      if (this.frame === undefined) {
        const need = 4 - this.headBytes;
        const got = Math.min(need, end - at);
        data.copy(this.head, this.headBytes, at, at + got);
        this.headBytes += got;
        at += got;
        if (this.headBytes < 4) return;
        const size = this.head.readInt32BE(0);
        if (size < 4) {
          this.fail(new Error(`Kafka sent a response of ${size} bytes: not a Kafka response`));
          return;
        }
        // Small responses from the shared pool; large ones of their own (they live as long as the
        // records read from them).
        this.frame = size + 4 <= 4096 ? Buffer.allocUnsafe(size + 4) : Buffer.allocUnsafeSlow(size + 4);
        this.head.copy(this.frame, 0);
        this.filled = 4;
        this.headBytes = 0;
      }
      const got = Math.min(this.frame.length - this.filled, end - at);
      data.copy(this.frame, this.filled, at, at + got);
      this.filled += got;
      at += got;
      if (this.filled === this.frame.length) this.complete();
    }
  }

  private complete(): void {
    const frame = this.frame!;
    this.frame = undefined;
    this.filled = 0;
    this.emit(frame);
  }
}

/** The fields of kafkajs' Connection that its processData uses. */
interface ConnectionInternals {
  authHandlers?: { onSuccess(data: Buffer): void } | null;
  authExpectResponse?: boolean;
  chunks: Buffer[];
  bytesBuffered: number;
  bytesNeeded: number;
  requestQueue: { fulfillRequest(response: { size: number; correlationId: number; payload: Buffer }): void };
}

/**
 * kafkajs' Connection.prototype.processData, but without an empty remainder kept after each
 * response: kafkajs keeps one, so the next response was always two chunks and copied whole by
 * Buffer.concat even when it arrived in one piece.
 */
export function processData(this: ConnectionInternals, rawData: Buffer): void {
  if (this.authHandlers && !this.authExpectResponse) {
    this.authHandlers.onSuccess(rawData);
    return;
  }
  if (rawData.length > 0) {
    this.chunks.push(rawData);
    this.bytesBuffered += rawData.length;
  }
  while (this.bytesNeeded <= this.bytesBuffered) {
    const buffer = this.chunks.length > 1 ? Buffer.concat(this.chunks) : this.chunks[0]!;
    const size = buffer.readInt32BE(0);
    if (buffer.length - 4 < size) {
      this.chunks = [buffer];
      this.bytesBuffered = buffer.length;
      this.bytesNeeded = 4 + size;
      return;
    }
    const rest = buffer.subarray(4 + size);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bytesBuffered = rest.length;
    this.bytesNeeded = 4;
    if (this.authHandlers) {
      this.authHandlers.onSuccess(buffer.subarray(0, 4 + size));
      return;
    }
    this.requestQueue.fulfillRequest({ size, correlationId: buffer.readInt32BE(4), payload: buffer.subarray(8, 4 + size) });
  }
}
