import { describe, expect, it } from '@jest/globals';
import { useTestContext } from './harness';

const ctx = useTestContext();

async function newRunner(extra: Record<string, unknown> = {}) {
  const r = await ctx.api.post('/api/runners', { name: 'validation', ...extra });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

function paths(body: { error: { details?: { path: string }[] } }): string[] {
  return (body.error.details ?? []).map((d) => d.path);
}

describe('runner validation', () => {
  it('refuses a runner without a name, naming the field', async () => {
    const r = await ctx.api.post('/api/runners', { description: 'x' });
    expect(r.status).toBe(422);
    expect(paths(r.body)).toContain('name');
  });
  it('refuses an inputSchema that is not a valid JSON Schema', async () => {
    const r = await ctx.api.post('/api/runners', { name: 'x', inputSchema: { type: 'not-a-type' } });
    expect(r.status).toBe(422);
    expect(paths(r.body)).toContain('inputSchema');
  });
  it('refuses unknown fields', async () => {
    const r = await ctx.api.post('/api/runners', { name: 'x', colour: 'blue' });
    expect(r.status).toBe(422);
    expect(r.body.error.details[0].message).toMatch(/colour/);
  });
  it('updates and deletes a runner; a deleted runner is gone', async () => {
    const id = await newRunner();
    const p = await ctx.api.patch(`/api/runners/${id}`, { description: 'now described', defaultModel: 'gpt-x' });
    expect(p.status).toBe(200);
    expect(p.body.description).toBe('now described');
    expect((await ctx.api.delete(`/api/runners/${id}`)).status).toBe(204);
    expect((await ctx.api.get(`/api/runners/${id}`)).status).toBe(404);
    expect((await ctx.api.post(`/api/runners/${id}/runs`, { input: {} })).status).toBe(404);
  });
});

describe('step validation at save time', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a kind outside the four', { name: 's', kind: 'email', orderIndex: 0 }, 'kind'],
    ['a webhook step without webhookUrl', { name: 's', kind: 'webhook', orderIndex: 0 }, 'webhookUrl'],
    [
      'a webhook URL that is not http(s)',
      { name: 's', kind: 'webhook', orderIndex: 0, webhookUrl: 'ftp://x.example' },
      'webhookUrl',
    ],
    ['a condition step without conditionExpr', { name: 's', kind: 'condition', orderIndex: 0 }, 'conditionExpr'],
    [
      'a conditionExpr that is not JSONPath',
      { name: 's', kind: 'condition', orderIndex: 0, conditionExpr: 'steps.a' },
      'conditionExpr',
    ],
    ['a computer step without code', { name: 's', kind: 'computer', orderIndex: 0 }, 'computer.code'],
    [
      'an agent step with a webhook URL (a field no agent step reads)',
      { name: 's', kind: 'agent', orderIndex: 0, webhookUrl: 'https://x.example/h' },
      'webhookUrl',
    ],
    [
      'a webhook step with a model override',
      { name: 's', kind: 'webhook', orderIndex: 0, webhookUrl: 'https://x.example/h', modelOverride: 'gpt-5.4' },
      'modelOverride',
    ],
    [
      'a condition step with code',
      {
        name: 's',
        kind: 'condition',
        orderIndex: 0,
        conditionExpr: '$.input',
        computer: { runtime: 'javascript', code: 'return 1' },
      },
      'computer',
    ],
    [
      'a computer step with an empty code',
      { name: 's', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: '' } },
      'computer.code',
    ],
    [
      'a computer runtime other than javascript',
      { name: 's', kind: 'computer', orderIndex: 0, computer: { runtime: 'python', code: 'x' } },
      'computer.runtime',
    ],
    [
      'a computer time limit over 60 s',
      {
        name: 's',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return 1', timeoutMs: 600000 },
      },
      'computer.timeoutMs',
    ],
    [
      'an inputMapping value that is not JSONPath',
      {
        name: 's',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return 1' },
        inputMapping: { a: 'input.url' },
      },
      'inputMapping.a',
    ],
    [
      'an inputMapping with a script expression',
      {
        name: 's',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return 1' },
        inputMapping: { a: '$..[(@.length-1)]' },
      },
      'inputMapping.a',
    ],
    [
      'an outputSchema that is not a JSON Schema',
      {
        name: 's',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return 1' },
        outputSchema: { type: 12 },
      },
      'outputSchema',
    ],
    [
      'a step name that cannot be a context key',
      { name: 'has space', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: 'return 1' } },
      'name',
    ],
    [
      'a negative orderIndex',
      { name: 's', kind: 'computer', orderIndex: -1, computer: { runtime: 'javascript', code: 'return 1' } },
      'orderIndex',
    ],
    [
      'an agentId of no agent',
      { name: 's', kind: 'agent', orderIndex: 0, agentId: '00000000-0000-4000-8000-000000000000' },
      'agentId',
    ],
  ];
  it.each(cases)('refuses %s with a 422 naming the field', async (_label, body, field) => {
    const id = await newRunner();
    const r = await ctx.api.post(`/api/runners/${id}/steps`, body);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('validation_failed');
    expect(paths(r.body)).toContain(field);
    expect((await ctx.api.get(`/api/runners/${id}`)).body.steps).toHaveLength(0);
  });

  it('refuses a second step with the same name in one runner with a 409 conflict', async () => {
    const id = await newRunner();
    const step = {
      name: 'dup',
      kind: 'computer',
      orderIndex: 0,
      computer: { runtime: 'javascript', code: 'return 1' },
    };
    expect((await ctx.api.post(`/api/runners/${id}/steps`, step)).status).toBe(201);
    const r = await ctx.api.post(`/api/runners/${id}/steps`, { ...step, orderIndex: 1 });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('conflict');
    expect(r.body.error.message).toContain('"dup"');
  });

  /** A new runner with one webhook step, `hook`. */
  async function runnerWithWebhookStep() {
    const id = await newRunner();
    const s = await ctx.api.post(`/api/runners/${id}/steps`, {
      name: 'hook',
      kind: 'webhook',
      orderIndex: 0,
      webhookUrl: 'https://example.com/h',
    });
    expect(s.status).toBe(201);
    return { id, s };
  }

  it('checks an update against the merged step (clearing a webhook URL is refused)', async () => {
    const { id, s } = await runnerWithWebhookStep();
    const r = await ctx.api.patch(`/api/runners/${id}/steps/${s.body.id}`, { webhookUrl: null });
    expect(r.status).toBe(422);
    expect(paths(r.body)).toContain('webhookUrl');
    const ok = await ctx.api.patch(`/api/runners/${id}/steps/${s.body.id}`, { orderIndex: 3 });
    expect(ok.status).toBe(200);
    expect(ok.body.orderIndex).toBe(3);
  });

  it('refuses, on an update, a field the step kind does not read, and accepts null to clear it', async () => {
    const { id, s } = await runnerWithWebhookStep();
    const r = await ctx.api.patch(`/api/runners/${id}/steps/${s.body.id}`, { preambleOverride: 'Be brief.' });
    expect(r.status).toBe(422);
    expect(r.body.error.details).toEqual([
      { path: 'preambleOverride', message: 'applies only to agent steps, not to a webhook step' },
    ]);
    // Into an agent step: the webhook's URL is cleared in the same request, the agent's fields are accepted.
    const refused = await ctx.api.patch(`/api/runners/${id}/steps/${s.body.id}`, {
      kind: 'agent',
      webhookUrl: 'https://example.com/x',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual([
      { path: 'webhookUrl', message: 'applies only to webhook steps, not to an agent step' },
    ]);
    const moved = await ctx.api.patch(`/api/runners/${id}/steps/${s.body.id}`, {
      kind: 'agent',
      webhookUrl: null,
      preambleOverride: 'Be brief.',
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ kind: 'agent', webhookUrl: null, preambleOverride: 'Be brief.' });
  });

  it('returns steps in orderIndex order, masks webhook header values, and deletes a step', async () => {
    const id = await newRunner();
    await ctx.api.post(`/api/runners/${id}/steps`, {
      name: 'b',
      kind: 'computer',
      orderIndex: 2,
      computer: { runtime: 'javascript', code: 'return 1' },
    });
    const a = await ctx.api.post(`/api/runners/${id}/steps`, {
      name: 'a',
      kind: 'webhook',
      orderIndex: 1,
      webhookUrl: 'https://example.com/h',
      webhookHeaders: { Authorization: 'Bearer super-secret-value' },
    });
    expect(a.body.webhookHeaders.Authorization).toBe('****alue');
    const runner = await ctx.api.get(`/api/runners/${id}`);
    expect(runner.body.steps.map((s: { name: string }) => s.name)).toEqual(['a', 'b']);
    expect(JSON.stringify(runner.body)).not.toContain('super-secret-value');
    expect((await ctx.api.delete(`/api/runners/${id}/steps/${a.body.id}`)).status).toBe(204);
    expect((await ctx.api.delete(`/api/runners/${id}/steps/${a.body.id}`)).status).toBe(404);
  });

  it("hides another org's runner and steps behind 404", async () => {
    const id = await newRunner();
    const b = ctx.as(ctx.keyB);
    expect((await b.get(`/api/runners/${id}`)).status).toBe(404);
    expect(
      (
        await b.post(`/api/runners/${id}/steps`, {
          name: 'x',
          kind: 'condition',
          orderIndex: 0,
          conditionExpr: '$.input',
        })
      ).status,
    ).toBe(404);
    expect((await b.post(`/api/runners/${id}/runs`, { input: {} })).status).toBe(404);
    expect((await b.get(`/api/runners/${id}/runs`)).status).toBe(404);
  });
});
