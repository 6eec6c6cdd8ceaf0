/**
 * The local broker's configuration, as pure functions of the port and folders: one process in KRaft
 * combined mode (broker and controller), on loopback only, sized for a development machine.
 */

export interface BrokerConfigInput {
  /** The PLAINTEXT listener clients use; the controller listens on port + 1. */
  readonly port: number;
  /** Absolute folder of the partition logs and the KRaft metadata log. */
  readonly logDir: string;
}

export function renderServerProperties({ port, logDir }: BrokerConfigInput): string {
  const controllerPort = port + 1;
  const settings: [string, string | number | boolean][] = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    // Static voters rather than `format --standalone`: the voter set is not stored in the log, so
    // the same data folder still starts when the port changes.
    ['controller.quorum.voters', `1@127.0.0.1:${controllerPort}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${port}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['log.dirs', logDir],
    // One broker: every internal topic must accept replication factor 1 (defaults are 3).
    ['offsets.topic.replication.factor', 1],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['share.coordinator.state.topic.replication.factor', 1],
    ['share.coordinator.state.topic.min.isr', 1],
    // One broker gains nothing from 50 coordinator partitions (the default) but 80 more partition
    // folders, each with preallocated index files.
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.num.partitions', 10],
    ['num.partitions', 3],
    ['default.replication.factor', 1],
    ['min.insync.replicas', 1],
    ['auto.create.topics.enable', true],
    ['delete.topic.enable', true],
    // Tests start consumers and expect their first poll to see data; the 3 s default delays that.
    ['group.initial.rebalance.delay.ms', 0],
    // After a kill -9 the restarted broker cannot register until the controller expires the dead
    // one's session: with the defaults (9 s session, 2 s heartbeats) that restart took 12.2 s, with
    // these 5.4 s (a clean restart: 2.4 s). Fault tests kill and restart the broker; 6 missed
    // heartbeats still ride out GC pauses and a busy machine.
    ['broker.heartbeat.interval.ms', 500],
    ['broker.session.timeout.ms', 3_000],
    // A development box: two cores, a few GB. Small segments and a day of retention keep the
    // data folder to a few hundred MB however many test topics accumulate.
    ['num.network.threads', 2],
    ['num.io.threads', 4],
    ['num.recovery.threads.per.data.dir', 2],
    ['log.segment.bytes', 16 * 1024 * 1024],
    ['log.retention.hours', 24],
    ['log.retention.bytes', 64 * 1024 * 1024],
    ['log.retention.check.interval.ms', 60_000],
  ];
  return `# Written by dfm (src/kafka/render-broker-config.ts) on every start; edits are overwritten.\n${settings
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

/**
 * log4j2 configuration: INFO to stdout, which the broker's launcher sends to broker.log. Kafka logs
 * nothing without one (log4j2's default is ERROR only), which hides why a start failed.
 */
export function renderLog4j2Properties(): string {
  return [
    '# Written by dfm on every start.',
    'status = warn',
    'appender.stdout.type = Console',
    'appender.stdout.name = STDOUT',
    'appender.stdout.layout.type = PatternLayout',
    'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.stdout.ref = STDOUT',
    // Per-request and state-change chatter: thousands of lines per test run, never the answer.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    'logger.statechange.name = state.change.logger',
    'logger.statechange.level = WARN',
    'logger.authorizer.name = kafka.authorizer.logger',
    'logger.authorizer.level = WARN',
    // Every config object dumps all its values (~250 lines, 9 times per start = 90% of a start's
    // log); server.properties beside the log says the same.
    'logger.config.name = org.apache.kafka.common.config.AbstractConfig',
    'logger.config.level = WARN',
    '',
  ].join('\n');
}
