import { describe, expect, it } from '@jest/globals';
import { runFuzz } from '../scripts/fuzz-requests';
import { useTestContext } from './harness';

/** The CI size of `npm run fuzz`: fixed seed, bounded count, same code. */
const ctx = useTestContext();

describe('fuzz (fixed seed, bounded)', () => {
  it('answers generated requests on every route with no 5xx, the error shape, and no cross-org access', async () => {
    const result = await runFuzz({
      app: ctx.app,
      keyA: ctx.keyA,
      keyB: ctx.keyB,
      runs: Number(process.env.FUZZ_RUNS ?? 400),
      seed: 20261129,
    });
    expect(result.failures).toEqual([]);
    expect(result.runs).toBe(Number(process.env.FUZZ_RUNS ?? 400));
    expect(result.operations).toBeGreaterThan(60);
    // the generator reaches past auth and validation into the handlers
    const seen = Object.keys(result.statuses);
    expect(seen).toEqual(expect.arrayContaining(['401', '404', '422']));
  }, 600_000);
});

describe('NUL characters (found by the fuzzer in knowledge search)', () => {
  it('answers 422 naming the field, never a 500', async () => {
    const probes: [string, string, unknown][] = [
      ['get', `/api/knowledge/search?q=${encodeURIComponent('a\u0000b')}`, undefined],
      ['post', '/api/runners', { name: 'a\u0000b' }],
      ['post', '/api/agents', { name: 'a\u0000b' }],
      ['post', '/api/skills', { name: 'nul-skill', instructions: 'a\u0000b' }],
      ['post', '/api/integrations', { name: 'a\u0000b', kind: 'postgres', connectionString: 'postgres://h/db' }],
    ];
    const out: [string, number, string][] = [];
    for (const [method, path, body] of probes) {
      const res = method === 'get' ? await ctx.api.get(path) : await ctx.api.post(path, body);
      out.push([path, res.status, res.body?.error?.code ?? 'ok']);
    }
    for (const [path, status, code] of out) {
      expect([path, status < 500, code]).toEqual([path, true, status >= 400 ? 'validation_failed' : 'ok']);
    }
  });
});
