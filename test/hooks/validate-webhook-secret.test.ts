/** `dfm validate` warns (exit 0) about a webhook secret that is not configured here, naming the variable; quiet once it is set. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir, removeTempDir } from '../helpers/git-remote.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

let dir: string;
beforeAll(async () => {
  dir = await createTempDir('dfm-validate-hooks-');
  await writeFile(join(dir, 'orders.yaml'), 'id: orders-in\ntriggers:\n  - webhook: { secret: orders }\ntasks:\n  only: { type: postgres.sql, sql: select 1 }\n');
});
afterAll(() => removeTempDir(dir));

describe('dfm validate and webhook secrets', () => {
  it('warns, naming DFM_WEBHOOK_SECRET_<NAME>, and still exits 0', async () => {
    const result = await runCliCaptured(['validate', '--format', 'json', dir], { cwd: dir });
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { diagnostics: { severity: string; code: string; message: string; line: number }[] };
    expect(output.diagnostics).toEqual([expect.objectContaining({ severity: 'warning', code: 'unknown-webhook-secret', line: 3, message: 'Webhook secret "orders" is not configured: DFM_WEBHOOK_SECRET_ORDERS is not set' })]);
  });

  it('is quiet when the secret is set', async () => {
    const result = await runCliCaptured(['validate', '--format', 'json', dir], { cwd: dir, env: { DFM_WEBHOOK_SECRET_ORDERS: 'a secret of enough length' } });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { diagnostics: unknown[] }).diagnostics).toEqual([]);
  });
});
