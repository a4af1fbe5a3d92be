import { describe, expect, it } from '@jest/globals';
import { useTestContext } from './harness';

const ctx = useTestContext();

describe('API skeleton on the real stack', () => {
  it('reports both dependencies up on /healthz', async () => {
    const r = await ctx.api.get('/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, temporal: 'up', database: 'up' });
  });
  it('creates and reads a runner', async () => {
    const c = await ctx.api.post('/api/runners', { name: 'smoke' });
    expect(c.status).toBe(201);
    const g = await ctx.api.get(`/api/runners/${c.body.id}`);
    expect(g.body.name).toBe('smoke');
  });
});
