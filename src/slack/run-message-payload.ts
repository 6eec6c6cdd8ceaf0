/**
 * The payload of a run's Slack reports (`slack.run-message`, `slack.run-thread`), written in SQL by
 * runs/report-run-messages.ts and read here by the deliverer: the facts of the run at the state
 * change it reports.
 */
import { z } from 'zod';

export const runMessagePayloadSchema = z.object({
  runId: z.number().int().positive(),
  pipelineId: z.string(),
  /** As configured in `notify.slack`; empty: DFM_SLACK_DEFAULT_CHANNEL. */
  channel: z.string(),
  state: z.enum(['queued', 'running', 'success', 'failed', 'cancelled']),
  trigger: z.string(),
  requestedBy: z.string().nullable(),
  sourceRef: z.string(),
  commitTitle: z.string(),
  durationMs: z.number().nullable(),
  tasks: z.array(z.object({ id: z.string(), state: z.string(), attempt: z.number().int() })),
  failed: z.object({ task: z.string(), attempt: z.number().int(), error: z.string(), logTail: z.string() }).nullable(),
});

export type RunMessagePayload = z.infer<typeof runMessagePayloadSchema>;
