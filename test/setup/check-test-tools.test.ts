/**
 * `npm test`'s preflight as a user without kcat and promtool meets it: a real process, a PATH
 * that lacks them, a non-root user (root runs it as `nobody`, since root would install with
 * apt-get). It must stop within seconds, naming each tool and the command that installs it.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOnPath } from './ensure-test-tools.js';

const asRoot = userInfo().uid === 0;
const bin = mkdtempSync(join(tmpdir(), 'dfm-preflight-bin-'));
chmodSync(bin, 0o755); // mkdtemp makes 0700; `nobody` must reach the links
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** This Node, where `nobody` can run it: .ci/run's Node 24 lives under /root (0700). */
const node = asRoot ? reachableCopy(process.execPath) : process.execPath;

function reachableCopy(file: string): string {
  const target = join(bin, 'node');
  try {
    linkSync(file, target);
  } catch {
    copyFileSync(file, target); // another file system
  }
  chmodSync(target, 0o755);
  return target;
}

/** A PATH of links to the tools we keep; everything else is missing. */
function pathWith(commands: readonly string[]): string {
  const dir = mkdtempSync(join(bin, 'path-'));
  chmodSync(dir, 0o755);
  const path = process.env['PATH'] ?? '';
  for (const command of commands) {
    const folder = path.split(delimiter).find((d) => isOnPath(command, d));
    if (folder) symlinkSync(join(folder, command), join(dir, command));
  }
  symlinkSync(node, join(dir, 'node'));
  return dir;
}

function runPreflight(path: string): Promise<{ code: number | null; output: string; ms: number }> {
  const began = Date.now();
  const child = spawn(node, ['--import', 'tsx', 'scripts/check-test-tools.ts'], {
    env: { PATH: path, HOME: bin },
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - began }));
  });
}

// Node + tsx start in ~1 s; on a loaded 2-core machine (load 16 in a full run) several.
describe('the test preflight (scripts/check-test-tools.ts)', { timeout: 30_000 }, () => {
  it('stops a non-root user without kcat, promtool and prometheus within seconds, with the apt-get command', async () => {
    const { code, output, ms } = await runPreflight(pathWith(['java', 'mvn', 'git', 'script', 'apt-get']));
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(output).toContain('3 tools that are not installed (no test was run)');
    expect(output).toMatch(/^ {2}kcat .*install: apt-get install kcat$/m);
    expect(output).toMatch(/^ {2}promtool .*install: apt-get install prometheus$/m);
    expect(output).toMatch(/^ {2}prometheus .*install: apt-get install prometheus$/m);
    expect(output).toContain('sudo apt-get update && sudo apt-get install -y kcat prometheus');
  });

  it('names a package-manager command for each tool where apt-get is missing too', async () => {
    const { code, output } = await runPreflight(pathWith(['java', 'mvn', 'script']));
    expect(code).toBe(1);
    for (const command of ['kcat', 'promtool', 'git']) expect(output).toMatch(new RegExp(`^ {2}${command} .*apt-get install \\S+ \\(Debian/Ubuntu\\) or brew install \\S+ \\(macOS\\)$`, 'm'));
    expect(output).toContain('brew install kcat prometheus git');
  });

  it('passes on this machine, which has every tool', async () => {
    const { code, output } = await runPreflight(process.env['PATH'] ?? '');
    expect({ code, output }).toEqual({ code: 0, output: '' });
  });
});
