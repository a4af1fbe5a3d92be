import { describe, expect, it } from '@jest/globals';
import { BudgetAccount, formatUsd, toUnits, toUsd } from './budget';

describe('BudgetAccount', () => {
  it('reserves a worst case that fits and replaces it with the actual cost', () => {
    const a = new BudgetAccount(toUnits(1), [0.8, 0.95]);
    const c = a.check(0.3);
    expect(c).toMatchObject({ fits: true, overByUnits: 0 });
    a.reserve(c.worstCaseUnits);
    expect(a.settle(0.1)).toEqual([]);
    expect(toUsd(a.spentUnits)).toBe(0.1);
    expect(a.reservedUnits).toBe(0);
  });

  it('refuses a call whose worst case exceeds what is left, saying by how much', () => {
    const a = new BudgetAccount(toUnits(0.05), []);
    a.settle(0.04);
    const c = a.check(0.0123);
    expect(c.fits).toBe(false);
    expect(toUsd(c.remainingUnits)).toBe(0.01);
    expect(toUsd(c.overByUnits)).toBe(0.0023);
    // Exactly what is left fits: a run may spend its whole budget, never more.
    expect(a.check(0.01).fits).toBe(true);
  });

  it('rounds a worst case up and never lets float noise over the limit', () => {
    expect(toUnits(0.1 + 0.2, 'up')).toBe(30_000_000);
    expect(toUnits(0.000000011, 'up')).toBe(2);
    const a = new BudgetAccount(toUnits(0.3), []);
    a.settle(0.1);
    a.settle(0.2);
    expect(a.check(0.000000001).fits).toBe(false);
  });

  it('fires each threshold once, in order, even when one call crosses both', () => {
    const a = new BudgetAccount(toUnits(1), [0.8, 0.95]);
    expect(a.settle(0.5)).toEqual([]);
    expect(a.settle(0.3)).toEqual([0.8]);
    expect(a.settle(0.01)).toEqual([]);
    expect(a.settle(0.2)).toEqual([0.95]);
    const b = new BudgetAccount(toUnits(1), [0.8, 0.95]);
    expect(b.settle(0.97)).toEqual([0.8, 0.95]);
    b.raise(10);
    expect(b.settle(5)).toEqual([]);
  });

  it('counts an unknown cost as its reservation, never as free', () => {
    const a = new BudgetAccount(toUnits(1), []);
    a.reserve(a.check(0.25).worstCaseUnits);
    a.settle(null);
    expect(toUsd(a.spentUnits)).toBe(0.25);
  });

  it('enforces nothing without a limit', () => {
    const a = new BudgetAccount(null, [0.8]);
    expect(a.check(1e6).fits).toBe(true);
    expect(a.settle(5)).toEqual([]);
  });

  it('formats small and large amounts', () => {
    expect(formatUsd(5)).toBe('$5.00');
    expect(formatUsd(0.0023)).toBe('$0.0023');
    expect(formatUsd(0.5)).toBe('$0.50');
  });
});
