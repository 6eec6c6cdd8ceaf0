/**
 * Which registered roles a process runs, from DFM_ROLE or `--role`: a comma-separated list of
 * role names, `all` (every registered role) or `web` (the HTTP server alone, which every process
 * serves). The registry (service-roles.ts) is the only list of role names, so a new role is one
 * registration: DFM_ROLE, `--role` and this check learn its name from there. Pure.
 */
import { DfmError } from '../lib/errors.js';

/** Names with a meaning of their own; a registered role may not take them. */
export const RESERVED_ROLE_NAMES = ['all', 'web'] as const;

/** The registered roles `selection` names, in registry order; an unknown name is an error that lists the known ones. */
export function selectRoles(selection: string, registered: readonly string[]): string[] {
  const names = selection.split(',').map((name) => name.trim()).filter(Boolean);
  const known = [...RESERVED_ROLE_NAMES, ...registered];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new DfmError(
      'ROLE_UNKNOWN',
      `${unknown.length > 0 ? `Unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}` : 'No role'} in DFM_ROLE or --role. Name one or more of ${known.join(', ')}, comma-separated (e.g. scheduler,worker).`,
      { retryable: false },
    );
  }
  return names.includes('all') ? [...registered] : registered.filter((name) => names.includes(name));
}
