/**
 * The dependency checks behind /healthz, /readyz and `dfm_dependency_up`, run on a timer as well as
 * on every probe: Prometheus scrapes every 15 s whether or not anything calls /healthz, so a gauge
 * set only by probes would keep reporting the last probe's answer (perhaps hours old) as current.
 */
import type { Metrics } from '../metrics/create-metrics.js';

export interface HealthCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

export type CheckResults = Readonly<Record<string, 'up' | 'down'>>;

export interface DependencyWatch {
  /** Runs every check now (a probe calls this), updating the gauges. */
  checkNow(): Promise<CheckResults>;
  /** Clears the timer and waits for a round under way (it may be using the pool). */
  stop(): Promise<void>;
}

/** Runs the checks at once; with `metrics`, each answer also sets `dfm_dependency_up`. */
export async function runChecks(checks: readonly HealthCheck[], metrics?: Metrics): Promise<CheckResults> {
  const results = await Promise.all(
    checks.map(async (h) => {
      const up = await h.check().catch(() => false);
      metrics?.dependencyUp.set({ dependency: h.name }, up ? 1 : 0);
      return [h.name, up ? 'up' : 'down'] as const;
    }),
  );
  return Object.fromEntries(results);
}

export function watchDependencies(options: { checks: readonly HealthCheck[]; metrics: Metrics; intervalMs: number }): DependencyWatch {
  const checkNow = () => runChecks(options.checks, options.metrics);
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    // One round at a time: a check hanging up to its timeout must not pile rounds up.
    running ??= checkNow().finally(() => (running = undefined));
  }, options.intervalMs);
  timer.unref();
  running = checkNow().finally(() => (running = undefined));
  return {
    checkNow,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
