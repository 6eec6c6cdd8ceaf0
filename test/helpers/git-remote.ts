/**
 * Real git remotes for sync tests: bare repositories, a work tree to make and push real commits,
 * and two servers on 127.0.0.1 — smart HTTP (`git http-backend` as CGI, optionally behind basic
 * auth, the way github.com takes `x-access-token:<installation token>`) and `git daemon` (git://).
 *
 * Every git command runs with a clean environment: no system/global config (a developer's
 * credential helper or signing setup must not leak in) and no terminal prompt (a refused
 * credential fails fast instead of hanging). Temp dirs are removed by `remove()`/`close()` and, as
 * a safety net, when the process exits.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './free-port.js';

const GIT = '/usr/bin/git';
const GIT_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Running git
// ---------------------------------------------------------------------------------------------

/** The environment every git of these helpers runs in (inherited GIT_* variables dropped). */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    LC_ALL: 'C',
    ...extra,
  };
}

export interface GitOptions {
  cwd?: string;
  env?: Record<string, string>;
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${String(exitCode)}): ${stderr.trim()}`);
  }
}

/** Runs git, resolves to its stdout; rejects with a GitError that carries stderr. */
export function git(args: string[], options: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(GIT, args, { cwd: options.cwd, env: gitEnv(options.env), timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new GitError(args, typeof error.code === 'number' ? error.code : null, String(stderr)));
      else resolve(String(stdout));
    });
  });
}

/** `git ls-remote <url>`: ref name → sha. */
export async function lsRemote(url: string, options: GitOptions = {}): Promise<Map<string, string>> {
  const out = await git(['ls-remote', url], options);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (sha && ref) refs.set(ref, sha);
  }
  return refs;
}

/** `http://user:password@host/...`: how a test hands git a credential without a helper. */
export function withCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(username);
  parsed.password = encodeURIComponent(password);
  return parsed.href;
}

/** The user and password of a `Basic` Authorization header, undefined for anything else. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// ---------------------------------------------------------------------------------------------
// Temp dirs
// ---------------------------------------------------------------------------------------------

const tempDirs = new Set<string>();
/** Process groups of running daemons: detached, they would outlive a test process that crashed. */
const daemonGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of daemonGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A fresh temp dir, removed by `removeTempDir` or at the latest when the process exits. */
export async function createTempDir(prefix = 'dfm-git-'): Promise<string> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Repositories and work trees
// ---------------------------------------------------------------------------------------------

export interface BareRepository {
  path: string;
  /** file:// URL of the repository. */
  fileUrl: string;
  /** Removes the repository (and the temp dir created for it, if `root` was not given). */
  remove(): Promise<void>;
}

/**
 * `git init --bare --initial-branch=main` at `<root>/<name>`. Without `root`, in a new temp dir.
 * `name` may contain a slash (`acme/widgets.git`), as a path under a git server's root.
 */
export async function createBareRepository(root?: string, name = 'repo.git'): Promise<BareRepository> {
  const ownRoot = root === undefined ? await createTempDir('dfm-bare-') : undefined;
  const path = join(root ?? ownRoot!, name);
  await mkdir(dirname(path), { recursive: true });
  await git(['init', '--quiet', '--bare', '--initial-branch=main', path]);
  return {
    path,
    fileUrl: pathToFileURL(path).href,
    remove: () => (ownRoot !== undefined ? removeTempDir(ownRoot) : rm(path, { recursive: true, force: true })),
  };
}

export interface CommitOptions {
  /** Default: the work tree's identity (dfm test <test@dfm.invalid>). */
  author?: { name: string; email: string };
  /** Author and committer date. */
  date?: Date | string;
  /** Commit even when nothing changed. */
  allowEmpty?: boolean;
}

export interface WorkTree {
  dir: string;
  /** git in this work tree with the work tree's identity, resolves to stdout. */
  git(...args: string[]): Promise<string>;
  write(file: string, text: string): Promise<void>;
  remove(file: string): Promise<void>;
  /** Stages everything and commits; resolves to the new commit's sha. */
  commit(message: string, options?: CommitOptions): Promise<string>;
  /** Pushes HEAD to `branch` of the remote (origin). */
  push(branch?: string, options?: { force?: boolean }): Promise<void>;
  /** Switches to `branch`, creating it from HEAD when `create`. */
  checkout(branch: string, options?: { create?: boolean }): Promise<void>;
  /** Removes the work tree. */
  close(): Promise<void>;
}

const IDENTITY = ['-c', 'user.name=dfm test', '-c', 'user.email=test@dfm.invalid', '-c', 'commit.gpgsign=false'];

/** A clone of `remoteUrl` (which may be empty) to make real commits in and push them. */
export async function createWorkTree(remoteUrl: string): Promise<WorkTree> {
  const dir = await createTempDir('dfm-worktree-');
  // init.defaultBranch: a clone of an empty repository would otherwise start on git's default (master).
  await git(['-c', 'init.defaultBranch=main', 'clone', '--quiet', remoteUrl, dir]);
  const run = (args: string[], env?: Record<string, string>): Promise<string> => git([...IDENTITY, ...args], { cwd: dir, ...(env ? { env } : {}) });
  return {
    dir,
    git: (...args) => run(args),
    async write(file, text) {
      const path = join(dir, file);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    },
    async remove(file) {
      await rm(join(dir, file), { recursive: true, force: true });
    },
    async commit(message, options = {}) {
      await run(['add', '--all']);
      const args = ['commit', '--quiet', '--no-verify', '-m', message];
      if (options.author) args.push(`--author=${options.author.name} <${options.author.email}>`);
      if (options.allowEmpty) args.push('--allow-empty');
      const date = options.date instanceof Date ? options.date.toISOString() : options.date;
      await run(args, date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : undefined);
      return (await run(['rev-parse', 'HEAD'])).trim();
    },
    async push(branch = 'main', options = {}) {
      await run(['push', '--quiet', ...(options.force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${branch}`]);
    },
    async checkout(branch, options = {}) {
      await run(['checkout', '--quiet', ...(options.create ? ['-b'] : []), branch]);
    },
    close: () => removeTempDir(dir),
  };
}

// ---------------------------------------------------------------------------------------------
// Smart HTTP: git http-backend as CGI
// ---------------------------------------------------------------------------------------------

export interface GitHttpRequest {
  method: string;
  /** Path and query, e.g. /acme/widgets.git/info/refs?service=git-upload-pack */
  path: string;
  /** Whether the request passed `checkAuth` (true when there is none). */
  authorized: boolean;
  /** The basic-auth user name, if any (github.com: `x-access-token`). */
  username: string | undefined;
  /** The request body's Content-Encoding (git gzips request bodies over 1 KiB). */
  contentEncoding: string | undefined;
  status: number;
}

export interface GitHttpServer {
  /** http://127.0.0.1:<port> — a repository `<root>/a/b.git` is at `${url}/a/b.git`. */
  url: string;
  requests: GitHttpRequest[];
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  root: string;
  /** Given: a request needs an Authorization header this accepts, else 401 with a Basic challenge. */
  checkAuth?: (authorization: string) => boolean;
}

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitHttpRequest[] = [];
  const backends = new Set<ChildProcess>();
  const server = createServer((req, res) => {
    const authorization = req.headers.authorization;
    const authorized = options.checkAuth === undefined || (authorization !== undefined && options.checkAuth(authorization));
    const record: GitHttpRequest = { method: req.method ?? 'GET', path: req.url ?? '/', authorized, username: parseBasicAuth(authorization)?.username, contentEncoding: req.headers['content-encoding'], status: 0 };
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    if (!authorized) {
      // git sends credentials only after this challenge (and gives up when it has none).
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' }).end('Authentication required\n');
      return;
    }
    runHttpBackend(options.root, req, res, record.username, backends);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await Promise.all([...backends].map((child) => stopProcess(child)));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One CGI request: the HTTP request as environment + stdin, the response from stdout. */
function runHttpBackend(root: string, req: IncomingMessage, res: ServerResponse, remoteUser: string | undefined, backends: Set<ChildProcess>): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env = gitEnv({
    ...cgiHeaderVariables(req),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // http-backend enables receive-pack only for an authenticated REMOTE_USER by default; the
    // server decided about access already (checkAuth), so pushes are allowed here.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'dfm-test-git-http',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REMOTE_USER: remoteUser ?? '',
    ...(req.headers['content-length'] !== undefined ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
  });
  const child = spawn(GIT, ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  backends.add(child);
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.on('error', (error) => failResponse(res, `cannot run git http-backend: ${error.message}`));
  child.on('close', (code) => {
    backends.delete(child);
    if (!res.headersSent) failResponse(res, `git http-backend exited ${String(code)} without a response: ${Buffer.concat(stderr).toString()}`);
    else res.end();
  });
  // The request body (possibly gzip: http-backend inflates it itself, told by HTTP_CONTENT_ENCODING).
  req.pipe(child.stdin);
  child.stdin.on('error', () => {}); // the backend may exit before reading everything (e.g. an error)
  forwardCgiResponse(child, res);
}

/** Request headers as CGI's HTTP_* variables (HTTP_CONTENT_ENCODING, HTTP_GIT_PROTOCOL for protocol v2, …). */
function cgiHeaderVariables(req: IncomingMessage): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    // Authorization stays out, as web servers keep it from CGI scripts.
    if (value === undefined || name === 'authorization' || name === 'content-type' || name === 'content-length') continue;
    variables[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  return variables;
}

/** Parses the CGI header block (with its `Status:` line) off stdout, then streams the rest. */
function forwardCgiResponse(child: ChildProcess, res: ServerResponse): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (end === undefined) return;
    child.stdout!.off('data', onData);
    const { status, headers } = parseCgiHeaders(head.subarray(0, end.index).toString('latin1'));
    res.writeHead(status, headers);
    const rest = head.subarray(end.index + end.length);
    if (rest.length > 0) res.write(rest);
    child.stdout!.pipe(res, { end: false }); // ended on the child's close, after its exit code is known
  };
  child.stdout!.on('data', onData);
}

function findHeaderEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(block: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}

function failResponse(res: ServerResponse, message: string): void {
  if (res.headersSent) {
    res.destroy(new Error(message));
    return;
  }
  res.writeHead(500, { 'content-type': 'text/plain' }).end(`${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// git daemon
// ---------------------------------------------------------------------------------------------

export interface GitDaemon {
  /** git://127.0.0.1:<port>/ — a repository `<root>/a/b.git` is at `${url}a/b.git`. */
  url: string;
  close(): Promise<void>;
}

export interface GitDaemonOptions {
  root: string;
  /** Also accept pushes (off by default, as on a read-only mirror). */
  enableReceivePack?: boolean;
}

export async function startGitDaemon(options: GitDaemonOptions): Promise<GitDaemon> {
  // The port may be taken between freePort() and the daemon's bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnDaemon(options, port);
      return { url: `git://127.0.0.1:${port}/`, close: () => stopProcess(child, { group: true }) };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function spawnDaemon(options: GitDaemonOptions, port: number): Promise<ChildProcess> {
  const args = ['daemon', '--reuseaddr', '--export-all', `--base-path=${options.root}`, '--listen=127.0.0.1', `--port=${port}`];
  if (options.enableReceivePack) args.push('--enable=receive-pack');
  args.push(options.root);
  // Its own process group: the daemon forks a child per connection, and close() stops them all.
  installExitHook();
  const child = spawn(GIT, args, { env: gitEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const pgid = child.pid;
  if (pgid !== undefined) {
    daemonGroups.add(pgid);
    child.once('exit', () => daemonGroups.delete(pgid));
  }
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`git daemon exited ${String(code)} before listening: ${Buffer.concat(stderr).toString().trim()}`))));
  exited.catch(() => {}); // only raced below
  try {
    await Promise.race([waitForPort(port, 10_000), exited]);
  } catch (error) {
    await stopProcess(child, { group: true });
    throw error;
  }
  return child;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM (to the process group when `group`), SIGKILL after 5 s; resolves once it and its pipes are closed. */
function stopProcess(child: ChildProcess, { group = false } = {}): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return child.stdout?.closed === false || child.stderr?.closed === false ? new Promise((resolve) => child.once('close', () => resolve())) : Promise.resolve();
  }
  return new Promise((resolve) => {
    const signal = (name: NodeJS.Signals): void => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, name);
        else child.kill(name);
      } catch {
        // gone already
      }
    };
    const killTimer = setTimeout(() => signal('SIGKILL'), 5000);
    child.once('close', () => {
      clearTimeout(killTimer);
      resolve();
    });
    signal('SIGTERM');
  });
}
