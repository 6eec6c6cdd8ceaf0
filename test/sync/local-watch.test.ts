/**
 * Local mode, as a user editing YAML sees it: `dfm serve` re-syncs DFM_PIPELINES_DIR when its
 * files change — a new file is active without a restart, a broken edit changes nothing (its error
 * is logged and stored with its position), a fix applies, and `dfm sync --status` shows it all.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';
import { useOrchestration } from '../helpers/orchestration.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const pipelines = writePipelines({ 'hello.yaml': 'id: hello\ntasks:\n  say: { type: postgres.sql, sql: "select 1" }\n' });
const { o, database } = useOrchestration();
let dfm: DfmProcess | undefined;
afterAll(async () => {
  dfm?.kill('SIGKILL');
  await dfm?.exited;
  pipelines.remove();
});

const activePipelines = async () => (await o.pool.query<{ id: string }>('select id from dfm.pipeline where not paused order by id')).rows.map((r) => r.id);
const activeDefinition = async (id: string) =>
  (await o.pool.query<{ v: string }>('select v.definition::text as v from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id where p.id = $1', [id])).rows[0]?.v;

describe('local mode', () => {
  it('activates edits of DFM_PIPELINES_DIR without a restart, and keeps the last valid set on a broken edit', async () => {
    dfm = spawnDfm(['serve'], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: pipelines.dir });
    await dfm.waitForOutput(/dfm is serving on http:\/\/localhost:\d+/);
    expect(await activePipelines()).toEqual(['hello']);

    writeFileSync(join(pipelines.dir, 'orders.yaml'), 'id: orders\ntasks:\n  load: { type: postgres.sql, sql: "select 2" }\n');
    await expect.poll(activePipelines, { timeout: 10_000 }).toEqual(['hello', 'orders']);

    writeFileSync(join(pipelines.dir, 'orders.yaml'), 'id: orders\ntasks:\n  load: { type: postgres.sql, sql: "select 3", retries: lots }\n');
    await dfm.waitForOutput(/orders\.yaml:3:\d+ invalid-type/, 10_000);
    expect(await activePipelines()).toEqual(['hello', 'orders']);
    expect(await activeDefinition('orders')).toContain('select 2');
    const status = await runCliCaptured(['sync', '--status'], { env: { DATABASE_URL: database.url } });
    expect(status.stdout).toMatch(/last sync invalid/);
    expect(status.stdout).toMatch(/orders\.yaml:3:\d+ invalid-type/);

    writeFileSync(join(pipelines.dir, 'orders.yaml'), 'id: orders\ntasks:\n  load: { type: postgres.sql, sql: "select 4" }\n');
    await expect.poll(() => activeDefinition('orders'), { timeout: 10_000 }).toContain('select 4');

    rmSync(join(pipelines.dir, 'orders.yaml'));
    await expect.poll(activePipelines, { timeout: 10_000 }).toEqual(['hello']);
  }, 60_000);
});
