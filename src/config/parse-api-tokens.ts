/**
 * `DFM_API_TOKENS`: the run API's tokens, comma-separated entries `<name>:<token>:<pipelines>`,
 * where `<pipelines>` is `*` (every pipeline) or pipeline ids separated by `|`, e.g.
 * `ci:3f9a…:orders-hourly|orders-daily,ops:8c2e…:*`. The name is what the audit trail records
 * (`token:<name>`); the token is at least 16 characters of letters, digits and `-._~+/=` (no `:`
 * or `,`, so the list needs no quoting). Pure, so the configuration stays a function of its env.
 */
import { ID_PATTERN } from '../pipeline/identifiers.js';

export interface ApiToken {
  readonly name: string;
  readonly token: string;
  /** Pipeline ids it may act on; `'*'` for all. */
  readonly pipelines: readonly string[] | '*';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const TOKEN = /^[A-Za-z0-9\-._~+/=]{16,512}$/;

/** The tokens, or the problems (every one, none naming a token's value). */
export function parseApiTokens(text: string): { tokens: ApiToken[]; problems: string[] } {
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  const entries = text.split(',').map((e) => e.trim()).filter(Boolean);
  entries.forEach((entry, index) => {
    const parts = entry.split(':');
    const where = `entry ${index + 1}`;
    if (parts.length !== 3) {
      problems.push(`${where} must be <name>:<token>:<pipelines> (pipelines: * or ids separated by |)`);
      return;
    }
    const [name, token, list] = parts as [string, string, string];
    if (!NAME.test(name)) problems.push(`${where}: name "${name}" must be letters, digits, "_", "." and "-" (at most 63)`);
    if (!TOKEN.test(token)) problems.push(`${where} (${name}): the token must be 16–512 characters of letters, digits and -._~+/=`);
    if (tokens.some((t) => t.name === name)) problems.push(`${where}: the name "${name}" is used twice; each token needs its own name for the audit trail`);
    if (tokens.some((t) => t.token === token)) problems.push(`${where} (${name}): the same token is listed twice`);
    let pipelines: ApiToken['pipelines'] = '*';
    if (list.trim() !== '*') {
      pipelines = list.split('|').map((p) => p.trim());
      const bad = pipelines.filter((p) => !ID_PATTERN.test(p));
      if (pipelines.length === 0 || bad.length > 0) problems.push(`${where} (${name}): pipelines must be * or pipeline ids separated by |, got ${JSON.stringify(list)}`);
    }
    tokens.push({ name, token, pipelines });
  });
  return { tokens, problems };
}

export function mayActOn(token: ApiToken, pipelineId: string): boolean {
  return token.pipelines === '*' || token.pipelines.includes(pipelineId);
}
