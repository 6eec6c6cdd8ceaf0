/**
 * C1 and C2 drive both systems alternately, sample by sample (ABBA order), both workers started:
 * this machine is shared, and alternating gives both systems the same background load.
 */
import { loadavg } from 'node:os';
import { median, percentile, sleep, type BenchOptions } from './common.js';
import type { System } from './graphile.js';

export interface Spread {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyResult {
  readonly samples: number;
  readonly fromCommit: Spread;
  readonly fromEnqueue: Spread;
  readonly ranTwice: number;
}

export interface ChainResult {
  readonly concurrency: number;
  readonly totalsMs: number[];
  readonly medianTotalMs: number;
  readonly perStepMs: number;
  readonly ranTwice: number;
}

function spread(values: number[]): Spread {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}

async function withStarted<T>(systems: readonly System[], concurrency: number, fn: () => Promise<T>): Promise<T> {
  const started: System[] = [];
  try {
    for (const system of systems) {
      await system.start(concurrency);
      started.push(system);
    }
    return await fn();
  } finally {
    for (const system of started) await system.stop();
  }
}

export async function latencyInterleaved(systems: readonly System[], options: BenchOptions): Promise<{ results: LatencyResult[]; loadavg: [number, number] }> {
  const fromCommit = systems.map(() => [] as number[]);
  const fromEnqueue = systems.map(() => [] as number[]);
  const load0 = loadavg()[0]!;
  await withStarted(systems, 1, async () => {
    for (let i = -options.c1Warmup; i < options.c1Samples; i++) {
      const order = i % 2 === 0 ? systems.map((_, k) => k) : systems.map((_, k) => systems.length - 1 - k);
      for (const k of order) {
        const sample = await systems[k]!.latencySample(i);
        if (i >= 0) {
          fromCommit[k]!.push(sample.fromCommit);
          fromEnqueue[k]!.push(sample.fromEnqueue);
        }
      }
    }
  });
  return {
    results: systems.map((system, k) => ({ samples: fromCommit[k]!.length, fromCommit: spread(fromCommit[k]!), fromEnqueue: spread(fromEnqueue[k]!), ranTwice: system.ranTwice() })),
    loadavg: [load0, loadavg()[0]!],
  };
}

export async function chainInterleaved(systems: readonly System[], options: BenchOptions, concurrency: number): Promise<ChainResult[]> {
  const totals = systems.map(() => [] as number[]);
  await withStarted(systems, concurrency, async () => {
    for (let rep = -1; rep < options.c2Reps; rep++) {
      const order = rep % 2 === 0 ? systems.map((_, k) => k) : systems.map((_, k) => systems.length - 1 - k);
      for (const k of order) {
        const total = await systems[k]!.chain(concurrency * 1000 + rep + 1, options.c2Steps);
        if (rep >= 0) totals[k]!.push(total);
        await sleep(100);
      }
    }
  });
  return systems.map((system, k) => {
    const medianTotalMs = median(totals[k]!);
    return { concurrency, totalsMs: totals[k]!, medianTotalMs, perStepMs: medianTotalMs / options.c2Steps, ranTwice: system.ranTwice() };
  });
}
