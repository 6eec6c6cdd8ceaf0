import { describe, expect, it } from 'vitest';
import { RESERVED_ROLE_NAMES, selectRoles } from './select-roles.js';
import { serviceRoles } from './service-roles.js';

const registered = [
  { name: 'scheduler', http: false },
  { name: 'worker', http: false },
  { name: 'github', http: true },
];

describe('selectRoles', () => {
  it('runs every registered role for all, the HTTP ones for web, and the named ones in registry order', () => {
    expect(selectRoles('all', registered)).toEqual(['scheduler', 'worker', 'github']);
    expect(selectRoles('web', registered)).toEqual(['github']);
    expect(selectRoles('worker', registered)).toEqual(['worker']);
    expect(selectRoles('github, scheduler', registered)).toEqual(['scheduler', 'github']);
    expect(selectRoles('web,worker', registered)).toEqual(['worker', 'github']);
  });

  it('names the unknown roles and lists the known ones', () => {
    expect(() => selectRoles('worker,slack,bogus', registered)).toThrow('Unknown roles "slack", "bogus" in DFM_ROLE or --role. Name one or more of all, web, scheduler, worker, github, comma-separated (e.g. scheduler,worker).');
    expect(() => selectRoles(' , ', registered)).toThrow(/^No role in DFM_ROLE or --role/);
  });

  it('the registry takes no reserved name', () => {
    expect(Object.keys(serviceRoles).filter((name) => (RESERVED_ROLE_NAMES as readonly string[]).includes(name))).toEqual([]);
    expect(Object.keys(serviceRoles)).toEqual(['scheduler', 'worker', 'reporter', 'github', 'slack', 'sync', 'hooks']);
  });
});
