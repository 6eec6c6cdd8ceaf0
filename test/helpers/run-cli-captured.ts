/**
 * The dfm CLI run in-process, as a user's shell would see it: exit code, standard output and
 * standard error, with the environment given (and nothing else of this process').
 */
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/run-cli.js';
import { loadConfig } from '../../src/config/load-config.js';

export async function runCliCaptured(argv: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const env = options.env ?? {};
  const code = await runCli(argv, { env, config: () => loadConfig(env), stdout, stderr, cwd: options.cwd ?? process.cwd() });
  return { code, stdout: out, stderr: err };
}
