import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, usesPrettyLines } from './logger.js';

function capture(isTTY: boolean): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  Object.assign(stream, { isTTY });
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('createLogger', () => {
  it('writes readable lines with every field on a terminal (auto)', () => {
    const out = capture(true);
    createLogger('info', out.stream, 'auto').info({ runId: 42, taskId: 'land', databaseUrl: 'postgres://u:secret@h/db' }, 'task started');
    const text = out.text().replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(dfm\/\d+ on .+\): task started\n/);
    expect(text).toContain('    runId: 42\n');
    expect(text).toContain('    taskId: "land"\n');
    expect(text).toContain('    databaseUrl: "[redacted]"\n');
    expect(text).not.toContain('secret');
  });

  it('writes one JSON object a line when the output is not a terminal, or LOG_FORMAT=json', () => {
    for (const [isTTY, format] of [[false, 'auto'], [true, 'json']] as const) {
      const out = capture(isTTY);
      createLogger('info', out.stream, format).info({ runId: 42 }, 'task started');
      expect(JSON.parse(out.text())).toMatchObject({ level: 30, name: 'dfm', msg: 'task started', runId: 42 });
    }
  });

  it('is pretty when asked, even into a pipe', () => {
    expect(usesPrettyLines('pretty', new PassThrough())).toBe(true);
    expect(usesPrettyLines('auto', new PassThrough())).toBe(false);
  });
});
