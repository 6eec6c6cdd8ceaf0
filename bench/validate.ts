/**
 * How many pipelines per second `validatePipelineFiles` validates: 1,000 generated pipelines
 * (5–12 tasks of every type, params, SQL with parameters), side by side with the YAML parse alone
 * so the cost of validation over parsing is visible.
 *
 *   npx tsx bench/validate.ts
 */
import { parseDocument } from 'yaml';
import { validatePipelineFiles } from '../src/pipeline/validate-pipeline-files.js';

const COUNT = 1000;
const ROUNDS = 5;

/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same input. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generatePipeline(index: number, next: () => number): string {
  const tasks: string[] = [];
  const taskCount = 5 + Math.floor(next() * 8);
  for (let t = 0; t < taskCount; t++) {
    const needs = t === 0 ? '' : `\n    needs: [task_${Math.floor(next() * t)}]`;
    switch (t % 4) {
      case 0:
        tasks.push(`  task_${t}:\n    type: postgres.sql${needs}\n    timeout: 5m\n    sql: |\n      insert into features_${index} (station, hour, value)\n      select station, date_trunc('hour', time), avg(aqi)::numeric(10, 2) from readings\n      where time >= :interval_start and time < :interval_end and aqi >= :min_aqi\n      group by 1, 2 on conflict (station, hour) do update set value = excluded.value`);
        break;
      case 1:
        tasks.push(`  task_${t}:\n    type: kafka.to_postgres${needs}\n    topic: readings_${index}\n    table: raw.readings_${index}\n    key: [station, time]\n    columns:\n      station: { type: text }\n      time: { type: timestamptz }\n      aqi: { type: integer }\n    batch_max_wait: 2s`);
        break;
      case 2:
        tasks.push(`  task_${t}:\n    type: postgres.to_kafka${needs}\n    query: select station, value from features_${index} where hour >= :interval_start\n    topic: features_${index}\n    key: station`);
        break;
      default:
        tasks.push(`  task_${t}:\n    type: kafka.produce${needs}\n    topic: markers_${index}\n    messages:\n      - key: "{{ pipeline_id }}"\n        value: { at: "{{ logical_time }}", min: "{{ params.min_aqi }}" }`);
    }
  }
  return `id: generated-${index}\ndescription: Generated pipeline ${index}\nschedule: "${Math.floor(next() * 60)} * * * *"\ntimezone: Europe/Berlin\ncatchup: last\nparams:\n  min_aqi: { type: integer, default: 0 }\ndefaults: { retries: 2, retry_delay: 30s, timeout: 10m }\ntasks:\n${tasks.join('\n')}\n`;
}

const next = random(42);
const files = Array.from({ length: COUNT }, (_, i) => ({ file: `pipelines/generated-${i}.yaml`, text: generatePipeline(i, next) }));

function measure(label: string, run: () => void): number {
  run(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const median = times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
  const perSecond = (COUNT / median) * 1000;
  console.log(`${label.padEnd(34)} ${median.toFixed(1).padStart(8)} ms   ${Math.round(perSecond).toLocaleString('en-US').padStart(8)} pipelines/s`);
  return perSecond;
}

const result = validatePipelineFiles(files);
if (result.pipelines.length !== COUNT) throw new Error(`expected ${COUNT} valid pipelines, got ${result.pipelines.length}: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);

console.log(`${COUNT} generated pipelines (${files.reduce((n, f) => n + f.text.length, 0).toLocaleString('en-US')} bytes), median of ${ROUNDS} rounds, Node ${process.version}`);
const parseOnly = measure('YAML parse only (parseDocument)', () => files.forEach((f) => parseDocument(f.text)));
const full = measure('validatePipelineFiles (everything)', () => validatePipelineFiles(files));
console.log(`validation costs ${(parseOnly / full).toFixed(1)}x the time of parsing alone`);
console.log('reproduce: npx tsx bench/validate.ts');
