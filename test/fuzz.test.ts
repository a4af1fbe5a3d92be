import { describe, expect, it } from '@jest/globals';
import { runFuzz } from '../fuzz/fuzz';
import { useTestContext } from './harness';

/** The CI size of `npm run fuzz`: fixed seed, bounded count, same code. */
const ctx = useTestContext();

describe('fuzz (fixed seed, bounded)', () => {
  it('answers generated requests on every route with no 5xx, the error shape, and no cross-org access', async () => {
    const result = await runFuzz({ app: ctx.app, keyA: ctx.keyA, keyB: ctx.keyB, runs: Number(process.env.FUZZ_RUNS ?? 400), seed: 20261129 });
    expect(result.failures).toEqual([]);
    expect(result.runs).toBe(Number(process.env.FUZZ_RUNS ?? 400));
    expect(result.operations).toBeGreaterThan(60);
    // the generator reaches past auth and validation into the handlers
    const seen = Object.keys(result.statuses);
    expect(seen).toEqual(expect.arrayContaining(['401', '404', '422']));
  }, 600_000);
});
