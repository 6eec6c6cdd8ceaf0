import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase, type TestDatabase } from '../helpers/test-database.js';
import { spawnDfm, writePipelines } from '../helpers/dfm-process.js';

const run = promisify(execFile);

describe('dfm migrate', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('applies the migrations once when three processes start together', async () => {
    const env = { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn' as const };
    const results = await Promise.all([1, 2, 3].map(() => run('node', ['bin/dfm.js', 'migrate'], { env })));
    const outputs = results.map((r) => r.stdout.trim()).sort();
    // Exactly one process applied them; the others waited on the advisory lock and found nothing to do.
    const journal = JSON.parse(await readFile('drizzle/meta/_journal.json', 'utf8')) as { entries: unknown[] };
    expect(outputs).toEqual([`applied ${journal.entries.length} migration(s)`, 'database schema is up to date', 'database schema is up to date']);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const applied = await client.query('select hash from drizzle.__drizzle_migrations');
      expect(applied.rowCount).toBe(journal.entries.length);
      const tables = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'dfm' order by 1");
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['pipeline', 'pipeline_version', 'run', 'task_run', 'run_log', 'webhook_delivery', 'kafka_offset']));
    } finally {
      await client.end();
    }
  });

  it('two dfm serve processes starting together on an empty database apply them once and both serve', async () => {
    const fresh = await createEmptyDatabase();
    const empty = writePipelines({});
    const servers = [1, 2].map(() => spawnDfm(['serve'], { DATABASE_URL: fresh.url, DFM_PIPELINES_DIR: empty.dir }));
    try {
      await Promise.all(servers.map((s) => s.waitForOutput(/dfm is serving/, 60_000)));
      const said = servers.map((s) => (/"msg":"(applied database migrations|database schema is up to date)"/.exec(s.output()) ?? [])[1]).sort();
      expect(said).toEqual(['applied database migrations', 'database schema is up to date']);
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        const journal = JSON.parse(await readFile('drizzle/meta/_journal.json', 'utf8')) as { entries: unknown[] };
        expect((await client.query('select hash from drizzle.__drizzle_migrations')).rowCount).toBe(journal.entries.length);
      } finally {
        await client.end();
      }
    } finally {
      for (const s of servers) s.kill('SIGTERM');
      expect(await Promise.all(servers.map((s) => s.exited))).toEqual([0, 0]);
      empty.remove();
      await fresh.drop();
    }
  });
});
