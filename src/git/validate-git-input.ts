/**
 * Pure checks of everything that reaches a git command line from configuration, a webhook or a
 * user: repository URLs, branch names, folder paths and commit SHAs. Nothing user-controlled may
 * become a git option or pick a transport helper: git reads `--upload-pack=…` as an option
 * wherever an argument starts with `-` (CVE-2017-1000117 came in through an ssh host `-oProxyCommand`),
 * and `ext::sh -c …` runs a command as the "transport". A refusal is a DfmError that names the
 * input and says what is accepted; it happens before any git process starts.
 */
import { DfmError } from '../lib/errors.js';

export const GIT_PROTOCOLS = ['https', 'http', 'ssh', 'git', 'file'] as const;
export type GitProtocol = (typeof GIT_PROTOCOLS)[number];

export interface CheckedGitUrl {
  /** What git is given: the URL as configured (credentials included, if any). */
  readonly url: string;
  readonly protocol: GitProtocol;
  /** The URL with any user:password removed: for ids, logs, the API and the dashboard. */
  readonly redacted: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** `<transport>::<address>`: git's remote-helper syntax (ext::, fd::, and any git-remote-* on PATH). */
const REMOTE_HELPER = /^[A-Za-z][A-Za-z0-9+.-]*::/;
/** scp-like ssh: `[user@]host:path`, the host not an option and not a drive letter. */
const SCP_LIKE = /^(?:([A-Za-z0-9._~+-]+)@)?([A-Za-z0-9][A-Za-z0-9.-]*):(?!\/\/)(.+)$/;

function refuse(what: string, value: string, why: string): never {
  throw new DfmError('GIT_INPUT_REFUSED', `${what} ${JSON.stringify(value)} is refused: ${why}`, { details: { what, value } });
}

export function checkGitUrl(value: string, allowed: readonly GitProtocol[] = GIT_PROTOCOLS, what = 'The repository URL'): CheckedGitUrl {
  const url = value.trim();
  if (url === '') refuse(what, value, 'it is empty');
  if (REMOTE_HELPER.test(url)) refuse(what, value, 'transport helpers such as ext:: and fd:: can run commands; use https, ssh, git or a local path');
  if (url.startsWith('-')) refuse(what, value, 'it starts with "-", which git would read as an option');
  if (CONTROL.test(url) || /\s/.test(url)) refuse(what, value, 'it contains whitespace or control characters');
  const allow = (protocol: GitProtocol): GitProtocol => {
    if (!allowed.includes(protocol)) refuse(what, value, `the ${protocol} protocol is not allowed here (DFM_GIT_PROTOCOLS allows ${allowed.join(', ')})`);
    return protocol;
  };

  if (url.startsWith('/')) return { url, protocol: allow('file'), redacted: url };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const scp = SCP_LIKE.exec(url);
    if (scp === null) refuse(what, value, 'use an https://, ssh://, git:// or file:// URL, user@host:path, or an absolute local path');
    if (scp[3]!.startsWith('-')) refuse(what, value, 'its path starts with "-"');
    return { url, protocol: allow('ssh'), redacted: url };
  }
  if (!(GIT_PROTOCOLS as readonly string[]).includes(scheme)) refuse(what, value, `unknown protocol ${scheme}://; use https, ssh, git or file`);
  const protocol = allow(scheme as GitProtocol);
  if (!URL.canParse(url)) refuse(what, value, 'it is not a valid URL');
  const parsed = new URL(url);
  if (protocol !== 'file' && parsed.hostname === '') refuse(what, value, 'it has no host');
  if (parsed.hostname.startsWith('-') || decodeURIComponent(parsed.username).startsWith('-')) refuse(what, value, 'its host or user starts with "-", which ssh would read as an option');
  if (decodeURIComponent(parsed.pathname).split('/').some((part) => part.startsWith('-'))) refuse(what, value, 'a part of its path starts with "-"');
  const redacted = new URL(url);
  redacted.username = '';
  redacted.password = '';
  return { url, protocol, redacted: redacted.toString().replace(/\/$/, '') };
}

/** A branch name as `git check-ref-format --branch` accepts it, and never an option. */
export function checkBranchName(value: string, what = 'The branch name'): string {
  const name = value.trim().replace(/^refs\/heads\//, '');
  if (name === '') refuse(what, value, 'it is empty');
  if (name.startsWith('-')) refuse(what, value, 'it starts with "-", which git would read as an option');
  if (name.length > 255) refuse(what, value, 'it is longer than 255 characters');
  if (CONTROL.test(name) || /[\s~^:?*[\\]/.test(name)) refuse(what, value, 'branch names cannot contain spaces, control characters or any of ~ ^ : ? * [ \\');
  if (name.includes('..') || name.includes('@{') || name === '@' || name.includes('//')) refuse(what, value, 'branch names cannot contain "..", "@{" or "//", nor be "@"');
  if (name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) refuse(what, value, 'branch names cannot end with "/", "." or ".lock"');
  if (name.split('/').some((part) => part.startsWith('.'))) refuse(what, value, 'no part of a branch name may start with "."');
  return name;
}

/** The pipelines folder inside the repository: relative, inside it, no pathspec magic. `.` is the root. */
export function checkRepositoryPath(value: string, what = 'The pipelines folder'): string {
  const trimmed = value.trim().replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return '.';
  if (CONTROL.test(trimmed)) refuse(what, value, 'it contains control characters');
  if (trimmed.startsWith('/')) refuse(what, value, 'it must be relative to the repository root, such as pipelines');
  if (trimmed.startsWith(':')) refuse(what, value, 'a leading ":" is git pathspec magic');
  const parts = trimmed.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse(what, value, 'it must stay inside the repository (no "..")');
  if (parts.some((p) => p.startsWith('-'))) refuse(what, value, 'a part of it starts with "-"');
  return parts.join('/');
}

/** A full commit SHA (SHA-1 or SHA-256), lower-cased. */
export function checkCommitSha(value: string, what = 'The commit'): string {
  const sha = value.trim().toLowerCase();
  if (!SHA.test(sha)) refuse(what, value, 'give the full 40-character commit SHA');
  return sha;
}
