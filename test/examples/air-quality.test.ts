/**
 * The shipped example pipelines, end to end, on the real broker and database: sample readings are
 * produced to air_quality_info, landed into air_quality_data, aggregated hourly into
 * air_quality_feature_store and summarised daily back to Kafka, where kcat reads them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { nextFireTimes } from '../../src/pipeline/schedule.js';
import { backfillRuns } from '../../src/runs/backfill-runs.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { syncLocalPipelines } from '../../src/sync/sync-local-pipelines.js';
import { taskRows, testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const run = promisify(execFile);

const { o, database } = useOrchestration();
beforeAll(async () => {
  await syncLocalPipelines(o.pool, 'pipelines', testLogger);
  o.startWorker({ concurrency: 4 });
});

describe('the air-quality example pipelines', () => {
  it('land, aggregate and publish the sample readings', async () => {
    const city = `e2e${randomBytes(3).toString('hex')}`;
    const stations = ['centrum', 'haven', 'vondelpark'].map((s) => `${city}-${s}`);

    const sample = await triggerRun(o.pool, { pipelineId: 'air-quality-sample-data', params: { city } });
    expect(await waitForRun(o.pool, sample.runId, 60_000)).toBe('success');

    const landing = await triggerRun(o.pool, { pipelineId: 'air-quality-landing' });
    expect(await waitForRun(o.pool, landing.runId, 120_000)).toBe('success');
    const landed = await o.pool.query('select station, aqi from air_quality_data where station = any($1) order by station', [stations]);
    expect(landed.rows).toEqual([
      { station: `${city}-centrum`, aqi: 42 },
      { station: `${city}-haven`, aqi: 67 },
      { station: `${city}-vondelpark`, aqi: 23 },
    ]);

    // The hour and the day that contain the readings: the next fire of each schedule closes them.
    const now = new Date();
    const [hourFire] = nextFireTimes('10 * * * *', 'UTC', now, 1);
    const hourly = await backfillRuns(o.pool, { pipelineId: 'air-quality-hourly-features', from: hourFire!, to: hourFire! });
    expect(await waitForRun(o.pool, hourly.created[0]!.runId, 60_000)).toBe('success');
    const features = await o.pool.query('select station, readings, max_aqi from air_quality_feature_store where station = any($1) order by station', [stations]);
    expect(features.rows).toEqual([
      { station: `${city}-centrum`, readings: 1, max_aqi: 42 },
      { station: `${city}-haven`, readings: 1, max_aqi: 67 },
      { station: `${city}-vondelpark`, readings: 1, max_aqi: 23 },
    ]);

    const [dayFire] = nextFireTimes('30 0 * * *', 'Europe/Amsterdam', now, 1);
    const daily = await backfillRuns(o.pool, { pipelineId: 'air-quality-daily-summary', from: dayFire!, to: dayFire! });
    const dailyRun = daily.created[0]!.runId;
    expect(await waitForRun(o.pool, dailyRun, 60_000)).toBe('success');
    expect((await taskRows(o.pool, dailyRun))['publish_summary']!.state).toBe('success');

    const { stdout } = await run('kcat', ['-C', '-b', inject('kafkaBrokers').join(','), '-t', 'air_quality_daily_summary', '-e', '-q', '-f', '%k\t%s\n'], { maxBuffer: 64 * 1024 * 1024 });
    const published = stdout
      .split('\n')
      .filter((line) => line.startsWith(city))
      .map((line) => {
        const [key, value] = line.split('\t');
        const json = JSON.parse(value!) as { station: string; max_aqi: number; hours: number };
        return { key, station: json.station, max_aqi: json.max_aqi, hours: json.hours };
      })
      .sort((a, b) => a.station.localeCompare(b.station));
    expect(published).toEqual([
      { key: `${city}-centrum`, station: `${city}-centrum`, max_aqi: 42, hours: 1 },
      { key: `${city}-haven`, station: `${city}-haven`, max_aqi: 67, hours: 1 },
      { key: `${city}-vondelpark`, station: `${city}-vondelpark`, max_aqi: 23, hours: 1 },
    ]);
  });
});
