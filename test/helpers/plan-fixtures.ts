/** Plans and Markdown checks shared by the unit tests of the GitHub renderers. */
import { planChange, type PipelinePlan } from '../../src/pipeline/plan-change.js';

/**
 * The first code fence left open in `markdown` (CommonMark: a fence of ≥ 3 backticks or tildes is
 * closed only by a bare fence of the same character at least as long), or undefined.
 */
export function findOpenFence(markdown: string): string | undefined {
  let open: string | undefined;
  for (const line of markdown.split('\n')) {
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (fence === null) continue;
    const [, run, rest] = fence as unknown as [string, string, string];
    if (open === undefined) open = run;
    else if (run[0] === open[0] && run.length >= open.length && rest.trim() === '') open = undefined;
  }
  return open;
}

const pipelineYaml = (id: string, sql: string, schedule: string) =>
  `id: ${id}\nschedule: "${schedule}"\ntimezone: Europe/Berlin\ntasks:\n  load_orders:\n    type: postgres.sql\n    sql: select 1\n  totals:\n    type: postgres.sql\n    needs: [load_orders]\n    sql: |\n${sql.replace(/^/gm, '      ')}\n`;

/** `count` pipelines whose SQL and schedule both change: each section has a diff and a DAG fence. */
export function planOfChangedPipelines(count: number): PipelinePlan {
  const ids = Array.from({ length: count }, (_, i) => `orders-${String(i).padStart(3, '0')}`);
  const base = ids.map((id) => ({ file: `pipelines/${id}.yaml`, text: pipelineYaml(id, 'insert into mart.totals\nselect sum(amount)\nfrom raw.orders\nwhere amount > 0', '5 * * * *') }));
  const head = ids.map((id) => ({ file: `pipelines/${id}.yaml`, text: pipelineYaml(id, 'insert into mart.totals\nselect sum(amount)\nfrom raw.orders\nwhere amount > 10', '15 * * * *') }));
  return planChange(base, head, { now: new Date('2025-03-29T12:00:00Z'), fireTimes: 3 });
}
