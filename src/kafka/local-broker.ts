/**
 * dfm's own Kafka broker for development and tests, used when KAFKA_BROKERS is unset: the real
 * Apache Kafka broker (jars from Maven Central, see resolve-kafka-jars.ts), one process in KRaft
 * combined mode, on 127.0.0.1 only.
 *
 * Everything lives in `<dataDir>/kafka`: `data/` (partition and metadata logs, formatted once and
 * kept across restarts), `server.properties` and `log4j2.properties` (rewritten on every start),
 * `broker.log` (the broker's output; the previous start's is `broker.log.1`) and `broker.pid`.
 *
 * The broker runs detached (its own process group) so it outlives the command or test run that
 * started it; the next `ensureLocalKafka` finds it answering and reuses it. `stopLocalKafka`,
 * `killLocalKafka` and `startLocalKafka` are the pieces fault tests use to stop and restart it on
 * the same port and data folder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { checkKafkaToolchain } from './check-kafka-toolchain.js';
import { isPortListening, probeBroker } from './probe-broker.js';
import { renderLog4j2Properties, renderServerProperties } from './render-broker-config.js';
import { isKafkaJarCacheComplete, kafkaLibDir, resolveKafkaJars } from './resolve-kafka-jars.js';

const HOST = '127.0.0.1';
const DEFAULT_TIMEOUT_MS = 120_000;
/** How long a broker may shut down cleanly after SIGTERM before it is killed. */
const STOP_GRACE_MS = 20_000;
const POLL_MS = 250;
/**
 * A development machine shares its memory with PostgreSQL, dfm and the tests; Kafka's own default
 * is 1 GB. G1 with short pauses is what kafka-server-start.sh uses.
 */
const JVM_OPTIONS = ['-Xmx512m', '-Xms256m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

export interface LocalKafkaOptions {
  /** Client port (PLAINTEXT listener); the controller uses port + 1. */
  readonly port: number;
  /** dfm's data folder; the broker's files go in `<dataDir>/kafka`. */
  readonly dataDir: string;
  /** Root of the jar cache. Default ~/.cache/dfm/kafka (a folder per Kafka version inside). */
  readonly cacheDir?: string | undefined;
  /** Maven's local repository. Default: Maven's own (~/.m2). */
  readonly mavenRepoLocal?: string | undefined;
  readonly logger?: Logger | undefined;
  /** How long to wait for a started broker to answer, in ms (jar download not included). Default 120000. */
  readonly timeoutMs?: number | undefined;
}

export interface LocalKafka {
  /** Bootstrap brokers for clients, e.g. ['127.0.0.1:9092']. */
  readonly brokers: string[];
  /** False when a broker already answered on the port and was reused. */
  readonly started: boolean;
  /** The broker's process id, when it was started from this data folder. */
  readonly pid: number | undefined;
  /** Stops the broker if this call started it (SIGTERM, SIGKILL after 20 s); otherwise does nothing. */
  stop(): Promise<void>;
}

export interface LocalKafkaPaths {
  readonly kafkaDir: string;
  readonly logDir: string;
  readonly serverProperties: string;
  readonly log4j2Properties: string;
  readonly brokerLog: string;
  readonly pidFile: string;
}

export function localKafkaPaths(dataDir: string): LocalKafkaPaths {
  const kafkaDir = resolve(dataDir, 'kafka');
  return {
    kafkaDir,
    logDir: join(kafkaDir, 'data'),
    serverProperties: join(kafkaDir, 'server.properties'),
    log4j2Properties: join(kafkaDir, 'log4j2.properties'),
    brokerLog: join(kafkaDir, 'broker.log'),
    pidFile: join(kafkaDir, 'broker.pid'),
  };
}

/** Reuses the broker answering on 127.0.0.1:port, or starts the local one and waits until it answers. */
export async function ensureLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const logger = options.logger ?? silentLogger();
  const brokers = [`${HOST}:${options.port}`];
  const paths = localKafkaPaths(options.dataDir);

  const probe = await probeBroker(brokers, { logger });
  if (probe.ok) {
    logger.info({ brokers, clusterId: probe.clusterId }, 'reusing the Kafka broker already answering');
    return { brokers, started: false, pid: await readBrokerPid(paths), stop: async () => {} };
  }

  // Two processes may get here at once (a test run and `dfm kafka start`, two clones' test runs):
  // one starts the broker, the other waits for the lock and then finds it answering.
  return withStartLock(paths, logger, async () => {
    const again = await probeBroker(brokers, { logger });
    if (again.ok) return { brokers, started: false, pid: await readBrokerPid(paths), stop: async () => {} };

    const runningPid = await readBrokerPid(paths);
    if (runningPid !== undefined) {
      const configuredPort = await readConfiguredPort(paths);
      if (configuredPort !== undefined && configuredPort !== options.port) {
        throw new DfmError(
          'KAFKA_DATA_DIR_IN_USE',
          `A Kafka broker from ${paths.kafkaDir} (pid ${runningPid}) is running on port ${configuredPort}, not ${options.port}. ` +
            'Stop it with `dfm kafka stop`, or use its port (DFM_KAFKA_PORT).',
        );
      }
      logger.info({ brokerPid: runningPid, brokers }, 'waiting for the local Kafka broker to answer');
      await waitForBroker({ brokers, pid: runningPid, paths, logger, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, exited: () => undefined });
      return { brokers, started: false, pid: runningPid, stop: async () => {} };
    }

    if (await isPortListening(HOST, options.port)) {
      throw new DfmError(
        'KAFKA_PORT_IN_USE',
        `Port ${options.port} on ${HOST} is taken by something that does not answer as a Kafka broker (${again.reason}). ` +
          'Free the port, choose another with DFM_KAFKA_PORT, or set KAFKA_BROKERS to your broker.',
      );
    }
    return startLocalKafka(options);
  });
}

/**
 * Starts the local broker (it must not be running): resolves the jars, formats the storage on
 * first use, writes the configuration, launches the broker detached and waits until it answers.
 */
export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const logger = options.logger ?? silentLogger();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const brokers = [`${HOST}:${options.port}`];
  const paths = localKafkaPaths(options.dataDir);

  const runningPid = await readBrokerPid(paths);
  if (runningPid !== undefined) {
    throw new DfmError('KAFKA_ALREADY_RUNNING', `The Kafka broker of ${paths.kafkaDir} is already running (pid ${runningPid}); stop it first with \`dfm kafka stop\`.`);
  }
  const controllerPort = options.port + 1;
  if (await isPortListening(HOST, controllerPort)) {
    throw new DfmError(
      'KAFKA_PORT_IN_USE',
      `Port ${controllerPort} on ${HOST} is taken; the local Kafka broker's controller listens on DFM_KAFKA_PORT + 1. Free it or choose another DFM_KAFKA_PORT.`,
    );
  }

  checkKafkaToolchain({ needMaven: !(await isKafkaJarCacheComplete(kafkaLibDir(options.cacheDir))) });
  const jars = await resolveKafkaJars({ cacheDir: options.cacheDir, mavenRepoLocal: options.mavenRepoLocal, logger });
  const classpath = `${jars.libDir}/*`;

  await mkdir(paths.logDir, { recursive: true });
  await writeFile(paths.serverProperties, renderServerProperties({ port: options.port, logDir: paths.logDir }));
  await writeFile(paths.log4j2Properties, renderLog4j2Properties());
  const log4jOption = `-Dlog4j2.configurationFile=${paths.log4j2Properties}`;

  if (!existsSync(join(paths.logDir, 'meta.properties'))) {
    const clusterId = newClusterId();
    logger.info({ logDir: paths.logDir, clusterId }, 'formatting the local Kafka storage (first start)');
    await runToCompletion('java', [
      log4jOption, '-cp', classpath, 'kafka.tools.StorageTool', 'format',
      '--config', paths.serverProperties, '--cluster-id', clusterId, '--ignore-formatted',
    ], 'KAFKA_FORMAT_FAILED', `formatting ${paths.logDir}`);
  }

  if (existsSync(paths.brokerLog)) await rename(paths.brokerLog, `${paths.brokerLog}.1`);
  const logFd = openSync(paths.brokerLog, 'a');
  const startedAt = Date.now();
  let exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  const child = spawn('java', [...JVM_OPTIONS, log4jOption, `-Dkafka.logs.dir=${paths.kafkaDir}`, '-cp', classpath, 'kafka.Kafka', paths.serverProperties], {
    cwd: paths.kafkaDir,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.once('exit', (code, signal) => { exit = { code, signal }; });
  child.once('error', (error) => { exit = { code: null, signal: null, error }; });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await sleep(0);
    throw new DfmError('KAFKA_START_FAILED', `Could not launch \`java\`: ${exit?.error?.message ?? 'no process id'}.`, { cause: exit?.error });
  }
  await writeFile(paths.pidFile, `${pid}\n`);
  logger.info({ brokerPid: pid, brokers, log: paths.brokerLog }, 'started the local Kafka broker; waiting until it answers');

  try {
    await waitForBroker({ brokers, pid, paths, logger, timeoutMs, exited: () => exit });
  } catch (error) {
    await stopBrokerProcess(pid, 0);
    await removePidFile(paths, pid);
    throw error;
  }
  logger.info({ brokerPid: pid, brokers, ms: Date.now() - startedAt }, 'local Kafka broker answers');

  let stopped: Promise<void> | undefined;
  return {
    brokers,
    started: true,
    pid,
    stop: () => {
      stopped ??= (async () => {
        await stopBrokerProcess(pid, STOP_GRACE_MS);
        await removePidFile(paths, pid);
        logger.info({ brokerPid: pid }, 'local Kafka broker stopped');
      })();
      return stopped;
    },
  };
}

/** Stops the broker of this data folder by its pid file (SIGTERM, SIGKILL after 20 s). False when none ran. */
export async function stopLocalKafka(dataDir: string, options: { graceMs?: number } = {}): Promise<boolean> {
  const paths = localKafkaPaths(dataDir);
  const pid = await readBrokerPid(paths);
  if (pid === undefined) {
    await rm(paths.pidFile, { force: true });
    return false;
  }
  await stopBrokerProcess(pid, options.graceMs ?? STOP_GRACE_MS);
  await removePidFile(paths, pid);
  return true;
}

/** Kills the broker of this data folder at once (SIGKILL, no clean shutdown), for crash tests. */
export async function killLocalKafka(dataDir: string): Promise<boolean> {
  return stopLocalKafka(dataDir, { graceMs: 0 });
}

export interface LocalKafkaStatus {
  readonly brokers: string[];
  /** A broker answers on the port (started from this data folder or not). */
  readonly answering: boolean;
  readonly clusterId: string | undefined;
  /** The broker process of this data folder, when it runs. */
  readonly pid: number | undefined;
  readonly kafkaDir: string;
  readonly brokerLog: string;
  /** Why the broker does not answer, when it does not. */
  readonly reason: string | undefined;
}

export async function localKafkaStatus(options: { port: number; dataDir: string; logger?: Logger }): Promise<LocalKafkaStatus> {
  const paths = localKafkaPaths(options.dataDir);
  const brokers = [`${HOST}:${options.port}`];
  const [probe, pid] = await Promise.all([
    probeBroker(brokers, options.logger ? { logger: options.logger } : {}),
    readBrokerPid(paths),
  ]);
  return {
    brokers,
    answering: probe.ok,
    clusterId: probe.ok ? probe.clusterId : undefined,
    pid,
    kafkaDir: paths.kafkaDir,
    brokerLog: paths.brokerLog,
    reason: probe.ok ? undefined : probe.reason,
  };
}

async function waitForBroker(args: {
  brokers: string[];
  pid: number;
  paths: LocalKafkaPaths;
  logger: Logger;
  timeoutMs: number;
  exited: () => { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
}): Promise<void> {
  const deadline = Date.now() + args.timeoutMs;
  let lastReason = 'not probed yet';
  for (;;) {
    const exit = args.exited();
    if (exit !== undefined || !isProcessAlive(args.pid)) {
      const how = exit === undefined ? '' : exit.error ? ` (${exit.error.message})` : ` with ${exit.signal ?? `code ${exit.code}`}`;
      throw new DfmError(
        'KAFKA_START_FAILED',
        `The local Kafka broker (pid ${args.pid}) exited${how} before it answered. The end of ${args.paths.brokerLog}:\n${await tailOf(args.paths.brokerLog)}`,
      );
    }
    const probe = await probeBroker(args.brokers, { logger: args.logger });
    if (probe.ok) return;
    lastReason = probe.reason;
    if (Date.now() >= deadline) break;
    await sleep(POLL_MS);
  }
  throw new DfmError(
    'KAFKA_START_TIMEOUT',
    `The local Kafka broker (pid ${args.pid}) did not answer on ${args.brokers.join(',')} within ${args.timeoutMs} ms (last probe: ${lastReason}). ` +
      `The end of ${args.paths.brokerLog}:\n${await tailOf(args.paths.brokerLog)}`,
    { retryable: true },
  );
}

/**
 * Runs `start` holding `<kafkaDir>/start.lock` (created exclusively, holding our pid). A lock
 * whose holder has died is stale and removed; a live holder is waited for, however long its jar
 * download takes, since it has its own timeouts.
 */
async function withStartLock<T>(paths: LocalKafkaPaths, logger: Logger, start: () => Promise<T>): Promise<T> {
  const lockFile = join(paths.kafkaDir, 'start.lock');
  await mkdir(paths.kafkaDir, { recursive: true });
  let announced = false;
  for (;;) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(holder) || holder <= 0 || !isProcessAlive(holder)) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (!announced) logger.info({ holderPid: holder, lockFile }, 'another process is starting the local Kafka broker; waiting for it');
    announced = true;
    await sleep(POLL_MS);
  }
  try {
    return await start();
  } finally {
    await rm(lockFile, { force: true });
  }
}

/** SIGTERM to the broker's process group, SIGKILL once graceMs have passed; resolves when it is gone. */
async function stopBrokerProcess(pid: number, graceMs: number): Promise<void> {
  signalGroup(pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const killAt = Date.now() + graceMs;
  let killed = graceMs <= 0;
  while (isProcessAlive(pid)) {
    if (!killed && Date.now() >= killAt) {
      signalGroup(pid, 'SIGKILL');
      killed = true;
    }
    await sleep(100);
  }
}

/** The broker was started detached, so its pid is also its process group id. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** The pid in broker.pid, when that process is alive and is a Kafka broker (pids get reused). */
async function readBrokerPid(paths: LocalKafkaPaths): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(paths.pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  try {
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return commandLine.includes('kafka.Kafka') ? pid : undefined;
  } catch {
    return pid; // No /proc (macOS): trust the pid file.
  }
}

async function removePidFile(paths: LocalKafkaPaths, pid: number): Promise<void> {
  const text = await readFile(paths.pidFile, 'utf8').catch(() => '');
  if (text.trim() === String(pid)) await rm(paths.pidFile, { force: true });
}

/** Alive and not a zombie (a killed child whose parent has not reaped it yet still answers kill 0). */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // /proc/<pid>/stat: "<pid> (<comm>) <state> …"; the command may contain spaces and parentheses.
  const stat = readFileSyncSafe(`/proc/${pid}/stat`);
  if (stat === undefined) return true; // No /proc (macOS): kill 0 is all we have.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

async function readConfiguredPort(paths: LocalKafkaPaths): Promise<number | undefined> {
  const text = await readFile(paths.serverProperties, 'utf8').catch(() => '');
  const match = /^advertised\.listeners=PLAINTEXT:\/\/[^:]+:(\d+)/m.exec(text);
  return match?.[1] ? Number(match[1]) : undefined;
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid), not starting with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function runToCompletion(command: string, args: readonly string[], code: string, what: string): Promise<void> {
  const output = await new Promise<{ status: number | null; text: string; error?: Error }>((resolvePromise) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const collect = (chunk: Buffer): void => { text = (text + chunk.toString('utf8')).slice(-20_000); };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => resolvePromise({ status: null, text, error }));
    child.once('close', (status) => resolvePromise({ status, text }));
  });
  if (output.status === 0) return;
  throw new DfmError(code, `${what} failed (${output.error ? messageOf(output.error) : `exit code ${output.status}`}):\n${lastLines(output.text, 30)}`, {
    cause: output.error,
  });
}

async function tailOf(file: string, bytes = 6_000): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return lastLines(buffer.toString('utf8'), 40) || '(empty)';
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `(could not read it: ${messageOf(error)})`;
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
