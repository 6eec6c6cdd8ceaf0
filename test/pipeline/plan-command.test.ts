/**
 * `dfm plan` and `dfm validate` end to end: a temporary git repository with real commits, the CLI
 * run in-process. No database or broker needed.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinePlan } from '../../src/pipeline/plan-change.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function dfm(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliCaptured(argv, { cwd });
}

const hourly = (schedule: string, timezone: string, extraTask = '') => `id: readings
description: Land readings
schedule: "${schedule}"
timezone: ${timezone}
defaults: { retries: 2, timeout: 10m }
tasks:
  create_table:
    type: postgres.sql
    sql: create table if not exists readings (station text, time timestamptz)
  land:
    type: kafka.to_postgres
    needs: [create_table]
    topic: air_quality_info
    table: readings
${extraTask}`;

const summary = `id: summary
schedule: "@daily"
tasks:
  summarize:
    type: postgres.sql
    sql: select count(*) from readings where time >= :interval_start
`;

const manual = `id: samples
tasks:
  publish:
    type: kafka.produce
    topic: air_quality_info
    messages: [{ value: { aqi: 1 } }]
`;

describe('dfm plan on a temporary git repository', () => {
  let dir: string;
  let git: SimpleGit;
  let base: string;
  let head: string;

  async function commit(files: Record<string, string | null>, message: string): Promise<string> {
    for (const [file, text] of Object.entries(files)) {
      const full = path.join(dir, file);
      if (text === null) await git.rm(file);
      else {
        await mkdir(path.dirname(full), { recursive: true });
        await writeFile(full, text);
        await git.add(file);
      }
    }
    await git.commit(message);
    return (await git.revparse(['HEAD'])).trim();
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dfm-plan-'));
    git = simpleGit({ baseDir: dir });
    await git.init();
    await git.addConfig('user.name', 'dfm test');
    await git.addConfig('user.email', 'dfm@example.com');
    await git.addConfig('commit.gpgsign', 'false');
    base = await commit(
      { 'pipelines/readings.yaml': hourly('0 2 * * *', 'Europe/Berlin'), 'pipelines/summary.yaml': summary, 'pipelines/samples.yaml': manual },
      'base',
    );
    // Rename readings.yaml (same id), change its schedule, add a task; remove the samples pipeline.
    await mkdir(path.join(dir, 'pipelines/air'), { recursive: true });
    await git.mv('pipelines/readings.yaml', 'pipelines/air/readings.yaml');
    head = await commit(
      {
        'pipelines/air/readings.yaml': hourly(
          '30 2 * * *',
          'Europe/Berlin',
          `  features:
    type: postgres.sql
    needs: [land]
    sql: select 1
`,
        ),
        'pipelines/samples.yaml': null,
      },
      'head',
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the rename, schedule change, added task and removed pipeline as JSON', async () => {
    const result = await dfm(['plan', '--repo', dir, '--base', base, '--head', head, '--format', 'json', '--now', '2025-03-27T12:00:00Z'], repoRoot);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as PipelinePlan;
    expect(plan.summary).toEqual({ added: 0, removed: 1, changed: 0, renamed: 1, invalid: 0, unchanged: 1, errors: 0, warnings: 0 });
    const readings = plan.pipelines.find((p) => p.id === 'readings')!;
    expect(readings).toMatchObject({ kind: 'renamed', file: 'pipelines/air/readings.yaml', previousFile: 'pipelines/readings.yaml' });
    expect(readings.fields).toEqual([{ field: 'schedule', before: '0 2 * * *', after: '30 2 * * *' }]);
    expect(readings.tasks).toEqual({ added: ['features'], removed: [], changed: [] });
    expect(readings.edges).toEqual({ added: [['land', 'features']], removed: [] });
    // Berlin springs forward on 2025-03-30 at 02:00 → 03:00: 02:00 and 02:30 do not exist that
    // day, so both schedules fire at 03:00 CEST; the offsets change from +01:00 to +02:00.
    expect(readings.schedule).toEqual({
      before: {
        schedule: '0 2 * * *',
        timezone: 'Europe/Berlin',
        nextFireTimes: ['2025-03-28T02:00:00+01:00', '2025-03-29T02:00:00+01:00', '2025-03-30T03:00:00+02:00', '2025-03-31T02:00:00+02:00', '2025-04-01T02:00:00+02:00'],
      },
      after: {
        schedule: '30 2 * * *',
        timezone: 'Europe/Berlin',
        nextFireTimes: ['2025-03-28T02:30:00+01:00', '2025-03-29T02:30:00+01:00', '2025-03-30T03:00:00+02:00', '2025-03-31T02:30:00+02:00', '2025-04-01T02:30:00+02:00'],
      },
    });
    expect(readings.mermaid).toContain('t1 --> t2');
    expect(plan.pipelines.find((p) => p.id === 'samples')).toMatchObject({ kind: 'removed', file: 'pipelines/samples.yaml' });
    expect(plan.diagnostics).toEqual([]);
  });

  it('prints markdown with a one-line summary first', async () => {
    const result = await dfm(['plan', '--repo', dir, '--base', base, '--head', head, '--now', '2025-03-27T12:00:00Z'], repoRoot);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('<!-- dfm-plan -->');
    expect(lines[2]).toBe('**dfm plan**: 1 renamed, 1 removed · 1 unchanged · ✅ no errors');
    expect(result.stdout).toContain('### 🚚 `readings` moved `pipelines/readings.yaml` → `pipelines/air/readings.yaml`');
    expect(result.stdout).toContain('| `schedule` | `0 2 * * *` | `30 2 * * *` |');
    expect(result.stdout).toContain('| 3 | 2025-03-30T03:00:00+02:00 | 2025-03-30T03:00:00+02:00 |');
    expect(result.stdout).toContain('```mermaid');
    expect(result.stdout).toContain('### 🗑️ `samples` removed');
  });

  it('reports an added pipeline and head diagnostics, exiting 1 on errors', async () => {
    const broken = await commit({ 'pipelines/new.yaml': 'id: fresh\ntasks:\n  a:\n    type: postgres.sql\n    sql: select :nope\n' }, 'broken');
    const result = await dfm(['plan', '--repo', dir, '--base', head, '--head', broken, '--format', 'json', '--now', '2025-03-27T12:00:00Z'], repoRoot);
    expect(result.code).toBe(1);
    const plan = JSON.parse(result.stdout) as PipelinePlan;
    expect(plan.pipelines).toEqual([expect.objectContaining({ kind: 'invalid', id: 'fresh', file: 'pipelines/new.yaml' })]);
    expect(plan.diagnostics.map((d) => [d.file, d.line, d.column, d.code])).toEqual([['pipelines/new.yaml', 5, 17, 'unknown-sql-param']]);
    const fixed = await commit({ 'pipelines/new.yaml': 'id: fresh\nschedule: "@hourly"\ntasks:\n  a:\n    type: postgres.sql\n    sql: select 1\n' }, 'fixed');
    const added = JSON.parse((await dfm(['plan', '--repo', dir, '--base', head, '--head', fixed, '--format', 'json', '--now', '2025-03-27T12:00:00Z'], repoRoot)).stdout) as PipelinePlan;
    expect(added.pipelines).toEqual([
      expect.objectContaining({ kind: 'added', id: 'fresh', schedule: { after: expect.objectContaining({ nextFireTimes: ['2025-03-27T13:00:00+00:00', '2025-03-27T14:00:00+00:00', '2025-03-27T15:00:00+00:00', '2025-03-27T16:00:00+00:00', '2025-03-27T17:00:00+00:00'] }) } }),
    ]);
  });

  it('exits 2 on an unknown revision', async () => {
    const result = await dfm(['plan', '--repo', dir, '--base', 'no-such-branch', '--head', head], repoRoot);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"no-such-branch" is not a commit');
  });
});

describe('dfm validate', () => {
  it('exits 0 on the shipped example pipelines', async () => {
    const result = await dfm(['validate', 'pipelines/'], repoRoot);
    expect(result.stdout).toMatch(/4 valid pipelines, 0 errors/);
    expect(result.code).toBe(0);
  });

  it('exits 1 with errors and prints json and github formats', async () => {
    const file = 'test/fixtures/pipelines/invalid/unknown-field-task.yaml';
    const json = await dfm(['validate', '--format', 'json', file], repoRoot);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as { pipelines: number; diagnostics: Record<string, unknown>[] };
    expect(parsed.pipelines).toBe(0);
    for (const d of parsed.diagnostics) expect(Object.keys(d).filter((k) => k !== 'hint')).toEqual(['file', 'line', 'column', 'endLine', 'endColumn', 'severity', 'code', 'message']);
    const github = await dfm(['validate', '--format', 'github', file], repoRoot);
    expect(github.code).toBe(1);
    expect(github.stdout).toMatch(/^::error file=test\/fixtures\/pipelines\/invalid\/unknown-field-task\.yaml,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=dfm unknown-field::/);
    expect(await readFile(path.join(repoRoot, file), 'utf8')).toContain('topcs');
  });

  it('exits 2 on usage errors', async () => {
    expect((await dfm(['validate', 'no/such/folder'], repoRoot)).code).toBe(2);
    expect((await dfm(['validate', '--format', 'xml', 'pipelines'], repoRoot)).code).toBe(2);
  });
});
