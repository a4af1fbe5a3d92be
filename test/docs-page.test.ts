import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type BrowserContext } from 'playwright-core';
import { useTestContext } from './harness';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './fixtures/chromium';

/**
 * The interactive reference at /docs, in a real headless Chromium (Debian's, driven by playwright-core):
 * it renders the operations of /api/openapi.json from bundled assets, and the browser asks nothing of any
 * host but the API's.
 */
const ctx = useTestContext();

describe('GET /docs in headless Chromium', () => {
  let server: http.Server;
  let base: string;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    server = http.createServer(ctx.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = await mkdtemp(path.join(os.tmpdir(), 'flapjack-chromium-'));
    // A fresh profile directory (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('renders every tag and the runner operations, loading nothing from outside the API', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));

    const res = await page.goto(`${base}/docs`, { waitUntil: 'load', timeout: 60_000 });
    expect(res?.status()).toBe(200);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 60_000 });
    await page.waitForSelector('.opblock-summary-path', { timeout: 60_000 });

    const title = await page.textContent('.swagger-ui .info .title');
    expect(title).toContain('Flapjack');
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toEqual(expect.arrayContaining(['/api/runners', '/api/runners/{id}/runs', '/healthz']));
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, object> };
    // Every documented path is on the page.
    expect(new Set(paths)).toEqual(new Set(Object.keys(doc.paths)));

    expect(requested.length).toBeGreaterThan(2);
    for (const url of requested) expect(url.startsWith(`${base}/`)).toBe(true);
    expect(requested).toContain(`${base}/api/openapi.json`);
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 120_000);

  it('serves only the assets the page uses, and GET / points at /docs, the OpenAPI document and health', async () => {
    const css = await fetch(`${base}/docs/assets/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    const other = await fetch(`${base}/docs/assets/package.json`);
    expect(other.status).toBe(404);

    const root = await fetch(`${base}/`);
    expect(root.status).toBe(200);
    const body = (await root.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ docs: '/docs', openapi: '/api/openapi.json', health: '/healthz' });
    expect(body).toHaveProperty('temporalUi');
  });
});
