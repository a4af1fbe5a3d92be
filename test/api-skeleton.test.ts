import type supertest from 'supertest';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { RouteRegistry } from '../api/route';
import { createApiKey } from '../src/services/api-keys';
import type { ServiceDeps } from '../src/services/deps';
import { request, useTestContext } from './harness';

/** Routes that fail on purpose (registered through `extraRoutes`, no app code edited). */
function failingRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  // Never answered: they always fail, and every route documents the 500 in the error shape.
  const responses = { 200: { description: 'Never: the handler always throws' } };
  reg.add({ method: 'get', path: '/api/test/throw', summary: 'throws', tag: 'test', responses }, async () => {
    throw new Error(`kaboom in ${__filename}:12:34 with secret internals`);
  });
  reg.add(
    { method: 'get', path: '/api/test/throw-string', summary: 'throws a string', tag: 'test', responses },
    async () => {
      // On purpose: a non-Error thrown deep inside.
      throw 'a bare string';
    },
  );
  reg.add({ method: 'get', path: '/api/test/bad-sql', summary: 'bad SQL', tag: 'test', responses }, async () => {
    await deps.db.$queryRawUnsafe('SELECT * FROM no_such_table_for_tests');
    return { status: 200, body: {} };
  });
}

describe('API skeleton', () => {
  const ctx = useTestContext({ bodyLimit: '1kb', extraRoutes: [failingRoutes] });
  const limited = useTestContext({ rateLimit: { ratePerSec: 1, burst: 2 } });

  /** Every response this file sees, checked at the end for leaked stack traces. */
  const seen: { what: string; res: supertest.Response }[] = [];
  async function track(what: string, t: supertest.Test): Promise<supertest.Response> {
    const res = await t;
    seen.push({ what, res });
    return res;
  }

  const anon = () => request(ctx.app);
  const REPO_ROOT = path.resolve(__dirname, '..');
  const STACK_PATTERNS = [
    /\n\s+at /,
    /\bat .*\.(ts|js|mjs|cjs):\d+/,
    /\(\/[^)]*:\d+:\d+\)/,
    /node_modules/,
    new RegExp(REPO_ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  ];

  function expectErrorShape(res: supertest.Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
    expect(res.body.error.message.length).toBeGreaterThan(0);
  }

  describe('authentication', () => {
    it('answers 401 {error:{code:"unauthorized"}} without a key', async () => {
      const res = await track('no key', anon().get('/api/runners'));
      expectErrorShape(res, 401, 'unauthorized');
      expect(Object.keys(res.body.error).sort()).toEqual(['code', 'message']);
    });

    it('answers 401 for a malformed Authorization header', async () => {
      for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', ctx.keyA]) {
        const res = await track(`header ${header}`, anon().get('/api/runners').set('Authorization', header));
        expectErrorShape(res, 401, 'unauthorized');
      }
    });

    it('answers 401 for an unknown or malformed key', async () => {
      for (const key of [`fj_live_${'x'.repeat(32)}`, 'fj_live_short', 'sk_live_abcdefabcdefabcdefabcdefabcdef']) {
        const res = await track(
          `key ${key}`,
          anon().post('/api/runners').set('Authorization', `Bearer ${key}`).send({ name: 'x' }),
        );
        expectErrorShape(res, 401, 'unauthorized');
      }
    });

    it('serves /healthz and /api/openapi.json without a key', async () => {
      const h = await track('healthz', anon().get('/healthz'));
      expect(h.status).toBe(200);
      expect(h.body).toEqual({ ok: true, temporal: 'up', database: 'up' });
      const o = await track('openapi', anon().get('/api/openapi.json'));
      expect(o.status).toBe(200);
      expect(o.body.openapi).toBe('3.1.0');
    });
  });

  describe('request errors', () => {
    it('answers 400 invalid_json for malformed JSON', async () => {
      const res = await track(
        'bad json',
        anon()
          .post('/api/runners')
          .set('Authorization', `Bearer ${ctx.keyA}`)
          .set('Content-Type', 'application/json')
          .send('{"name": '),
      );
      expectErrorShape(res, 400, 'invalid_json');
      expect(res.body.error.message).toBe('Request body is not valid JSON');
    });

    it('answers 400 invalid_json, saying why, for JSON that is not an object or array', async () => {
      for (const [text, kind] of [
        ['null', 'null'],
        ['42', 'number'],
        ['"runner"', 'string'],
      ]) {
        const res = await anon()
          .post('/api/runners')
          .set('Authorization', `Bearer ${ctx.keyA}`)
          .set('Content-Type', 'application/json')
          .send(text);
        expectErrorShape(res, 400, 'invalid_json');
        expect(res.body.error.message).toBe(`Request body must be a JSON object or array, not ${kind}`);
      }
    });

    it('answers 413 payload_too_large for a body over the limit', async () => {
      const res = await track(
        'too large',
        ctx.api.post('/api/runners', { name: 'big', description: 'x'.repeat(4096) }),
      );
      expectErrorShape(res, 413, 'payload_too_large');
    });

    it('answers 422 naming an unknown field', async () => {
      const res = await track('unknown field', ctx.api.post('/api/runners', { name: 'ok', bogusField: 1 }));
      expectErrorShape(res, 422, 'validation_failed');
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'bogusField' })]));
      expect(res.body.error.message).toMatch(/bogusField/);
    });

    it('answers 422 naming a missing required field', async () => {
      const res = await track('missing name', ctx.api.post('/api/runners', { description: 'no name' }));
      expectErrorShape(res, 422, 'validation_failed');
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('name');
    });

    it('answers 404 JSON for an unknown route', async () => {
      const res = await track('unknown route', ctx.api.get('/api/no-such-thing'));
      expectErrorShape(res, 404, 'not_found');
      const res2 = await track('unknown route anon', anon().delete('/nope'));
      expectErrorShape(res2, 404, 'not_found');
    });

    it('answers a bare 500 internal error for a thrown bug, with no internals', async () => {
      for (const p of ['/api/test/throw', '/api/test/throw-string', '/api/test/bad-sql']) {
        const res = await track(p, ctx.api.get(p));
        expectErrorShape(res, 500, 'internal');
        expect(res.body.error.message).toBe('Internal server error');
        expect(res.text).not.toMatch(/kaboom|secret|no_such_table|bare string/);
      }
    });
  });

  describe('org isolation and ids', () => {
    it('answers 404 (never 403) to GET, PATCH and DELETE of another org’s runner, and changes nothing', async () => {
      const theirs = await track('create B', ctx.as(ctx.keyB).post('/api/runners', { name: 'org-b-private' }));
      expect(theirs.status).toBe(201);
      const id = theirs.body.id as string;
      expectErrorShape(await track('foreign get', ctx.api.get(`/api/runners/${id}`)), 404, 'not_found');
      expectErrorShape(
        await track('foreign patch', ctx.api.patch(`/api/runners/${id}`, { name: 'hijacked' })),
        404,
        'not_found',
      );
      expectErrorShape(await track('foreign delete', ctx.api.delete(`/api/runners/${id}`)), 404, 'not_found');
      expectErrorShape(await track('foreign steps', ctx.api.get(`/api/runners/${id}/steps`)), 404, 'not_found');
      const still = await track('B reads', ctx.as(ctx.keyB).get(`/api/runners/${id}`));
      expect(still.status).toBe(200);
      expect(still.body.name).toBe('org-b-private');
      const listA = await track('A list', ctx.api.get('/api/runners?limit=200'));
      expect(listA.body.data.map((r: { id: string }) => r.id)).not.toContain(id);
    });

    it('answers 404 for an id that is not a UUID', async () => {
      for (const id of ['not-a-uuid', '123', `${randomUUID()}x`]) {
        expectErrorShape(await track(`non-uuid ${id}`, ctx.api.get(`/api/runners/${id}`)), 404, 'not_found');
        expectErrorShape(
          await track(`non-uuid patch ${id}`, ctx.api.patch(`/api/runners/${id}`, { name: 'x' })),
          404,
          'not_found',
        );
      }
      expectErrorShape(await track('unknown uuid', ctx.api.delete(`/api/runners/${randomUUID()}`)), 404, 'not_found');
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a sane incoming id, on success and on errors', async () => {
      const ok = await track('rid ok', anon().get('/healthz').set('X-Request-Id', 'req-abc_123.4'));
      expect(ok.headers['x-request-id']).toBe('req-abc_123.4');
      const err = await track('rid err', anon().get('/api/runners').set('X-Request-Id', 'trace-42'));
      expect(err.status).toBe(401);
      expect(err.headers['x-request-id']).toBe('trace-42');
    });

    it('generates one when missing or not sane', async () => {
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      const none = await track('rid none', anon().get('/healthz'));
      expect(none.headers['x-request-id']).toMatch(uuid);
      for (const bad of ['has spaces in it', 'x'.repeat(200), '<script>', 'a;b']) {
        const res = await track('rid bad', anon().get('/healthz').set('X-Request-Id', bad));
        expect(res.headers['x-request-id']).toMatch(uuid);
      }
    });
  });

  describe('rate limiting', () => {
    it('answers 429 rate_limited with Retry-After once the bucket is empty', async () => {
      const statuses: number[] = [];
      let last: supertest.Response | undefined;
      for (let i = 0; i < 3; i++) {
        last = await track('limited', limited.api.get('/api/runners'));
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      expectErrorShape(last!, 429, 'rate_limited');
      expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another key has its own bucket.
      expect((await track('limited B', limited.as(limited.keyB).get('/api/runners'))).status).toBe(200);
    });
  });

  describe('OpenAPI document', () => {
    it('is OpenAPI 3.1 with every registered path, request schemas and responses', async () => {
      const doc = (await track('openapi doc', anon().get('/api/openapi.json'))).body as {
        openapi: string;
        paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: any }>>;
        components: { securitySchemes: Record<string, unknown> };
      };
      expect(doc.openapi).toBe('3.1.0');
      for (const p of [
        '/healthz',
        '/api/runners',
        '/api/runners/{id}',
        '/api/runners/{id}/steps',
        '/api/runners/{id}/steps/{stepId}',
        '/api/runners/{id}/runs',
        '/api/runners/{id}/runs/{runId}',
        '/api/runners/{id}/runs/{runId}/cancel',
      ]) {
        expect(doc.paths).toHaveProperty([p]);
      }
      expect(Object.keys(doc.paths['/api/runners'] ?? {}).sort()).toEqual(['get', 'post']);
      expect(Object.keys(doc.paths['/api/runners/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
      const create = doc.paths['/api/runners']?.post?.requestBody?.content?.['application/json']?.schema;
      expect(create?.required).toContain('name');
      expect(create?.properties).toHaveProperty('name');
      expect(doc.components.securitySchemes).toHaveProperty('bearerAuth');
      let operations = 0;
      for (const [p, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          operations++;
          expect(Object.keys(op.responses ?? {}).length).toBeGreaterThan(0);
        }
      }
      expect(operations).toBeGreaterThanOrEqual(13);
    });
  });

  describe('list pagination', () => {
    it('walks pages with nextCursor, without duplicates, ending with nextCursor null', async () => {
      const { key } = await createApiKey(ctx.db, `org-pages-${randomUUID()}`);
      const api = ctx.as(key);
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await track('create for pages', api.post('/api/runners', { name: `page-${i}` }));
        expect(r.status).toBe(201);
        created.push(r.body.id);
      }
      const seenIds: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 10; guard++) {
        const res = await track(
          'page',
          api.get(`/api/runners?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
        );
        expect(res.status).toBe(200);
        expect(res.body).toHaveProperty('nextCursor');
        pageSizes.push(res.body.data.length);
        seenIds.push(...res.body.data.map((r: { id: string }) => r.id));
        cursor = res.body.nextCursor;
        if (cursor === null) break;
        expect(typeof cursor).toBe('string');
      }
      expect(cursor).toBeNull();
      expect(pageSizes).toEqual([2, 2, 1]);
      expect(new Set(seenIds).size).toBe(seenIds.length);
      expect([...seenIds].sort()).toEqual([...created].sort());
      expect(seenIds).toEqual([...created].reverse()); // newest first
    });

    it('answers 422 naming query.limit outside 1–200', async () => {
      for (const limit of ['0', '500', '-1', 'abc', '2.5']) {
        const res = await track(`limit ${limit}`, ctx.api.get(`/api/runners?limit=${limit}`));
        expectErrorShape(res, 422, 'validation_failed');
        expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('query.limit');
      }
    });

    it('answers 422 for a garbage cursor', async () => {
      for (const cursor of ['garbage', 'bm90LWEtY3Vyc29y', '%%%']) {
        const res = await track(`cursor ${cursor}`, ctx.api.get(`/api/runners?cursor=${encodeURIComponent(cursor)}`));
        expectErrorShape(res, 422, 'validation_failed');
        expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('query.cursor');
      }
    });
  });

  describe('no stack traces', () => {
    it('no response of this file contains a stack trace or a file path', () => {
      expect(seen.length).toBeGreaterThan(40);
      for (const { what, res } of seen) {
        for (const re of STACK_PATTERNS) expect(res.text ?? '').not.toMatch(re);
      }
    });
  });
});
