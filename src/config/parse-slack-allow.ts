/**
 * DFM_SLACK_ALLOW: who may change state from Slack, and on which pipelines. Pure.
 *
 * Format: rules separated by `;`, each `<team_id>/<user_id>=<actions>[@<pipelines>]`:
 *   T024BE7LD/U0G9QF9C6=run,retry@orders-*,billing ; T024BE7LD/*=retry ; T024BE7LD/U0LAN0Z89=*
 * - `<user_id>` may be `*` (everyone of that team); the team is always named (a user id is only
 *   unique within its workspace, and Slack Connect brings other teams' users into channels).
 * - actions: `run`, `cancel`, `retry`, `pause`, `unpause`, `read` (list, status, logs: needed only
 *   with DFM_SLACK_READ=allowed), or `*` for all of them.
 * - pipelines: ids or patterns with `*` (`orders-*`), comma-separated; no `@…` means every pipeline.
 * Ids are Slack's (`team_id`, `user_id` of the request), never a display name or `user_name`,
 * which a user can change to anyone's. Read-only commands (list, status, logs, help) need no rule
 * unless DFM_SLACK_READ=allowed.
 */
export const SLACK_ACTIONS = ['run', 'cancel', 'retry', 'pause', 'unpause', 'read'] as const;
export type SlackAction = (typeof SLACK_ACTIONS)[number];

export interface SlackAllowRule {
  readonly team: string;
  /** A user id, or `*`. */
  readonly user: string;
  readonly actions: readonly SlackAction[];
  /** Patterns with `*`; `['*']` is every pipeline. */
  readonly pipelines: readonly string[];
}

const SLACK_ID = /^[A-Z0-9]{2,30}$/;
const PIPELINE_PATTERN = /^[a-z0-9*][a-z0-9_*-]{0,127}$/;

/** The rules, or the problems (every one, as loadConfig reports them). */
export function parseSlackAllow(text: string): { rules: SlackAllowRule[] } | { problems: string[] } {
  const rules: SlackAllowRule[] = [];
  const problems: string[] = [];
  for (const raw of text.split(';').map((r) => r.trim()).filter(Boolean)) {
    const match = /^([^/=\s]+)\/([^=\s]+)\s*=\s*([^@]+?)\s*(?:@\s*(.+))?$/.exec(raw);
    if (!match) {
      problems.push(`"${raw}" is not a rule; write <team_id>/<user_id>=<actions>[@<pipelines>], e.g. T024BE7LD/U0G9QF9C6=run,retry@orders-*`);
      continue;
    }
    const [, team, user, actionText, pipelineText] = match as unknown as [string, string, string, string, string | undefined];
    if (!SLACK_ID.test(team)) problems.push(`"${team}" in "${raw}" is not a Slack team id (such as T024BE7LD)`);
    if (user !== '*' && !SLACK_ID.test(user)) problems.push(`"${user}" in "${raw}" is not a Slack user id (such as U0G9QF9C6) or *`);
    const actionWords = actionText.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean);
    const actions = actionWords.includes('*') ? [...SLACK_ACTIONS] : actionWords.filter((a): a is SlackAction => (SLACK_ACTIONS as readonly string[]).includes(a));
    for (const word of actionWords) if (word !== '*' && !(SLACK_ACTIONS as readonly string[]).includes(word)) problems.push(`"${word}" in "${raw}" is not an action; use ${SLACK_ACTIONS.join(', ')} or *`);
    const pipelines = pipelineText === undefined ? ['*'] : pipelineText.split(',').map((p) => p.trim()).filter(Boolean);
    for (const pattern of pipelines) if (!PIPELINE_PATTERN.test(pattern)) problems.push(`"${pattern}" in "${raw}" is not a pipeline id or pattern (lower case, digits, - and _, * for any)`);
    rules.push({ team, user, actions, pipelines });
  }
  return problems.length > 0 ? { problems } : { rules };
}

/** Whether a rule lets team/user do the action on the pipeline. Pure. */
export function isSlackActionAllowed(rules: readonly SlackAllowRule[], who: { team: string; user: string }, action: SlackAction, pipelineId: string): boolean {
  return rules.some((rule) => rule.team === who.team && (rule.user === '*' || rule.user === who.user) && rule.actions.includes(action) && rule.pipelines.some((pattern) => matchesPattern(pattern, pipelineId)));
}

function matchesPattern(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return regex.test(id);
}
