/**
 * The local Kafka broker needs `java` (17+, Kafka 4 brokers refuse older runtimes) to run and
 * `mvn` to fetch its jars the first time. When either is missing, the error says what to install
 * or how to point dfm at a broker that runs elsewhere.
 */
import { spawnSync } from 'node:child_process';
import { DfmError } from '../lib/errors.js';
import { pinnedKafkaVersion } from './resolve-kafka-jars.js';

const MIN_JAVA_MAJOR = 17;

/** Throws KAFKA_TOOLCHAIN_MISSING unless Java 17+ (and, when `needMaven`, Maven) are on PATH. */
export function checkKafkaToolchain(options: { needMaven: boolean }): void {
  const problems: string[] = [];
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error) {
    problems.push('`java` was not found on PATH');
  } else {
    const major = javaMajorVersion(`${java.stderr}${java.stdout}`);
    if (major !== undefined && major < MIN_JAVA_MAJOR) problems.push(`\`java\` is version ${major}; Kafka's broker needs ${MIN_JAVA_MAJOR} or newer`);
  }
  if (options.needMaven && spawnSync('mvn', ['-v'], { encoding: 'utf8' }).error) {
    problems.push('`mvn` was not found on PATH (it downloads the broker jars from Maven Central once)');
  }
  if (problems.length === 0) return;

  const version = pinnedKafkaVersion();
  throw new DfmError(
    'KAFKA_TOOLCHAIN_MISSING',
    `dfm cannot start its local Kafka broker: ${problems.join('; ')}. ` +
      'Install Java 17 and Maven (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless maven`), ' +
      'or set KAFKA_BROKERS to a broker that is already running, for example the apache/kafka Docker image: ' +
      `\`docker run -d -p 9092:9092 apache/kafka:${version}\` and KAFKA_BROKERS=localhost:9092.`,
    { details: { problems } },
  );
}

/** `openjdk version "17.0.15"` → 17; `java version "1.8.0_392"` → 8. */
export function javaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}
