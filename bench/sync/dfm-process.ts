/**
 * `dfm serve` in a child process (bin/dfm.js, as a replica runs it), for the ingress-only replica
 * of the acknowledgement runs: in the bench's process it would share the event loop with the
 * bench's own dfm (whose workers handle the jobs the replica records) and with the bare server.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/free-port.js';

export interface DfmProcess {
  readonly base: string;
  stop(): Promise<void>;
}

export async function startDfmProcess(env: Record<string, string>, role: string): Promise<DfmProcess> {
  const port = await freePort();
  const bin = fileURLToPath(new URL('../../bin/dfm.js', import.meta.url));
  const childEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn', LOG_FORMAT: 'json' } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, [bin, 'serve', '--role', role], {
    env: childEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = once(child, 'exit');
  const base = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dfm serve --role ${role} exited with ${child.exitCode} before it answered`);
    const up = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dfm serve --role ${role} did not answer /healthz within 60 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    base,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
