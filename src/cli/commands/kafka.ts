/**
 * `dfm kafka start|stop|status`: the local development broker (src/kafka/local-broker.ts). `start`
 * leaves the broker running detached, so tests and `dfm serve` reuse it instead of starting their own.
 */
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { ensureLocalKafka, localKafkaPaths, localKafkaStatus, stopLocalKafka } from '../../kafka/local-broker.js';
import { probeBroker } from '../../kafka/probe-broker.js';
import { createLogger } from '../../lib/logger.js';
import type { CliContext } from '../cli-context.js';

export function registerKafkaCommand(program: Command, context: CliContext): void {
  const kafka = program
    .command('kafka')
    .description('The local Kafka broker dfm starts when KAFKA_BROKERS is unset (single-node KRaft on 127.0.0.1:DFM_KAFKA_PORT)');

  kafka
    .command('start')
    .description('Start the local broker (downloading its jars from Maven Central the first time) and leave it running')
    .option('--timeout <seconds>', 'how long to wait for the broker to answer', '120')
    .action(async (options: { timeout: string }) => {
      const config = context.config();
      if (config.kafkaBrokers) {
        context.stdout.write(`KAFKA_BROKERS is set (${config.kafkaBrokers.join(',')}): dfm uses that broker and starts none of its own.\n`);
        return;
      }
      const timeoutSeconds = Number(options.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
        context.stderr.write(`dfm kafka start: --timeout must be a number of seconds greater than 0, got "${options.timeout}"\n`);
        context.setExitCode(2);
        return;
      }
      const dataDir = resolve(context.cwd, config.dataDir);
      const broker = await ensureLocalKafka({
        port: config.kafkaPort,
        dataDir,
        cacheDir: config.kafkaCacheDir,
        logger: createLogger(config.logLevel, context.stderr, config.logFormat),
        timeoutMs: timeoutSeconds * 1000,
      });
      const how = broker.started ? 'started' : 'already running';
      const pid = broker.pid === undefined ? '' : `, pid ${broker.pid}`;
      context.stdout.write(
        `Kafka broker ${broker.brokers.join(',')} (${how}${pid}). Log: ${display(context, localKafkaPaths(dataDir).brokerLog)}. Stop it with \`dfm kafka stop\`.\n`,
      );
    });

  kafka
    .command('stop')
    .description('Stop the local broker of DFM_DATA_DIR (SIGTERM, SIGKILL after 20 s); its data is kept')
    .action(async () => {
      const config = context.config();
      const dataDir = resolve(context.cwd, config.dataDir);
      const stopped = await stopLocalKafka(dataDir);
      context.stdout.write(stopped
        ? `Stopped the local Kafka broker of ${display(context, dataDir)}.\n`
        : `No local Kafka broker of ${display(context, dataDir)} is running.\n`);
    });

  kafka
    .command('status')
    .description('Whether the Kafka broker dfm would use answers (exit code 1 when it does not)')
    .action(async () => {
      const config = context.config();
      if (config.kafkaBrokers) {
        const probe = await probeBroker(config.kafkaBrokers, { timeoutMs: 5_000 });
        const brokers = config.kafkaBrokers.join(',');
        context.stdout.write(probe.ok
          ? `Kafka ${brokers} (KAFKA_BROKERS) answers: cluster ${probe.clusterId}, ${probe.brokerCount} broker(s), ${probe.topicCount} topic(s).\n`
          : `Kafka ${brokers} (KAFKA_BROKERS) does not answer: ${probe.reason}\n`);
        if (!probe.ok) context.setExitCode(1);
        return;
      }
      const status = await localKafkaStatus({ port: config.kafkaPort, dataDir: resolve(context.cwd, config.dataDir) });
      const owner = status.pid === undefined ? 'no broker process of this data folder' : `pid ${status.pid}`;
      context.stdout.write(status.answering
        ? `Kafka ${status.brokers.join(',')} answers: cluster ${status.clusterId} (${owner}). Log: ${display(context, status.brokerLog)}.\n`
        : `Kafka ${status.brokers.join(',')} does not answer (${owner}): ${status.reason}. Start it with \`dfm kafka start\`.\n`);
      if (!status.answering) context.setExitCode(1);
    });
}

/** Paths inside the working directory are shown relative to it, like the user typed them. */
function display(context: CliContext, path: string): string {
  const inside = relative(context.cwd, path);
  return inside && !inside.startsWith('..') ? inside : path;
}
