/**
 * The audit trail: one row per state-changing request from any surface (CLI, Slack, GitHub, the
 * dashboard, the run API, webhooks), allowed or refused. Write it in the transaction of the change
 * when there is one (so a change is never without its row), or on its own for a refusal.
 */
import { z } from 'zod';
import type { Queryable } from '../db/with-transaction.js';
import { auditOutcomes } from '../db/schema.js';

export const auditEntrySchema = z.object({
  /** A stable identity, never a display name: `slack:<team>/<user>`, `token:<name>`, `cli:<os user>`. */
  actor: z.string().min(1).max(200),
  via: z.enum(['cli', 'slack', 'github', 'dashboard', 'api', 'webhook']),
  action: z.string().min(1).max(64),
  /** The pipeline id, `run:<id>` or a SHA. */
  target: z.string().max(500).optional(),
  outcome: z.enum(auditOutcomes),
  /** Why it was refused or failed, what it created; never a secret or a connection string. */
  detail: z.record(z.string(), z.unknown()).default({}),
});
export type AuditEntry = z.input<typeof auditEntrySchema>;

export async function recordAudit(client: Queryable, entry: AuditEntry): Promise<number> {
  const e = auditEntrySchema.parse(entry);
  const { rows } = await client.query<{ id: string }>(
    `insert into dfm.audit (actor, via, action, target, outcome, detail) values ($1, $2, $3, $4, $5, $6::jsonb) returning id`,
    [e.actor, e.via, e.action, e.target ?? null, e.outcome, JSON.stringify(e.detail)],
  );
  return Number(rows[0]!.id);
}
