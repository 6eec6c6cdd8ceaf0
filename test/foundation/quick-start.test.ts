/**
 * The README's quick start, exactly as a user runs it: a fresh copy of the repository (the files
 * git would clone), `npm install && npm start` with no DATABASE_URL and no KAFKA_BROKERS, so the
 * embedded PostgreSQL and the local Kafka broker come up by themselves. Then /healthz answers 200,
 * /metrics is scraped, and SIGTERM stops everything with exit code 0.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../helpers/is-alive.js';
import { freePort, freePortPair } from '../helpers/free-port.js';

function copyRepository(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    try {
      cpSync(file, join(to, file));
    } catch {
      // deleted in the working tree but still in the index: a clone would not have it either
    }
  }
}


function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitForHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited early with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return response;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`/healthz did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

describe('quick start', () => {
  const root = mkdtempSync(join(tmpdir(), 'dfm-quick-start-'));
  // mkdtemp makes it 0700; a user's clone is 0755, which lets the embedded server (run as the
  // postgres user when we are root) keep its data inside the clone.
  chmodSync(root, 0o755);
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('npm install && npm start serves /healthz and /metrics, and SIGTERM exits cleanly', async () => {
    copyRepository(root);
    const [port, pgPort, kafkaPort] = [await freePort(), await freePort(), await freePortPair()];
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      // A user's fresh shell: none of dfm's own settings (CI sets DATABASE_URL, DFM_DATA_DIR, …).
      if (v !== undefined && !['DATABASE_URL', 'KAFKA_BROKERS', 'PORT', 'NODE_OPTIONS', 'NODE_ENV'].includes(k) && !k.startsWith('VITEST') && !k.startsWith('DFM_')) env[k] = v;
    }
    // No NODE_ENV, as in a user's shell: `npm install` then brings tsx (a devDependency), which a
    // source checkout runs src/ with.
    Object.assign(env, { PORT: String(port), DFM_EMBEDDED_PG_PORT: String(pgPort), DFM_KAFKA_PORT: String(kafkaPort) });

    let output = '';
    const began = Date.now();
    child = spawn('sh', ['-c', 'npm install --no-audit --no-fund --prefer-offline && exec npm start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

    try {
      const health = await waitForHealthy(`http://127.0.0.1:${port}/healthz`, child, 240_000);
      expect(await health.json()).toEqual({ status: 'ok', checks: { postgres: 'up', kafka: 'up' } });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('process_cpu_seconds_total');
      expect(metrics).toMatch(/^dfm_dependency_up\{dependency="kafka"\} 1$/m);
      process.stdout.write(`quick start: healthy ${Date.now() - began} ms after \`npm install && npm start\`\n`);
    } catch (error) {
      throw new Error(`${String(error)}\n--- output ---\n${output.slice(-4000)}`);
    }

    // As a terminal's Ctrl-C or a process manager does: the signal goes to the whole group.
    // npm re-raises it on itself once its child is gone, so the clean exit is read from dfm's
    // own last log line, and from the ports of the services it started being closed again.
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child!.on('exit', (code, signal) => resolve(signal ?? code)));
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).toBe('SIGTERM');
    // npm does not wait for its child: wait for dfm itself (it stops the broker it started, which
    // can take a few seconds).
    const dfmPid = Number(/"pid":(\d+)/.exec(output)?.[1]);
    const deadline = Date.now() + 60_000;
    while (isAlive(dfmPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(isAlive(dfmPid)).toBe(false);
    expect(output).toMatch(/"msg":"dfm stopped"/);
    expect(output).not.toMatch(/"level":(50|60)/);
    expect(output).not.toMatch(/npm error/);
    for (const closed of [port, pgPort, kafkaPort]) expect(await isListening(closed)).toBe(false);
  }, 360_000); // the install (devDependencies included, as for a user) and the health wait (240 s) within it
});
