/**
 * A second local Kafka broker of a test file's own (a temporary data folder), for tests that
 * stop the broker or write into its log: doing that to the shared broker would fail the
 * neighbouring file. Its port is DFM_KAFKA_PORT + `portOffset` (the controller takes the next
 * one), so each file that uses one passes an offset of its own and two test runs with different
 * DFM_KAFKA_PORTs never meet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startLocalKafka, stopLocalKafka, type LocalKafka } from '../../src/kafka/local-broker.js';
import { testLogger } from './orchestration.js';

export interface OwnBroker {
  readonly port: number;
  readonly dataDir: string;
  /** The running broker (after beforeAll). */
  brokers(): readonly string[];
  /** Starts it again on the same port and data folder (after a stop). */
  start(): Promise<LocalKafka>;
  /** Stops it; true when a broker was running. */
  stop(options?: { graceMs?: number }): Promise<boolean>;
}

/** Starts the broker before the file's tests, stops it and removes its folder after them (after the file's own afterAll hooks). */
export function useOwnBroker(name: string, portOffset: number): OwnBroker {
  const config = loadConfig(process.env);
  const port = config.kafkaPort + portOffset;
  const dataDir = mkdtempSync(join(tmpdir(), `dfm-${name}-`));
  let broker: LocalKafka | undefined;
  const own: OwnBroker = {
    port,
    dataDir,
    brokers: () => {
      if (!broker) throw new Error('the broker is not started (use it in a test, after beforeAll)');
      return broker.brokers;
    },
    start: async () => (broker = await startLocalKafka({ port, dataDir, logger: testLogger, cacheDir: config.kafkaCacheDir })),
    stop: (options) => stopLocalKafka(dataDir, options),
  };
  beforeAll(async () => {
    await own.start();
  });
  afterAll(async () => {
    await stopLocalKafka(dataDir, { graceMs: 5000 });
    rmSync(dataDir, { recursive: true, force: true });
  });
  return own;
}
