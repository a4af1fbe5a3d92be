import { describe, expect, it } from '@jest/globals';
import { request, useTestContext, waitFor } from './harness';

/** The contract gaps of issue 7: bodies, PATCH shape, duplicate step names, runs of deleted runners, filters. */
const ctx = useTestContext();

const computer = (name: string, code: string, orderIndex = 0, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'computer',
  orderIndex,
  computer: { runtime: 'javascript', code },
  ...extra,
});

async function runnerWithStep(step = computer('echo', 'return input')): Promise<string> {
  const r = await ctx.api.post('/api/runners', { name: `gaps-${Date.now()}-${Math.random()}` });
  expect(r.status).toBe(201);
  const s = await ctx.api.post(`/api/runners/${r.body.id}/steps`, step);
  expect(s.status).toBe(201);
  return r.body.id as string;
}

describe('request bodies are JSON whatever the content type', () => {
  it("creates a run from curl -d's form-encoded JSON body, with the input it was sent", async () => {
    const runnerId = await runnerWithStep();
    const res = await request(ctx.app)
      .post(`/api/runners/${runnerId}/runs`)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('{"input": {"city": "Lyon"}}');
    expect(res.status).toBe(201);
    expect(res.body.input).toEqual({ city: 'Lyon' });
    const done = await waitFor(
      () => ctx.api.get(`/api/runners/${runnerId}/runs/${res.body.id}`),
      (r) => r.body.status === 'completed' || r.body.status === 'failed',
      60_000,
    );
    expect(done.body.output).toEqual({ city: 'Lyon' });
  });

  it('reads a body sent as text/plain or with no content type at all', async () => {
    const plain = await request(ctx.app)
      .post('/api/runners')
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .set('Content-Type', 'text/plain')
      .send('{"name": "from-text-plain"}');
    expect(plain.status).toBe(201);
    expect(plain.body.name).toBe('from-text-plain');
    const none = await request(ctx.app)
      .post('/api/runners')
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .unset('Content-Type')
      .send(Buffer.from('{"name": "no-content-type"}'));
    expect(none.status).toBe(201);
    expect(none.body.name).toBe('no-content-type');
  });

  it.each([
    ['application/x-www-form-urlencoded', 'input=hello'],
    ['text/plain', 'not json at all'],
    ['application/json', '{"input": '],
  ])('answers 400 invalid_json for a %s body that is not JSON, and creates nothing', async (type, body) => {
    const runnerId = await runnerWithStep();
    const res = await request(ctx.app)
      .post(`/api/runners/${runnerId}/runs`)
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .set('Content-Type', type)
      .send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
    const list = await ctx.api.get(`/api/runners/${runnerId}/runs`);
    expect(list.body.data).toHaveLength(0);
  });

  it('leaves multipart uploads to their route', async () => {
    const res = await request(ctx.app)
      .post('/api/knowledge/upload')
      .set('Authorization', `Bearer ${ctx.keyA}`)
      .field('scopeType', 'org')
      .attach('file', Buffer.from('Pancakes need eggs.'), { filename: 'notes.txt', contentType: 'text/plain' });
    expect(res.status).toBe(201);
    expect(res.body.chunks).toBe(1);
  });
});

describe('PATCH /api/runners/:id', () => {
  it('answers the same shape as GET, with steps and triggers', async () => {
    const runnerId = await runnerWithStep();
    const patched = await ctx.api.patch(`/api/runners/${runnerId}`, { description: 'now described' });
    expect(patched.status).toBe(200);
    const got = await ctx.api.get(`/api/runners/${runnerId}`);
    expect(patched.body.description).toBe('now described');
    expect(patched.body.steps).toHaveLength(1);
    expect(patched.body.triggers).toEqual([]);
    expect(Object.keys(patched.body).sort()).toEqual(Object.keys(got.body).sort());
    expect(patched.body).toEqual(got.body);
  });
});

describe('step names', () => {
  it('a duplicate name is a 409 conflict, on create and on rename', async () => {
    const runnerId = await runnerWithStep(computer('first', 'return 1'));
    const dup = await ctx.api.post(`/api/runners/${runnerId}/steps`, computer('first', 'return 2', 1));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    expect(dup.body.error.message).toContain('first');
    const second = await ctx.api.post(`/api/runners/${runnerId}/steps`, computer('second', 'return 2', 1));
    expect(second.status).toBe(201);
    const rename = await ctx.api.patch(`/api/runners/${runnerId}/steps/${second.body.id}`, { name: 'first' });
    expect(rename.status).toBe(409);
    expect(rename.body.error.code).toBe('conflict');
  });

  it('a step that is invalid as well as duplicate is a 422 naming the bad field', async () => {
    const runnerId = await runnerWithStep(computer('first', 'return 1'));
    const res = await ctx.api.post(`/api/runners/${runnerId}/steps`, {
      ...computer('first', 'return 2', 1),
      outputSchema: { type: 'no-such-type' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].path).toBe('outputSchema');
  });
});

describe('runs of a deleted runner', () => {
  it('answer 404 like the runner itself (get, list, cancel, idempotent create)', async () => {
    const runnerId = await runnerWithStep();
    const run = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: { a: 1 }, idempotencyKey: 'k-1' });
    expect(run.status).toBe(201);
    await waitFor(
      () => ctx.api.get(`/api/runners/${runnerId}/runs/${run.body.id}`),
      (r) => r.body.status === 'completed',
      60_000,
    );
    expect((await ctx.api.delete(`/api/runners/${runnerId}`)).status).toBe(204);
    const checks = await Promise.all([
      ctx.api.get(`/api/runners/${runnerId}`),
      ctx.api.get(`/api/runners/${runnerId}/runs/${run.body.id}`),
      ctx.api.get(`/api/runners/${runnerId}/runs`),
      ctx.api.post(`/api/runners/${runnerId}/runs/${run.body.id}/cancel`),
      ctx.api.post(`/api/runners/${runnerId}/runs`, { input: { a: 1 }, idempotencyKey: 'k-1' }),
    ]);
    for (const c of checks) {
      expect(c.status).toBe(404);
      expect(c.body.error.code).toBe('not_found');
    }
    // The rows stay (a soft delete): only the API forgets them.
    const row = await ctx.systemDb.$queryRawUnsafe<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM runner_runs WHERE id = $1::uuid',
      run.body.id,
    );
    expect(row[0]?.n).toBe(1);
  });
});

describe('JSONPath filter expressions in steps', () => {
  it('are accepted and evaluated by the workflow; script expressions are still a 422', async () => {
    const runnerId = await runnerWithStep(
      computer('pick', 'return input', 0, { inputMapping: { expensive: '$.input.items[?(@.price > 10)].sku' } }),
    );
    const c = await ctx.api.post(`/api/runners/${runnerId}/steps`, {
      name: 'gate',
      kind: 'condition',
      orderIndex: 1,
      conditionExpr: '$.steps.pick.output.expensive[?(@ == "b")]',
    });
    expect(c.status).toBe(201);
    const run = await ctx.api.post(`/api/runners/${runnerId}/runs`, {
      input: { items: [{ sku: 'a', price: 5 }, { sku: 'b', price: 20 }, { sku: 'c', price: 30 }, { sku: 'd' }] },
    });
    expect(run.status).toBe(201);
    const done = await waitFor(
      () => ctx.api.get(`/api/runners/${runnerId}/runs/${run.body.id}`),
      (r) => r.body.status === 'completed' || r.body.status === 'failed',
      60_000,
    );
    expect(done.body.status).toBe('completed');
    expect(done.body.context.steps.pick.output).toEqual({ expensive: ['b', 'c'] });
    expect(done.body.output).toEqual({ value: 'b', passed: true });

    const script = await ctx.api.post(`/api/runners/${runnerId}/steps`, {
      ...computer('bad', 'return 1', 2),
      inputMapping: { a: '$.input.items[(@.length-1)]' },
    });
    expect(script.status).toBe(422);
    expect(script.body.error.details[0].path).toBe('inputMapping.a');
    const call = await ctx.api.post(`/api/runners/${runnerId}/steps`, {
      name: 'bad2',
      kind: 'condition',
      orderIndex: 3,
      conditionExpr: '$.input.items[?(@.sku.constructor.constructor("return process")())]',
    });
    expect(call.status).toBe(422);
    expect(call.body.error.details[0].path).toBe('conditionExpr');
  });
});
