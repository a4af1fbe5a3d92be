import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';
import { request, useTestContext, waitFor } from './harness';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './fixtures/chromium';

const ctx = useTestContext();
let api: Server;
let apiUrl = '';
let other: Server;
let otherUrl = '';
let otherPage = '';
let browser: Browser;

const listen = async (s: Server) => {
  s.listen(0, '127.0.0.1');
  await new Promise<void>((r) => s.once('listening', () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  api = createServer(ctx.app);
  apiUrl = await listen(api);
  // Another origin (another port) that embeds the button.
  other = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(otherPage));
  otherUrl = await listen(other);
  // playwright gives the browser a fresh, temporary profile (its own --user-data-dir).
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => api.close(r));
  await new Promise((r) => other.close(r));
});

async function makeRunner(name: string) {
  const r = await ctx.api.post('/api/runners', {
    name,
    inputSchema: { type: 'object', properties: { a: { type: 'integer' } } },
  });
  expect(r.status).toBe(201);
  const s = await ctx.api.post(`/api/runners/${r.body.id}/steps`, {
    name: 'add',
    kind: 'computer',
    orderIndex: 0,
    computer: { runtime: 'javascript', code: 'return { sum: (input.a ?? 0) + 1 };' },
  });
  expect(s.status).toBe(201);
  return r.body.id as string;
}

/** Adds a button trigger through the trigger API (as a user does) and returns its id. */
async function addButton(runnerId: string, config: Record<string, unknown> = {}) {
  const t = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'button', ...config });
  expect(t.status).toBe(201);
  return t.body.id as string;
}

const runsOf = (runnerId: string) =>
  ctx.systemDb.runnerRun.findMany({ where: { runnerId }, orderBy: { createdAt: 'asc' } });

describe('button trigger', () => {
  it('is 404 without an enabled button trigger, and never exposes an API key', async () => {
    const runnerId = await makeRunner('No button');
    expect((await request(ctx.app).get(`/api/runners/${runnerId}/button`)).status).toBe(404);
    expect((await request(ctx.app).get(`/api/runners/${runnerId}/embed.js`)).status).toBe(404);
    const triggerId = await addButton(runnerId);
    const page = await request(ctx.app).get(`/api/runners/${runnerId}/button`);
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/fj_live_/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect((await ctx.api.patch(`/api/runners/${runnerId}/triggers/${triggerId}`, { enabled: false })).status).toBe(
      200,
    );
    expect((await request(ctx.app).get(`/api/runners/${runnerId}/button`)).status).toBe(404);
    expect((await request(ctx.app).get(`/api/runners/${runnerId}/embed.js`)).status).toBe(404);
    expect((await ctx.api.patch(`/api/runners/${runnerId}/triggers/${triggerId}`, { enabled: true })).status).toBe(200);
    expect((await request(ctx.app).get(`/api/runners/${runnerId}/button`)).status).toBe(200);
    expect((await request(ctx.app).get(`/api/runners/not-a-uuid/button`)).status).toBe(404);
  });

  // The run waits for the shared test worker, which another file may be flooding with a 2,000-item bulk.
  it('opens the page in Chromium, clicks the button and shows the run’s final status', async () => {
    const runnerId = await makeRunner('Say <hello> & bye');
    await addButton(runnerId, { label: 'Start the pipeline', input: { a: 41 } });
    const page = await browser.newPage();
    await page.goto(`${apiUrl}/api/runners/${runnerId}/button`);
    expect(await page.title()).toBe('Say <hello> & bye');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Say <hello> & bye');
    const button = page.getByRole('button', { name: 'Start the pipeline' });
    await button.click();
    const status = page.getByRole('status');
    await page.locator('[role="status"][data-status="completed"]').waitFor({ timeout: 240_000 });
    expect(await status.textContent()).toBe('Run Completed');
    expect(await button.isEnabled()).toBe(true);
    const runs = await runsOf(runnerId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: 'completed',
      triggerKind: 'button',
      input: { a: 41 },
      output: { sum: 42 },
    });
    await page.close();
  }, 300_000);

  it('renders the embed in a page of another origin (CORS) with its data-input, and runs it', async () => {
    const runnerId = await makeRunner('Embedded');
    await addButton(runnerId, { label: 'Embedded run' });
    otherPage = `<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Shop</h1>
<script src="${apiUrl}/api/runners/${runnerId}/embed.js" data-input='{"a":1}'></script></body></html>`;
    const page = await browser.newPage();
    await page.goto(otherUrl);
    const button = page.getByRole('button', { name: 'Embedded run' });
    await button.click();
    const status = page.getByRole('status');
    await page.locator('[role="status"][data-status="completed"]').waitFor({ timeout: 240_000 });
    expect(await status.textContent()).toBe('Run Completed');
    const runs = await runsOf(runnerId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'completed', input: { a: 1 }, output: { sum: 2 } });
    await page.close();
  }, 300_000);

  it('refuses forged, foreign-origin and cross-runner starts, and keeps each run’s status private', async () => {
    const runnerId = await makeRunner('Guarded');
    await addButton(runnerId, { allowedOrigins: ['https://shop.example'] });
    const otherRunner = await makeRunner('Other');
    await addButton(otherRunner);
    const tokenOf = (text: string) => (/"token":"([^"]+)"/.exec(text) as RegExpExecArray)[1] as string;
    const pageToken = tokenOf((await request(api).get(`/api/runners/${runnerId}/button`)).text);
    const embedToken = tokenOf((await request(api).get(`/api/runners/${runnerId}/embed.js`)).text);
    const start = (id: string, body: unknown, origin?: string) => {
      const r = request(api).post(`/api/runners/${id}/button/runs`);
      return (origin ? r.set('Origin', origin) : r).send(body as object);
    };

    // The page's token only works from the API's own origin; the embed's only from the allowed origins.
    expect((await start(runnerId, { token: pageToken }, 'https://shop.example')).status).toBe(401);
    expect((await start(runnerId, { token: embedToken }, 'https://evil.example')).status).toBe(401);
    expect((await start(runnerId, { token: pageToken })).status).toBe(401); // no Origin: not a browser page
    expect((await start(runnerId, { token: `${pageToken.slice(0, -4)}AAAA` }, apiUrl)).status).toBe(401);
    expect((await start(otherRunner, { token: pageToken }, apiUrl)).status).toBe(401);
    expect((await start(runnerId, { token: pageToken, input: { a: 'x' } }, apiUrl)).status).toBe(422);
    expect(await runsOf(runnerId)).toHaveLength(0);

    // CORS: the allowed origin may call, others get no Access-Control-Allow-Origin.
    const ok = await request(api)
      .options(`/api/runners/${runnerId}/button/runs`)
      .set('Origin', 'https://shop.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
    const no = await request(api)
      .options(`/api/runners/${runnerId}/button/runs`)
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(no.headers['access-control-allow-origin']).toBeUndefined();

    const first = await start(runnerId, { token: embedToken, input: { a: 5 } }, 'https://shop.example');
    expect(first.status).toBe(202);
    expect(first.headers['access-control-allow-origin']).toBe('https://shop.example');
    const { runId, statusToken } = first.body as { runId: string; statusToken: string };

    // Status: only with this run's token.
    const done = await waitFor(
      async () =>
        (await request(api).get(`/api/runners/${runnerId}/button/runs/${runId}`).query({ token: statusToken })).body,
      (b) => b.status === 'completed',
      60_000,
      250,
    );
    expect(done).toEqual({ runId, status: 'completed' });
    const second = await start(runnerId, { token: pageToken }, apiUrl);
    expect(second.status).toBe(202);
    const swapped = await request(api)
      .get(`/api/runners/${runnerId}/button/runs/${second.body.runId}`)
      .query({ token: statusToken });
    expect(swapped.status).toBe(404);
    expect(
      (await request(api).get(`/api/runners/${runnerId}/button/runs/${runId}`).query({ token: 'guess' })).status,
    ).toBe(404);

    expect(await runsOf(runnerId)).toHaveLength(2);
  }, 120_000);

  it('takes its settings from the trigger API: validated, normalised, shown, patchable, and enforced', async () => {
    const runnerId = await makeRunner('Configured');
    const bad = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'button',
      allowedOrigins: [
        'https://ok.example',
        'https://shop.example/checkout',
        'ftp://files.example',
        '*.example',
        'https://*.example',
      ],
      rateLimitPerMinute: 0,
      label: '',
    });
    expect(bad.status).toBe(422);
    const paths = (bad.body.error.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(
      [
        'allowedOrigins.1',
        'allowedOrigins.2',
        'allowedOrigins.3',
        'allowedOrigins.4',
        'label',
        'rateLimitPerMinute',
      ].sort(),
    );
    expect(JSON.stringify(bad.body.error.details)).toContain('https://shop.example/checkout');
    expect(await ctx.systemDb.runnerTrigger.count({ where: { runnerId } })).toBe(0);

    const created = await ctx.api.post(`/api/runners/${runnerId}/triggers`, {
      kind: 'button',
      label: 'Go',
      allowedOrigins: ['https://Shop.Example:443/', 'http://localhost:8080', 'https://shop.example'],
      rateLimitPerMinute: 5,
      input: { a: 2 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const expected = {
      kind: 'button',
      enabled: true,
      label: 'Go',
      allowedOrigins: ['https://shop.example', 'http://localhost:8080'],
      rateLimitPerMinute: 5,
      input: { a: 2 },
    };
    expect(created.body).toMatchObject(expected);
    expect((await ctx.api.get(`/api/runners/${runnerId}/triggers/${id}`)).body).toMatchObject(expected);
    expect((await ctx.api.get(`/api/runners/${runnerId}`)).body.triggers).toEqual([expect.objectContaining(expected)]);

    // The label and the CSRF origin check follow the API's settings.
    const embed = (await request(api).get(`/api/runners/${runnerId}/embed.js`)).text;
    expect(embed).toContain('"label":"Go"');
    const embedToken = (/"token":"([^"]+)"/.exec(embed) as RegExpExecArray)[1] as string;
    const start = (origin: string) =>
      request(api).post(`/api/runners/${runnerId}/button/runs`).set('Origin', origin).send({ token: embedToken });
    expect((await start('https://evil.example')).status).toBe(401);
    expect((await start('http://localhost:8080')).status).toBe(202);

    // PATCH: a webhook-sized limit is refused for a button, the origins are replaced, null resets.
    const tooFast = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { rateLimitPerMinute: 50_000 });
    expect(tooFast.status).toBe(422);
    expect(tooFast.body.error.details[0].path).toBe('rateLimitPerMinute');
    const badPatch = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, {
      allowedOrigins: ['https://evil.example/path'],
    });
    expect(badPatch.status).toBe(422);
    expect(badPatch.body.error.details[0].path).toBe('allowedOrigins.0');
    const wrongKind = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { maxBodyBytes: 2048 });
    expect(wrongKind.status).toBe(422);
    expect(wrongKind.body.error.details[0].path).toBe('maxBodyBytes');

    const narrowed = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, {
      allowedOrigins: ['https://evil.example'],
      label: null,
    });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body).toMatchObject({
      allowedOrigins: ['https://evil.example'],
      label: null,
      rateLimitPerMinute: 5,
      input: { a: 2 },
    });
    expect((await start('http://localhost:8080')).status).toBe(401);
    expect((await start('https://evil.example')).status).toBe(202);
    expect((await request(api).get(`/api/runners/${runnerId}/embed.js`)).text).toContain('"label":"Run Configured"');

    // [] means no embedding anywhere (only the hosted page); null means any origin.
    expect(
      (await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { allowedOrigins: [] })).body.allowedOrigins,
    ).toEqual([]);
    expect((await start('https://evil.example')).status).toBe(401);
    const open = await ctx.api.patch(`/api/runners/${runnerId}/triggers/${id}`, { allowedOrigins: null });
    expect(open.body.allowedOrigins).toBeNull();
    expect((await start('https://anything.example')).status).toBe(202);

    // Defaults shown when nothing is set.
    const plain = await ctx.api.post(`/api/runners/${runnerId}/triggers`, { kind: 'button' });
    expect(plain.body).toMatchObject({ label: null, allowedOrigins: null, rateLimitPerMinute: 10, input: {} });
    expect((await runsOf(runnerId)).length).toBe(3);
  }, 120_000);

  it('rate-limits starts per client: past the limit a 429 with Retry-After that starts nothing', async () => {
    const runnerId = await makeRunner('Limited');
    await addButton(runnerId, { rateLimitPerMinute: 2 });
    const token = (
      /"token":"([^"]+)"/.exec((await request(api).get(`/api/runners/${runnerId}/button`)).text) as RegExpExecArray
    )[1];
    const start = () => request(api).post(`/api/runners/${runnerId}/button/runs`).set('Origin', apiUrl).send({ token });
    expect((await start()).status).toBe(202);
    expect((await start()).status).toBe(202);
    const limited = await start();
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(await runsOf(runnerId)).toHaveLength(2);
  }, 120_000);
});
