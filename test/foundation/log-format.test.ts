/**
 * What `npm start` prints: readable lines in a terminal (a real pty, from `script`), JSON when
 * the output is a pipe or LOG_FORMAT=json, with the same fields either way.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

interface Served {
  output: string;
  code: number | null;
}

/** `dfm serve --role web` until it serves, then SIGTERM; in a pty when `terminal`. */
function serve(terminal: boolean, env: Record<string, string> = {}): Promise<Served> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('VITEST') && k !== 'LOG_FORMAT') childEnv[k] = v;
  Object.assign(childEnv, { DATABASE_URL: database.url, KAFKA_BROKERS: inject('kafkaBrokers').join(','), PORT: '0', LOG_LEVEL: 'info', ...env });
  const command = [process.execPath, 'bin/dfm.js', 'serve', '--role', 'web'];
  const child = terminal
    ? spawn('script', ['-qefc', command.join(' '), '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(command[0]!, command.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signalled = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dfm did not serve and stop within 60 s:\n${output}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const pid = /"pid":(\d+)|\(dfm\/(\d+) on /.exec(output);
      if (!signalled && /dfm is serving on/.test(output) && pid) {
        signalled = true;
        process.kill(Number(pid[1] ?? pid[2]), 'SIGTERM'); // dfm itself, not `script`
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output: output.replace(/\r\n/g, '\n'), code });
    });
  });
}

const withoutColour = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

describe('log format', () => {
  it('prints readable lines with every field in a terminal', async () => {
    const { output, code } = await serve(true);
    const text = withoutColour(output);
    expect(code).toBe(0);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(dfm\/\d+ on [^)]+\): dfm is serving on http:\/\/localhost:\d+$/m);
    expect(text).toMatch(/^ {4}port: \d+$/m);
    expect(text).toMatch(/^ {4}role: "web"$/m);
    expect(text).toMatch(/^\[[\d:.]+\] INFO \(dfm\/\d+ on [^)]+\): dfm stopped$/m);
    expect(text).not.toContain('{"level"');
    expect(output).toContain('\x1b['); // coloured for a terminal
  });

  it('prints JSON in a terminal with LOG_FORMAT=json, and into a pipe', async () => {
    for (const [terminal, env] of [[true, { LOG_FORMAT: 'json' }], [false, {}]] as const) {
      const { output, code } = await serve(terminal, env);
      expect(code).toBe(0);
      const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.find((l) => String(l['msg']).startsWith('dfm is serving on'))).toMatchObject({ level: 30, name: 'dfm', role: 'web', port: expect.any(Number) });
      expect(lines.at(-1)).toMatchObject({ msg: 'dfm stopped' });
    }
  });
});
