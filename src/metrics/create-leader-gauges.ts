/**
 * Gauges of global state (the ready queue, Kafka consumer lag, the outbox) are computed when
 * Prometheus scrapes, by one bounded read, and only in the process that holds the scheduler
 * leadership. Every other replica reports nothing for the labelled ones and 0 for the two
 * unlabelled ones, so `sum` (or `max`) over N replicas is the leader's value, not N times it; and
 * nothing is polled between scrapes. Prometheus reads every metric of one scrape at once: the
 * gauges share the scrape's one read.
 */
import { Gauge, type Registry } from 'prom-client';

export interface LeaderReadings {
  /** Task runs ready to claim now, and how long the oldest of them has waited. */
  readonly ready: { readonly count: number; readonly oldestSeconds: number };
  /** Per kafka.to_postgres task and topic: end offset − stored offset, summed over partitions. */
  readonly kafkaLag: readonly { readonly pipeline: string; readonly task: string; readonly topic: string; readonly lag: number }[];
  /** Pending outbox reports by target kind (github, slack, …). */
  readonly outbox: readonly { readonly kind: string; readonly pending: number; readonly oldestSeconds: number }[];
}

/** Undefined when this process is not the leader (or has no scheduler). */
export type LeaderReadingSource = () => Promise<LeaderReadings | undefined>;

export function createLeaderGauges(registry: Registry) {
  let source: LeaderReadingSource | undefined;
  let reading: Promise<LeaderReadings | undefined> | undefined;
  const read = (): Promise<LeaderReadings | undefined> => {
    // A failed read reports nothing this scrape (the source logs why); the next scrape tries again.
    reading ??= (source?.() ?? Promise.resolve(undefined)).catch(() => undefined).finally(() => (reading = undefined));
    return reading;
  };
  const registers = [registry];
  return {
    /** The scheduler role sets it while it runs; `undefined` on stop. */
    readFrom(next: LeaderReadingSource | undefined): void {
      source = next;
    },
    readyTaskRuns: new Gauge({
      name: 'dfm_task_runs_ready',
      help: 'Task runs ready to be claimed now (reported by the scheduler leader; 0 elsewhere)',
      registers,
      async collect() {
        this.set((await read())?.ready.count ?? 0);
      },
    }),
    oldestReady: new Gauge({
      name: 'dfm_task_runs_ready_oldest_seconds',
      help: 'How long the oldest ready task run has waited to be claimed (scheduler leader; 0 elsewhere)',
      registers,
      async collect() {
        this.set((await read())?.ready.oldestSeconds ?? 0);
      },
    }),
    kafkaLag: new Gauge({
      name: 'dfm_kafka_consumer_lag',
      help: 'Records a kafka.to_postgres task has not consumed yet: end offset minus the offset stored in dfm.kafka_offset, summed over partitions (scheduler leader only)',
      labelNames: ['pipeline', 'task', 'topic'] as const,
      registers,
      async collect() {
        const readings = await read();
        this.reset();
        for (const l of readings?.kafkaLag ?? []) this.set({ pipeline: l.pipeline, task: l.task, topic: l.topic }, l.lag);
      },
    }),
    outboxPending: new Gauge({
      name: 'dfm_outbox_pending',
      help: 'Outbox reports not delivered yet, by target kind (scheduler leader only)',
      labelNames: ['kind'] as const,
      registers,
      async collect() {
        const readings = await read();
        this.reset();
        for (const o of readings?.outbox ?? []) this.set({ kind: o.kind }, o.pending);
      },
    }),
    outboxOldest: new Gauge({
      name: 'dfm_outbox_oldest_pending_seconds',
      help: 'Age of the oldest undelivered outbox report, by target kind (scheduler leader only)',
      labelNames: ['kind'] as const,
      registers,
      async collect() {
        const readings = await read();
        this.reset();
        for (const o of readings?.outbox ?? []) this.set({ kind: o.kind }, o.oldestSeconds);
      },
    }),
  };
}
