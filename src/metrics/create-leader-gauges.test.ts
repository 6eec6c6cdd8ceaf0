/**
 * The leader's scrape-time gauges: one read per scrape shared by all of them, values only where
 * the source answers (the leader), and nothing labelled elsewhere, so N replicas do not multiply
 * the lag or the outbox.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from './create-metrics.js';
import type { LeaderReadings } from './create-leader-gauges.js';

const readings: LeaderReadings = {
  ready: { count: 4, oldestSeconds: 12.5 },
  kafkaLag: [{ pipeline: 'orders', task: 'land', topic: 'orders', lag: 7 }],
  outbox: [{ kind: 'github', pending: 3, oldestSeconds: 40 }],
};

describe('the leader gauges', () => {
  it('report the leader read, reading once per scrape', async () => {
    const metrics = createMetrics();
    let reads = 0;
    metrics.leader.readFrom(async () => {
      reads++;
      return readings;
    });
    const scrape = await metrics.registry.metrics();
    expect(reads).toBe(1);
    expect(scrape).toMatch(/^dfm_task_runs_ready 4$/m);
    expect(scrape).toMatch(/^dfm_task_runs_ready_oldest_seconds 12\.5$/m);
    expect(scrape).toMatch(/^dfm_kafka_consumer_lag\{pipeline="orders",task="land",topic="orders"\} 7$/m);
    expect(scrape).toMatch(/^dfm_outbox_pending\{kind="github"\} 3$/m);
    expect(scrape).toMatch(/^dfm_outbox_oldest_pending_seconds\{kind="github"\} 40$/m);
    await metrics.registry.metrics();
    expect(reads).toBe(2);
  });

  it('report nothing labelled (and 0 unlabelled) on a replica that is not the leader, or after a failed read', async () => {
    for (const source of [async () => undefined, async () => Promise.reject(new Error('PostgreSQL is down'))]) {
      const metrics = createMetrics();
      metrics.leader.readFrom(source);
      const scrape = await metrics.registry.metrics();
      expect(scrape).toMatch(/^dfm_task_runs_ready 0$/m);
      expect(scrape).not.toMatch(/^dfm_kafka_consumer_lag\{/m);
      expect(scrape).not.toMatch(/^dfm_outbox_pending\{/m);
    }
  });

  it('forget what a former leader reported', async () => {
    const metrics = createMetrics();
    metrics.leader.readFrom(async () => readings);
    expect(await metrics.registry.metrics()).toMatch(/^dfm_kafka_consumer_lag\{/m);
    metrics.leader.readFrom(async () => undefined);
    expect(await metrics.registry.metrics()).not.toMatch(/^dfm_kafka_consumer_lag\{/m);
  });
});
