/**
 * Webhook acknowledgement: an evenly spaced fixed rate (load-worker.mjs) and autocannon at saturation,
 * and the bare baseline (node:http that verifies the same HMAC and does one INSERT).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export interface AckResult {
  readonly label: string;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

export interface AckTarget {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Replace X-GitHub-Delivery with a fresh uuid on every request. */
  readonly freshDelivery?: boolean;
}

/** One load run: `rate` req/s evenly spaced (undefined = autocannon, as fast as it answers). */
export async function measureAck(label: string, target: AckTarget, options: { seconds: number; connections: number; rate?: number }): Promise<AckResult> {
  return { label, ...(await run(target, options)) };
}

/**
 * An unmeasured second at saturation: without it the first measured run pays for the cold start
 * (a pool opening its PostgreSQL connections, JIT), which the bare server's p99 at 100 req/s read
 * as ~160 ms when its p99 at saturation was 9 ms.
 */
export async function warmUp(target: AckTarget, connections: number): Promise<void> {
  await run(target, { seconds: 1, connections });
}

/** autocannon in a child process (load-worker.mjs), so the load generator has its own event loop. */
function run(target: AckTarget, options: { seconds: number; connections: number; rate?: number }): Promise<Omit<AckResult, 'label'>> {
  const script = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify({ ...target, ...options })], { timeout: (options.seconds + 30) * 1000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`autocannon failed: ${error.message} ${stderr}`));
      else resolve(JSON.parse(stdout) as Omit<AckResult, 'label'>);
    });
  });
}

/** Same HMAC check as dfm's verifySignature (src/lib/verify-signature.ts), on the raw bytes, in constant time. */
function verify(secret: string, body: Buffer, header: string | undefined): boolean {
  const given = (header ?? '').trim().replace(/^sha256=/i, '');
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), createHmac('sha256', secret).update(body).digest());
}

export interface BareServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The baseline: verify the signature, INSERT one row, answer 202. Nothing else. */
export async function startBareServer(databaseUrl: string, secret: string): Promise<BareServer> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, application_name: 'bench-sync-bare' });
  await pool.query('create table if not exists public.bench_bare_delivery (id uuid primary key, body jsonb not null, received_at timestamptz not null default now())');
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const signature = req.headers['x-dfm-signature-256'] ?? req.headers['x-hub-signature-256'];
      if (!verify(secret, body, signature as string | undefined)) {
        res.writeHead(401).end();
        return;
      }
      pool.query('insert into public.bench_bare_delivery (id, body) values ($1, $2)', [randomUUID(), body.toString('utf8')]).then(
        () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"queued":true}'),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/sync`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
