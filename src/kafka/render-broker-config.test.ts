import { describe, expect, it } from 'vitest';
import { javaMajorVersion } from './check-kafka-toolchain.js';
import { renderServerProperties } from './render-broker-config.js';

function parse(properties: string): Map<string, string> {
  return new Map(properties.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)];
  }));
}

describe('renderServerProperties', () => {
  const settings = parse(renderServerProperties({ port: 19092, logDir: '/data/kafka/data' }));

  it('runs one KRaft node as broker and controller, the controller on port + 1, loopback only', () => {
    expect(settings.get('process.roles')).toBe('broker,controller');
    expect(settings.get('node.id')).toBe('1');
    expect(settings.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093');
    expect(settings.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(settings.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:19092');
    expect(settings.get('log.dirs')).toBe('/data/kafka/data');
  });

  it('lets every internal topic live on a single broker', () => {
    for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr', 'share.coordinator.state.topic.replication.factor']) {
      expect(settings.get(key), key).toBe('1');
    }
    expect(settings.get('num.partitions')).toBe('3');
    expect(settings.get('auto.create.topics.enable')).toBe('true');
    expect(settings.get('group.initial.rebalance.delay.ms')).toBe('0');
  });

  it('keeps the session longer than several heartbeats', () => {
    expect(Number(settings.get('broker.session.timeout.ms'))).toBeGreaterThanOrEqual(4 * Number(settings.get('broker.heartbeat.interval.ms')));
  });
});

describe('javaMajorVersion', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
    ['no version here', undefined],
  ])('%s → %s', (output, major) => {
    expect(javaMajorVersion(output)).toBe(major);
  });
});
