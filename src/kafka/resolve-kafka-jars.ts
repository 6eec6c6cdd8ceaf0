/**
 * The broker's jars come from Maven Central through `mvn` and kafka/pom.xml, into a cache outside
 * the repository: `<cacheDir>/<kafka version>/lib` (cacheDir defaults to ~/.cache/dfm/kafka, shared
 * by every clone). Maven's own local repository stays the user's default (~/.m2), so the ~45 jars
 * (43 MB) are downloaded once per machine, not once per cache folder.
 *
 * A cache is complete when `lib/.complete.json` lists jars that all exist. Maven writes into a
 * private folder that is renamed to `lib` only after the list is written, so a resolve that is
 * interrupted, or two that run at once, never leave a half-filled `lib` that looks complete.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DfmError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/** kafka/pom.xml, both from src/kafka (tsx) and dist/kafka (build); the package ships the pom. */
export const KAFKA_POM_PATH = fileURLToPath(new URL('../../kafka/pom.xml', import.meta.url));

const COMPLETE_MARKER = '.complete.json';

/** The Kafka version kafka/pom.xml pins (`<kafka.version>`), the one place it is written. */
export function pinnedKafkaVersion(): string {
  const match = /<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/.exec(readFileSync(KAFKA_POM_PATH, 'utf8'));
  if (!match?.[1]) {
    throw new DfmError('KAFKA_POM_INVALID', `${KAFKA_POM_PATH} has no <kafka.version> property; restore the file from git.`);
  }
  return match[1];
}

export function defaultKafkaCacheDir(): string {
  return join(homedir(), '.cache', 'dfm', 'kafka');
}

export interface KafkaJars {
  readonly version: string;
  /** Folder holding every jar of the broker's classpath (`java -cp '<libDir>/*'`). */
  readonly libDir: string;
  /** False when the cache was already complete and Maven did not run. */
  readonly downloaded: boolean;
}

/** `<cacheDir>/<version>/lib`, where the jars of the pinned version are (or will be) cached. */
export function kafkaLibDir(cacheDir: string | undefined): string {
  return join(resolve(cacheDir ?? defaultKafkaCacheDir(), pinnedKafkaVersion()), 'lib');
}

/** True when `<cacheDir>/<version>/lib` holds every jar a previous resolve recorded. */
export async function isKafkaJarCacheComplete(libDir: string): Promise<boolean> {
  try {
    const jars = JSON.parse(await readFile(join(libDir, COMPLETE_MARKER), 'utf8')) as unknown;
    if (!Array.isArray(jars) || jars.length === 0) return false;
    await Promise.all(jars.map((jar) => access(join(libDir, String(jar)))));
    return true;
  } catch {
    return false;
  }
}

export async function resolveKafkaJars(options: {
  /** Root of the jar cache; the version is appended. Default ~/.cache/dfm/kafka. */
  cacheDir?: string | undefined;
  /** Maven's local repository. Default: Maven's own (~/.m2/repository, or settings.xml). */
  mavenRepoLocal?: string | undefined;
  logger: Logger;
}): Promise<KafkaJars> {
  const version = pinnedKafkaVersion();
  const libDir = kafkaLibDir(options.cacheDir);
  const versionDir = dirname(libDir);
  if (await isKafkaJarCacheComplete(libDir)) return { version, libDir, downloaded: false };

  await mkdir(versionDir, { recursive: true });
  const partialDir = join(versionDir, `lib.partial-${process.pid}-${Date.now()}`);
  const startedAt = Date.now();
  options.logger.info({ version, libDir }, 'downloading the Kafka broker jars from Maven Central (once per version)');
  try {
    await runMaven([
      '-q', '-B', '-Dstyle.color=never',
      '-f', KAFKA_POM_PATH,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${partialDir}`,
      ...(options.mavenRepoLocal ? [`-Dmaven.repo.local=${resolve(options.mavenRepoLocal)}`] : []),
    ]);
    const jars = (await readdir(partialDir)).filter((name) => name.endsWith('.jar')).sort();
    if (!jars.some((jar) => jar.startsWith('kafka_2.13-'))) {
      throw new DfmError('KAFKA_JARS_UNAVAILABLE', `Maven finished but ${partialDir} holds no kafka_2.13 jar; check ${KAFKA_POM_PATH}.`);
    }
    await writeFile(join(partialDir, COMPLETE_MARKER), `${JSON.stringify(jars, null, 2)}\n`);
    // Another process may have completed the cache meanwhile: keep theirs. An incomplete `lib`
    // (from an older dfm or a hand-made folder) is replaced.
    if (await isKafkaJarCacheComplete(libDir)) return { version, libDir, downloaded: false };
    await rm(libDir, { recursive: true, force: true });
    await rename(partialDir, libDir);
    options.logger.info({ version, libDir, jars: jars.length, ms: Date.now() - startedAt }, 'Kafka broker jars cached');
    return { version, libDir, downloaded: true };
  } finally {
    await rm(partialDir, { recursive: true, force: true });
  }
}

function runMaven(args: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      // Keep the end: that is where Maven says what failed.
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => reject(new DfmError(
      'KAFKA_TOOLCHAIN_MISSING',
      `Could not run \`mvn\` (${error.message}). Install Maven (\`apt-get install maven\`) or set KAFKA_BROKERS to a running broker.`,
      { cause: error },
    )));
    child.on('close', (code) => {
      if (code === 0) return resolvePromise();
      reject(new DfmError(
        'KAFKA_JARS_UNAVAILABLE',
        `\`mvn ${args.join(' ')}\` exited with ${code}; dfm could not download the Kafka broker jars. ` +
          'Check that Maven Central (https://repo.maven.apache.org) is reachable, or set KAFKA_BROKERS to a running broker. ' +
          `Maven said:\n${lastLines(output, 30)}`,
        { retryable: true, details: { exitCode: code } },
      ));
    });
  });
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
