/**
 * Which registered roles a process runs, from DFM_ROLE or `--role`: a comma-separated list of
 * role names, `all` (every registered role) or `web` (the roles that only answer HTTP: the
 * dashboard, the API, the GitHub and Slack ingress; every process serves /healthz and /metrics). The registry (service-roles.ts) is the only list of role names, so a new role is one
 * registration: DFM_ROLE, `--role` and this check learn its name from there. Pure.
 */
import { DfmError } from '../lib/errors.js';

/** Names with a meaning of their own; a registered role may not take them. */
export const RESERVED_ROLE_NAMES = ['all', 'web'] as const;

export interface RegisteredRole {
  readonly name: string;
  /** Serves HTTP only (started by `web`); background roles (scheduler, worker) are not. */
  readonly http: boolean;
}

/** The registered roles `selection` names, in registry order; an unknown name is an error that lists the known ones. */
export function selectRoles(selection: string, roles: readonly RegisteredRole[]): string[] {
  const names = selection.split(',').map((name) => name.trim()).filter(Boolean);
  const registered = roles.map((role) => role.name);
  const known = [...RESERVED_ROLE_NAMES, ...registered];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new DfmError(
      'ROLE_UNKNOWN',
      `${unknown.length > 0 ? `Unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}` : 'No role'} in DFM_ROLE or --role. Name one or more of ${known.join(', ')}, comma-separated (e.g. scheduler,worker).`,
      { retryable: false },
    );
  }
  if (names.includes('all')) return [...registered];
  const web = names.includes('web');
  return roles.filter((role) => names.includes(role.name) || (web && role.http)).map((role) => role.name);
}
