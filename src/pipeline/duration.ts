/**
 * Durations in pipeline YAML are strings with units (`500ms`, `30s`, `10m`, `1h30m`, `2d`) and are
 * normalized to milliseconds. Bare numbers are rejected: `timeout: 30` could mean seconds or
 * minutes, and guessing wrong makes a task time out 60x too early or too late.
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** The longest duration dfm accepts anywhere (365 days), so sums never lose integer precision. */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const compact = text.trim();
  if (!DURATION.test(compact)) return undefined;
  let total = 0;
  for (const [, amount, unit] of compact.matchAll(PART)) total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total;
}

/** The shortest exact spelling of a duration: 90000 → `1m30s`, 1500 → `1s500ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}
