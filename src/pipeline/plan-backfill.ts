/**
 * The fires a backfill covers, pure: one per fire time in [from, to], each with the logical time
 * and interval the scheduled run of that fire has (so their dedupe keys match).
 */
import { DfmError } from '../lib/errors.js';
import type { Pipeline } from './pipeline-schema.js';
import { toDueFire, type DueFire } from './plan-due-fires.js';
import { fireTimesBetween } from './schedule.js';

export const MAX_BACKFILL_RUNS = 10_000;

export function planBackfill(pipeline: Pipeline, from: Date, to: Date): DueFire[] {
  if (!pipeline.schedule) throw new DfmError('BACKFILL_UNSCHEDULED', `Pipeline "${pipeline.id}" has no schedule, so it has no intervals to backfill; use dfm run instead.`);
  if (from > to) throw new DfmError('BACKFILL_RANGE', `--from (${from.toISOString()}) must not be after --to (${to.toISOString()}).`);
  try {
    return fireTimesBetween(pipeline.schedule, pipeline.timezone, new Date(from.getTime() - 1), to, MAX_BACKFILL_RUNS).map((t) => toDueFire(pipeline.schedule!, pipeline.timezone, t));
  } catch (error) {
    throw new DfmError('BACKFILL_TOO_LARGE', `More than ${MAX_BACKFILL_RUNS} intervals between ${from.toISOString()} and ${to.toISOString()}; backfill a shorter range at a time.`, { cause: error });
  }
}
