/**
 * kafka.to_postgres without `columns` maps record fields to the table's columns by name (issue 12,
 * part 2): read from the catalog at start, cast to each column's type; a missing field is the
 * column's default or NULL, and a dead letter naming the column where the column is NOT NULL
 * without a default; extra fields are ignored; a table of one jsonb column keeps the whole value;
 * an upsert key is a column like any other; a type dfm cannot cast to stops the task at start.
 * Real broker (records from kcat, three partitions) and real PostgreSQL, through the worker.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { activate, taskRows, useOrchestration } from '../helpers/orchestration.js';
import { runToEnd } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, produceWithKcat } from './kafka-test-tools.js';

const topics = { readings: uniqueTopic('dfm-byname-readings'), defaults: uniqueTopic('dfm-byname-defaults'), whole: uniqueTopic('dfm-byname-whole'), latest: uniqueTopic('dfm-byname-latest'), uuid: uniqueTopic('dfm-byname-uuid') };

const { o } = useOrchestration();
afterAll(async () => {
  for (const topic of Object.values(topics)) await deleteTopic(topic);
});

const task = (name: string, topic: string, table: string, extra = '') => `  ${name}:
    type: kafka.to_postgres
    topic: ${topic}
    table: ${table}
    batch_size: 100
    batch_max_wait: 200ms
    session_timeout: 6s
${extra}`;

describe('kafka.to_postgres without "columns"', () => {
  it('lands the issue\'s example exactly once, fields by name, and applies defaults, NULLs and NOT NULL rules', async () => {
    for (const topic of Object.values(topics)) await createTopic(topic, 3);
    await o.pool.query(`
      create table readings (id int, station text, aqi int);
      create table with_defaults (
        id bigint not null,
        station text not null,
        aqi int,
        at timestamptz not null default '2000-01-01T00:00:00Z',
        level int default 7,
        seq bigserial,
        doubled bigint generated always as (id * 2) stored,
        row_id bigint generated always as identity
      );
      create table whole (id bigserial primary key, value jsonb not null, landed timestamptz not null default now());
      create table latest (station text primary key, aqi int, updates int);
    `);
    // The producer: 600 records over three partitions, a few with fields the table lacks.
    const readings = Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ id: i + 1, station: `st-${i % 7}`, aqi: 42 + (i % 5), ...(i % 50 === 0 ? { extra: 'ignored', nested: { a: 1 } } : {}) }) }));
    readings[3] = { key: 'k3', value: '{"id": 4, "station": "st-3"}' };
    await produceWithKcat(topics.readings, readings);
    await produceWithKcat(topics.defaults, [
      { key: 'a', value: '{"id": 1, "station": "st-1", "aqi": 42, "at": "2024-01-31T10:00:00Z", "level": 3, "doubled": 99, "row_id": 99, "unknown": true}' },
      // aqi: NULL; at, level, seq: their defaults; doubled and row_id: PostgreSQL's.
      { key: 'b', value: '{"id": 2, "station": "st-2"}' },
      // JSON null on a column with a default: the default.
      { key: 'c', value: '{"id": 3, "station": "st-3", "at": null, "level": null}' },
      // station is NOT NULL without a default: a dead letter that names it.
      { key: 'd', value: '{"id": 4, "aqi": 7}' },
      { key: 'e', value: '{"id": 5, "station": null}' },
      // A value that does not fit its catalog type: the explicit mapping's rule and message.
      { key: 'f', value: '{"id": "five", "station": "st-5"}' },
    ]);
    await produceWithKcat(topics.whole, [
      { key: 'w1', value: '{"order_id": "o-1", "amount": 12.5, "items": [1, 2]}' },
      { key: 'w2', value: '{"order_id": "o-2"}' },
    ]);
    // One partition key per station so the order per station is the order produced.
    await produceWithKcat(topics.latest, [
      ...Array.from({ length: 30 }, (_, i) => ({ key: `st-${i % 3}`, value: JSON.stringify({ station: `st-${i % 3}`, aqi: i, updates: i + 1, ignored: 'x' }) })),
      { key: 'st-9', value: '{"aqi": 1}' },
    ]);

    await activate(
      o.pool,
      `id: by-name
tasks:
${task('readings', topics.readings, 'readings')}${task('defaults', topics.defaults, 'with_defaults')}${task('whole', topics.whole, 'whole')}${task('latest', topics.latest, 'latest', '    key: [station]\n')}`,
    );
    o.startWorker();
    const first = await runToEnd(o.pool, 'by-name', 90_000);
    expect(first.state, JSON.stringify(await taskRows(o.pool, first.runId))).toBe('success');

    // Exactly once: every id once, each with its own fields; a second run has nothing left to land.
    const second = await runToEnd(o.pool, 'by-name', 90_000);
    expect(second.state).toBe('success');
    const landed = await o.pool.query<{ id: number; station: string; aqi: number | null }>('select id, station, aqi from readings order by id');
    expect(landed.rows).toHaveLength(600);
    expect(landed.rows.map((r) => r.id)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(landed.rows[0]).toEqual({ id: 1, station: 'st-0', aqi: 42 });
    expect(landed.rows[599]).toEqual({ id: 600, station: 'st-4', aqi: 46 });
    expect(landed.rows[3]).toEqual({ id: 4, station: 'st-3', aqi: null });

    const defaults = await o.pool.query('select id, station, aqi, at, level, seq, doubled, row_id from with_defaults order by id');
    expect(defaults.rows.map((r) => ({ ...r, at: (r.at as Date).toISOString() }))).toEqual([
      { id: '1', station: 'st-1', aqi: 42, at: '2024-01-31T10:00:00.000Z', level: 3, seq: expect.any(String), doubled: '2', row_id: expect.any(String) },
      { id: '2', station: 'st-2', aqi: null, at: '2000-01-01T00:00:00.000Z', level: 7, seq: expect.any(String), doubled: '4', row_id: expect.any(String) },
      { id: '3', station: 'st-3', aqi: null, at: '2000-01-01T00:00:00.000Z', level: 7, seq: expect.any(String), doubled: '6', row_id: expect.any(String) },
    ]);
    expect(new Set(defaults.rows.map((r) => r.seq)).size).toBe(3);
    const dead = await o.pool.query<{ key: string; error: string }>("select key, error from dfm.dead_letter where consumer = 'dfm.by-name.defaults' order by key");
    expect(dead.rows).toEqual([
      { key: 'd', error: 'field "station" is missing or null, and column station is NOT NULL without a default' },
      { key: 'e', error: 'field "station" is missing or null, and column station is NOT NULL without a default' },
      { key: 'f', error: 'field "id" → column id (bigint): expected a bigint, got "five"' },
    ]);

    const whole = await o.pool.query<{ value: unknown; landed: Date }>('select value, landed from whole order by id');
    expect(whole.rows.map((r) => r.value).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { order_id: 'o-1', amount: 12.5, items: [1, 2] },
      { order_id: 'o-2' },
    ]);
    expect(whole.rows.every((r) => r.landed instanceof Date)).toBe(true);

    // Upsert by the key column: the last record of each station wins; a record without it is a dead letter.
    const latest = await o.pool.query('select station, aqi, updates from latest order by station');
    expect(latest.rows).toEqual([
      { station: 'st-0', aqi: 27, updates: 28 },
      { station: 'st-1', aqi: 28, updates: 29 },
      { station: 'st-2', aqi: 29, updates: 30 },
    ]);
    const keyless = await o.pool.query<{ error: string }>("select error from dfm.dead_letter where consumer = 'dfm.by-name.latest'");
    expect(keyless.rows).toEqual([{ error: 'key field "station" is missing or null' }]);
  });

  it('stops at start on a column type it cannot cast to, naming the column, its type and the supported types', async () => {
    await o.pool.query('create table with_uuid (id int, ref uuid not null)');
    await produceWithKcat(topics.uuid, [{ key: 'u', value: '{"id": 1, "ref": "6f1c8c3e-2a55-4a8e-9a57-1c1c2b7c9d10"}' }]);
    await activate(o.pool, `id: by-name-uuid\ntasks:\n${task('land', topics.uuid, 'with_uuid')}`);
    const { runId, state } = await runToEnd(o.pool, 'by-name-uuid', 60_000);
    expect(state).toBe('failed');
    const { land } = await taskRows(o.pool, runId);
    expect(land!.attempt).toBe(1);
    expect(land!.error).toMatchObject({ code: 'TARGET_COLUMN_TYPE_UNSUPPORTED' });
    expect(land!.error!.message).toMatch(/^Table with_uuid: column ref has type uuid, which kafka\.to_postgres cannot cast a record field to by name \(it casts to text, character varying, .*, jsonb, json\)\. Map the columns explicitly under "columns"/);
    expect(await o.pool.query('select count(*)::int as n from with_uuid')).toMatchObject({ rows: [{ n: 0 }] });
  });
});
