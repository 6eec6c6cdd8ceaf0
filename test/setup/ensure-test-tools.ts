/**
 * Before any test runs: every tool of TEST_TOOLS is on PATH, installed here when we are root with
 * apt-get (as CI is), or the run stops at once with the install command. Without it a machine
 * lacking kcat and promtool ran 7 minutes and failed 14 tests on timeouts (issue 12).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { userInfo } from 'node:os';
import { isKafkaJarCacheComplete, kafkaLibDir } from '../../src/kafka/resolve-kafka-jars.js';
import { findMissingTools, planTestTools, missingToolsMessage, TEST_TOOLS, type TestTool } from './plan-test-tools.js';

export class MissingTestToolsError extends Error {
  override readonly name = 'MissingTestToolsError';
}

export interface EnsureTestToolsOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** False: never install, only report (`--no-install`). */
  readonly mayInstall?: boolean;
  readonly tools?: readonly TestTool[];
  /** Where apt-get's progress goes (the terminal of `npm test`). */
  readonly log?: (line: string) => void;
}

/** Resolves when every needed tool is on PATH; throws MissingTestToolsError with the fix otherwise. */
export async function ensureTestTools(options: EnsureTestToolsOptions): Promise<void> {
  const { env } = options;
  const tools = options.tools ?? TEST_TOOLS;
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const onPath = (command: string) => isOnPath(command, env['PATH'] ?? '');
  const facts = { kafkaJarsCached: await kafkaJarsCached(env) };

  const missing = findMissingTools(tools, facts, onPath);
  const who = { isRoot: userInfo().uid === 0, hasAptGet: onPath('apt-get'), mayInstall: options.mayInstall ?? true };
  const plan = planTestTools(missing, who);
  if (plan.action === 'ready') return;
  if (plan.action === 'stop') throw new MissingTestToolsError(plan.message);

  log(`test setup: installing ${plan.packages.join(' ')} (missing: ${missing.map((tool) => tool.command).join(', ')})`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...plan.packages]]) {
    const result = spawnSync('apt-get', args, { env: aptEnv, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) throw new MissingTestToolsError(`apt-get ${args[0]} failed (exit ${result.status ?? result.signal}).\n${missingToolsMessage(missing, { ...who, isRoot: true })}`);
  }
  const stillMissing = findMissingTools(tools, facts, onPath);
  if (stillMissing.length > 0) throw new MissingTestToolsError(`apt-get installed ${plan.packages.join(' ')}, but these are still not on PATH:\n${missingToolsMessage(stillMissing, who)}`);
}

/** An executable file named `command` in one of PATH's folders (no process spawned: milliseconds). */
export function isOnPath(command: string, path: string): boolean {
  return path.split(delimiter).filter(Boolean).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The quick-start test uses the default jar cache; the rest of the suite DFM_KAFKA_CACHE_DIR. */
async function kafkaJarsCached(env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  const dirs = new Set([kafkaLibDir(undefined), kafkaLibDir(env['DFM_KAFKA_CACHE_DIR'] || undefined)]);
  for (const dir of dirs) if (!(await isKafkaJarCacheComplete(dir))) return false;
  return true;
}
