/** The audit trail newest first, paginated by id (a cursor that new rows never shift). */
import type { Queryable } from '../db/with-transaction.js';
import { fromRow } from '../db/from-row.js';
import type { AuditOutcome } from '../db/schema.js';

export interface AuditRow {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly via: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly detail: Record<string, unknown>;
}

export interface AuditQuery {
  readonly limit?: number;
  /** Rows older than this id (the last id of the previous page). */
  readonly before?: number;
  readonly actor?: string;
  readonly target?: string;
}

export async function listAudit(client: Queryable, query: AuditQuery = {}): Promise<AuditRow[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `select * from dfm.audit
      where ($1::bigint is null or id < $1) and ($2::text is null or actor = $2) and ($3::text is null or target = $3)
      order by id desc limit $4`,
    [query.before ?? null, query.actor ?? null, query.target ?? null, Math.min(Math.max(query.limit ?? 50, 1), 1000)],
  );
  return rows.map((r) => fromRow<AuditRow>(r, ['id', 'at', 'actor', 'via', 'action', 'target', 'outcome', 'detail'], { ids: ['id'] }));
}
