/**
 * A run as the commit status `dfm/<pipeline>` on the commit that defined the pipeline: GitHub's
 * state and a one-line description of at most 140 characters (GitHub refuses a longer one, and a
 * status request that fails loses the report). Pure.
 */
import { cutText } from '../lib/cut-text.js';

/** GitHub refuses a commit status `description` longer than this. */
export const STATUS_DESCRIPTION_MAX_CHARS = 140;

export interface RunForStatus {
  state: 'running' | 'success' | 'failed' | 'cancelled';
  /** Wall-clock time of the run so far or in total; null when it never started. */
  durationMs: number | null;
  /** The task that failed the run, with its error text (may be long, multi-line). */
  failedTask?: { id: string; error: string } | null;
}

export interface CommitStatus {
  state: 'pending' | 'success' | 'failure' | 'error';
  description: string;
}

/** The status context of a pipeline's runs. */
export function statusContext(pipelineId: string): string {
  return `dfm/${pipelineId}`;
}

/** `41s`, `2m 13s`, `1h 5m`, `2d 3h`: two units at most, which is what a glance needs. */
function formatElapsed(ms: number): string {
  const seconds = Math.round(Math.max(0, ms) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const units: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor(seconds / 3_600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'],
    [seconds % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  return units
    .slice(first, first + 2)
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** The first line that says something, with control characters and runs of spaces collapsed. */
function firstLine(text: string): string {
  const line = text.split(/\r\n|\r|\n/).find((l) => l.trim() !== '') ?? '';
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  return line.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
}

export function describeRunStatus(run: RunForStatus): CommitStatus {
  const elapsed = (word: string) => (run.durationMs === null ? '' : ` ${word} ${formatElapsed(run.durationMs)}`);
  switch (run.state) {
    case 'running':
      return { state: 'pending', description: 'Running…' };
    case 'success':
      return { state: 'success', description: cutText(`Succeeded${elapsed('in')}`, STATUS_DESCRIPTION_MAX_CHARS) };
    case 'failed': {
      const task = run.failedTask;
      const error = task ? firstLine(task.error) : '';
      const cause = task ? `: task ${firstLine(task.id)}${error === '' ? '' : ` — ${error}`}` : '';
      return { state: 'failure', description: cutText(`Failed${elapsed('in')}${cause}`, STATUS_DESCRIPTION_MAX_CHARS) };
    }
    case 'cancelled':
      return { state: 'error', description: cutText(`Cancelled${elapsed('after')}`, STATUS_DESCRIPTION_MAX_CHARS) };
  }
}
