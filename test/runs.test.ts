import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { json, startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';
import { recordHistory } from './record-history';

const ctx = useTestContext();
let fail500 = 0;
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
beforeAll(async () => {
  hooks = await startWebhookServer({
    '/enrich': (req, res) => {
      const b = req.body as { url: string; tags: number };
      json(res, 200, { products: [{ sku: 'a' }, { sku: 'b' }, { sku: 'c' }], seenUrl: b.url, tags: b.tags });
    },
    '/empty': (_req, res) => json(res, 200, { products: [] }),
    '/slow': (_req, res) => {
      setTimeout(() => json(res, 200, { late: true }), 20_000).unref();
    },
    '/bad-request': (_req, res) => json(res, 400, { error: 'nope' }),
    '/slowish': (_req, res) => {
      setTimeout(() => json(res, 200, { late: true }), 700).unref();
    },
    '/flaky': (_req, res) => {
      fail500++;
      if (fail500 <= 2) json(res, 503, { error: 'try later' });
      else json(res, 200, { ok: true, attempts: fail500 });
    },
    '/not-json': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('hello');
    },
  });
});
afterAll(() => hooks.close());

async function makeRunner(steps: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  const r = await ctx.api.post('/api/runners', { name: `runner-${Math.random()}`, ...extra });
  expect(r.status).toBe(201);
  for (const s of steps) {
    const sr = await ctx.api.post(`/api/runners/${r.body.id}/steps`, s);
    expect(sr.status).toBe(201);
  }
  return r.body.id as string;
}

async function runToEnd(runnerId: string, input: unknown, timeoutMs = 30_000) {
  const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input });
  expect(c.status).toBe(201);
  const done = await waitFor(
    async () => (await ctx.api.get(`/api/runners/${runnerId}/runs/${c.body.id}`)).body,
    (b) => ['completed', 'failed', 'cancelled'].includes(b.status),
    timeoutMs,
  );
  return done;
}

describe('a webhook → condition → computer pipeline', () => {
  it('runs end to end, with JSONPath mapping, .length, and the context merged', async () => {
    const runnerId = await makeRunner(
      [
        {
          name: 'discovery',
          kind: 'webhook',
          orderIndex: 0,
          webhookUrl: hooks.url('/enrich'),
          webhookHeaders: { 'X-Api-Token': 'secret-token-123' },
          inputMapping: { url: '$.input.url', tags: '$.input.tags.length' },
        },
        {
          name: 'has_products',
          kind: 'condition',
          orderIndex: 1,
          conditionExpr: '$.steps.discovery.output.products.length',
        },
        {
          name: 'summarize',
          kind: 'computer',
          orderIndex: 2,
          inputMapping: {
            count: '$.steps.discovery.output.products.length',
            skus: '$.steps.discovery.output.products[*].sku',
          },
          computer: { runtime: 'javascript', code: 'return { count: input.count, joined: input.skus.join(",") };' },
          outputSchema: { type: 'object', required: ['count'], properties: { count: { type: 'integer' } } },
        },
      ],
      { inputSchema: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } } },
    );
    const run = await runToEnd(runnerId, { url: 'https://example.com', tags: ['x', 'y'] });
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ count: 3, joined: 'a,b,c' });
    expect(run.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['discovery', 'completed'],
      ['has_products', 'completed'],
      ['summarize', 'completed'],
    ]);
    expect(run.steps[0].input).toEqual({ url: 'https://example.com', tags: 2 });
    expect(run.context.steps.discovery.status).toBe('completed');
    expect(run.context.steps.summarize.output).toEqual({ count: 3, joined: 'a,b,c' });
    expect(run.context.input).toEqual({ url: 'https://example.com', tags: ['x', 'y'] });
    expect(run.currentStep).toBe(2);
    expect(run.startedAt).toBeTruthy();
    expect(run.completedAt).toBeTruthy();
    const req = hooks.requests.find((r) => r.path === '/enrich');
    expect(req?.headers['idempotency-key']).toBe(`${run.id}:discovery`);
    expect(req?.headers['x-api-token']).toBe('secret-token-123');
    expect(req?.body).toEqual({ url: 'https://example.com', tags: 2 });
    // The header value is stored encrypted, in the step and in the run's snapshot.
    const stored = await ctx.systemDb.$queryRaw<{ step: string; snap: string }[]>`
      SELECT (SELECT webhook_headers::text FROM runner_steps WHERE runner_id = ${runnerId}::uuid AND name = 'discovery') AS step,
             (SELECT snapshot::text FROM runner_runs WHERE id = ${run.id}::uuid) AS snap`;
    expect(stored[0]?.step).toMatch(/^"v1:/);
    expect(stored[0]?.step).not.toContain('secret-token-123');
    expect(stored[0]?.snap).not.toContain('secret-token-123');
    await recordHistory(run.id, 'webhook-condition-computer');
  });

  it('marks the remaining steps skipped and completes when the condition is false', async () => {
    const runnerId = await makeRunner([
      { name: 'discovery', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/empty') },
      { name: 'gate', kind: 'condition', orderIndex: 1, conditionExpr: '$.steps.discovery.output.products.length' },
      { name: 'never', kind: 'computer', orderIndex: 2, computer: { runtime: 'javascript', code: 'return 1' } },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('completed');
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed', 'skipped']);
    expect(run.steps[1].output).toEqual({ value: 0, passed: false });
    expect(run.context.steps.never.status).toBe('skipped');
    await recordHistory(run.id, 'condition-false');
  });

  it('freezes the runner definition into the run (editing the runner later changes nothing)', async () => {
    const runnerId = await makeRunner([
      { name: 'calc', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: 'return { v: 1 }' } },
    ]);
    const run = await runToEnd(runnerId, {});
    const steps = (await ctx.api.get(`/api/runners/${runnerId}`)).body.steps;
    await ctx.api.patch(`/api/runners/${runnerId}/steps/${steps[0].id}`, {
      computer: { runtime: 'javascript', code: 'return { v: 2 }' },
    });
    const again = (await ctx.api.get(`/api/runners/${runnerId}/runs/${run.id}`)).body;
    expect(again.output).toEqual({ v: 1 });
    const second = await runToEnd(runnerId, {});
    expect(second.output).toEqual({ v: 2 });
  });
});

describe('step failures', () => {
  it('does not retry a 4xx and fails the run naming the step', async () => {
    const before = hooks.requests.filter((r) => r.path === '/bad-request').length;
    const runnerId = await makeRunner([
      { name: 'call', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/bad-request') },
      { name: 'after', kind: 'computer', orderIndex: 1, computer: { runtime: 'javascript', code: 'return 1' } },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('webhook_http_error');
    expect(run.error.step).toBe('call');
    expect(run.error.message).toMatch(/400/);
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['failed', 'skipped']);
    expect(hooks.requests.filter((r) => r.path === '/bad-request').length - before).toBe(1);
    await recordHistory(run.id, 'webhook-4xx-failed');
  });

  it('retries a 5xx with backoff until it succeeds', async () => {
    const runnerId = await makeRunner([
      { name: 'call', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/flaky') },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ ok: true, attempts: 3 });
    await recordHistory(run.id, 'webhook-5xx-retried');
  });

  it('fails a non-JSON 2xx answer', async () => {
    const runnerId = await makeRunner([
      { name: 'call', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/not-json') },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('webhook_invalid_response');
  });

  it('refuses private, loopback and link-local webhook targets (SSRF)', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/x',
      'http://127.0.0.2:9/x',
      'http://[::1]:9/x',
    ]) {
      const runnerId = await makeRunner([{ name: 'call', kind: 'webhook', orderIndex: 0, webhookUrl: url }]);
      const run = await runToEnd(runnerId, {});
      expect(run.status).toBe('failed');
      expect(run.error.code).toBe('egress_refused');
    }
  });

  it('fails a computer step that runs past its time limit, saying so', async () => {
    const runnerId = await makeRunner([
      {
        name: 'spin',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'while (true) {}', timeoutMs: 200 },
      },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('sandbox_timeout');
    expect(run.error.message).toMatch(/time limit of 200 ms/);
    await recordHistory(run.id, 'sandbox-timeout');
  });

  it('keeps sandbox escapes out: no process, require or host objects', async () => {
    const code = `
      const found = [];
      try { found.push(typeof process); } catch (e) { found.push('err'); }
      try { found.push(typeof require); } catch (e) { found.push('err'); }
      try { found.push(typeof this.constructor.constructor('return typeof process')()); } catch (e) { found.push('err'); }
      try { found.push(typeof fetch); } catch (e) { found.push('err'); }
      return found;`;
    const runnerId = await makeRunner([
      { name: 'probe', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code } },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('completed');
    expect(run.output[0]).toBe('undefined');
    expect(run.output[1]).toBe('undefined');
    expect(run.output[3]).toBe('undefined');
  });

  it('fails a step whose output does not match its outputSchema', async () => {
    const runnerId = await makeRunner([
      {
        name: 'calc',
        kind: 'computer',
        orderIndex: 0,
        computer: { runtime: 'javascript', code: 'return { n: "x" }' },
        outputSchema: { type: 'object', properties: { n: { type: 'number' } } },
      },
    ]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('output_schema_mismatch');
    expect(run.error.message).toMatch(/output\.n/);
  });

  it('fails an agent step that has no model anywhere, saying where to set one', async () => {
    const runnerId = await makeRunner([{ name: 'think', kind: 'agent', orderIndex: 0, preambleOverride: 'Be brief.' }]);
    const run = await runToEnd(runnerId, {});
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('unknown_model');
    expect(run.error.step).toBe('think');
    expect(run.error.message).toMatch(/modelOverride.*defaultModel/);
  });
});

describe('hostile input', () => {
  it('stores and returns quotes, backslashes and SQL-looking text exactly', async () => {
    const nasty = { s: "'); DROP TABLE runner_runs; --", b: "a\\b'c", u: '✓ 𝔘', n: [1, null, { k: '$$' }] };
    const runnerId = await makeRunner([
      { name: 'echo', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: 'return input' } },
    ]);
    const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: nasty, idempotencyKey: "key'with\\quote" });
    expect(c.status).toBe(201);
    expect(c.body.input).toEqual(nasty);
    expect(c.body.idempotencyKey).toBe("key'with\\quote");
    const done = await waitFor(
      async () => (await ctx.api.get(`/api/runners/${runnerId}/runs/${c.body.id}`)).body,
      (b) => b.status === 'completed',
    );
    expect(done.output).toEqual(nasty);
    expect(done.context.input).toEqual(nasty);
  });
});

describe('idempotency', () => {
  it('returns the same run for 20 concurrent identical requests', async () => {
    const runnerId = await makeRunner([
      { name: 'c', kind: 'computer', orderIndex: 0, computer: { runtime: 'javascript', code: 'return input' } },
    ]);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        ctx.api.post(`/api/runners/${runnerId}/runs`, { input: { n: 1 }, idempotencyKey: 'product-1' }),
      ),
    );
    const ids = new Set(responses.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(19);
    const list = await ctx.api.get(`/api/runners/${runnerId}/runs`);
    expect(list.body.data).toHaveLength(1);
  });
});

describe('cancel', () => {
  it('cancels a run during a slow webhook: the request is aborted and later steps never run', async () => {
    const runnerId = await makeRunner([
      { name: 'slow', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/slow') },
      { name: 'after', kind: 'computer', orderIndex: 1, computer: { runtime: 'javascript', code: 'return 1' } },
    ]);
    const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: {} });
    await waitFor(
      async () => hooks.requests.filter((r) => r.headers['idempotency-key'] === `${c.body.id}:slow`).length,
      (n) => n > 0,
    );
    const cancelled = await ctx.api.post(`/api/runners/${runnerId}/runs/${c.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.steps.map((s: { status: string }) => s.status)).toEqual(['failed', 'skipped']);
    await waitFor(async () => hooks.abortedPaths.includes('/slow'), Boolean, 10_000);
    const again = await ctx.api.post(`/api/runners/${runnerId}/runs/${c.body.id}/cancel`);
    expect(again.status).toBe(409);
    await waitFor(
      async () => (await ctx.client.workflow.getHandle(c.body.id).describe()).status.name,
      (s) => s === 'CANCELLED',
    );
    await recordHistory(c.body.id, 'cancelled-during-webhook');
  });
});

describe('cancel racing the last step', () => {
  it('stays cancelled when the last step answers after the cancel (no late "completed")', async () => {
    const runnerId = await makeRunner([
      { name: 'last', kind: 'webhook', orderIndex: 0, webhookUrl: hooks.url('/slowish') },
    ]);
    const c = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: {} });
    await waitFor(
      async () => hooks.requests.filter((r) => r.headers['idempotency-key'] === `${c.body.id}:last`).length,
      (n) => n > 0,
      10_000,
      20,
    );
    const cancelled = await ctx.api.post(`/api/runners/${runnerId}/runs/${c.body.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    // The webhook answers ~700 ms after it was called, before the activity's first heartbeat could
    // deliver the cancellation: its write must not turn the run back into "completed".
    await new Promise((r) => setTimeout(r, 1_500));
    const after = (await ctx.api.get(`/api/runners/${runnerId}/runs/${c.body.id}`)).body;
    expect(after.status).toBe('cancelled');
    expect(after.steps[0].status).toBe('failed');
    expect(after.output).toBeNull();
  });
});

describe('run input validation', () => {
  it('answers 422 listing the violations of the inputSchema, and records nothing', async () => {
    const runnerId = await makeRunner([], {
      inputSchema: {
        type: 'object',
        required: ['url'],
        properties: { url: { type: 'string' }, n: { type: 'integer' } },
      },
    });
    const r = await ctx.api.post(`/api/runners/${runnerId}/runs`, { input: { n: 'x' } });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('validation_failed');
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toContain('input.url');
    expect(paths).toContain('input.n');
    const list = await ctx.api.get(`/api/runners/${runnerId}/runs`);
    expect(list.body.data).toHaveLength(0);
  });
});
