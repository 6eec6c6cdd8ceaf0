import { describe, expect, it } from 'vitest';
import { ROLE_NAMES } from '../config/load-config.js';
import { serviceRoles } from './service-roles.js';

describe('the role registry', () => {
  it('registers every role DFM_ROLE and --role accept, and accepts every registered one', () => {
    expect(Object.keys(serviceRoles).sort()).toEqual(ROLE_NAMES.filter((name) => name !== 'all' && name !== 'web').sort());
  });
});
