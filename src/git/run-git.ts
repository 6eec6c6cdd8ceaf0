/**
 * Every git process of dfm starts here: a bounded time (killed past it), bounded output (killed
 * past it: a 10 GB blob must not become a 10 GB string), no prompt, no system or global config, and
 * only the protocols DFM_GIT_PROTOCOLS allows (GIT_ALLOW_PROTOCOL: even a URL that slipped past
 * validate-git-input.ts cannot reach ext::). Credentials travel in the environment
 * (GIT_CONFIG_COUNT/KEY/VALUE, an http.extraHeader), never on the command line where `ps` shows
 * them, never on disk.
 *
 * Network commands (ls-remote, fetch) go through simple-git with an abort signal; object reads
 * (ls-tree, cat-file --batch, log) are spawned here with the byte cap, which simple-git's fully
 * buffered output cannot give.
 */
import { spawn } from 'node:child_process';
import { simpleGit, type SimpleGit } from 'simple-git';
import { DfmError } from '../lib/errors.js';
import type { GitProtocol } from './validate-git-input.js';

export interface GitAccess {
  readonly timeoutMs: number;
  readonly protocols: readonly GitProtocol[];
  /** An `Authorization` header value for https fetches (a GitHub installation token). */
  readonly authorization?: string;
}

export function gitEnvironment(access: GitAccess): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: access.protocols.join(':'),
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
  };
  if (access.authorization !== undefined) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: ${access.authorization}`;
  }
  return env;
}

/** simple-git in `dir` for one network command, aborted after `access.timeoutMs`. */
export function networkGit(dir: string, access: GitAccess): SimpleGit {
  return simpleGit({
    baseDir: dir,
    abort: AbortSignal.timeout(access.timeoutMs),
    // simple-git refuses these environment variables by default, because a caller might pass a
    // user's values; here every one is dfm's own constant (the token header through GIT_CONFIG_*,
    // no global config, ssh in batch mode).
    unsafe: { allowUnsafeConfigEnvCount: true, allowUnsafeConfigPaths: true, allowUnsafeSshCommand: true },
    allowEnvironment: Object.keys(gitEnvironment(access)),
  }).env(gitEnvironment(access));
}

/** Runs `git <args>` in `dir`, feeding `input`; resolves stdout as a Buffer, at most `maxBytes`. */
export function runGit(dir: string, args: readonly string[], options: { access: GitAccess; maxBytes: number; input?: string }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: dir, env: gitEnvironment(options.access), stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: DfmError | undefined;
    const timer = setTimeout(() => {
      failure = new DfmError('GIT_TIMEOUT', `git ${args[0]} took longer than ${options.access.timeoutMs} ms and was stopped (DFM_GIT_TIMEOUT_MS)`, { retryable: true });
      child.kill('SIGKILL');
    }, options.access.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxBytes) {
        failure ??= new DfmError('GIT_OUTPUT_TOO_LARGE', `git ${args[0]} wrote more than ${options.maxBytes} bytes and was stopped`);
        child.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new DfmError('GIT_NOT_RUNNABLE', `git could not start (${error.message}); install git`, { cause: error }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure !== undefined) reject(failure);
      else if (code !== 0) reject(new DfmError('GIT_FAILED', `git ${args[0]} failed: ${stderr.trim() || `exit code ${code}`}`, { retryable: true }));
      else resolve(Buffer.concat(chunks));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
