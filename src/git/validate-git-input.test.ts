import { describe, expect, it } from 'vitest';
import { checkBranchName, checkCommitSha, checkGitUrl, checkRepositoryPath } from './validate-git-input.js';

describe('checkGitUrl', () => {
  it.each([
    ['https://github.com/acme/pipelines.git', 'https', 'https://github.com/acme/pipelines.git'],
    ['https://x-access-token:secret@github.com/acme/pipelines.git', 'https', 'https://github.com/acme/pipelines.git'],
    ['ssh://git@gitlab.example.com:2222/data/pipelines.git', 'ssh', 'ssh://gitlab.example.com:2222/data/pipelines.git'],
    ['git@github.com:acme/pipelines.git', 'ssh', 'git@github.com:acme/pipelines.git'],
    ['git://127.0.0.1:9418/pipelines.git', 'git', 'git://127.0.0.1:9418/pipelines.git'],
    ['file:///srv/git/pipelines.git', 'file', 'file:///srv/git/pipelines.git'],
    ['/srv/git/pipelines.git', 'file', '/srv/git/pipelines.git'],
  ])('accepts %s', (url, protocol, redacted) => {
    expect(checkGitUrl(url)).toEqual({ url, protocol, redacted });
  });

  it.each([
    ['--upload-pack=touch /tmp/x', /starts with "-"/],
    ['-uimmediately', /starts with "-"/],
    ['ext::sh -c touch% /tmp/x', /transport helpers/],
    ['fd::17', /transport helpers/],
    ['foo::bar', /transport helpers/],
    ['ssh://-oProxyCommand=touch%20/tmp/x/repo', /host or user starts with "-"/],
    ['ssh://-oProxyCommand=x@host/repo', /host or user starts with "-"/],
    ['https://github.com/acme/--upload-pack=x', /part of its path starts with "-"/],
    ['git@host:-x/repo', /path starts with "-"/],
    ['https://github.com/a b', /whitespace/],
    ['https://github.com/a\nb', /whitespace|control/],
    ['gopher://example.com/x', /unknown protocol/],
    ['relative/path', /use an https/],
    ['', /empty/],
  ])('refuses %j', (url, message) => {
    expect(() => checkGitUrl(url)).toThrow(message);
  });

  it('refuses a protocol the configuration does not allow', () => {
    expect(() => checkGitUrl('http://example.com/x.git', ['https', 'ssh'])).toThrow(/http protocol is not allowed here \(DFM_GIT_PROTOCOLS allows https, ssh\)/);
    expect(() => checkGitUrl('/srv/x.git', ['https'])).toThrow(/file protocol is not allowed/);
  });
});

describe('checkBranchName', () => {
  it.each(['main', 'release/2026-12', 'refs/heads/main', 'feature/x.y'])('accepts %s', (name) => {
    expect(checkBranchName(name)).toBe(name.replace(/^refs\/heads\//, ''));
  });
  it.each(['-x', '--upload-pack=touch /tmp/x', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', '@', 'a@{1}', 'a//b', 'a/', 'a.', 'a.lock', '.hidden', 'x/.y', ''])('refuses %j', (name) => {
    expect(() => checkBranchName(name)).toThrow(/refused/);
  });
});

describe('checkRepositoryPath', () => {
  it.each([['pipelines', 'pipelines'], ['./pipelines/', 'pipelines'], ['.', '.'], ['', '.'], ['data/pipelines', 'data/pipelines']])('%j → %j', (path, expected) => {
    expect(checkRepositoryPath(path)).toBe(expected);
  });
  it.each(['/etc', '../outside', 'a/../../b', ':(glob)**', '-x', 'a/-b'])('refuses %j', (path) => {
    expect(() => checkRepositoryPath(path)).toThrow(/refused/);
  });
});

describe('checkCommitSha', () => {
  it('accepts full SHA-1 and SHA-256 object names, lower-cased', () => {
    expect(checkCommitSha('A'.repeat(40))).toBe('a'.repeat(40));
    expect(checkCommitSha('b'.repeat(64))).toBe('b'.repeat(64));
  });
  it.each(['abc123', '--upload-pack=x', 'g'.repeat(40), `${'a'.repeat(40)} --x`])('refuses %j', (sha) => {
    expect(() => checkCommitSha(sha)).toThrow(/full 40-character/);
  });
});
