import { describe, expect, it } from '@jest/globals';
import { COMPUTER_DEFAULT_TIMEOUT_MS, LOCAL_STEP_BOUND_MS, stepPlacement } from './step-placement';

const computer = (timeoutMs?: number) => ({
  kind: 'computer' as const,
  computer: { runtime: 'javascript' as const, code: 'return 1', ...(timeoutMs === undefined ? {} : { timeoutMs }) },
});

describe('stepPlacement', () => {
  it('evaluates conditions inline, in the workflow', () => {
    expect(stepPlacement({ kind: 'condition', computer: null })).toBe('inline');
  });

  it('runs webhooks as bounded local activities', () => {
    expect(stepPlacement({ kind: 'webhook', computer: null })).toBe('local');
  });

  it('runs a computer step locally when its time limit fits the bound, else as a regular activity', () => {
    expect(COMPUTER_DEFAULT_TIMEOUT_MS).toBeLessThanOrEqual(LOCAL_STEP_BOUND_MS);
    expect(stepPlacement(computer())).toBe('local');
    expect(stepPlacement(computer(LOCAL_STEP_BOUND_MS))).toBe('local');
    expect(stepPlacement(computer(LOCAL_STEP_BOUND_MS + 1))).toBe('remote');
    expect(stepPlacement(computer(60_000))).toBe('remote');
  });

  it('runs agent steps (model calls, heartbeating) as regular activities', () => {
    expect(stepPlacement({ kind: 'agent', computer: null })).toBe('remote');
  });
});
