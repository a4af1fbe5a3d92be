import { describe, expect, it } from '@jest/globals';
import { parseRoles } from './process-roles';

describe('parseRoles (FLAPJACK_ROLES)', () => {
  it('defaults to both roles', () => {
    expect([...parseRoles(undefined)].sort()).toEqual(['api', 'worker']);
    expect([...parseRoles('  ')].sort()).toEqual(['api', 'worker']);
  });

  it('accepts one role or both, in any order, with spaces', () => {
    expect([...parseRoles('api')]).toEqual(['api']);
    expect([...parseRoles('worker')]).toEqual(['worker']);
    expect([...parseRoles(' worker , api ')].sort()).toEqual(['api', 'worker']);
  });

  it('names an unknown role in one line', () => {
    expect(() => parseRoles('api,scheduler')).toThrow(
      'FLAPJACK_ROLES: unknown role "scheduler" (use api, worker or api,worker)',
    );
  });
});
