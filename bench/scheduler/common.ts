/**
 * Shared helpers of the scheduler bench: options, statistics, database admin (fresh databases,
 * pg_stat_database commit counts, wait-event sampling), deferreds.
 */
import pg from 'pg';

export interface BenchOptions {
  readonly adminUrl: string;
  readonly quick: boolean;
  /** C1: sequential samples per system (after warm-up). */
  readonly c1Samples: number;
  readonly c1Warmup: number;
  /** C2: chain length and repetitions. */
  readonly c2Steps: number;
  readonly c2Reps: number;
  /** C3: independent tasks; dfm runs of `c3TasksPerRun` tasks each. */
  readonly c3Tasks: number;
  readonly c3TasksPerRun: number;
  /** Worker concurrency of C2 and C3 (same for both systems). */
  readonly concurrency: number;
  /** Extra: EXPLAIN ANALYZE of dfm's hot statements and the run-size probe. */
  readonly explain: boolean;
  readonly probe: boolean;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const quick = argv.includes('--quick');
  const flag = (name: string): number | undefined => {
    const hit = argv.find((a) => a.startsWith(`--${name}=`));
    if (!hit) return undefined;
    const n = Number(hit.slice(name.length + 3));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
    return n;
  };
  const c3TasksPerRun = flag('c3-tasks-per-run') ?? 1000;
  const c3Tasks = flag('c3-tasks') ?? (quick ? 6000 : 50_000);
  if (c3Tasks % (2 * c3TasksPerRun) !== 0) throw new Error('--c3-tasks must be a multiple of 2 × --c3-tasks-per-run (C3 runs in two halves)');
  return {
    adminUrl: env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    quick,
    c1Samples: flag('c1-samples') ?? (quick ? 200 : 1000),
    c1Warmup: quick ? 20 : 50,
    c2Steps: 40,
    c2Reps: flag('c2-reps') ?? (quick ? 5 : 10),
    c3Tasks,
    c3TasksPerRun,
    concurrency: flag('concurrency') ?? 10,
    explain: !argv.includes('--no-explain'),
    probe: !argv.includes('--no-probe') && !quick,
  };
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'dfm-bench-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  await admin.query(`create database ${pg.escapeIdentifier(name)}`);
}

export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
}

/**
 * Committed transactions of a database so far. Backends publish their counters when they exit
 * (or at most once a second when idle), so callers first close every connection to the database
 * and wait for the backends to be gone (`waitNoBackends`): then the count is exact.
 */
export async function xactCommit(admin: pg.Client, database: string): Promise<number> {
  await admin.query('select pg_stat_clear_snapshot()');
  const { rows } = await admin.query<{ n: string }>('select xact_commit as n from pg_stat_database where datname = $1', [database]);
  return Number(rows[0]?.n ?? 0);
}

export async function waitNoBackends(admin: pg.Client, database: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
      [database],
    );
    if (rows[0]!.n === 0) {
      // Backend exit publishes its stats in its shutdown hook; give the last one a moment.
      await sleep(100);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${rows[0]!.n} connections to ${database} are still open`);
    await sleep(50);
  }
}

/** Samples pg_stat_activity of one database: where do its backends spend their time. */
export function sampleWaits(adminUrl: string, database: string, everyMs = 50) {
  const counts = new Map<string, number>();
  const queries = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'dfm-bench-sampler' });
  const loop = (async () => {
    await client.connect();
    while (!stopped) {
      const { rows } = await client.query<{ state: string; wait: string | null; query: string }>(
        `select state, wait_event_type || ':' || wait_event as wait, regexp_replace(left(query, 70), '\\s+', ' ', 'g') as query
           from pg_stat_activity where datname = $1 and backend_type = 'client backend' and pid <> pg_backend_pid()`,
        [database],
      );
      samples++;
      for (const row of rows) {
        const key = row.state === 'active' ? `active ${row.wait ?? 'CPU'}` : row.state;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (row.state === 'active' || row.state === 'idle in transaction') {
          const q = `${row.state === 'active' ? '' : '[idle in tx] '}${row.wait ? `[${row.wait}] ` : ''}${row.query}`;
          queries.set(q, (queries.get(q) ?? 0) + 1);
        }
      }
      await sleep(everyMs);
    }
    await client.end();
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const top = (m: Map<string, number>, n: number) =>
        [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => ({ what: k, perSample: round(v / Math.max(samples, 1), 2) }));
      return { samples, states: top(counts, 8), busiest: top(queries, 8) };
    },
  };
}

export type WaitSummary = Awaited<ReturnType<ReturnType<typeof sampleWaits>['stop']>>;

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function defer<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Rejects when `promise` takes longer than ms: a lost task must fail the bench, not hang it. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/**
 * Keyed events (handler start, handler end, outcome committed) recorded with their time; waiters
 * may come before or after the event.
 */
export class Events {
  private readonly times = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, Deferred<number>>();

  record(key: string, at = performance.now()): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (!this.times.has(key)) this.times.set(key, at);
    const waiter = this.waiters.get(key);
    if (waiter) {
      this.waiters.delete(key);
      waiter.resolve(at);
    }
  }

  wait(key: string, timeoutMs = 30_000): Promise<number> {
    const at = this.times.get(key);
    if (at !== undefined) return Promise.resolve(at);
    let waiter = this.waiters.get(key);
    if (!waiter) {
      waiter = defer<number>();
      this.waiters.set(key, waiter);
    }
    return within(waiter.promise, timeoutMs, key);
  }

  /** Keys recorded more than once (a task that ran twice). */
  duplicates(prefix = ''): string[] {
    return [...this.counts.entries()].filter(([k, n]) => k.startsWith(prefix) && n > 1).map(([k]) => k);
  }

  count(prefix = ''): number {
    let n = 0;
    for (const k of this.times.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }
}
