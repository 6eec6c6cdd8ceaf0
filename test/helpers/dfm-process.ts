/**
 * Real dfm processes for fault tests: `node bin/dfm.js serve …` with a test database, the harness's
 * Kafka, fast heartbeats and an ephemeral HTTP port. kill -9, SIGTERM and restarts act on these.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

export interface DfmProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

export const FAST_TIMINGS = {
  DFM_HEARTBEAT_INTERVAL_MS: '300',
  DFM_HEARTBEAT_TIMEOUT_MS: '2000',
  DFM_POLL_INTERVAL_MS: '300',
};

export function spawnDfm(args: readonly string[], env: Record<string, string>): DfmProcess {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('VITEST')) childEnv[k] = v;
  Object.assign(childEnv, { KAFKA_BROKERS: inject('kafkaBrokers').join(','), PORT: '0', LOG_LEVEL: 'info', ...FAST_TIMINGS, ...env });
  const child = spawn(process.execPath, ['bin/dfm.js', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`dfm did not print ${pattern} within ${timeoutMs} ms. Output:\n${output.slice(-3000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
  };
}

/** A temporary pipelines folder with the given files; remove() deletes it. */
export function writePipelines(files: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dfm-pipelines-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls fn until it returns a value that is not undefined. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
