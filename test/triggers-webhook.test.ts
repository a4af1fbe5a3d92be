import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createApp } from '../api/app';
import { createKeyResolver } from '../src/services/api-keys';
import { signForTest, type SignatureSettings } from '../src/services/triggers-signature';
import { request, useTestContext, waitFor } from './harness';

/** Inbound webhook triggers: public route, signatures over the raw body, redelivery, limits, rotation. */
const ctx = useTestContext();

const echoStep = {
  name: 'echo',
  kind: 'computer',
  orderIndex: 0,
  computer: { runtime: 'javascript', code: 'return {got: input};' },
};

async function makeRunner() {
  const r = await ctx.api.post('/api/runners', { name: `hook-${randomUUID().slice(0, 8)}` });
  expect(r.status).toBe(201);
  expect((await ctx.api.post(`/api/runners/${r.body.id}/steps`, echoStep)).status).toBe(201);
  return r.body.id as string;
}

async function makeWebhook(runnerId: string, config: Record<string, unknown> = {}) {
  const r = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'webhook', ...config });
  expect(r.status).toBe(201);
  return r.body as { id: string; token: string; url: string; tokenPrefix: string };
}

/** POSTs exactly these bytes, with no API key (the route is public), to this app (default: the context's). */
function deliver(url: string, raw: string, headers: Record<string, string> = {}, app = ctx.app) {
  const path = new URL(url).pathname;
  const req = request(app).post(path).set('Content-Type', 'application/json');
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return req.send(raw);
}

async function runsOf(runnerId: string) {
  const r = await ctx.api.get(`/api/runners/${runnerId}/runs`);
  return r.body.data as { id: string; triggerKind: string; input: unknown; idempotencyKey: string | null }[];
}

describe('webhook triggers', () => {
  it('shows the token and full url once, then only a prefix; the token has at least 128 bits', async () => {
    const runnerId = await makeRunner();
    const hook = await makeWebhook(runnerId);
    expect(hook.token).toMatch(/^whk_[A-Za-z0-9_-]{32,}$/);
    expect(hook.url).toBe(`http://localhost:3000/api/runners/webhooks/${hook.token}`);
    expect(hook.token.startsWith(hook.tokenPrefix)).toBe(true);
    const again = await ctx.api.get(`/api/runners/${runnerId}/triggers/${hook.id}`);
    expect(again.body.token).toBeUndefined();
    expect(again.body.url).toBeUndefined();
    expect(JSON.stringify(again.body)).not.toContain(hook.token);
    const runner = await ctx.api.get(`/api/runners/${runnerId}`);
    expect(JSON.stringify(runner.body)).not.toContain(hook.token);
    const row = await ctx.systemDb.runnerTrigger.findUniqueOrThrow({ where: { id: hook.id } });
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(hook.token);
  });

  it('GitHub-signed: a good delivery starts a run with the JSON body as input (202), a redelivery returns the same run, bad signatures start nothing', async () => {
    const runnerId = await makeRunner();
    const secret = `gh-${randomUUID()}`;
    const hook = await makeWebhook(runnerId, {
      signature: { preset: 'github', secret },
      idempotencyKeyPath: 'header:X-GitHub-Delivery',
    });
    const stored = await ctx.systemDb.runnerTrigger.findUniqueOrThrow({ where: { id: hook.id } });
    expect(JSON.stringify(stored.config)).not.toContain(secret);
    const shown = await ctx.api.get(`/api/runners/${runnerId}/triggers/${hook.id}`);
    expect(shown.body.signature).toEqual({ preset: 'github', secret: `****${secret.slice(-4)}` });

    // Unusual spacing: the signature covers these exact bytes, not a re-serialization.
    const raw = '{ "action": "opened",  "pull_request": {"number": 42} }';
    const s: SignatureSettings = { preset: 'github', secret };
    const delivery = randomUUID();
    const ok = await deliver(hook.url, raw, {
      ...signForTest(s, raw),
      'X-GitHub-Delivery': delivery,
      'X-GitHub-Event': 'pull_request',
    });
    expect(ok.status).toBe(202);
    expect(ok.body.runId).toEqual(expect.any(String));

    const redelivered = await deliver(hook.url, raw, { ...signForTest(s, raw), 'X-GitHub-Delivery': delivery });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body.runId).toBe(ok.body.runId);

    const tampered = await deliver(hook.url, raw.replace('42', '43'), {
      ...signForTest(s, raw),
      'X-GitHub-Delivery': randomUUID(),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('signature') });
    const wrongSecret = await deliver(hook.url, raw, {
      ...signForTest({ ...s, secret: 'not-the-secret' }, raw),
      'X-GitHub-Delivery': randomUUID(),
    });
    expect(wrongSecret.status).toBe(401);
    const unsigned = await deliver(hook.url, raw, { 'X-GitHub-Delivery': randomUUID() });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.message).toContain('X-Hub-Signature-256');

    const runs = await runsOf(runnerId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: ok.body.runId, triggerKind: 'webhook', input: JSON.parse(raw) });
    const row = await ctx.systemDb.runnerRun.findUniqueOrThrow({ where: { id: ok.body.runId } });
    expect(row.triggerId).toBe(hook.id);
    const done = await waitFor(
      async () => (await ctx.api.get(`/api/runners/${runnerId}/runs/${ok.body.runId}`)).body,
      (b) => b.status === 'completed',
    );
    expect(done.output).toEqual({ got: JSON.parse(raw) });
  });

  it('Standard Webhooks-signed: accepted, deduplicated on webhook-id, refused when stale or tampered', async () => {
    const runnerId = await makeRunner();
    const secret = `whsec_${Buffer.from(randomUUID().replace(/-/g, '')).toString('base64')}`;
    const hook = await makeWebhook(runnerId, {
      signature: { preset: 'standard_webhooks', secret },
      idempotencyKeyPath: 'header:webhook-id',
    });
    const s: SignatureSettings = { preset: 'standard_webhooks', secret };
    const raw = JSON.stringify({ type: 'invoice.paid', data: { id: 'inv_1' } });
    const first = await deliver(hook.url, raw, signForTest(s, raw, { id: 'msg_abc' }));
    expect(first.status).toBe(202);
    // A redelivery is signed again (new timestamp) but keeps its webhook-id.
    const second = await deliver(
      hook.url,
      raw,
      signForTest(s, raw, { id: 'msg_abc', timestampSec: Math.floor(Date.now() / 1000) + 1 }),
    );
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ runId: first.body.runId, duplicate: true });
    const other = await deliver(hook.url, raw, signForTest(s, raw, { id: 'msg_def' }));
    expect(other.status).toBe(202);
    expect(other.body.runId).not.toBe(first.body.runId);

    const stale = await deliver(
      hook.url,
      raw,
      signForTest(s, raw, { id: 'msg_old', timestampSec: Math.floor(Date.now() / 1000) - 3600 }),
    );
    expect(stale.status).toBe(401);
    const headers = signForTest(s, raw, { id: 'msg_x' });
    const swappedId = await deliver(hook.url, raw, { ...headers, 'webhook-id': 'msg_y' });
    expect(swappedId.status).toBe(401);
    expect((await runsOf(runnerId)).map((r) => r.idempotencyKey).sort()).toEqual(
      [`webhook:${hook.id}:msg_abc`, `webhook:${hook.id}:msg_def`].sort(),
    );
  });

  it('Stripe-signed with a JSONPath idempotency key into the body', async () => {
    const runnerId = await makeRunner();
    const secret = 'whsec_test_stripe_0123456789';
    const hook = await makeWebhook(runnerId, { signature: { preset: 'stripe', secret }, idempotencyKeyPath: '$.id' });
    const raw = JSON.stringify({ id: 'evt_1', type: 'charge.succeeded' });
    const a = await deliver(hook.url, raw, signForTest({ preset: 'stripe', secret }, raw));
    const b = await deliver(hook.url, raw, signForTest({ preset: 'stripe', secret }, raw));
    expect(a.status).toBe(202);
    expect(b.body.runId).toBe(a.body.runId);
  });

  it('rate-limits per token (429 with Retry-After), bounds the body, 404s unknown tokens and 409s a paused trigger', async () => {
    const runnerId = await makeRunner();
    const hook = await makeWebhook(runnerId, { rateLimitPerMinute: 2, maxBodyBytes: 1024 });
    expect((await deliver(hook.url, '{"n":1}')).status).toBe(202);
    const big = await deliver(hook.url, JSON.stringify({ pad: 'x'.repeat(2000) }));
    expect(big.status).toBe(413);
    const limited = await deliver(hook.url, '{"n":3}');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const notJson = await deliver((await makeWebhook(runnerId)).url, '{"broken":');
    expect(notJson.status).toBe(400);

    const unknown = await deliver(hook.url.replace(/whk_.*/, `whk_${'A'.repeat(32)}`), '{}');
    expect(unknown.status).toBe(404);

    const other = await makeWebhook(runnerId);
    await ctx.api.patch(`/api/runners/${runnerId}/triggers/${other.id}`, { enabled: false });
    expect((await deliver(other.url, '{}')).status).toBe(409);
    await ctx.api.patch(`/api/runners/${runnerId}/triggers/${other.id}`, { enabled: true });
    expect((await deliver(other.url, '{}')).status).toBe(202);
  });

  it('shares the rate limit across API processes (kept in PostgreSQL, not per process)', async () => {
    const runnerId = await makeRunner();
    const hook = await makeWebhook(runnerId, { rateLimitPerMinute: 3 });
    // A second API process: its own app, receiver and connection pool, on the same database.
    const second = createApp({ services: ctx.services, resolveApiKey: createKeyResolver(ctx.db) });
    expect((await deliver(hook.url, '{"n":1}', {}, ctx.app)).status).toBe(202);
    expect((await deliver(hook.url, '{"n":2}', {}, second)).status).toBe(202);
    expect((await deliver(hook.url, '{"n":3}', {}, second)).status).toBe(202);
    const limited = await deliver(hook.url, '{"n":4}', {}, second);
    expect(limited.status).toBe(429);
    // 3 a minute: the next token is 20 s away.
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(19);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(20);
    expect((await deliver(hook.url, '{"n":5}', {}, ctx.app)).status).toBe(429);
    expect(await runsOf(runnerId)).toHaveLength(3);

    // Concurrent deliveries from both processes never take more than the budget.
    const burst = await makeWebhook(runnerId, { rateLimitPerMinute: 5 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => deliver(burst.url, `{"i":${i}}`, {}, i % 2 ? second : ctx.app)),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(7);
  });

  it('rotates the token through PATCH: the new url works once shown, the old one is gone', async () => {
    const runnerId = await makeRunner();
    const hook = await makeWebhook(runnerId);
    const rotated = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${hook.id}`, { rotateToken: true });
    expect(rotated.status).toBe(200);
    expect(rotated.body.url).toEqual(expect.stringContaining('/api/runners/webhooks/whk_'));
    expect(rotated.body.token).not.toBe(hook.token);
    expect((await deliver(hook.url, '{}')).status).toBe(404);
    expect((await deliver(rotated.body.url, '{"after":"rotation"}')).status).toBe(202);

    // A signature added later, then the settings changed without resending the secret: the secret stays.
    const secret = `gh-${randomUUID()}`;
    await ctx.api.patch(`/api/runners/${runnerId}/triggers/${hook.id}`, { signature: { preset: 'github', secret } });
    const changed = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${hook.id}`, {
      signature: { preset: 'hmac_sha256', header: 'X-Sig' },
    });
    expect(changed.status).toBe(200);
    const raw = '{"k":1}';
    const ok = await deliver(
      rotated.body.url,
      raw,
      signForTest({ preset: 'hmac_sha256', header: 'X-Sig', secret }, raw),
    );
    expect(ok.status).toBe(202);
    const noSecret = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'webhook',
      signature: { preset: 'github' },
    });
    expect(noSecret.status).toBe(422);
    expect(noSecret.body.error.details[0].path).toBe('signature.secret');
  });

  it("ignores the sender's own Authorization header: the token and the signature alone decide", async () => {
    const runnerId = await makeRunner();
    const secret = `hs-${randomUUID()}`;
    const s: SignatureSettings = { preset: 'hmac_sha256', header: 'X-Sig', secret };
    const hook = await makeWebhook(runnerId, { signature: { preset: 'hmac_sha256', header: 'X-Sig', secret } });
    const raw = '{"event":"build.finished"}';
    // A sender that signs and also authenticates with its own bearer token, or with Basic auth.
    const bearer = await deliver(hook.url, raw, {
      ...signForTest(s, raw),
      Authorization: 'Bearer sender-own-token-123',
    });
    expect(bearer.status).toBe(202);
    const basic = await deliver(hook.url, raw, { ...signForTest(s, raw), Authorization: 'Basic dXNlcjpwYXNz' });
    expect(basic.status).toBe(202);
    const odd = await deliver(hook.url, raw, { ...signForTest(s, raw), Authorization: 'Token' });
    expect(odd.status).toBe(202);
    // A valid API key does not stand in for the signature either.
    const keyed = await deliver(hook.url, raw, { Authorization: `Bearer ${ctx.keyA}`, 'X-Sig': 'deadbeef' });
    expect(keyed.status).toBe(401);
    expect(keyed.body.error.message).toContain('signature');
    expect((await runsOf(runnerId)).map((r) => r.id).sort()).toEqual(
      [bearer.body.runId, basic.body.runId, odd.body.runId].sort(),
    );
    // Everywhere else a wrong Authorization header is still a 401.
    const other = await request(ctx.app)
      .get(`/api/runners/${runnerId}`)
      .set('Authorization', 'Bearer sender-own-token-123');
    expect(other.status).toBe(401);
    const similar = await request(ctx.app)
      .post(`/api/runners/${runnerId}/triggers`)
      .set('Authorization', 'Bearer sender-own-token-123')
      .send({ kind: 'webhook' });
    expect(similar.status).toBe(401);
  });

  it('stops answering once the runner is deleted', async () => {
    const runnerId = await makeRunner();
    const hook = await makeWebhook(runnerId);
    await ctx.api.delete(`/api/runners/${runnerId}`);
    expect((await deliver(hook.url, '{}')).status).toBe(404);
  });
});
